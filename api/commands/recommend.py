"""`paperscope recommend --positive ID...`: papers like the liked ones and unlike the others."""

from __future__ import annotations

import argparse

from api.commands.common import add_output_flags, output_format, print_export, shorten
from api.commands.related import add_filter_arguments, filters_from
from api.schemas import RecommendationOut, dump_list
from api.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--positive", nargs="+", required=True, metavar="ID", help="ids of papers you like"
    )
    parser.add_argument(
        "--negative", nargs="+", default=[], metavar="ID", help="ids of papers you do not like"
    )
    parser.add_argument("-k", type=int, default=10, help="number of papers (1-100, default 10)")
    add_filter_arguments(parser)
    add_output_flags(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from search.engine import Engine
    from search.recommend import recommend

    engine = Engine.open(settings.index_dir, settings.model, limits=settings.limits())
    recs = recommend(engine, args.positive, args.negative, k=args.k, filters=filters_from(args))
    if fmt := output_format(args):
        data = {
            "positive_ids": args.positive,
            "negative_ids": args.negative,
            "recommendations": dump_list(RecommendationOut, recs),
        }
        print_export(fmt, recs, data)
        return 0
    for rec in recs:
        print(
            f"{rec.rank:>3}. {rec.score:7.3f}  {rec.paper.id:<14} {shorten(rec.paper.title, 60)}"
            f"  (closest to {rec.closest_positive_id}, cosine {rec.closest_similarity:.2f})"
        )
    return 0

"""`paperscope related ID`: papers related to a paper, and which signal found each."""

from __future__ import annotations

import argparse

from api.commands.common import add_output_flags, output_format, print_export, shorten
from api.schemas import RelatedListOut, dump
from api.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paper_id", metavar="ID", help="id of a paper in the index")
    parser.add_argument("-k", type=int, default=10, help="number of papers (1-100, default 10)")
    parser.add_argument(
        "--direction",
        choices=["earlier", "later"],
        default=None,
        help="only papers certainly published before / after it",
    )
    parser.add_argument(
        "--signals",
        choices=["auto", "text", "citations"],
        default="auto",
        help="auto (default) blends citation overlap in when the paper has citation links; "
        "text or citations use one signal only",
    )
    add_filter_arguments(parser)
    add_output_flags(parser)


def add_filter_arguments(parser: argparse.ArgumentParser) -> None:
    """The filter flags shared by related and recommend."""
    parser.add_argument("--year-from", type=int, default=None, help="first year, inclusive")
    parser.add_argument("--year-to", type=int, default=None, help="last year, inclusive")
    parser.add_argument("--category", default=None, help='category prefix: "cs" matches cs.LG')
    parser.add_argument("--author", default=None, help="full author name, any case or accents")
    parser.add_argument("--venue", default=None, help="venue substring, any case")


def filters_from(args: argparse.Namespace):
    from indexer.filters import Filters

    filters = Filters(
        year_from=args.year_from,
        year_to=args.year_to,
        category=args.category,
        author=args.author,
        venue=args.venue,
    )
    return None if filters.is_empty() else filters.validate()


def run(args: argparse.Namespace, settings: Settings) -> int:
    from search.engine import Engine
    from search.related import related

    engine = Engine.open(settings.index_dir, settings.model, limits=settings.limits())
    hits = related(
        engine,
        args.paper_id,
        k=args.k,
        filters=filters_from(args),
        direction=args.direction,
        signals=args.signals,
    )
    if fmt := output_format(args):
        print_export(fmt, hits, dump(RelatedListOut, paper_id=args.paper_id, hits=hits))
        return 0
    source = engine.store.get(args.paper_id)
    print(f"related to {source.id}: {shorten(source.title, 90)}")
    if not hits:
        print("no related papers (with --signals citations: the paper has no citation links)")
    for hit in hits:
        year = hit.paper.year or "----"
        print(
            f"{hit.rank:>3}. {hit.score:7.3f}  {hit.signal:<15} {year}  {hit.paper.id:<14} "
            f"{shorten(hit.paper.title, 70)}"
        )
    return 0

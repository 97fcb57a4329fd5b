"""`paperscope novelty ID | --title T --abstract A [--date D] | --all`: novelty vs prior work."""

from __future__ import annotations

import argparse
from datetime import date

from api.commands.common import add_json_flag, print_json, shorten
from api.schemas import NoveltyOut, dump
from api.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paper_id", nargs="?", metavar="ID", help="id of a paper in the index")
    parser.add_argument("--title", default=None, help="title of a draft to score")
    parser.add_argument("--abstract", default=None, help="abstract of a draft to score")
    parser.add_argument(
        "--date", default=None, help="draft's publication date, YYYY-MM-DD (default: today)"
    )
    parser.add_argument(
        "--all", action="store_true", help="score every paper in the index and store the scores"
    )
    parser.add_argument(
        "-k",
        type=int,
        default=10,
        help="nearest prior papers of the plain distance and the evidence (default 10); the "
        "novelty score always weighs the 20 nearest",
    )
    add_json_flag(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from api.commands.authors import open_without_model
    from models.errors import InvalidQueryError
    from search.engine import Engine
    from search.novelty import novelty_of_draft, novelty_of_paper, score_all
    from search.novelty_cohorts import refresh

    draft = args.title is not None or args.abstract is not None
    if sum([bool(args.paper_id), draft, args.all]) != 1:
        raise InvalidQueryError(
            "give exactly one of: a paper ID, --title T --abstract A [--date D], or --all"
        )
    # Only a draft is embedded: scoring indexed papers needs no model.
    engine = (
        Engine.open(settings.index_dir, settings.model, limits=settings.limits())
        if draft
        else open_without_model(settings)
    )
    if args.all:
        scored = score_all(engine, progress=not settings.quiet)
        if args.json:
            print_json({"scored": scored, "generation": engine.store.generation()})
        else:
            print(f"scored {scored} papers; stored in {settings.index_dir}")
        return 0
    # A one-shot command: bring the stored scores (the percentiles' cohorts) up to date first.
    refresh(engine, progress=not settings.quiet)
    if draft:
        result = novelty_of_draft(
            engine, args.title or "", args.abstract or "", _parse_date(args.date), k=args.k
        )
    else:
        result = novelty_of_paper(engine, args.paper_id, k=args.k)
    if args.json:
        print_json(dump(NoveltyOut, result))
        return 0
    _print(result)
    return 0


def _parse_date(text: str | None) -> date | None:
    from models.errors import InvalidQueryError

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidQueryError(f"--date {text!r} is not a date: use YYYY-MM-DD") from None


def _print(result) -> None:
    pct = "n/a" if result.percentile is None else f"{result.percentile:.0f}%"
    raw = "n/a" if result.raw is None else f"{result.raw:.3f}"
    distance = "n/a" if result.distance is None else f"{result.distance:.3f}"
    print(
        f"novelty percentile: {pct}   score: {raw}   distance: {distance}   "
        f"earlier papers: {result.prior_count}"
    )
    flags = [
        f
        for f, on in (
            ("too few prior papers", result.too_few_prior),
            ("NEAR-DUPLICATE", result.near_duplicate),
        )
        if on
    ]
    if flags:
        print("flags: " + ", ".join(flags))
    print(result.explanation)
    if result.evidence:
        print("nearest earlier papers:")
    for item in result.evidence:
        paper = item.paper
        print(
            f"  {item.similarity:.3f}  {paper.published or '----------'}  {paper.id:<14} "
            f"{shorten(paper.title, 70)}"
        )

"""`paperscope search "query"`: keyword, semantic or hybrid search with filters."""

from __future__ import annotations

import argparse
from datetime import date

from api.commands.common import add_output_flags, output_format, print_export, shorten
from api.schemas import SearchPageOut, dump
from api.settings import Settings
from search.sorting import SORTS

MODES = ("keyword", "semantic", "hybrid")  # kept equal to search.retrieval.MODES; no torch import
SYNTAX = (
    'query syntax: "exact phrase", -word or NOT word, a OR b (AND is implied), title:, abstract:, '
    "author:, venue:, category:cs.LG, year:2019..2023, prefix*"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("query", help="keywords, a question, or a pasted abstract; " + SYNTAX)
    parser.add_argument("-k", type=int, default=10, help="results per page (1-100, default 10)")
    parser.add_argument("--offset", type=int, default=0, help="results to skip (pagination)")
    parser.add_argument("--mode", choices=MODES, default="hybrid", help="default: hybrid")
    parser.add_argument("--year-from", type=int, default=None, help="published in or after")
    parser.add_argument("--year-to", type=int, default=None, help="published in or before")
    parser.add_argument(
        "--date-from", type=date.fromisoformat, default=None, help="published on or after (ISO)"
    )
    parser.add_argument(
        "--date-to", type=date.fromisoformat, default=None, help="published on or before (ISO)"
    )
    parser.add_argument("--category", default=None, help="category or prefix: cs, cs.LG")
    parser.add_argument("--author", default=None, help="full author name (any case or accents)")
    parser.add_argument("--venue", default=None, help="venue or journal (substring)")
    parser.add_argument("--sort", choices=SORTS, default="relevance", help="default: relevance")
    parser.add_argument(
        "--facets",
        default=None,
        help="count these facets over the matches: year,category,venue,author",
    )
    add_output_flags(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.filters import Filters
    from search.engine import Engine
    from search.retrieval import search, validate_query

    filters = Filters(
        year_from=args.year_from,
        year_to=args.year_to,
        date_from=args.date_from,
        date_to=args.date_to,
        category=args.category,
        author=args.author,
        venue=args.venue,
    )
    # Bad arguments fail here, before the model is loaded.
    validate_query(
        args.query, k=args.k, mode=args.mode, offset=args.offset, limits=settings.limits()
    )
    filters.validate()
    engine = Engine.open(settings.index_dir, settings.model, limits=settings.limits())
    page = search(
        engine,
        args.query,
        k=args.k,
        mode=args.mode,
        filters=filters,
        offset=args.offset,
        sort=args.sort,
        facets=args.facets,
    )
    if fmt := output_format(args):
        print_export(fmt, page.hits, dump(SearchPageOut, page))
        return 0
    print(format_page(page))
    return 0


def format_page(page) -> str:
    """A readable table: one header line per hit, then its snippet with matched terms marked."""
    if not page.hits:
        why = page.message or (
            f"past the last result ({page.total})" if page.total else "nothing matches"
        )
        return f"no results for {shorten(page.query, 60)!r} ({page.mode}): {why}"
    about = "" if page.total_exact else "about "
    among = "" if page.total_exact else f" among the top {page.depth:,}"
    lines = [f"{about}{page.total:,} results{among}, sorted by {page.sort}"]
    lines += [f"  where {c}" for c in page.constraints]
    for name, values in page.facets.items():
        lines.append(f"  {name}: " + ", ".join(f"{v.value} ({v.count})" for v in values))
    lines.append(f"{'rank':>4}  {'score':>7}  {'year':>4}  {'id':<16}  title / authors")
    for hit in page.hits:
        paper = hit.paper
        year = str(paper.year) if paper.year else "-"
        lines.append(
            f"{hit.rank:>4}  {hit.score:>7.3f}  {year:>4}  {shorten(paper.id, 16):<16}  "
            f"{shorten(paper.title, 80)}"
        )
        if paper.authors:
            lines.append(f"{'':>37}{shorten(_authors(paper.authors), 80)}")
        lines.append(f"{'':>37}{shorten(hit.snippet.marked('[', ']'), 300)}")
    shown = f"{page.hits[0].rank}-{page.hits[-1].rank}"
    lines.append(f"results {shown} ({page.mode}); next page: --offset {page.offset + page.k}")
    return "\n".join(lines)


def _authors(names: tuple[str, ...]) -> str:
    return ", ".join(names[:3]) + (" et al." if len(names) > 3 else "")

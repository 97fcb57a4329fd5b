"""`paperscope citations ID`: a paper's references and the papers citing it, in the index."""

from __future__ import annotations

import argparse

from api.commands.common import add_output_flags, output_format, print_export, shorten
from api.schemas import CitationsOut, dump
from api.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paper_id", metavar="ID", help="id of a paper in the index")
    parser.add_argument("--limit", type=int, default=100, help="papers per list (default 100)")
    add_output_flags(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.store import Store
    from models.errors import InvalidQueryError
    from search.citations import citation_lists

    if args.limit < 1:
        raise InvalidQueryError(f"--limit {args.limit}: give at least 1")
    store = Store.open(settings.index_dir)  # reads SQLite only: no model, no derived indexes
    lists = citation_lists(store, args.paper_id, limit=args.limit)
    if fmt := output_format(args):
        print_export(fmt, lists.references + lists.cited_by, dump(CitationsOut, lists))
        return 0
    print(f"references: {len(lists.references)} in the index of {lists.reference_count} listed")
    for paper in lists.references:
        print(f"  {paper.year or '----'}  {paper.id:<14} {shorten(paper.title, 70)}")
    print(f"cited by: {lists.cited_by_count} papers in the index")
    for paper in lists.cited_by:
        cites = "" if paper.citation_count is None else f"{paper.citation_count:>6}"
        print(f"  {paper.year or '----'}  {paper.id:<14} {cites:>6} {shorten(paper.title, 64)}")
    return 0

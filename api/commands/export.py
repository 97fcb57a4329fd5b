"""`paperscope export ID... --format bibtex`: stored papers as BibTeX, RIS, CSV or JSON."""

from __future__ import annotations

import argparse

from api.commands.common import print_export
from api.schemas import PaperOut, dump_list
from api.settings import Settings
from search.export import FORMATS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paper_ids", nargs="+", metavar="ID", help="ids of papers in the index")
    parser.add_argument(
        "--format", choices=FORMATS, default="bibtex", help="output format (default: bibtex)"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.store import Store

    store = Store.open(settings.index_dir)  # reads SQLite only: no model, no derived indexes
    papers = [store.get(paper_id) for paper_id in args.paper_ids]  # unknown id: NotFoundError
    print_export(args.format, papers, dump_list(PaperOut, papers))
    return 0

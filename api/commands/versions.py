"""`paperscope versions ID` and `paperscope split ID`: the records of a paper's work, and taking
a paper out of a wrong merge."""

from __future__ import annotations

import argparse
import json

from api.schemas import WorkOut, dump
from api.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paper_id", metavar="ID", help="id of a paper in the index")
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.store import Store

    store = Store.open(settings.index_dir)  # reads SQLite only: no model, no derived indexes
    _print_work(store, args.paper_id, args.json)
    return 0


def run_split(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.store import Store

    store = Store.open(settings.index_dir)
    others = store.split(args.paper_id)
    if not args.json:
        print(f"{args.paper_id} is now a work of its own, apart from: {', '.join(others)}")
    _print_work(store, args.paper_id, args.json, extra={"split_from": others})
    return 0


def _print_work(store, paper_id: str, as_json: bool, extra: dict | None = None) -> None:
    from search.works import work_of

    work = work_of(store, paper_id)
    if as_json:
        data = dump(WorkOut, work, paper_id=paper_id)
        print(json.dumps({"paper_id": paper_id, **(extra or {}), **data}, indent=2))
        return
    print(f"{len(work.versions)} record(s) of this work, earliest first:")
    for version in work.versions:
        paper = version.paper
        date = paper.published.isoformat() if paper.published else "undated"
        print(f"  {date:<10}  {paper.id}  {paper.venue or paper.source}")
        if version.reason:
            print(f"              merged with {version.linked_to}: {version.reason}")
        for label, url in version.links():
            print(f"              {label}: {url}")

"""`paperscope authors PREFIX`: find authors by the start of their name."""

from __future__ import annotations

import argparse

from api.commands.common import add_json_flag, print_json
from api.schemas import AuthorSummaryOut, dump_list
from api.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prefix", help="start of a name or of any word in it, e.g. allen")
    parser.add_argument("--limit", type=int, default=20, help="most authors to list (default 20)")
    add_json_flag(parser)


def open_without_model(settings: Settings):
    """An Engine whose encoder is not loaded: author pages never embed text, so they skip the
    model's start-up time."""
    from indexer.store import Store
    from models.encoder import canonical_model_name
    from search.engine import Engine

    model = canonical_model_name(settings.model) if settings.model else None
    store = Store.open(settings.index_dir, model)
    store.sync_derived()
    return Engine(store, None, limits=settings.limits())


def run(args: argparse.Namespace, settings: Settings) -> int:
    from search.authors import find_authors

    found = find_authors(open_without_model(settings), args.prefix, limit=args.limit)
    if args.json:
        print_json(dump_list(AuthorSummaryOut, found))
        return 0
    if not found:
        print(f"no author name starts with {args.prefix!r}")
    for author in found:
        print(f"{author.paper_count:>5}  {author.name}")
    return 0

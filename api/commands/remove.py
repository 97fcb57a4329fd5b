"""`paperscope remove ID...`: delete papers from SQLite and every derived index."""

from __future__ import annotations

import argparse
import sys

from api.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ids", nargs="+", help="paper ids")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.store import Store
    from models.encoder import canonical_model_name

    model = canonical_model_name(settings.model) if settings.model else None
    store = Store.open(settings.index_dir, model)
    missing = store.remove(args.ids)
    store.flush()
    removed = len(args.ids) - len(missing)
    print(f"removed {removed} papers; index now holds {store.count()}")
    if missing:
        print(f"not found: {', '.join(missing)}", file=sys.stderr)
    return 0 if removed else 1

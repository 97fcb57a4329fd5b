"""`paperscope reindex`: rebuild the vector and BM25 indexes from SQLite, without re-embedding."""

from __future__ import annotations

import argparse
import time

from api.commands.common import add_backend_flags, backend_of
from api.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--vector-index",
        default=None,
        choices=["auto", "flat", "hnsw", "hnsw_sq8"],
        help="vector index kind (default: keep the index's current choice)",
    )
    add_backend_flags(parser, when="to move the vectors to (default: keep the index's)")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.store import Store
    from models.encoder import canonical_model_name

    model = canonical_model_name(settings.model) if settings.model else None
    store = Store.open(settings.index_dir, model)
    started = time.perf_counter()
    view = store.rebuild(args.vector_index, backend=backend_of(args))
    print(
        f"rebuilt {view.vectors.kind} vector index and BM25 index of {len(view.vectors)} papers "
        f"in {time.perf_counter() - started:.1f}s"
    )
    return 0

"""`paperscope export-embeddings --out DIR`: the index's vectors as Parquet, reusable elsewhere."""

from __future__ import annotations

import argparse
from pathlib import Path

from api.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")


def run(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from indexer import embeddings_io
    from indexer.store import Store
    from models.encoder import canonical_model_name

    model = canonical_model_name(settings.model) if settings.model else None
    store = Store.open(settings.index_dir, model)
    bar = tqdm(total=store.count(), desc="export", unit=" vectors", disable=settings.quiet or None)

    def batches():
        for ids, hashes, vectors in store.embedding_records(embeddings_io.EXPORT_ROWS):
            yield ids, hashes, vectors
            bar.update(len(ids))

    try:
        written = embeddings_io.export(
            args.out,
            batches(),
            model=store.model_name,
            dim=store.dim,
            max_windows=store.manifest.max_windows,
        )
    finally:
        bar.close()
    print(f"wrote {written} vectors of {store.model_name} to {args.out}")
    return 0

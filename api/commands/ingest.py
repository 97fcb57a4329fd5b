"""`paperscope ingest PATH...`: add papers from metadata dumps to the index."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from api.commands.common import add_backend_flags, add_json_flag, backend_of, print_json
from api.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, help="files or folders (.gz accepted)")
    parser.add_argument(
        "--format",
        dest="fmt",
        default=None,
        help="arxiv, s2orc, beir, cora, jsonl or csv (default: detected per file)",
    )
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="generic JSONL/CSV column mapping, e.g. --map abstract=summary",
    )
    parser.add_argument(
        "--keep-title-only",
        action="store_true",
        help="keep records without an abstract (title only) instead of skipping",
    )
    parser.add_argument(
        "--max-windows",
        type=int,
        default=None,
        metavar="N",
        help=Settings.help("max_windows"),
    )
    parser.add_argument(
        "--vector-index",
        default=None,
        choices=["auto", "flat", "hnsw", "hnsw_sq8"],
        help="vector index kind for a new index (default auto: flat up to 50k papers, hnsw up "
        "to 500k, then hnsw_sq8: 8-bit vectors, a quarter of the memory)",
    )
    parser.add_argument(
        "--embeddings",
        type=Path,
        default=None,
        metavar="DIR",
        help="vectors made elsewhere (embeddings.json with a .npy matrix and ids.txt, or the "
        "Parquet files of `paperscope export-embeddings` / `embed`); only records without one "
        "are embedded",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=None,
        help="records per committed transaction (default 512)",
    )
    add_backend_flags(parser, when="chosen when the index is created and kept")
    add_json_flag(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from indexer import embeddings_io
    from indexer.ingest import ingest
    from indexer.readers.detect import parse_mapping
    from indexer.store import Store
    from models.encoder import load_encoder

    mapping = parse_mapping(args.map) if args.map else None
    backend = backend_of(args)
    if backend is not None:  # before anything is embedded or written
        backend.check_vector_kind(args.vector_index)
    given = embeddings_io.read(args.embeddings) if args.embeddings else None
    windows = args.max_windows if args.max_windows is not None else settings.max_windows
    if windows is None:  # the existing index's choice, else every window
        windows = Store.existing_max_windows(settings.index_dir) or 0
    encoder = load_encoder(settings.model, precision=settings.precision, max_windows=windows)
    store = Store.create_or_open(
        settings.index_dir,
        encoder.name,
        encoder.dim,
        max_windows=encoder.max_windows,
        backend=backend,
    )
    if args.vector_index:
        store.request_vector_kind(args.vector_index)
    report = ingest(
        store,
        encoder,
        args.paths,
        fmt=args.fmt,
        mapping=mapping,
        keep_title_only=args.keep_title_only,
        progress=not settings.quiet,
        embeddings=given,
        **({"batch_size": args.batch_size} if args.batch_size else {}),
    )
    if args.json:
        print_json(report.to_dict() | {"index": str(settings.index_dir), "total": store.count()})
    else:
        print(_summary(report, store.count(), settings.index_dir))
    # Exit non-zero only when nothing at all could be read: a dump with some bad lines is normal.
    return 1 if report.read == 0 and report.skipped_total > 0 else 0


def _summary(report, total: int, index_dir: Path) -> str:
    lines = [
        f"read {report.read}, added {report.added}, updated {report.updated}, "
        f"unchanged {report.unchanged}, embedded {report.embedded}, "
        f"vectors imported {report.imported}, "
        f"skipped {report.skipped_total} in {report.seconds:.1f}s "
        f"({report.read / max(report.seconds, 1e-9):.0f} papers/s)",
        f"index {index_dir}: {total} papers",
    ]
    if report.skipped:
        reasons = ", ".join(f"{n} {reason}" for reason, n in report.skipped.most_common())
        lines.append(f"skipped: {reasons}")
        lines += [f"  {s.path}:{s.line}: {s.reason}" for s in report.skip_examples[:5]]
    if report.read == 0 and report.skipped_total:
        print("paperscope ingest: error: no record could be read", file=sys.stderr)
    return "\n".join(lines)

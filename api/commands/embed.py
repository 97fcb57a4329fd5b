"""`paperscope embed PATH... --out DIR [--ray ADDRESS|local]`: vectors for `ingest --embeddings`."""

from __future__ import annotations

import argparse
from pathlib import Path

from api.commands.common import add_json_flag, print_json
from api.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", type=Path, help="files or folders (.gz accepted)")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--ray",
        default=None,
        metavar="ADDRESS",
        help="embed on a Ray cluster: 'local' starts one on this machine, else its address "
        "(needs the ray extra); without it, this process embeds",
    )
    parser.add_argument(
        "--actors", type=int, default=1, help="Ray actors, each with one encoder (default 1)"
    )
    parser.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default=None,
        help="in this process: cuda when available, else cpu; on Ray: cpu unless cuda is given "
        "(then one GPU per actor)",
    )
    parser.add_argument("--format", dest="fmt", default=None, help="as for ingest")
    parser.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN")
    parser.add_argument("--keep-title-only", action="store_true")
    parser.add_argument("--max-windows", type=int, default=0, metavar="N", help="as for ingest")
    parser.add_argument(
        "--shard-rows", type=int, default=None, help="records per Parquet file (default 10,000)"
    )
    parser.add_argument("--batch-size", type=int, default=64)
    add_json_flag(parser)
    parser.epilog = (
        "Rerun the same command to resume: shards already written are kept. Then load them "
        "with `paperscope ingest PATH... --embeddings DIR`, which embeds only what they lack."
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.embed_job import SHARD_ROWS, EmbedSettings, ShardEncoder, embed_files
    from indexer.readers.detect import parse_mapping
    from models.encoder import canonical_model_name
    from models.errors import BadInputError

    for name in ("actors", "shard_rows", "batch_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise BadInputError(f"--{name.replace('_', '-')} must be at least 1, not {value}")
    if args.max_windows < 0:
        raise BadInputError("--max-windows must be 0 (every window) or more")
    job = EmbedSettings(
        model=canonical_model_name(settings.model),
        max_windows=args.max_windows,
        precision=settings.precision,
        device=args.device,
        shard_rows=args.shard_rows or SHARD_ROWS,
        fmt=args.fmt,
        mapping=parse_mapping(args.map),
        keep_title_only=args.keep_title_only,
    )
    encoder = ShardEncoder(
        job,
        batch_size=args.batch_size,
        ray_address=args.ray,
        actors=args.actors,
    )
    report = embed_files(args.paths, args.out, job, encoder, progress=not settings.quiet)
    if args.json:
        print_json({"out": str(args.out), "model": job.model, **report.to_dict()})
        return 0
    rate = report.to_dict()["papers_per_s"]
    print(
        f"embedded {report.embedded} papers in {report.shards_written} shards "
        f"({report.shards_resumed} already done) with {report.workers} in {report.seconds:.0f}s"
        + (f", {rate} papers/s" if rate else "")
    )
    if report.skipped:
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(report.skipped.items()))
        print(f"skipped {sum(report.skipped.values())} records: {reasons}")
    print(f"load them with: paperscope ingest PATH... --embeddings {args.out}")
    return 0

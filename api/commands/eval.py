"""`paperscope eval BEIR_DIR`: nDCG@10, Recall@100 and MRR@10 of each search mode."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from api.commands.common import add_backend_flags, add_json_flag, backend_of, print_json
from api.settings import Settings

# search.retrieval.MODES plus search.evaluation.BASELINE_MODE (plain RRF); no torch import.
MODES = ("keyword", "semantic", "hybrid", "rrf")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "beir_dir", type=Path, help="BEIR folder: corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv"
    )
    parser.add_argument("--split", default="test", help="qrels file to score against")
    parser.add_argument(
        "--modes",
        nargs="+",
        choices=MODES,
        default=list(MODES),
        help="search modes to evaluate, and rrf: hybrid's two candidate lists fused by plain "
        "reciprocal rank fusion (k=60), the baseline (default: all four)",
    )
    add_backend_flags(
        parser,
        when="to compare with the embedded one in the same run (the vectors are moved, "
        "not embedded again)",
    )
    add_json_flag(parser)
    parser.epilog = (
        "Without --index the corpus is ingested into a temporary folder that is deleted "
        "afterwards; with --index it is ingested there (again: a no-op) and kept."
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.backend import BackendConfig
    from search.evaluation import load_beir, open_beir_index, run_eval

    data = load_beir(args.beir_dir, args.split)  # fail on a bad folder before any ingest
    backend = backend_of(args)
    # The embedded backend first, then the one asked for, over the same stored vectors.
    backends = [BackendConfig()] + ([backend] if backend and backend.name != "faiss" else [])
    by_backend = {}
    # Only an explicit --index is used: PAPERSCOPE_INDEX usually names the user's real index,
    # which must not receive a benchmark corpus.
    with tempfile.TemporaryDirectory(prefix="paperscope-eval-") as tmp:
        index_dir = Path(args.index_dir) if args.index_dir else Path(tmp)
        engine, report = open_beir_index(
            args.beir_dir, index_dir, settings.model, progress=not settings.quiet
        )
        for chosen in backends:
            if engine.store.backend.name != chosen.name:
                engine.store.rebuild(backend=chosen)
            by_backend[chosen.name] = run_eval(
                engine, data, args.modes, progress=not settings.quiet
            )
    results = by_backend[backends[-1].name]
    if args.json:
        print_json(
            {
                "data": str(args.beir_dir),
                "split": args.split,
                "queries": len(data.queries),
                "corpus": report.read,
                "index": str(args.index_dir) if args.index_dir else None,
                "ingest": {"added": report.added, "unchanged": report.unchanged},
                "skipped": dict(report.skipped),
                "model": engine.encoder.name,
                "backend": backends[-1].name,
                "results": [r.to_dict() for r in results],
                "backends": {n: [r.to_dict() for r in rs] for n, rs in by_backend.items()},
            }
        )
        return 0
    print(
        f"{args.beir_dir} ({args.split}): {len(data.queries)} queries, {report.read} documents, "
        f"model {engine.encoder.name}"
    )
    if report.skipped:
        reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(report.skipped.items()))
        print(f"skipped {report.skipped_total} records: {reasons}")
    print(f"{'backend':<9}{'mode':<10}{'nDCG@10':>9}{'R@100':>9}{'MRR@10':>9}{'ms/query':>10}")
    for name, rows in by_backend.items():
        for r in rows:
            m = r.metrics
            print(
                f"{name:<9}{r.mode:<10}{m['ndcg@10']:>9.4f}{m['recall@100']:>9.4f}"
                f"{m['mrr@10']:>9.4f}{r.mean_ms:>10.1f}"
            )
    return 0

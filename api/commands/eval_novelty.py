"""`paperscope eval-novelty PAPERS --label FIELD --prior PRIOR...`: novelty against people."""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

from api.commands.common import add_json_flag, print_json
from api.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "papers", nargs="+", type=Path, help="labelled papers (JSONL or CSV, .gz accepted)"
    )
    parser.add_argument(
        "--label",
        default="technical_novelty_mean",
        help="numeric field of the labelled papers to correlate with (default: %(default)s)",
    )
    parser.add_argument(
        "--prior",
        nargs="+",
        type=Path,
        default=[],
        help="earlier work to score against (files or folders); the labelled papers are prior "
        "work for later labelled ones too",
    )
    parser.add_argument(
        "--year",
        type=int,
        nargs="+",
        default=None,
        help="only the labelled papers of these years (default: every year)",
    )
    add_json_flag(parser)
    parser.epilog = (
        "Without --index the papers are ingested into a temporary folder that is deleted "
        "afterwards; with --index they are ingested there (again: only what is missing) and "
        "kept, so that reruns skip the embedding."
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.ingest import ingest
    from indexer.store import Store
    from models.encoder import load_encoder
    from search.engine import Engine
    from search.novelty_eval import evaluate_novelty, read_labels

    labels = read_labels(args.papers, args.label)  # fail on a bad label before any ingest
    # Only an explicit --index is used: PAPERSCOPE_INDEX usually names the user's real index,
    # which must not receive a benchmark corpus.
    with tempfile.TemporaryDirectory(prefix="paperscope-eval-novelty-") as tmp:
        index_dir = Path(args.index_dir) if args.index_dir else Path(tmp)
        encoder = load_encoder(settings.model)
        store = Store.create_or_open(index_dir, encoder.name, encoder.dim)
        report = ingest(store, encoder, [*args.prior, *args.papers], progress=not settings.quiet)
        result = evaluate_novelty(
            Engine(store, encoder), labels, args.label, years=args.year, progress=not settings.quiet
        )
    if args.json:
        print_json(
            {
                **result.to_dict(),
                "index": str(args.index_dir) if args.index_dir else None,
                "ingest": {"read": report.read, "added": report.added, "skipped": report.skipped},
                "without_label": dict(labels.missing),
                "model": encoder.name,
            }
        )
        return 0
    print(
        f"{args.label}: {result.labelled} labelled papers in the index, {result.unscored} of them "
        f"undated or with under 20 earlier papers (not scored), {result.not_in_index} not "
        f"ingested; {report.read} records read ({report.added} new)"
    )
    if labels.missing:
        reasons = ", ".join(f"{n} {why}" for why, n in sorted(labels.missing.items()))
        print(f"records without a label: {reasons}")
    print(f"{'papers':<12}{'score':<34}{'Spearman':>9}{'Kendall':>9}{'n':>7}")
    rows = [("all", result.method, result.baseline)]
    rows += [(str(year), m, b) for year, (m, b) in sorted(result.by_year.items())]
    for name, method, baseline in rows:
        for title, c in (
            ("paperscope novelty", method),
            ("kNN baseline (1 - mean cos@10)", baseline),
        ):
            print(f"{name:<12}{title:<34}{_fmt(c.spearman):>9}{_fmt(c.kendall):>9}{c.n:>7}")
    print(f"({result.seconds:.0f}s)")
    return 0


def _fmt(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:+.4f}"

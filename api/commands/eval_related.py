"""`paperscope eval-related PAPERS EDGES`: related-paper quality on a citation graph."""

from __future__ import annotations

import argparse
from pathlib import Path

from api.commands.common import add_json_flag, print_json
from api.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("papers", type=Path, help="papers file (e.g. cora_papers.jsonl)")
    parser.add_argument("edges", type=Path, help="citation pairs, two tab-separated ids per line")
    parser.add_argument(
        "--holdout", type=float, default=0.2, help="share of edges hidden from the citation blend"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the hidden-edge split")
    parser.add_argument("-k", type=int, default=10, help="cut-off of recall and nDCG (default 10)")
    add_json_flag(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from indexer.ingest import ingest
    from indexer.readers.base import Skip
    from indexer.readers.detect import read_papers
    from indexer.store import Store
    from models.encoder import load_encoder
    from search.engine import Engine
    from search.related_eval import evaluate_related, read_edges

    edges = read_edges(args.edges)
    ids = [p.id for p in read_papers(args.papers) if not isinstance(p, Skip)]
    encoder = load_encoder(settings.model)
    store = Store.create_or_open(settings.index_dir, encoder.name, encoder.dim)
    # Papers already in the index are unchanged records: this only embeds what is missing.
    ingest(store, encoder, [args.papers], progress=not settings.quiet)
    report = evaluate_related(
        Engine(store, encoder),
        ids,
        edges,
        k=args.k,
        holdout=args.holdout,
        seed=args.seed,
        progress=not settings.quiet,
    )
    if args.json:
        print_json(report.to_dict())
        return 0
    print(
        f"{report.papers} papers, {report.edges} undirected edges; hidden protocol: "
        f"{report.hidden_edges} edges ({report.holdout:.0%}) hidden, seed {report.seed}"
    )
    print(
        f"{'protocol':<14}{'method':<17}{f'recall@{report.k}':>10}{f'nDCG@{report.k}':>9}"
        f"{'queries':>9}"
    )
    for s in report.scores:
        print(f"{s.protocol:<14}{s.method:<17}{s.recall:>10.4f}{s.ndcg:>9.4f}{s.queries:>9}")
    print(f"({report.seconds:.0f}s)")
    return 0

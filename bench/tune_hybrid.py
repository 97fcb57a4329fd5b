"""Tune hybrid fusion on a BEIR split (SciFact *train*): nDCG@10 of each FusionParams setting.

    python bench/tune_hybrid.py ../shared/data/scifact --index /tmp/paperscope-scifact

Candidates (both sides' top lists, exact scores) are collected once per query; every setting
then re-ranks them in numpy, so a grid of a hundred settings takes seconds.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TQDM_DISABLE", "1")

from search.engine import Engine  # noqa: E402
from search.evaluation import load_beir, mean_metrics, score_run  # noqa: E402
from search.fusion import FusionParams, fuse  # noqa: E402
from search.retrieval import HYBRID_CANDIDATES, Candidates, keyword_side  # noqa: E402


def collect(engine: Engine, queries: dict[str, str]) -> dict[str, tuple[Candidates, list[str]]]:
    out = {}
    for qid, text in queries.items():
        vector = engine.encoder.encode_query(text)
        view = engine.store.view()
        keyword = keyword_side(view, text, None)
        cands = Candidates.collect(view, keyword, vector, HYBRID_CANDIDATES, None)
        ids = [p.id for p in engine.store.papers_by_vids(cands.vids)]
        out[qid] = (cands, ids)
    return out


def evaluate(collected, qrels, params: FusionParams) -> dict[str, float]:
    rows = []
    for qid, (c, ids) in collected.items():
        fused = fuse(c.keyword, c.semantic, c.kw_rank, c.sem_rank, params)
        order = np.lexsort((c.vids, -fused))[:100]
        rows.append(score_run([ids[i] for i in order], qrels[qid]))
    return mean_metrics(rows)


def grid() -> list[FusionParams]:
    settings = [FusionParams("rrf", rrf_k=k) for k in (10, 30, 60)]
    for normalization, weight in itertools.product(("zscore", "minmax"), (0.3, 0.4, 0.5, 0.6, 0.7)):
        settings.append(FusionParams("convex", weight=weight, normalization=normalization))
    return settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("beir_dir", type=Path)
    parser.add_argument("--index", type=Path, required=True, help="index of the BEIR corpus")
    parser.add_argument("--split", default="train")
    args = parser.parse_args()
    data = load_beir(args.beir_dir, args.split)
    engine = Engine.open(args.index)
    started = time.perf_counter()
    collected = collect(engine, data.queries)
    print(
        f"{len(collected)} {args.split} queries collected in {time.perf_counter() - started:.0f}s"
    )
    for params in grid():
        m = evaluate(collected, data.qrels, params)
        print(
            f"{params.method:<7} {params.normalization:<7} w={params.weight:.2f} "
            f"rrf_k={params.rrf_k:<4} nDCG@10={m['ndcg@10']:.4f} R@100={m['recall@100']:.4f} "
            f"MRR@10={m['mrr@10']:.4f}"
        )


if __name__ == "__main__":
    main()

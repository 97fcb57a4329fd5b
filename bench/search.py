"""Search latency p50/p99 per mode, on a real index and a synthetic large one, with baselines.

    python bench/search.py --index /tmp/paperscope-scifact --data ../shared/data/scifact

Part 1 times search() on the given index (SciFact) with its test queries. Part 2 builds a
synthetic index of --synthetic papers (default 100k: SciFact texts repeated with words dropped,
real vectors for the originals and random unit vectors for the copies) with Store, VectorIndex
and KeywordIndex directly, and times it again. Each part also times, in the same run, a numpy
brute-force dot product over all vectors and a plain bm25s index (its own tokenizer).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("TQDM_DISABLE", "1")

import bm25s  # noqa: E402

from indexer.filters import Filters  # noqa: E402
from indexer.paper import Paper  # noqa: E402
from indexer.store import Store  # noqa: E402
from search.engine import Engine  # noqa: E402
from search.evaluation import load_beir  # noqa: E402
from search.retrieval import (  # noqa: E402
    DEFAULT_FUSION,
    MODES,
    hybrid_ranking,
    keyword_side,
    search,
    semantic_ranking,
)

K = 10
LABEL, WHAT = 26, 34


def timed(fn: Callable[[int], object], n: int) -> tuple[float, float]:
    """p50 and p99 in ms of fn(i) for i in range(n), after a short warm-up."""
    for i in range(min(5, n)):
        fn(i)
    times = []
    for i in range(n):
        started = time.perf_counter()
        fn(i)
        times.append(1000 * (time.perf_counter() - started))
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def bench_index(label: str, engine: Engine, queries: list[str], vectors: np.ndarray) -> list:
    """Rows (label, what, p50, p99) for search() per mode and for the two baselines."""
    store, n = engine.store, len(queries)
    cases: list[tuple[str, Callable[[int], object]]] = [
        ("encode_query (model only)", lambda i: engine.encoder.encode_query(queries[i]))
    ]
    for mode in MODES:
        cases.append((f"search {mode}", lambda i, m=mode: search(engine, queries[i], k=K, mode=m)))
    recent = Filters(year_from=2015)
    allowed = store.select_vids(recent)
    if len(allowed):  # SciFact has no dates: the row only means something on the synthetic set
        cases.append(
            (
                f"search hybrid, {len(allowed)} after 2015",
                lambda i: search(engine, queries[i], k=K, filters=recent),
            )
        )
    cases += [
        ("semantic, vector given", lambda i: semantic_ranking(store.view(), vectors[i], K, None)),
        (
            "hybrid, vector given",
            lambda i: hybrid_ranking(
                store.view(),
                vectors[i],
                K,
                None,
                DEFAULT_FUSION,
                keyword_side(store.view(), queries[i], None),
            ),  # fmt: skip
        ),
        ("keyword, ranking only", lambda i: store.keywords.search(queries[i], K)),
    ]
    matrix = np.vstack([m for _, m in store.iter_embeddings()])
    cases.append(("baseline numpy brute force", lambda i: _brute_force(matrix, vectors[i])))
    texts = [f"{title} {abstract}" for _, title, abstract in store.papers_text_in_vid_order()]
    plain = bm25s.BM25()
    plain.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
    cases.append(("baseline bm25s (plain)", lambda i: _plain_bm25(plain, queries[i])))
    rows = []
    for what, fn in cases:
        rows.append((label, what, *timed(fn, n)))
        print(f"{label:<{LABEL}}{what:<{WHAT}}{rows[-1][2]:>9.2f}{rows[-1][3]:>9.2f}", flush=True)
    return rows


def _brute_force(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    scores = matrix @ vector
    top = np.argpartition(-scores, K)[:K]
    return top[np.argsort(-scores[top])]


def _plain_bm25(retriever: bm25s.BM25, query: str):
    tokens = bm25s.tokenize([query], stopwords="en", return_ids=False, show_progress=False)
    return retriever.retrieve(tokens, k=K, show_progress=False)


def build_synthetic(source: Store, size: int, folder: Path) -> Store:
    """`size` papers: the source papers first (real vectors), then perturbed copies."""
    rng = random.Random(0)
    vrng = np.random.default_rng(0)
    base_vids = source.all_vids()
    base = source.papers_by_vids(base_vids)
    base_vectors = source.embeddings(base_vids)
    store = Store.create_or_open(folder, source.model_name, source.dim)
    for start in range(0, size, 5000):
        papers, vectors = [], {}
        for n in range(start, min(size, start + 5000)):
            paper = base[n % len(base)]
            copy = n // len(base)
            if copy:
                words = paper.abstract.split()
                kept = [w for w in words if rng.random() > 0.15] or words
                paper = Paper(id=f"{paper.id}-{copy}", title=paper.title, abstract=" ".join(kept))
                vector = vrng.standard_normal(source.dim).astype(np.float32)
                vector /= np.linalg.norm(vector)
            else:
                vector = base_vectors[n]
            papers.append(_with_metadata(paper, n))
            vectors[papers[-1].id] = vector
        store.write_batch(papers, [], vectors)
    started = time.perf_counter()
    store.sync_derived()
    seconds = time.perf_counter() - started
    print(f"synthetic index: {size} papers, derived indexes built in {seconds:.0f}s", flush=True)
    return store


def _with_metadata(paper: Paper, n: int) -> Paper:
    return Paper(
        id=paper.id,
        title=paper.title,
        abstract=paper.abstract,
        authors=(f"Author {n % 997}",),
        categories=(("cs.LG", "q-bio.NC", "math.ST", "physics.med-ph")[n % 4],),
        published=date(2000 + n % 25, 1 + n % 12, 1),
        date_precision="month",
    )


def print_rows(rows: list) -> None:
    print(f"{'index':<{LABEL}}{'what':<{WHAT}}{'p50 ms':>9}{'p99 ms':>9}")
    for label, what, p50, p99 in rows:
        print(f"{label:<{LABEL}}{what:<{WHAT}}{p50:>9.2f}{p99:>9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True, help="SciFact index folder")
    parser.add_argument("--data", type=Path, required=True, help="SciFact BEIR folder (queries)")
    parser.add_argument("--queries", type=int, default=300, help="queries timed per row")
    parser.add_argument("--synthetic", type=int, default=100_000, help="papers; 0 skips part 2")
    args = parser.parse_args()
    engine = Engine.open(args.index)
    queries = list(load_beir(args.data, "test").queries.values())[: args.queries]
    vectors = np.vstack([engine.encoder.encode_query(q) for q in queries])
    label = f"{args.index.name} ({engine.store.count()})"
    print(f"{'index':<{LABEL}}{'what':<{WHAT}}{'p50 ms':>9}{'p99 ms':>9}")
    rows = bench_index(label, engine, queries, vectors)
    if args.synthetic:
        with tempfile.TemporaryDirectory(prefix="paperscope-bench-") as tmp:
            store = build_synthetic(engine.store, args.synthetic, Path(tmp) / "idx")
            big = Engine(store, engine.encoder)
            rows += bench_index(f"synthetic ({args.synthetic})", big, queries, vectors)
        print("\nall rows (k=10, one query at a time):")
        print_rows(rows)


if __name__ == "__main__":
    main()

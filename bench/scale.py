"""Synthetic indexes of 100k and 1M papers: build time, RAM, disk, query latency, ANN recall@10.

    python bench/scale.py                                # 100k papers
    python bench/scale.py --sizes 100000,1000000         # and 1M (an hour or more on 2 cores)
    python bench/scale.py --sizes 1000000 --vectors-only --kinds hnsw,hnsw_sq8

What is synthetic: the texts are SciFact's 5,183 abstracts, each copy with every 8th word
dropped at a shifted offset (so copies differ slightly); the vectors are real for the 5,183
originals (paperscope's encoder) and synthetic for the copies: --synthetic random (default)
draws uniform unit vectors; mix puts a copy on the line from its original towards another random
original (a share of 0.5-1 of its own) plus a little Gaussian noise; jitter is the original plus
Gaussian noise (cosine 0.8). mix and jitter make hundreds of near-equidistant copies around each
original at 1M: a stress case for graph indexes that real abstracts do not reach.
Queries are SciFact's test claims. The index is built through the store (SQLite writes, then the
FAISS and BM25 rebuild); RAM is the RSS growth of a fresh process loading each part; latency is
search() per mode (full records with snippets), p50/p99 over the queries; ANN recall@10 is the
vector index against exact brute force over the same vectors.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import numpy as np
from benchlib import (
    DEFAULT_SCIFACT,
    ROOT,
    disk_mb,
    latencies,
    machine,
    p50_p99,
    plain_text,
    print_table,
    read_corpus,
    rss_mb,
)

K = 10
WRITE_BATCH = 10_000


def base_data(folder: Path, cache: Path | None):
    """SciFact records, their real vectors and the test query texts and vectors."""
    from models.encoder import load_encoder
    from search.evaluation import load_beir

    records = read_corpus(folder, None)
    queries = list(load_beir(folder, "test").queries.values())
    encoder = load_encoder()
    if cache and cache.is_file() and np.load(cache).shape[0] == len(records):
        vectors = np.load(cache)
    else:
        started = time.perf_counter()
        vectors = encoder.encode_documents([plain_text(r) for r in records])
        print(f"embedded {len(records)} SciFact abstracts in {time.perf_counter() - started:.0f}s")
        if cache:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.save(cache, vectors)
    query_vectors = np.vstack([encoder.encode_query(q) for q in queries])
    return records, vectors, queries, query_vectors


def synthetic_vectors(base: np.ndarray, start: int, stop: int, how: str) -> np.ndarray:
    """Vectors of papers start..stop-1: originals first, then jittered (or random) copies."""
    rng = np.random.default_rng(start)
    rows = np.arange(start, stop)
    out = base[rows % len(base)].copy()
    copies = rows >= len(base)
    n = int(copies.sum())
    noise = rng.standard_normal((n, base.shape[1])).astype(np.float32)
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    if how == "random":
        out[copies] = noise
    elif how == "jitter":
        # |base| = |noise| = 1: base + 0.75 * noise has cosine 1/sqrt(1 + 0.75^2) = 0.8 to base.
        out[copies] += 0.75 * noise
    else:  # mix: along the line to another real paper, plus a little noise
        share = rng.uniform(0.5, 1.0, size=(n, 1)).astype(np.float32)
        other = base[rng.integers(0, len(base), size=n)]
        out[copies] = share * out[copies] + (1 - share) * other + 0.25 * noise
    return out / np.linalg.norm(out, axis=1, keepdims=True)


def synthetic_papers(records: list[dict], start: int, stop: int) -> list:
    from indexer.paper import Paper

    papers = []
    for n in range(start, stop):
        record = records[n % len(records)]
        copy = n // len(records)
        words = record["text"].split()
        abstract = " ".join(w for i, w in enumerate(words) if (i + copy) % 8) if copy else None
        papers.append(
            Paper(
                id=f"{record['_id']}-{copy}",
                title=record["title"],
                abstract=abstract or record["text"],
                authors=(f"Author {n % 50_000}",),
                categories=(f"cat.{n % 40}",),
                published=date(1995 + n % 30, 1 + n % 12, 1),
                date_precision="day",
            )
        )
    return papers


def build_store(folder: Path, size: int, records, base: np.ndarray, how: str, kind: str) -> dict:
    """Write `size` synthetic papers through the store, then build the derived indexes."""
    from indexer.store import Store

    store = Store.create_or_open(folder, "all-MiniLM-L6-v2", base.shape[1])
    store.manifest.derived.setdefault("vectors", {})["requested"] = kind
    started = time.perf_counter()
    for start in range(0, size, WRITE_BATCH):
        stop = min(size, start + WRITE_BATCH)
        papers = synthetic_papers(records, start, stop)
        vectors = synthetic_vectors(base, start, stop, how)
        store.write_batch(papers, [], {p.id: vectors[i] for i, p in enumerate(papers)})
    written = time.perf_counter()
    store.sync_derived()
    derived = time.perf_counter()
    return {
        "sqlite_s": written - started,
        "derived_s": derived - written,
        "kind": store.manifest.derived["vectors"]["kind"],
    }


def measure_load(folder: Path) -> dict:
    """RSS growth (MiB) of a fresh process loading the store, vector index and keyword index."""
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[2]); sys.path.insert(0, sys.argv[3]);"
        "from benchlib import rss_mb; from pathlib import Path;"
        "from indexer.store import Store; from indexer.vector_index import VectorIndex;"
        "from indexer.keyword_index import KeywordIndex;"
        "d = Path(sys.argv[1]); s = Store.open(d); m = s.manifest.derived; r0 = rss_mb();"
        "v = VectorIndex.load(d / m['vectors']['file'], m['vectors']['kind']); r1 = rss_mb();"
        "k = KeywordIndex.load(d / m['keyword']['file']); r2 = rss_mb();"
        "print(json.dumps({'vectors_mb': r1 - r0, 'keyword_mb': r2 - r1}))"
    )
    args = [sys.executable, "-c", code, str(folder), str(ROOT), str(ROOT / "bench")]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def exact_top(chunks: Iterable[tuple[np.ndarray, np.ndarray]], queries: np.ndarray) -> np.ndarray:
    """Exact top-K ids by brute force over (ids, vectors) chunks; memory stays bounded."""
    best_scores = np.full((len(queries), K), -np.inf, dtype=np.float32)
    best_ids = np.zeros((len(queries), K), dtype=np.int64)
    for ids, vectors in chunks:
        scores = np.concatenate([best_scores, queries @ vectors.T], axis=1)
        ids = np.concatenate([best_ids, np.tile(ids, (len(queries), 1))], axis=1)
        top = np.argpartition(-scores, K, axis=1)[:, :K]
        best_scores = np.take_along_axis(scores, top, 1)
        best_ids = np.take_along_axis(ids, top, 1)
    return best_ids


def recall_at_k(truth: np.ndarray, found: np.ndarray) -> float:
    return float(np.mean([len(set(t) & set(f)) / K for t, f in zip(truth, found, strict=True)]))


def vectors_only(
    size: int, base: np.ndarray, how: str, kinds: list[str], qv: np.ndarray, efs: list[int]
) -> list:
    """Build each vector index kind in this process: build time, RSS growth, recall, latency."""
    from indexer.vector_index import VectorIndex

    matrix = np.vstack(
        [synthetic_vectors(base, s, min(size, s + 100_000), how) for s in range(0, size, 100_000)]
    )
    step = 200_000
    truth = exact_top(
        ((np.arange(a, min(size, a + step)), matrix[a : a + step]) for a in range(0, size, step)),
        qv,
    )
    rows = []
    for kind in kinds:
        before, started = rss_mb(), time.perf_counter()
        index = VectorIndex.build(base.shape[1], np.arange(size), matrix, kind)
        built, ram = time.perf_counter() - started, rss_mb() - before
        for ef in [None] + (efs if kind != "flat" else []):
            _, found = index.search(qv, K, ef_search=ef)
            one = lambda i, x=index, e=ef: x.search(qv[i : i + 1], K, ef_search=e)  # noqa: E731
            times = latencies(one, len(qv))
            p50, p99 = p50_p99(times)
            label = kind if ef is None else f"{kind}, efSearch {ef}"
            rows.append([size, label, built, ram, recall_at_k(truth, found), p50, p99])
        del index
    return rows


def full_run(size: int, data, how: str, kind: str, workdir: Path) -> list:
    from indexer.store import DB_NAME
    from search.engine import Engine
    from search.retrieval import MODES, search

    records, base, queries, qv = data
    folder = workdir / f"scale-{size}"
    build = build_store(folder, size, records, base, how, kind)
    ram = measure_load(folder)
    derived = json.loads((folder / "manifest.json").read_text())["derived"]
    engine = Engine.open(folder, warm=True)
    truth = exact_top(engine.store.iter_embeddings(200_000), qv)
    _, found = engine.store.vectors.search(qv, K)
    recall = recall_at_k(truth, found)
    rows = [
        [size, "build: SQLite writes", f"{build['sqlite_s']:.0f} s", "", ""],
        [size, "build: FAISS + BM25", f"{build['derived_s']:.0f} s", "", ""],
        [size, f"vectors ({build['kind']})", f"{ram['vectors_mb']:.0f} MiB RAM",
         f"{disk_mb(folder / derived['vectors']['file']):.0f} MiB disk", f"recall@10 {recall:.3f}"],
        [size, "keyword (BM25)", f"{ram['keyword_mb']:.0f} MiB RAM",
         f"{disk_mb(folder / derived['keyword']['file']):.0f} MiB disk", ""],
        [size, "SQLite", "", f"{disk_mb(folder / DB_NAME):.0f} MiB disk", ""],
    ]  # fmt: skip
    encode = p50_p99(latencies(lambda i: engine.encoder.encode_query(queries[i]), len(queries)))
    rows.append([size, "encode_query", "", f"p50 {encode[0]:.1f} ms", f"p99 {encode[1]:.1f} ms"])
    for mode in MODES:
        times = latencies(lambda i, m=mode: search(engine, queries[i], k=K, mode=m), len(queries))
        p50, p99 = p50_p99(times)
        rows.append([size, f"search {mode}", "", f"p50 {p50:.1f} ms", f"p99 {p99:.1f} ms"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000", help="comma list of paper counts")
    parser.add_argument("--data", type=Path, default=DEFAULT_SCIFACT, help="BEIR folder")
    parser.add_argument("--synthetic", choices=["random", "mix", "jitter"], default="random")
    parser.add_argument("--ef", default="", help="extra HNSW efSearch values to measure, e.g. 256")
    parser.add_argument("--kind", default="auto", help="vector index kind of the store")
    parser.add_argument("--vectors-only", action="store_true", help="only the vector indexes")
    parser.add_argument("--kinds", default="flat,hnsw", help="kinds for --vectors-only")
    parser.add_argument(
        "--cache", type=Path, default=ROOT / "bench-out" / "scifact-vectors.npy",
        help="real SciFact vectors are kept here between runs",
    )  # fmt: skip
    parser.add_argument("--workdir", type=Path, default=None, help="keep the indexes here")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"machine: {machine()}")
    data = base_data(args.data, args.cache)
    print(f"synthetic vectors: {args.synthetic}; {len(data[2])} queries")
    if args.vectors_only:
        rows = []
        for size in sizes:
            efs = [int(e) for e in args.ef.split(",") if e]
            rows += vectors_only(size, data[1], args.synthetic, args.kinds.split(","), data[3], efs)
        headers = ["papers", "kind", "build s", "RAM MiB", "recall@10", "p50 ms", "p99 ms"]
        print_table(headers, rows)
        return
    with tempfile.TemporaryDirectory(prefix="paperscope-scale-", dir=args.workdir) as tmp:
        for size in sizes:
            print_table(["papers", "what", "time / RAM", "", ""], full_run(
                size, data, args.synthetic, args.kind, Path(tmp)
            ))  # fmt: skip


if __name__ == "__main__":
    main()

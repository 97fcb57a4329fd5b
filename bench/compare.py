"""paperscope against txtai and a plain pipeline on SciFact, in one run: ingest, latency, nDCG@10.

    python bench/compare.py                          # whole corpus, all 300 test queries
    python bench/compare.py --limit 500 --queries 50 # a quick check (numbers not comparable)

Every system uses the same local all-MiniLM-L6-v2 files and this machine's threads, and is timed
from reading corpus.jsonl to an index ready for queries (model loading is not timed):
- paperscope: ingest() into a fresh index (SQLite, FAISS, BM25), then Engine.open(warm=True)
  (timed apart as start-up) and search() per mode, which returns full records with snippets.
  Long abstracts are embedded whole (every 256-token window, averaged: the default).
- paperscope-1w: the same with max_windows=1, cutting abstracts at 256 tokens as the others do.
- txtai: Embeddings(path=<model>, method="sentence-transformers", hybrid=True), its default index
  (faiss, BM25 scoring, convex fusion); semantic is weights=1.0 on the same index.
- plain: SentenceTransformer.encode + faiss.IndexFlatIP + bm25s (stopwords, English stemmer);
  hybrid is reciprocal rank fusion (k=60) of the two top-100 lists.
Each query is answered once after 5 warm-up queries; p50/p99 are over those single answers.
--limit keeps the judged documents of the queries plus the first N others.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from benchlib import (
    DEFAULT_SCIFACT,
    machine,
    model_path,
    p50_p99,
    plain_text,
    print_table,
    read_corpus,
    write_corpus,
)

K = 10
Searcher = Callable[[str, str], list[str]]  # (query, mode) -> ranked doc ids


def build_paperscope(
    corpus: Path, workdir: Path, max_windows: int = 0
) -> tuple[float, float, Searcher, list[str]]:
    from indexer.ingest import ingest
    from indexer.store import Store
    from models.encoder import load_encoder
    from search.engine import Engine
    from search.retrieval import search

    encoder = load_encoder(max_windows=max_windows)
    encoder.encode_documents(["warm up the model"])
    index = workdir / "paperscope-index"
    store = Store.create_or_open(index, encoder.name, encoder.dim, max_windows=max_windows)
    started = time.perf_counter()
    ingest(store, encoder, [corpus], progress=False)
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    engine = Engine.open(index, warm=True)
    startup = time.perf_counter() - started
    encoder = engine.encoder
    print(f"paperscope: precision {encoder.precision}, queries via {encoder.query_path}")

    def run(query: str, mode: str) -> list[str]:
        return [hit.paper.id for hit in search(engine, query, k=K, mode=mode).hits]

    return seconds, startup, run, ["keyword", "semantic", "hybrid"]


def build_txtai(corpus: Path, workdir: Path) -> tuple[float, float, Searcher, list[str]]:
    from txtai import Embeddings

    embeddings = Embeddings(
        path=model_path(), method="sentence-transformers", hybrid=True, content=False
    )
    embeddings.transform("warm up the model")
    started = time.perf_counter()
    embeddings.index(
        (str(r["_id"]), plain_text(r), None) for r in map(json.loads, corpus.open(encoding="utf-8"))
    )
    seconds = time.perf_counter() - started
    print(f"txtai: {json.dumps({k: embeddings.config.get(k) for k in ('backend', 'scoring')})}")
    weights = {"semantic": 1.0, "hybrid": None}

    def run(query: str, mode: str) -> list[str]:
        return [str(uid) for uid, _ in embeddings.search(query, K, weights=weights[mode])]

    return seconds, 0.0, run, ["semantic", "hybrid"]


def build_plain(corpus: Path, workdir: Path) -> tuple[float, float, Searcher, list[str]]:
    import bm25s
    import faiss
    import Stemmer
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_path(), device="cpu")
    model.encode(["warm up the model"])
    stemmer = Stemmer.Stemmer("english")
    started = time.perf_counter()
    records = [json.loads(line) for line in corpus.open(encoding="utf-8")]
    ids = [str(r["_id"]) for r in records]
    texts = [plain_text(r) for r in records]
    vectors = model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
    dense = faiss.IndexFlatIP(vectors.shape[1])
    dense.add(vectors)
    bm25 = bm25s.BM25()
    tokens = bm25s.tokenize(texts, stopwords="en", stemmer=stemmer, show_progress=False)
    bm25.index(tokens, show_progress=False)
    seconds = time.perf_counter() - started

    def semantic(query: str, depth: int) -> list[int]:
        vector = model.encode([query], normalize_embeddings=True, convert_to_numpy=True)
        return [int(i) for i in dense.search(vector, depth)[1][0] if i >= 0]

    def keyword(query: str, depth: int) -> list[int]:
        tokens = bm25s.tokenize([query], stopwords="en", stemmer=stemmer, show_progress=False)
        docs, scores = bm25.retrieve(tokens, k=min(depth, len(ids)), show_progress=False)
        return [int(d) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def run(query: str, mode: str) -> list[str]:
        if mode != "hybrid":
            return [ids[i] for i in (semantic if mode == "semantic" else keyword)(query, K)]
        fused: dict[int, float] = {}
        for ranking in (semantic(query, 100), keyword(query, 100)):
            for rank, i in enumerate(ranking):
                fused[i] = fused.get(i, 0.0) + 1.0 / (60 + rank + 1)
        return [ids[i] for i in sorted(fused, key=lambda i: (-fused[i], i))[:K]]

    return seconds, 0.0, run, ["keyword", "semantic", "hybrid"]


BUILDERS = {
    "paperscope": build_paperscope,
    "paperscope-1w": lambda corpus, workdir: build_paperscope(corpus, workdir, max_windows=1),
    "txtai": build_txtai,
    "plain": build_plain,
}


def answer(run: Searcher, mode: str, queries: dict[str, str], qrels) -> tuple[np.ndarray, float]:
    """Latencies (ms) of one answer per query, and mean nDCG@10 over the queries."""
    from search.evaluation import ndcg_at

    texts = list(queries.values())
    for text in texts[:5]:
        run(text, mode)
    times, ndcg = [], []
    for qid, text in queries.items():
        started = time.perf_counter()
        ranked = run(text, mode)
        times.append(1000 * (time.perf_counter() - started))
        ndcg.append(ndcg_at(ranked, qrels[qid], K))
    return np.asarray(times), float(np.mean(ndcg))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_SCIFACT, help="BEIR folder")
    parser.add_argument("--limit", type=int, default=None, help="corpus: judged docs + N others")
    parser.add_argument("--queries", type=int, default=None, help="first N test queries only")
    parser.add_argument(
        "--systems", default="paperscope,paperscope-1w,txtai,plain", help="comma list"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args()
    from search.evaluation import load_beir

    data = load_beir(args.data, "test")
    queries = dict(list(data.queries.items())[: args.queries])
    judged = {doc for q in queries for doc in data.qrels[q]}
    records = read_corpus(args.data, args.limit, keep=judged if args.limit else ())
    print(f"machine: {machine()}")
    print(f"corpus: {len(records)} abstracts, {len(queries)} test queries, from {args.data}")
    results = []
    with tempfile.TemporaryDirectory(prefix="paperscope-compare-") as tmp:
        corpus = write_corpus(records, Path(tmp) / "scifact")
        for name in [s.strip() for s in args.systems.split(",") if s.strip()]:
            workdir = Path(tmp) / name
            workdir.mkdir()
            seconds, startup, run, modes = BUILDERS[name](corpus, workdir)
            for mode in modes:
                times, ndcg = answer(run, mode, queries, data.qrels)
                p50, p99 = p50_p99(times)
                results.append(
                    {
                        "system": name,
                        "mode": mode,
                        "ingest_s": seconds,
                        "papers_per_s": len(records) / seconds,
                        "startup_s": startup,
                        "p50_ms": p50,
                        "p99_ms": p99,
                        "ndcg@10": ndcg,
                    }
                )
    report(results)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": machine(), "results": results}, indent=2))


def report(results: list[dict]) -> None:
    keys = ("system", "mode", "papers_per_s", "p50_ms", "p99_ms")
    rows = [[r[k] for k in keys] + [round(r["ndcg@10"], 4)] for r in results]
    print_table(["system", "mode", "ingest papers/s", "p50 ms", "p99 ms", "nDCG@10"], rows)
    by = {(r["system"], r["mode"]): r for r in results}
    for name in ("paperscope", "paperscope-1w"):
        ours = by.get((name, "hybrid"))
        if not ours:
            continue
        print(f"{name} start-up (open index, warm query path): {ours['startup_s']:.1f}s")
        for other in ("plain", "txtai"):
            theirs = by.get((other, "hybrid"))
            if theirs:
                print(
                    f"{name} vs {other}: ingest "
                    f"{ours['papers_per_s'] / theirs['papers_per_s']:.2f}x, hybrid p50 "
                    f"{theirs['p50_ms'] / ours['p50_ms']:.2f}x faster, hybrid nDCG@10 "
                    f"{ours['ndcg@10'] - theirs['ndcg@10']:+.4f}"
                )


if __name__ == "__main__":
    main()

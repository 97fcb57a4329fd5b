"""`paperscope embed` on SciFact: in-process encoder (baseline) against Ray with 1 and 2 actors.

    python bench/embed_ray.py [--limit N] [--plain-index DIR] --workdir DIR

Each run writes Parquet shards of the same records. The bench then checks the Ray vectors
against the in-process ones (cosine), ingests the Ray shards into a new index (it must embed
0 papers) and compares its semantic top-10 with a plain ingest's on the SciFact test queries.
Speed is reported as papers/s and as a ratio to the baseline of the same run.
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from benchlib import DEFAULT_SCIFACT, ROOT, machine, print_table

PAPERSCOPE = [sys.executable, "-m", "api.cli"]


def embed(corpus: Path, out: Path, extra: list[str]) -> float:
    """Run `paperscope embed` into a fresh `out`; returns its wall seconds."""
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run(
        [*PAPERSCOPE, "embed", str(corpus), "--out", str(out), "--keep-title-only", "-q", *extra],
        check=True,
        cwd=ROOT,
    )
    return time.perf_counter() - started


def main() -> None:
    """Embed the corpus each way, compare the vectors, then the top-10 lists."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scifact", type=Path, default=DEFAULT_SCIFACT)
    parser.add_argument("--limit", type=int, default=None, help="first N documents only")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--plain-index", type=Path, default=None, help="a plain SciFact ingest")
    parser.add_argument("--actors", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--device", choices=("cpu", "cuda"), default=None, help="as for embed")
    args = parser.parse_args()
    from indexer import embeddings_io

    args.workdir.mkdir(parents=True, exist_ok=True)
    corpus = args.scifact / "corpus.jsonl"
    if args.limit:
        sliced = args.workdir / "corpus.jsonl"
        with open(corpus, encoding="utf-8") as source:
            sliced.write_text("".join(itertools.islice(source, args.limit)))
        corpus = sliced
    rows = []
    base_dir = args.workdir / "local"
    device = ["--device", args.device] if args.device else []
    base = embed(corpus, base_dir, device)
    n = len(embeddings_io.read(base_dir))
    rows.append(["1 process (baseline)", n, f"{base:.0f}", f"{n / base:.1f}", "1.00", "-"])
    local = embeddings_io.read(base_dir)
    ray_dir = None
    for actors in args.actors:
        ray_dir = args.workdir / f"ray-{actors}"
        seconds = embed(corpus, ray_dir, ["--ray", "local", "--actors", str(actors), *device])
        got = embeddings_io.read(ray_dir)
        ids = list(local.ids)
        a = np.stack([local.vectors[local.ids[i]] for i in ids])
        b = np.stack([got.vectors[got.ids[i]] for i in ids])
        cos = float((a * b).sum(axis=1).min())
        rows.append(
            [
                f"Ray, {actors} actor{'s' * (actors > 1)}",
                len(got),
                f"{seconds:.0f}",
                f"{len(got) / seconds:.1f}",
                f"{base / seconds:.2f}",
                f"{cos:.6f}",
            ]
        )
    print(machine())
    print_table(["embedder", "papers", "s", "papers/s", "x baseline", "min cosine"], rows)
    if args.plain_index and ray_dir is not None:
        compare_top10(corpus, ray_dir, args.plain_index, args.workdir / "from-ray", args.scifact)


def compare_top10(corpus: Path, shards: Path, plain: Path, index: Path, scifact: Path) -> None:
    """Ingest the shards (embedding nothing) and compare semantic top-10 with a plain index."""
    from indexer.embeddings_io import read
    from indexer.ingest import ingest
    from indexer.store import Store
    from search.engine import Engine
    from search.evaluation import load_beir
    from search.retrieval import search

    shutil.rmtree(index, ignore_errors=True)
    theirs = Engine.open(plain)
    # One encoder answers both: the query path (ONNX or torch, its precision) is held equal.
    encoder = theirs.encoder
    store = Store.create_or_open(index, encoder.name, encoder.dim)
    report = ingest(
        store,
        encoder,
        [corpus],
        fmt="beir",
        keep_title_only=True,
        embeddings=read(shards),
        progress=False,
    )
    print(f"ingest --embeddings: {report.read} read, {report.embedded} embedded")
    queries = load_beir(scifact, "test").queries
    ours = Engine(store, encoder)
    for mode in ("hybrid", "semantic"):
        same = 0
        for text in queries.values():
            a = [h.paper.id for h in search(ours, text, k=10, mode=mode).hits]
            b = [h.paper.id for h in search(theirs, text, k=10, mode=mode).hits]
            same += a == b
        print(f"{mode}: same top-10 as the plain index on {same} of {len(queries)} test queries")


if __name__ == "__main__":
    main()

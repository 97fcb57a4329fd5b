"""An arXiv-sized index on one machine: build, memory, latency with filters, ANN recall, paging,
and writes during reads, on the real arXiv 2025 corpus and on larger copies of it.

    python bench/scale.py                                    # the 115,229 real papers
    python bench/scale.py --sizes 1000000 --workdir /big     # real + perturbed copies
    python bench/scale.py --sizes 115229 --workdir /big --reuse   # measure a built index again

Data: ../shared/data/arxiv-2025 (titles, abstracts, authors, categories, dates) and its shipped
MiniLM vectors, so nothing is embedded to build. Sizes past 115,229 add copies: copy c of paper i
drops every 8th word of the abstract at offset c, gets the id `<id>-c<c>` and a date c days
later, and its vector is the original's plus Gaussian noise (cosine about 0.9), renormalised:
near-duplicates around every real paper, as versions and close follow-ups make them.

Build is `paperscope ingest DUMP --embeddings DIR` as a subprocess (wall time, nothing
embedded). Then, in this process: p50/p99 of search() per mode without and with filters of about
1%, 10% and 50% of the papers (real categories and dates); semantic recall@10 of the index
against exact search and filtered completeness (results == min(k, matches)); hybrid pages 1..100
against the top-1000 list. Then `paperscope serve`: RSS with the search, related, novelty and
author pages warmed; 8 clients searching while 50 POST /papers and 20 DELETE run, with each
write's time until search shows it and the search p99 during the burst against idle.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from benchlib import ROOT, disk_mb, machine, p50_p99, print_table

ARXIV = ROOT.parent / "shared" / "data" / "arxiv-2025"
K = 10
CLIENTS = 8
POSTS, DELETES = 50, 20
NOISE = 0.5  # |noise| relative to the unit vector: cosine 1 / sqrt(1 + 0.25) ~ 0.89


# ---- corpus ------------------------------------------------------------------------------------
def real_corpus() -> tuple[list[dict], np.ndarray]:
    """The real records and their shipped vectors (float16), aligned."""
    with gzip.open(ARXIV / "arxiv-2025-115k.jsonl.gz", "rt", encoding="utf-8") as handle:
        records = [json.loads(line) for line in handle]
    ids = (ARXIV / "embeddings" / "ids.txt").read_text().split()
    vectors = np.load(ARXIV / "embeddings" / "vectors.f16.npy", mmap_mode="r")
    row = {pid: i for i, pid in enumerate(ids)}
    order = np.array([row[r["id"]] for r in records])
    return records, np.asarray(vectors[order])


def copy_record(record: dict, copy: int) -> dict:
    if copy == 0:
        return record
    words = record["abstract"].split()
    abstract = " ".join(w for i, w in enumerate(words) if (i + copy) % 8) or record["abstract"]
    published = record.get("published")
    if published and len(published) >= 10:  # a day; month- or year-only dates stay as they are
        published = (date.fromisoformat(published[:10]) + timedelta(days=copy)).isoformat()
    return record | {"id": f"{record['id']}-c{copy}", "abstract": abstract, "published": published}


class Copies(Sequence):
    """The `size` records of a corpus made by copy_record, made when read (3M dicts would take
    several GB of the machine whose serve RSS is measured)."""

    def __init__(self, records: list[dict], size: int) -> None:
        self.records, self.size = records, size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self.size))]
        i = int(i)
        if not -self.size <= i < self.size:
            raise IndexError(i)
        i %= self.size
        return copy_record(self.records[i % len(self.records)], i // len(self.records))


def write_corpus(size: int, folder: Path, records: list[dict], base: np.ndarray) -> Path:
    """The JSONL dump and the embeddings folder (shared layout) of `size` papers."""
    dump, emb = folder / "dump.jsonl", folder / "embeddings"
    if dump.is_file() and (emb / "embeddings.json").is_file():
        return dump
    emb.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    matrix = np.lib.format.open_memmap(
        emb / "vectors.f16.npy", mode="w+", dtype=np.float16, shape=(size, base.shape[1])
    )
    n = len(records)
    with open(dump, "w", encoding="utf-8") as out, open(emb / "ids.txt", "w") as ids:
        for start in range(0, size, 50_000):
            stop = min(size, start + 50_000)
            rows = np.arange(start, stop)
            vecs = base[rows % n].astype(np.float32)
            copies = rows >= n
            noise = rng.standard_normal((int(copies.sum()), base.shape[1])).astype(np.float32)
            noise *= NOISE / np.linalg.norm(noise, axis=1, keepdims=True)
            vecs[copies] += noise
            vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
            matrix[start:stop] = vecs
            for i in rows.tolist():
                record = copy_record(records[i % n], i // n)
                out.write(json.dumps(record) + "\n")
                ids.write(record["id"] + "\n")
    matrix.flush()
    meta = {"model": "all-MiniLM-L6-v2", "dim": 384, "max_windows": 0, "rows": size}
    meta |= {"vectors": "vectors.f16.npy", "ids": "ids.txt", "dtype": "float16"}
    (emb / "embeddings.json").write_text(json.dumps(meta))
    return dump


def build(dump: Path, index: Path) -> dict:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "api.cli", "ingest", str(dump), "--embeddings",
         str(dump.parent / "embeddings"), "--index", str(index), "--quiet", "--json"],
        capture_output=True, text=True, cwd=ROOT, env=os.environ | {"HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    if done.returncode:
        raise SystemExit(done.stderr)
    report = json.loads(done.stdout)
    return {"seconds": time.perf_counter() - started, "embedded": report["embedded"]}


# ---- in-process measurements -----------------------------------------------------------------
def pick_filters(store, records: list[dict]) -> dict[str, object]:
    """Real filters whose share of the papers is closest to 1%, 10% and 50%."""
    from collections import Counter

    from indexer.filters import Filters

    total = store.count()
    cats = Counter(c for r in records for c in (r.get("categories") or [])[:1])
    prefixes = Counter(c.split(".")[0] for r in records for c in (r.get("categories") or [])[:1])
    options = [Filters(category=c) for c in list(cats) + list(prefixes)]
    dates = sorted(r["published"][:10] for r in records if r.get("published"))
    options += [Filters(date_from=date.fromisoformat(dates[len(dates) // 2]))]
    shares = {f: len(store.select_vids(f)) / total for f in options}
    chosen = {}
    for target in (0.01, 0.10, 0.50):
        best = min(shares, key=lambda f, t=target: abs(np.log(max(shares[f], 1e-9) / t)))
        chosen[f"{100 * shares[best]:.1f}% ({_describe(best)})"] = best
    return chosen


def _describe(filters) -> str:
    return filters.category or f"from {filters.date_from}"


def measure_search(engine, queries: list[str], filters: dict) -> list[list]:
    from search.retrieval import MODES, search

    rows = []
    for q in queries[:50]:  # untimed: page in the memory-mapped files (cold after a build)
        for mode in MODES:
            search(engine, q, k=K, mode=mode)
    for label, flt in [("none", None), *filters.items()]:
        if flt is not None:  # the first query with a filter reads its vids (cached after that)
            started = time.perf_counter()
            engine.store._select_vids(flt)
            rows.append(
                [
                    label,
                    "reading the filter's vids (first query)",
                    1000 * (time.perf_counter() - started),
                    "",
                ]
            )
        for mode in MODES:
            times = []
            for q in queries:
                started = time.perf_counter()
                search(engine, q, k=K, mode=mode, filters=flt)
                times.append(1000 * (time.perf_counter() - started))
            p50, p99 = p50_p99(np.array(times[5:]))
            rows.append([label, mode, p50, p99])
    return rows


def measure_recall(engine, queries: list[str], filters: dict) -> list[list]:
    """Semantic recall@10 of the index against exact search, and filtered completeness."""
    store = engine.store
    vectors = store.view().vectors
    qv = np.vstack([engine.encoder.encode_query(q) for q in queries])
    rows = []
    for label, flt in [("none", None), *filters.items()]:
        allowed = store.select_vids(flt)
        matches = len(vectors) if allowed is None else len(allowed)
        _, found = vectors.search(qv, K, allowed)
        _, truth = vectors.search(qv, K, allowed, exact=True)
        recall = np.mean([len(set(f) & set(t)) / K for f, t in zip(found, truth, strict=True)])
        complete = np.mean((found >= 0).sum(axis=1) == min(K, matches))
        rows.append([label, matches, float(recall), float(complete)])
    return rows


def measure_paging(engine, queries: list[str]) -> list[list]:
    from search.retrieval import rank, search

    rows = []
    for q in queries:
        whole = [r.vid for r in rank(engine, q, mode="hybrid", depth=1000)]
        pages = []
        for page in range(100):
            hits = search(engine, q, mode="hybrid", k=10, offset=page * 10).hits
            pages += [engine.store.vid_of(h.paper.id) for h in hits]
        rows.append([q, len(whole), pages == whole])
    return rows


# ---- serve -------------------------------------------------------------------------------------
def serve_run(index: Path, queries: list[str], records: list[dict], novelty: bool) -> dict:
    import httpx
    import psutil

    env = os.environ | {"HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1", "PAPERSCOPE_API_TOKEN": "t"}
    env["PAPERSCOPE_BACKGROUND_NOVELTY"] = "1" if novelty else "0"
    proc = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--index", str(index), "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        url = _url(proc)
        http = httpx.Client(base_url=url, timeout=120)
        started = time.perf_counter()
        if novelty:  # the start-up job scores every paper once; wait for it before timing
            while not _novelty_current(index):
                time.sleep(2)
        novelty_s = time.perf_counter() - started
        some = records[123]
        author = (some.get("authors") or ["nobody"])[0]
        started = time.perf_counter()  # the first related page waits for the start-up TF-IDF
        assert http.get(f"/papers/{some['id']}/related", timeout=7200).status_code == 200
        related_s = time.perf_counter() - started
        assert http.get(f"/papers/{some['id']}/novelty").status_code == 200
        assert http.get(f"/authors/{author}").status_code == 200, author
        for mode in ("keyword", "semantic", "hybrid"):
            http.get("/search", params={"q": queries[0], "mode": mode})
        http.get("/", params={"q": queries[1]})
        rss = psutil.Process(proc.pid).memory_info().rss / 2**30
        rss_parts = _rss_parts(proc.pid)
        idle = _clients(url, queries, seconds=15)
        burst = _burst(url, queries, records)
        http.close()
        return {
            "novelty_s": novelty_s,
            "related_s": related_s,
            "rss_gib": rss,
            "rss_parts_gib": rss_parts,
            "idle": idle,
            **burst,
        }
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _rss_parts(pid: int) -> dict[str, float]:
    """Resident memory by kind (/proc/PID/status): anonymous (the heap) and file-backed (pages
    of the memory-mapped index files, which the kernel can drop and processes share)."""
    parts = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("RssAnon", "RssFile", "RssShmem"):
            parts[key] = int(value.split()[0]) / 2**20
    return parts


def _novelty_current(index: Path) -> bool:
    """Whether the stored novelty scores are as new as the index (read from another process)."""
    from indexer.store import Store

    store = Store.open(index)
    return store.novelty_generation() == store.generation()


def _url(proc) -> str:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        found = re.search(r"at (http://127\.0\.0\.1:\d+)", line)
        if found:
            return found.group(1)
        if not line and proc.poll() is not None:
            raise SystemExit("serve exited")
    raise SystemExit("serve printed no URL")


def _clients(url: str, queries: list[str], seconds: float, stop: threading.Event | None = None):
    """CLIENTS threads searching (hybrid) for `seconds` or until `stop`: latencies and errors."""
    import httpx

    times: list[float] = []
    errors = [0]
    end = time.monotonic() + seconds

    def client(offset: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            for i in itertools.count(offset):
                if time.monotonic() > end or (stop is not None and stop.is_set()):
                    return
                started = time.perf_counter()
                try:
                    ok = http.get("/search", params={"q": queries[i % len(queries)]}).status_code
                except httpx.HTTPError:
                    ok = 0
                times.append(1000 * (time.perf_counter() - started))
                errors[0] += ok != 200

    threads = [threading.Thread(target=client, args=(i * 7,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    p50, p99 = p50_p99(np.array(times))
    return {"searches": len(times), "p50": p50, "p99": p99, "errors": errors[0]}


def _burst(url: str, queries: list[str], records: list[dict]) -> dict:
    """50 POST and 20 DELETE while the clients search; time until search shows each write."""
    import httpx

    stop = threading.Event()
    result: dict = {}
    readers = threading.Thread(target=lambda: result.update(_clients(url, queries, 3600, stop)))
    readers.start()
    auth = {"Authorization": "Bearer t"}
    visible, errors = [], 0
    with httpx.Client(base_url=url, timeout=120) as http:
        fresh = [
            {
                "id": f"burst-{i}",
                "title": f"Burst paper {i}: {r['title']}",
                "abstract": r["abstract"],
                "authors": r.get("authors") or [],
                "published": "2026-08-01",
            }
            for i, r in enumerate(records[1000 : 1000 + POSTS])
        ]
        for paper in fresh:
            errors += http.post("/papers", json=paper, headers=auth).status_code != 200
            visible.append(_until(http, paper["title"], paper["id"], present=True))
        for paper in fresh[:DELETES]:
            errors += http.delete(f"/papers/{paper['id']}", headers=auth).status_code != 200
            visible.append(_until(http, paper["title"], paper["id"], present=False))
    stop.set()
    readers.join()
    return {"burst": result, "write_errors": errors, "visible_ms": visible}


def _until(http, title: str, pid: str, *, present: bool) -> float:
    """Milliseconds until a keyword search for `title` does (or no longer does) list `pid`."""
    started = time.perf_counter()
    while time.perf_counter() - started < 30:
        hits = http.get("/search", params={"q": title, "mode": "keyword", "k": 10}).json()["hits"]
        if (pid in [h["paper"]["id"] for h in hits]) == present:
            return 1000 * (time.perf_counter() - started)
        time.sleep(0.01)
    return float("inf")


# ---- main --------------------------------------------------------------------------------------
def run_size(
    size: int, workdir: Path, reuse: bool, serve: bool, novelty: bool, serve_only: bool = False
) -> dict:
    from search.engine import Engine

    records, base = real_corpus()
    folder = workdir / f"arxiv-{size}"
    folder.mkdir(parents=True, exist_ok=True)
    index = folder / "index"
    out: dict = {"papers": size}
    if not (reuse and (index / "manifest.json").is_file()):
        started = time.perf_counter()
        dump = write_corpus(size, folder, records, base)
        out["corpus_s"] = time.perf_counter() - started
        out["build"] = build(dump, index)
    out["disk_mib"] = {
        p.name: disk_mb(p) for p in sorted(index.iterdir()) if not p.name.startswith(".")
    }
    all_records = Copies(records, size)
    rng = np.random.default_rng(7)
    queries = [all_records[i]["title"] for i in rng.integers(0, size, 205)]
    engine = Engine.open(index, warm=True)
    out["kind"] = engine.store.view().vectors.kind
    filters = pick_filters(engine.store, all_records)
    if not serve_only:
        out["search"] = measure_search(engine, queries, filters)
        print_table(["filter", "mode", "p50 ms", "p99 ms"], out["search"])
        out["recall"] = measure_recall(engine, queries, filters)
        print_table(["filter", "matches", "semantic recall@10", "complete"], out["recall"])
    out["paging"] = measure_paging(engine, ["model of the data", "galaxy cluster lensing"])
    print_table(["query", "ranks", "pages 1..100 == top-1000"], out["paging"])
    del engine
    if serve:
        out["serve"] = serve_run(index, queries, all_records, novelty)
    return out


def report(result: dict) -> None:
    size = result["papers"]
    print(f"\n## {size:,} papers ({result['kind']})")
    if "build" in result:
        b = result["build"]
        print(f"build: {b['seconds']:.0f} s (embedded {b['embedded']}); corpus files "
              f"{result['corpus_s']:.0f} s")  # fmt: skip
    print("disk MiB: " + ", ".join(f"{k} {v:,.0f}" for k, v in result["disk_mib"].items()))
    if "search" in result:
        print_table(["filter", "mode", "p50 ms", "p99 ms"], result["search"])
        print_table(["filter", "matches", "semantic recall@10", "complete"], result["recall"])
    print_table(["query", "ranks", "pages 1..100 == top-1000"], result["paging"])
    s = result.get("serve")
    if s:
        vis = np.array(s["visible_ms"])
        print(
            f"serve: RSS {s['rss_gib']:.2f} GiB with pages warmed ("
            + ", ".join(f"{k} {v:.2f}" for k, v in s.get("rss_parts_gib", {}).items())
            + f"; novelty start-up job "
            f"{s['novelty_s']:.0f} s, first related page {s['related_s']:.0f} s); idle "
            f"{CLIENTS} clients: p50 {s['idle']['p50']:.1f} ms, p99 "
            f"{s['idle']['p99']:.1f} ms, {s['idle']['errors']} errors of {s['idle']['searches']}"
        )
        b = s["burst"]
        print(
            f"burst of {POSTS} POST + {DELETES} DELETE: search p50 {b['p50']:.1f} ms, p99 "
            f"{b['p99']:.1f} ms ({b['p99'] / s['idle']['p99']:.2f}x idle p99), {b['errors']} "
            f"search errors of {b['searches']}, {s['write_errors']} write errors; visible in "
            f"search after p50 {np.percentile(vis, 50):.0f} ms, max {vis.max():.0f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="115229", help="comma list of paper counts")
    parser.add_argument("--workdir", type=Path, default=ROOT / "bench-out" / "scale")
    parser.add_argument("--reuse", action="store_true", help="measure indexes already built")
    parser.add_argument("--no-serve", action="store_true", help="skip the serve measurements")
    parser.add_argument(
        "--no-novelty", action="store_true",
        help="serve without its background novelty scoring (for sizes where the exact scan "
        "takes hours)",
    )  # fmt: skip
    parser.add_argument("--serve-only", action="store_true", help="only the serve measurements")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    results = []
    for size in [int(s) for s in args.sizes.split(",")]:
        result = run_size(
            size,
            args.workdir,
            args.reuse,
            not args.no_serve,
            not args.no_novelty,
            args.serve_only,
        )
        report(result)
        results.append(result)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=str))


if __name__ == "__main__":
    main()

"""Load test of a running `paperscope serve` from a second process: throughput and p50/p99 latency.

    python bench/api.py --index paperscope-index            # starts a server on a free port
    python bench/api.py --url http://127.0.0.1:8000         # drives one that is already running

Each endpoint gets --requests requests spread over --clients concurrent clients (threads, one
keep-alive connection each). /health is the baseline: the HTTP stack without search; "x1" rows
run one client, so their latency is a request's own cost without queueing. Exits 1 on any error.
"""

from __future__ import annotations

import argparse
import itertools
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import numpy as np

QUERIES = [
    "contrastive learning for dense retrieval",
    "hard negative mining for dual encoders",
    "graph neural networks for molecules",
    "diffusion models for video generation",
    "quantum chromodynamics cross sections at hadron colliders",
    "dark matter halo density profiles",
    "spectral sparsification of graphs",
    "reinforcement learning from human feedback",
    "protein structure prediction",
    "bayesian optimisation of hyperparameters",
    "attention is all you need",
    "random matrix theory eigenvalue statistics",
    "black hole thermodynamics and entropy",
    "federated learning with differential privacy",
    "sparse mixture of experts language models",
    "topological insulators and edge states",
]


@dataclass
class Result:
    name: str
    clients: int
    latencies: list[float]
    errors: list[str]
    seconds: float

    def row(self) -> str:
        ms = np.array(self.latencies) * 1000 if self.latencies else np.zeros(1)
        rate = len(self.latencies) / self.seconds if self.seconds else 0.0
        return (
            f"{self.name:<12}{len(self.latencies):>9}{self.clients:>9}{len(self.errors):>8}"
            f"{rate:>10.1f}{np.percentile(ms, 50):>10.1f}{np.percentile(ms, 99):>10.1f}"
        )


def drive(
    url: str, name: str, make: Callable[[int], tuple[str, dict]], requests: int, clients: int
) -> Result:
    """Send `requests` GETs built by make(i) -> (path, params) over `clients` threads."""
    counter = itertools.count()
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []

    def worker() -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            while True:
                with lock:
                    i = next(counter)
                if i >= requests:
                    return
                path, params = make(i)
                started = time.perf_counter()
                try:
                    response = http.get(path, params=params)
                    ok = response.status_code == 200
                    problem = f"{response.status_code} {path}: {response.text[:200]}"
                except httpx.HTTPError as exc:
                    ok, problem = False, f"{type(exc).__name__} {path}: {exc}"
                elapsed = time.perf_counter() - started
                with lock:
                    latencies.append(elapsed)
                    if not ok:
                        errors.append(problem)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(worker) for _ in range(clients)]:
            future.result()
    return Result(name, clients, latencies, errors, time.perf_counter() - started)


def start_server(index: str) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "api.cli", "serve", "--index", index, "--port", "0", "--quiet"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    found = re.search(r"at (http://\S+:\d+)", line)
    if not found:
        proc.kill()
        raise SystemExit(f"the server did not start: {line!r} (exit {proc.wait()})")
    return proc, found.group(1)


def paper_ids(url: str, mode: str) -> list[str]:
    """Ids to ask related papers for: the top results of the bench queries."""
    ids: list[str] = []
    with httpx.Client(base_url=url, timeout=60) as http:
        for q in QUERIES:
            response = http.get("/search", params={"q": q, "k": 5, "mode": mode})
            response.raise_for_status()
            ids += [hit["paper"]["id"] for hit in response.json()["hits"]]
    if not ids:
        raise SystemExit("the index returned no papers for the bench queries")
    return list(dict.fromkeys(ids))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="a running server, e.g. http://127.0.0.1:8000")
    where.add_argument("--index", help="start `paperscope serve` on this index for the run")
    parser.add_argument("--requests", type=int, default=1000, help="per endpoint (default 1000)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--mode", default="hybrid", help="search mode (default hybrid)")
    parser.add_argument("--k", type=int, default=10, help="results per request (default 10)")
    args = parser.parse_args()

    proc, url = start_server(args.index) if args.index else (None, args.url.rstrip("/"))
    try:
        ids = paper_ids(url, args.mode)

        def search(i: int) -> tuple[str, dict]:
            return "/search", {"q": QUERIES[i % len(QUERIES)], "mode": args.mode, "k": args.k}

        def related(i: int) -> tuple[str, dict]:
            return f"/papers/{ids[i % len(ids)]}/related", {"k": args.k}

        few = max(1, args.requests // 10)
        results = [
            drive(url, "health", lambda i: ("/health", {}), args.requests, args.clients),
            drive(url, "search x1", search, few, 1),
            drive(url, "search", search, args.requests, args.clients),
            drive(url, "related x1", related, few, 1),
            drive(url, "related", related, args.requests, args.clients),
        ]
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)

    print(f"server {url}, search mode {args.mode}, k={args.k}, {len(ids)} papers for related")
    print(
        f"{'endpoint':<12}{'requests':>9}{'clients':>9}{'errors':>8}{'req/s':>10}"
        f"{'p50 ms':>10}{'p99 ms':>10}"
    )
    for result in results:
        print(result.row())
    errors = [e for r in results for e in r.errors]
    for problem in errors[:5]:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

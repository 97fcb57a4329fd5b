"""What this machine offers the encoder: device, native bf16, physical cores, thread settings."""

from __future__ import annotations

import logging
import os
import time
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
# CPU flags of native bf16 matrix instructions (Intel AMX, AVX512-BF16 on Cooper Lake / Zen 4+).
# Without them oneDNN emulates bf16, which is slower than fp32.
_BF16_FLAGS = ("amx_bf16", "avx512_bf16")
# "auto" takes bf16 only when it is measurably faster: AVX512-BF16 alone is 1.7-1.9x fp32 on
# AMD Zen 4 but 0.5-0.8x on an Intel Xeon whose hypervisor hides AMX (MKL's fp32 wins there).
_BF16_MIN_SPEEDUP = 1.15


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """The `flags` of /proc/cpuinfo (empty where the file does not exist, e.g. macOS)."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith("flags"):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def cpu_has_native_bf16() -> bool:
    """True when the CPU computes bf16 matrix products in hardware (AMX or AVX512-BF16)."""
    return any(flag in cpu_flags() for flag in _BF16_FLAGS)


@lru_cache(maxsize=1)
def physical_cores() -> int:
    """Physical cores this process may run on: hyper-threads share one core's matrix units, so
    more torch threads than cores only add contention."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    usable = usable or 1
    cores: set[tuple[str, str]] = set()
    physical = core = ""
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            key = key.strip()
            if key == "physical id":
                physical = value.strip()
            elif key == "core id":
                core = value.strip()
                cores.add((physical, core))
    except OSError:
        pass
    return max(1, min(usable, len(cores) or usable))


@lru_cache(maxsize=1)
def bf16_speedup() -> float:
    """fp32 time / bf16 time of one transformer-sized matrix product (2048 tokens x 384 -> 1536,
    MiniLM's feed-forward layer) on this CPU: best of 5 each, about 0.2 s once per process."""
    import torch

    def best_seconds(dtype) -> float:
        x = torch.randn(2048, 384).to(dtype)
        weight = torch.randn(1536, 384).to(dtype)
        with torch.inference_mode():
            torch.nn.functional.linear(x, weight)  # first call allocates and picks kernels
            times = []
            for _ in range(5):
                started = time.perf_counter()
                torch.nn.functional.linear(x, weight)
                times.append(time.perf_counter() - started)
        return min(times)

    speedup = best_seconds(torch.float32) / best_seconds(torch.bfloat16)
    log.info("bf16 matrix products run %.2fx as fast as fp32 on this CPU", speedup)
    return speedup


def resolve_device(device: str | None) -> str:
    """The torch device to use: the given one, else CUDA when present, else the CPU."""
    if device:
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_precision(precision: str, device: str) -> str:
    """fp32, bf16 or fp16 for `device`: "auto" takes bf16 on a CPU with native bf16 where it
    measures faster than fp32 (bf16_speedup), fp16 on a CUDA GPU, fp32 elsewhere. A forced bf16
    on a CPU without it works but is slow."""
    if precision not in PRECISIONS:
        from models.errors import BadInputError

        raise BadInputError(
            f"unknown precision {precision!r}: choose one of {', '.join(PRECISIONS)}"
        )
    kind = device.split(":")[0]
    if precision != "auto":
        if precision == "bf16" and kind == "cpu" and not cpu_has_native_bf16():
            log.warning("bf16 forced on a CPU without native bf16: expect it slower than fp32")
        return precision
    if kind == "cpu":
        fast = cpu_has_native_bf16() and bf16_speedup() >= _BF16_MIN_SPEEDUP
        return "bf16" if fast else "fp32"
    if kind == "cuda":
        return "fp16"
    return "fp32"


def configure_threads() -> int:
    """Give torch one thread per physical core unless the user chose (OMP_NUM_THREADS), and turn
    off the tokenizer's own thread pool, which would compete with torch's. Returns torch's count."""
    import torch

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if not os.environ.get("OMP_NUM_THREADS"):
        wanted = physical_cores()
        if torch.get_num_threads() != wanted:
            torch.set_num_threads(wanted)
    return torch.get_num_threads()

"""Exact k-nearest prior papers for every dated paper at once, by blocked matrix products.

Papers are sorted by the last day their date may stand for; the papers certainly before paper i
are then a prefix of that order (those ending before i's first day), so each block of queries is
multiplied with one prefix of the matrix and the columns past each query's own prefix are masked.
Cost is about N^2 * dim / 2 multiply-adds and N * dim floats of memory: seconds for 10^4 papers,
minutes for 10^5.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from indexer.store import Store
from search import periods

QUERY_BLOCK = 512
COLUMN_CHUNK = 8192


@dataclass(frozen=True)
class PriorScan:
    """Per dated paper (vid order): raw novelty and max similarity (NaN without prior papers)."""

    vids: np.ndarray
    years: np.ndarray
    raw: np.ndarray
    max_similarity: np.ndarray
    prior_count: np.ndarray


def prior_knn(store: Store, k: int, *, progress: bool = True) -> PriorScan:
    """Score every dated paper against the papers certainly published before it."""
    vids, starts, ends, years = periods.all_bounds(store)
    n = len(vids)
    raw = np.full(n, np.nan)
    top = np.full(n, np.nan)
    matrix = _matrix(store, vids)
    by_end = np.argsort(ends, kind="stable")
    ordered = matrix[by_end]
    prior_count = np.searchsorted(ends[by_end], starts, side="left")
    order = np.argsort(prior_count, kind="stable")
    bar = tqdm(total=n, desc="novelty", unit=" papers", disable=True if not progress else None)
    try:
        for b in range(0, n, QUERY_BLOCK):
            rows = order[b : b + QUERY_BLOCK]
            best = _block_topk(matrix[rows], ordered, prior_count[rows], k)
            kept = np.isfinite(best)
            counts = kept.sum(axis=1)
            has = counts > 0
            sums = np.where(kept, best, 0.0).sum(axis=1)
            raw[rows[has]] = 1.0 - sums[has] / counts[has]
            top[rows[has]] = best[has].max(axis=1)
            bar.update(len(rows))
    finally:
        bar.close()
    return PriorScan(vids, years, raw, top, prior_count)


def _block_topk(queries: np.ndarray, ordered: np.ndarray, counts: np.ndarray, k: int) -> np.ndarray:
    """Top-k cosines of each query among its own prefix of `ordered`; -inf fills short rows."""
    best = np.full((len(queries), k), -np.inf, dtype=np.float32)
    limit = int(counts.max()) if len(counts) else 0
    for c0 in range(0, limit, COLUMN_CHUNK):
        c1 = min(limit, c0 + COLUMN_CHUNK)
        sims = queries @ ordered[c0:c1].T
        sims[np.arange(c0, c1)[None, :] >= counts[:, None]] = -np.inf
        merged = np.concatenate([best, sims], axis=1)
        keep = np.argpartition(-merged, k - 1, axis=1)[:, :k]
        best = np.take_along_axis(merged, keep, axis=1)
    return best


def _matrix(store: Store, vids: np.ndarray) -> np.ndarray:
    """Embeddings of the sorted `vids`, row-aligned, read in batches."""
    matrix = np.zeros((len(vids), store.dim), dtype=np.float32)
    filled = np.zeros(len(vids), dtype=bool)
    for batch_vids, vectors in store.iter_embeddings():
        rows = np.searchsorted(vids, batch_vids)
        hit = (rows < len(vids)) & (vids[np.minimum(rows, len(vids) - 1)] == batch_vids)
        matrix[rows[hit]] = vectors[hit]
        filled[rows[hit]] = True
    assert filled.all(), "every paper has an embedding"
    return matrix


def percentile_of(raw: float, cohort: np.ndarray) -> float | None:
    """Share of the cohort (sorted raws, the paper itself left out) with a lower raw score, ties
    counted half, in 0..100; None for an empty cohort."""
    if len(cohort) == 0:
        return None
    less = int(np.searchsorted(cohort, raw, side="left"))
    equal = int(np.searchsorted(cohort, raw, side="right")) - less
    return 100.0 * (less + 0.5 * equal) / len(cohort)

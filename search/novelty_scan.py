"""Exact k-nearest prior papers, for every dated paper at once or for a few of them.

Papers are sorted by the last day their date may stand for; the papers certainly before paper i
are then a prefix of that order (those ending before i's first day), so each block of queries is
multiplied with one prefix of the sorted matrix and the columns past each query's own prefix are
masked. Cost is about N^2 * dim / 2 multiply-adds: seconds for 10^4 papers, a minute for 10^5;
memory is one sorted copy of the vectors while the scan runs (it runs off the request path).

The similarities that make a score are recomputed in float64 from the chosen neighbours, so a
score depends only on which papers are its neighbours, not on the shape of the matrix products:
the same paper scores the same in a full scan, an incremental update and a live request.

Two numbers come from the neighbours (nearest first):
- distance: 1 - mean cosine of the DISTANCE_K nearest, the plain kNN measure;
- raw, the novelty score: 1 - mean over all k neighbours of cosine x age weight, the weight
  AGE_FLOOR + (1 - AGE_FLOOR) x AGE_DECAY^years between the neighbour's last possible day and
  the paper's first. Work from the years just before counts fully and older work less: a paper
  close to last year's papers adds less than one close only to papers from a decade before. On
  novelty-dev (NeurIPS 2023 reviewers' technical novelty) it doubles the kNN measure's Spearman;
  see README, "Novelty checked against reviewers". Both depend only on earlier papers and the
  two dates, never on later ones.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from indexer.vector_index import VectorIndex

QUERY_BLOCK = 512
COLUMN_CHUNK = 8192
DISTANCE_K = 10
# Chosen on novelty-dev 2023 (README "Novelty checked against reviewers"); a plateau: decays
# 0.5-0.9 did within 0.003 of it, floors 0-0.5 within 0.01. Half-life of the decay: 3.1 years.
AGE_DECAY = 0.8
AGE_FLOOR = 0.25
DAYS_PER_YEAR = 365.25


@dataclass
class PriorScan:
    """Per dated paper (vid order): novelty (raw), kNN distance, max and k-th similarity (NaN
    without prior papers), prior count, and the vids of its nearest prior papers (-1 pads
    short rows)."""

    vids: np.ndarray
    years: np.ndarray
    raw: np.ndarray
    max_similarity: np.ndarray
    kth_similarity: np.ndarray
    prior_count: np.ndarray
    neighbours: np.ndarray
    distance: np.ndarray

    @classmethod
    def unscored(cls, vids: np.ndarray, years: np.ndarray, counts: np.ndarray, k: int) -> PriorScan:
        """A scan of these papers with no score yet (NaN, no neighbours)."""
        n = len(vids)
        nan = np.full(n, np.nan)
        neighbours = np.full((n, k), -1, dtype=np.int64)
        return cls(vids, years, nan.copy(), nan.copy(), nan.copy(), counts, neighbours, nan)


def prior_counts(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """How many papers end before each paper starts (date ordinals)."""
    return np.searchsorted(np.sort(ends), starts, side="left")


def prior_knn(
    vectors: VectorIndex,
    bounds: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    k: int,
    *,
    only: np.ndarray | None = None,
    progress: bool = True,
) -> PriorScan:
    """Score the dated papers (`bounds` = vids, start and end ordinals, years, in vid order)
    against the papers certainly published before each; `only` (vids) limits which are scored
    (the others come back NaN), every dated paper still counts as prior work."""
    vids, starts, ends, years = bounds
    n = len(vids)
    by_end = np.argsort(ends, kind="stable")
    vids_by_end, ends_by_end = vids[by_end], ends[by_end]
    ordered = vectors.vectors(vids_by_end) if n else np.zeros((0, vectors.dim), np.float32)
    position = np.empty(n, dtype=np.int64)
    position[by_end] = np.arange(n)
    counts = np.searchsorted(ends_by_end, starts, side="left")
    scan = PriorScan.unscored(vids, years, counts, k)
    wanted = np.arange(n) if only is None else np.flatnonzero(np.isin(vids, only))
    order = wanted[np.argsort(counts[wanted], kind="stable")]
    bar = tqdm(
        total=len(order), desc="novelty", unit=" papers", disable=True if not progress else None
    )
    try:
        for b in range(0, len(order), QUERY_BLOCK):
            rows = order[b : b + QUERY_BLOCK]
            queries = ordered[position[rows]]
            _, picked = _block_topk(queries, ordered, counts[rows], k)
            for row, query, cols in zip(rows.tolist(), queries, picked, strict=True):
                cols = cols[cols >= 0]
                ages = (starts[row] - ends_by_end[cols]) / DAYS_PER_YEAR
                _fill(scan, row, query, vids_by_end[cols], ordered[cols], ages)
            bar.update(len(rows))
    finally:
        bar.close()
    return scan


def _fill(
    scan: PriorScan,
    row: int,
    query: np.ndarray,
    found: np.ndarray,
    rows: np.ndarray,
    ages: np.ndarray,
) -> None:
    """Record one paper's scores from its neighbours (float64 similarities, best first)."""
    if not len(found):
        return
    sims = rows.astype(np.float64) @ query.astype(np.float64)
    order = np.lexsort((found, -sims))
    sims, found, ages = sims[order], found[order], ages[order]
    scan.raw[row], scan.distance[row] = scores(sims, ages)
    scan.max_similarity[row] = float(sims[0])
    scan.kth_similarity[row] = float(sims[-1]) if len(sims) == scan.neighbours.shape[1] else -1.0
    scan.neighbours[row, : len(found)] = found


def scores(sims: np.ndarray, ages: np.ndarray) -> tuple[float, float]:
    """(novelty, distance) from the cosines to the nearest earlier papers, best first, and
    those papers' ages in years: the one formula of the scan, updates and live requests."""
    weights = AGE_FLOOR + (1.0 - AGE_FLOOR) * AGE_DECAY ** np.maximum(ages, 0.0)
    return 1.0 - float((sims * weights).mean()), 1.0 - float(sims[:DISTANCE_K].mean())


def neighbour_similarities(
    vectors: VectorIndex, query: np.ndarray, found: np.ndarray
) -> np.ndarray:
    """float64 cosines of a query to the given vids, as the scan computes them."""
    return vectors.vectors(found).astype(np.float64) @ np.asarray(query, dtype=np.float64)


def _block_topk(
    queries: np.ndarray, ordered: np.ndarray, counts: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (cosines, column positions) of each query among its own prefix of `ordered`;
    -inf / -1 fill short rows."""
    best = np.full((len(queries), k), -np.inf, dtype=np.float32)
    cols = np.full((len(queries), k), -1, dtype=np.int64)
    limit = int(counts.max()) if len(counts) else 0
    for c0 in range(0, limit, COLUMN_CHUNK):
        c1 = min(limit, c0 + COLUMN_CHUNK)
        sims = queries @ ordered[c0:c1].T
        sims[np.arange(c0, c1)[None, :] >= counts[:, None]] = -np.inf
        merged = np.concatenate([best, sims], axis=1)
        merged_cols = np.concatenate(
            [cols, np.broadcast_to(np.arange(c0, c1), (len(queries), c1 - c0))], axis=1
        )
        keep = np.argpartition(-merged, k - 1, axis=1)[:, :k]
        best = np.take_along_axis(merged, keep, axis=1)
        cols = np.take_along_axis(merged_cols, keep, axis=1)
    cols = np.where(np.isfinite(best), cols, -1)
    return best, cols


def percentile_of(raw: float, cohort: np.ndarray) -> float | None:
    """Share of the cohort (sorted raws, the paper itself left out) with a lower raw score, ties
    counted half, in 0..100; None for an empty cohort."""
    if len(cohort) == 0:
        return None
    less = int(np.searchsorted(cohort, raw, side="left"))
    equal = int(np.searchsorted(cohort, raw, side="right")) - less
    return 100.0 * (less + 0.5 * equal) / len(cohort)

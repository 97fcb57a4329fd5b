"""Stored novelty scores: score every paper at once; the per-year cohorts that calibrate them."""

from __future__ import annotations

import logging
import threading
import time

import numpy as np

from search.engine import Engine
from search.novelty_scan import percentile_of, prior_knn

log = logging.getLogger(__name__)

DEFAULT_K = 10
# Fewer prior papers than this (or than k) and the score says little: it is flagged.
MIN_PRIOR = 20
# A year needs this many other scored papers to calibrate against; else the latest earlier year
# that has them is used, and the explanation says so.
MIN_COHORT = 5

# year -> (vids, raw scores) of the papers that calibrate that year; cached per generation.
Cohorts = dict[int, tuple[np.ndarray, np.ndarray]]
_cohort_cache: dict[str, tuple[int, Cohorts]] = {}
_cache_lock = threading.Lock()
_score_lock = threading.Lock()


def score_all(engine: Engine, *, progress: bool = True) -> int:
    """Score every dated paper (k=DEFAULT_K) and store raw, max similarity, prior count and
    percentile in the `novelty` table with the current generation. Returns papers scored."""
    store = engine.store
    started = time.perf_counter()
    generation = store.generation()
    scan = prior_knn(store, DEFAULT_K, progress=progress)
    eligible = np.isfinite(scan.raw) & (scan.prior_count >= max(DEFAULT_K, MIN_PRIOR))
    cohorts: Cohorts = {}
    for year in np.unique(scan.years[eligible]).tolist():
        members = eligible & (scan.years == year)
        cohorts[int(year)] = (scan.vids[members], scan.raw[members])
    rows = []
    for i, vid in enumerate(scan.vids.tolist()):
        raw = float(scan.raw[i]) if np.isfinite(scan.raw[i]) else None
        pct = None
        if eligible[i]:
            cohort_year, raws = cohort_for(cohorts, int(scan.years[i]), vid)
            pct = None if cohort_year is None else percentile_of(raw, raws)
        top = float(scan.max_similarity[i]) if np.isfinite(scan.max_similarity[i]) else None
        rows.append((vid, raw, top, int(scan.prior_count[i]), pct))
    store.save_novelty(rows, generation=generation, replace_all=True)
    with _cache_lock:
        _cohort_cache[str(store.index_dir)] = (generation, cohorts)
    log.info(
        "novelty: scored %d papers in %.1fs",
        int(np.isfinite(scan.raw).sum()),
        time.perf_counter() - started,
    )
    return int(np.isfinite(scan.raw).sum())


def load_cohorts(engine: Engine) -> Cohorts:
    """Stored scores by year, computed first (score_all) when missing or older than the index."""
    store = engine.store
    key, generation = str(store.index_dir), store.generation()
    with _cache_lock:
        cached = _cohort_cache.get(key)
    if cached and cached[0] == generation:
        return cached[1]
    fresh = store.novelty_count(generation)
    dated = store.dated_count()
    if fresh < dated or fresh == 0:
        with _score_lock:  # concurrent requests wait for one scan instead of running their own
            with _cache_lock:
                cached = _cohort_cache.get(key)
            if not (cached and cached[0] == generation):
                score_all(engine, progress=False)
        with _cache_lock:
            return _cohort_cache[key][1]
    rows = store.novelty_raws_by_year(max(DEFAULT_K, MIN_PRIOR), generation)
    grouped: dict[int, list[tuple[int, float]]] = {}
    for year, vid, raw in rows:
        grouped.setdefault(year, []).append((vid, raw))
    cohorts = {
        year: (np.array([v for v, _ in items], dtype=np.int64), np.array([r for _, r in items]))
        for year, items in grouped.items()
    }
    with _cache_lock:
        _cohort_cache[key] = (generation, cohorts)
    return cohorts


def stored_percentiles(engine: Engine, vids: list[int]) -> dict[int, tuple[float | None, float]]:
    """vid -> (percentile, raw) from the stored scores (computed first when missing)."""
    load_cohorts(engine)
    out: dict[int, tuple[float | None, float]] = {}
    for vid, pct, raw in engine.store.novelty_percentiles(vids):
        out[vid] = (pct, raw)
    return out


def cohort_for(
    cohorts: Cohorts, year: int | None, vid: int | None
) -> tuple[int | None, np.ndarray]:
    """The sorted raws to calibrate against: the year's, less the paper itself; or, when that
    year has fewer than MIN_COHORT, the latest earlier year that has enough."""
    if year is None:
        return None, np.zeros(0)
    for cohort_year in sorted((y for y in cohorts if y <= year), reverse=True):
        vids, raws = cohorts[cohort_year]
        if vid is not None:
            raws = raws[vids != vid]
        if len(raws) >= MIN_COHORT:
            return cohort_year, np.sort(raws)
    return None, np.zeros(0)

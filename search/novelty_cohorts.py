"""Stored novelty scores, kept up to date off the request path, and the per-year cohorts that
calibrate them.

`refresh` brings the stored scores to the index's generation. The first time (or when the
change log no longer reaches back) it scores every paper; after that it rescores only what a
write can have changed: the new and changed papers, the papers that had a removed or replaced
version among their nearest prior papers, and the later papers a new version comes closer to
than their k-th neighbour. Prior counts and percentiles are recomputed for all (cheap). A
request never scores the corpus: `ensure_fresh` starts a refresh in the background and the
request answers from the scores stored so far.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np

from search import periods
from search.engine import Engine
from search.novelty_scan import (
    AGE_DECAY,
    AGE_FLOOR,
    DISTANCE_K,
    PriorScan,
    percentile_of,
    prior_knn,
)

log = logging.getLogger(__name__)

# Nearest earlier papers of the plain kNN distance (and the API's default k).
DEFAULT_K = DISTANCE_K
# Nearest earlier papers the novelty score weighs by age (search/novelty_scan.py).
NEIGHBOURS = 20
# Fewer prior papers than this (or than NEIGHBOURS) and the score says little: it is flagged.
MIN_PRIOR = 20
# A percentile ranks a paper among the other scored papers of its year; fewer than this and it
# says nothing (8 papers of one author ranked against each other gave "0%" and "39%"), so none
# is given and the explanation says how many there are. No other year stands in: a 2025 paper
# ranked among 2007 papers of another field is no better.
MIN_COHORT = 50
# Rows of later papers compared with new versions at a time.
_COMPARE_BLOCK = 65_536
COHORTS = "novelty-cohorts"
# Recorded with the stored scores. Scores stored under another method are rescored from scratch;
# percentiles stored under another rule (an index scored before the cohort minimum was 50) are
# recomputed from the stored scores, with no new scan.
METHOD = f"{NEIGHBOURS}-NN, age weight {AGE_FLOOR} + {1 - AGE_FLOOR} x {AGE_DECAY}^years"
PERCENTILE_RULE = f"{METHOD}; same year, cohort >= {MIN_COHORT}"

# year -> (vids, raw scores) of the papers that calibrate that year.
Cohorts = dict[int, tuple[np.ndarray, np.ndarray]]


def score_all(engine: Engine, *, progress: bool = True) -> int:
    """Score every dated paper from scratch and store the scores; returns how
    many papers have a score."""
    return refresh(engine, progress=progress, full=True)


def refresh(engine: Engine, *, progress: bool = False, full: bool = False) -> int:
    """Bring the stored scores up to the index's current generation (one refresh at a time per
    index in this process); returns how many papers have a score."""
    store = engine.store
    with _refresh_lock(store):
        started = time.perf_counter()
        view = store.view()
        generation = view.generation
        bounds = periods.all_bounds(store)
        # Papers written after the view was taken wait for the next refresh.
        known = view.vectors.slots_of(bounds[0]) >= 0
        bounds = tuple(column[known] for column in bounds)
        stored_at = store.novelty_generation()
        same_method = (store.novelty_rule() or "").startswith(f"{METHOD};")
        rescore = full or stored_at is None or not same_method
        changed = None if rescore else store.changed_since(stored_at)
        if changed is None:
            scan = prior_knn(view.vectors, bounds, NEIGHBOURS, progress=progress)
            how = "all papers"
        elif stored_at == generation:
            scan = _stored_scan(store, bounds)
            if store.novelty_rule() != PERCENTILE_RULE:
                store.save_novelty(_rows(scan), generation=generation, rule=PERCENTILE_RULE)
            return int(np.isfinite(scan.raw).sum())
        else:
            scan = _updated_scan(engine, view, bounds, changed, progress)
            how = "incrementally"
        store.save_novelty(_rows(scan), generation=generation, rule=PERCENTILE_RULE)
        scored = int(np.isfinite(scan.raw).sum())
        log.info(
            "novelty: %d papers scored (%s) in %.1fs", scored, how, time.perf_counter() - started
        )
        return scored


def ensure_fresh(engine: Engine) -> bool:
    """Start a background refresh when the stored scores lag behind the index or were stored
    under another method or percentile rule (an index made by an older version, which `serve`
    must bring up to date too); True when they are current now."""
    store = engine.store
    if store.novelty_generation() == store.generation() and _current_rule(store):
        return True
    lock = _refresh_lock(store)
    if engine.background_novelty and not lock.locked():
        threading.Thread(target=_refresh_quietly, args=(engine,), daemon=True).start()
    return False


def _current_rule(store) -> bool:
    return store.novelty_rule() == PERCENTILE_RULE


def _refresh_quietly(engine: Engine) -> None:
    try:
        refresh(engine)
    except Exception:  # the stored scores keep answering; the next request retries
        log.exception("novelty refresh of %s failed", engine.store.index_dir)


def _refresh_lock(store) -> threading.Lock:
    return store.named_lock("novelty-refresh")


def _stored_scan(store, bounds) -> PriorScan:
    """The stored scores laid out as a scan of the current dated papers (NaN where none)."""
    vids, _starts, _ends, years = bounds
    state = store.novelty_state(NEIGHBOURS)
    scan = PriorScan.unscored(vids, years, np.zeros(len(vids), dtype=np.int64), NEIGHBOURS)
    for i, vid in enumerate(vids.tolist()):
        held = state.get(vid)
        if held is None or held[0] is None:
            continue
        raw, top, prior, kth, neighbours, distance = held
        scan.raw[i], scan.max_similarity[i], scan.distance[i] = raw, top, distance
        scan.kth_similarity[i] = -1.0 if kth is None else kth
        scan.prior_count[i] = prior
        scan.neighbours[i] = neighbours
    return scan


def _updated_scan(engine: Engine, view, bounds, changed: np.ndarray, progress: bool) -> PriorScan:
    """The stored scores updated for the papers `changed` since they were computed."""
    vids, starts, ends, _years = bounds
    scan = _stored_scan(engine.store, bounds)
    new = np.intersect1d(vids, changed)  # new or changed versions that are dated
    affected = np.isin(scan.neighbours, changed).any(axis=1)  # lost a neighbour
    affected |= np.isin(vids, new)
    affected |= ~np.isfinite(scan.raw)  # never scored (e.g. just dated)
    if len(new):
        affected |= _closer_than_kth(view.vectors, vids, starts, ends, scan, new)
    update = prior_knn(view.vectors, bounds, NEIGHBOURS, only=vids[affected], progress=progress)
    rows = np.flatnonzero(affected)
    for name in ("raw", "distance", "max_similarity", "kth_similarity"):
        getattr(scan, name)[rows] = getattr(update, name)[rows]
    scan.neighbours[rows] = update.neighbours[rows]
    scan.prior_count = update.prior_count  # counts move with every earlier paper added
    return scan


def _closer_than_kth(vectors, vids, starts, ends, scan: PriorScan, new: np.ndarray) -> np.ndarray:
    """Papers that a new version precedes and comes closer to than their k-th prior neighbour."""
    at = np.searchsorted(vids, new)
    queries = vectors.vectors(new)
    out = np.zeros(len(vids), dtype=bool)
    kth = np.where(np.isfinite(scan.kth_similarity), scan.kth_similarity, -np.inf)
    for lo in range(0, len(vids), _COMPARE_BLOCK):
        hi = min(len(vids), lo + _COMPARE_BLOCK)
        sims = vectors.vectors(vids[lo:hi]) @ queries.T  # (block, new)
        before = ends[at][None, :] < starts[lo:hi, None]
        out[lo:hi] = ((sims >= kth[lo:hi, None] - 1e-6) & before).any(axis=1)
    return out


def _rows(scan: PriorScan) -> list[tuple]:
    """Rows for the novelty table, percentiles within each year's eligible papers."""
    eligible = np.isfinite(scan.raw) & (scan.prior_count >= max(NEIGHBOURS, MIN_PRIOR))
    cohorts: Cohorts = {}
    for year in np.unique(scan.years[eligible]).tolist():
        members = eligible & (scan.years == year)
        cohorts[int(year)] = (scan.vids[members], scan.raw[members])
    rows = []
    for i, vid in enumerate(scan.vids.tolist()):
        raw = float(scan.raw[i]) if np.isfinite(scan.raw[i]) else None
        pct = None
        if eligible[i]:
            raws = cohort_for(cohorts, int(scan.years[i]), vid)
            pct = percentile_of(raw, raws) if len(raws) >= MIN_COHORT else None
        top = float(scan.max_similarity[i]) if np.isfinite(scan.max_similarity[i]) else None
        kth = float(scan.kth_similarity[i]) if np.isfinite(scan.kth_similarity[i]) else None
        neighbours = scan.neighbours[i][scan.neighbours[i] >= 0]
        distance = float(scan.distance[i]) if np.isfinite(scan.distance[i]) else None
        rows.append((vid, raw, top, int(scan.prior_count[i]), pct, kth, neighbours, distance))
    return rows


def load_cohorts(engine: Engine) -> Cohorts:
    """The stored scores by year (as of the last refresh; one is started when they lag)."""
    store = engine.store
    ensure_fresh(engine)
    # A refresh under a new rule keeps the generation: the rule is part of the key.
    stored_at = (store.novelty_generation(), store.novelty_rule())
    held = store.cached(COHORTS, lambda: (stored_at, _read_cohorts(store)))
    if held[0] != stored_at:  # a refresh finished since: read the new scores
        held = (stored_at, _read_cohorts(store))
        store.remember(COHORTS, held)
    return held[1]


def _read_cohorts(store) -> Cohorts:
    grouped: dict[int, list[tuple[int, float]]] = {}
    for year, vid, raw in store.novelty_raws_by_year(max(NEIGHBOURS, MIN_PRIOR)):
        grouped.setdefault(year, []).append((vid, raw))
    return {
        year: (np.array([v for v, _ in items], dtype=np.int64), np.array([r for _, r in items]))
        for year, items in grouped.items()
    }


def stored_percentiles(engine: Engine, vids: list[int]) -> dict[int, tuple[float | None, float]]:
    """vid -> (percentile, raw) from the stored scores (a refresh is started when they lag); a
    record merged into a work has its work's score, stored under the work's first record."""
    ensure_fresh(engine)
    first = engine.store.works_of(vids)
    rows = engine.store.novelty_percentiles({first.get(v, v) for v in vids})
    scores = {vid: (pct, raw) for vid, pct, raw in rows}
    return {v: scores[first.get(v, v)] for v in vids if first.get(v, v) in scores}


def cohort_for(cohorts: Cohorts, year: int | None, vid: int | None) -> np.ndarray:
    """The sorted raws of the other scored papers of `year` (less the paper itself), whatever
    their number: the caller compares it with MIN_COHORT."""
    if year is None or year not in cohorts:
        return np.zeros(0)
    vids, raws = cohorts[year]
    return np.sort(raws if vid is None else raws[vids != vid])

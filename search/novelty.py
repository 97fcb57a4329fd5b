"""Novelty of a paper or a draft, measured only against papers published strictly before it.

raw, the novelty score: 1 - mean over the 20 nearest prior papers of cosine x age weight, where
work of the years just before counts fully and older work less (search/novelty_scan.py; 0 = a
copy of recent work, higher = further from what came just before). distance is the plain kNN
measure beside it: 1 - mean cosine to the k nearest prior papers. The percentile calibrates raw
within the paper's year: "more novel than 53% of the 2025 papers in this index".

Time rule: a paper's date is an interval (day, month or whole year, see search.periods); a paper
counts as prior only when its interval ends before the scored paper's starts. So a year-only
2007 paper is prior to nothing from 2007 and everything from 2008 on, and undated papers are
neither scored nor prior to anything. No later paper can change raw, distance, max_similarity,
prior_count or the evidence. The percentile compares with the other papers of the same year, so
it moves when papers of that year are added; papers from later years never move it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from indexer.paper import Paper, embedding_text
from models.errors import InvalidQueryError
from search import periods
from search.engine import Engine
from search.novelty_cohorts import (
    DEFAULT_K,
    MIN_COHORT,
    MIN_PRIOR,
    NEIGHBOURS,
    cohort_for,
    load_cohorts,
    score_all,
    stored_percentiles,
)
from search.novelty_scan import DAYS_PER_YEAR, neighbour_similarities, percentile_of, scores
from search.works import one_per_work

log = logging.getLogger(__name__)

__all__ = [
    "Evidence",
    "Novelty",
    "novelty_of_draft",
    "novelty_of_paper",
    "score_all",
    "stored_percentiles",
]

# A cosine this high to an earlier paper means the same text, lightly edited at most.
NEAR_DUPLICATE = 0.95
EVIDENCE = 5


@dataclass(frozen=True)
class Evidence:
    """A prior paper and its cosine similarity to the scored one."""

    paper: Paper
    similarity: float


@dataclass(frozen=True)
class Novelty:
    """Novelty of one paper or draft; raw (the novelty score), distance and percentile are None
    when it cannot be scored."""

    raw: float | None
    max_similarity: float | None
    percentile: float | None
    year: int | None
    published: date | None
    prior_count: int
    too_few_prior: bool
    near_duplicate: bool
    evidence: list[Evidence]
    explanation: str
    paper_id: str | None = None
    k: int = DEFAULT_K
    cohort_year: int | None = None
    cohort_size: int = 0
    notes: list[str] = field(default_factory=list)
    distance: float | None = None


def novelty_of_paper(engine: Engine, paper_id: str, *, k: int = DEFAULT_K) -> Novelty:
    """Score an indexed paper live against the papers before it; calibrate with stored scores."""
    engine.limits.check_k(k)
    store = engine.store
    vid = store.vid_of(paper_id)
    paper = store.get(paper_id)
    # The time rule uses the work's earliest date: a journal version is scored as its preprint.
    span = periods.work_bounds(store, vid, paper)
    if span is None:
        return _unscored(
            paper.id,
            None,
            "this paper has no publication date, so nothing is "
            "known to come before it: add a date to score it",
            k,
        )
    # A work is scored once, as its first record (as the stored scores are).
    vid = store.works_of([vid]).get(vid, vid)
    vector = store.vectors.vectors(np.array([vid]))[0]
    published = paper.published if span == periods.paper_bounds(paper) else span[0]
    return _score(engine, vector, span[0], published.year, published, paper.id, vid, k)


def novelty_of_draft(
    engine: Engine,
    title: str,
    abstract: str,
    published: date | None = None,
    *,
    k: int = DEFAULT_K,
) -> Novelty:
    """Score an unpublished draft as if published on `published` (default: today)."""
    engine.limits.check_k(k)
    if not (abstract or "").strip():
        raise InvalidQueryError("the draft's abstract is empty: give the abstract to score")
    engine.limits.check_text(abstract, "the abstract")
    engine.limits.check_text(title or "", "the title", required=False)
    published = published or date.today()
    text = embedding_text(title or "", abstract)
    vector = engine.encoder.encode_documents([text])[0]
    return _score(engine, vector, published, published.year, published, None, None, k)


def _score(
    engine: Engine,
    vector: np.ndarray,
    start: date,
    year: int | None,
    published: date | None,
    paper_id: str | None,
    vid: int | None,
    k: int,
) -> Novelty:
    store = engine.store
    prior = periods.vids_before(store, start)
    if len(prior) == 0:
        return _unscored(
            paper_id,
            published,
            f"no paper in the index is dated before {start}: "
            "novelty needs earlier work to compare with",
            k,
            year=year,
        )
    vectors = store.vectors
    # Exact, whatever the index kind, and in float64 from the neighbours: the stored scores
    # are computed the same way, so a live score ranks against them fairly.
    wanted = min(max(k, NEIGHBOURS), len(prior))
    _, vids = vectors.search(vector[None, :], wanted, prior, exact=True)
    vids = vids[0][vids[0] >= 0]
    if not len(vids):
        return _unscored(paper_id, published, "no earlier paper could be compared", k, year=year)
    sims = neighbour_similarities(vectors, vector, vids)
    order = np.lexsort((vids, -sims))
    sims, vids = sims[order], vids[order]
    ends = store.date_ends(vids.tolist())
    # A neighbour removed since `prior` was read has no date now: it is left out.
    present = np.array([int(v) in ends for v in vids])
    sims, vids = sims[present], vids[present]
    if not len(vids):
        return _unscored(paper_id, published, "no earlier paper could be compared", k, year=year)
    ages = (
        np.array([(start - date.fromisoformat(ends[int(v)])).days for v in vids[:NEIGHBOURS]])
        / DAYS_PER_YEAR
    )
    raw = scores(sims[:NEIGHBOURS], ages)[0]
    distance, top = 1.0 - float(sims[:k].mean()), float(sims[0])
    too_few = len(prior) < max(k, NEIGHBOURS, MIN_PRIOR)
    # Evidence names each earlier work once, by its closest record.
    shown = one_per_work(store, list(range(min(k, len(vids)))), lambda i: int(vids[i]))[:EVIDENCE]
    papers = dict(store.papers_with_vids(vids[shown].tolist()))
    evidence = [Evidence(papers[int(vids[i])], float(sims[i])) for i in shown if vids[i] in papers]
    percentile, cohort_year, cohort_size = None, None, 0
    notes: list[str] = []
    if too_few:
        notes.append(f"only {len(prior)} earlier papers in the index: the score is not meaningful")
    else:
        raws = cohort_for(load_cohorts(engine), year, vid)
        cohort_year, cohort_size = year, len(raws)
        if cohort_size >= MIN_COHORT:
            percentile = percentile_of(raw, raws)
        else:
            notes.append(
                f"no percentile: only {cohort_size} other scored papers from {year} in the index, "
                f"and a percentile needs at least {MIN_COHORT}"
            )
    near = top >= NEAR_DUPLICATE
    if near:
        notes.append(f"near-duplicate of {evidence[0].paper.id!r} (cosine {top:.3f})")
    return Novelty(
        raw=raw,
        max_similarity=top,
        percentile=percentile,
        year=year,
        published=published,
        prior_count=len(prior),
        too_few_prior=too_few,
        near_duplicate=near,
        evidence=evidence,
        explanation=_explain(
            (raw, distance), percentile, cohort_size, cohort_year, len(prior), evidence, k, notes
        ),
        paper_id=paper_id,
        k=k,
        cohort_year=cohort_year,
        cohort_size=cohort_size,
        notes=notes,
        distance=distance,
    )


def _unscored(
    paper_id: str | None, published: date | None, why: str, k: int, year: int | None = None
) -> Novelty:
    return Novelty(
        None, None, None, year, published, 0, True, False, [], why, paper_id, k, notes=[why]
    )


def _explain(
    raw_and_distance: tuple[float, float],
    percentile: float | None,
    cohort_size: int,
    cohort_year: int | None,
    prior: int,
    evidence: list[Evidence],
    k: int,
    notes: list[str],
) -> str:
    parts = []
    if percentile is not None:
        parts.append(
            f"More novel than {percentile:.0f}% of the {cohort_size} other scored {cohort_year} "
            "papers in the index."
        )
    raw, distance = raw_and_distance
    parts.append(
        f"Novelty score {raw:.3f} = 1 - mean cosine to the {min(NEIGHBOURS, prior)} nearest of "
        f"{prior} earlier papers, each weighted by its age (recent work counts fully, work a "
        f"decade older about a third); plain distance {distance:.3f} = 1 - mean cosine to the "
        f"{min(k, prior)} nearest."
    )
    if evidence:
        parts.append(
            f"Closest earlier paper: {evidence[0].paper.title!r} ({evidence[0].similarity:.3f})."
        )
    parts += [note[0].upper() + note[1:] + "." for note in notes]
    return " ".join(parts)

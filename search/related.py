"""Related papers: dense plus lexical similarity to a paper, optionally blended with citations."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexer.filters import Filters
from indexer.paper import Paper
from indexer.store import Store
from models.errors import InvalidQueryError
from search import periods
from search.citations import CitationGraph
from search.engine import Engine
from search.similarity import text_similarity
from search.works import WORK_DEPTH, one_per_work

DIRECTIONS = ("earlier", "later")
SIGNALS = ("auto", "text", "citations")
# Weight of the citation overlap (0..1) against the text score (a sum of two z-scores: the top
# text matches of a paper score about 6 to 12). Chosen on Cora with hidden-edge seed 1 among
# 2, 4, 8 and 16; the README reports seed 0.
CITATION_WEIGHT = 8.0


@dataclass(frozen=True)
class RelatedHit:
    """One related paper. `signal` says what put it here: "text", "citations" or both
    ("text+citations"). text_score is the z-scored dense+lexical similarity; citation_score the
    closed-neighbourhood overlap in 0..1 (None when citations were not used)."""

    paper: Paper
    score: float
    rank: int
    signal: str
    text_score: float | None
    citation_score: float | None


def related(
    engine: Engine,
    paper_id: str,
    *,
    k: int = 10,
    filters: Filters | None = None,
    direction: str | None = None,
    signals: str = "auto",
) -> list[RelatedHit]:
    """The k papers most related to `paper_id`, best first, one record per work, never a record
    of the paper's own work.

    direction "earlier" / "later" keeps papers certainly published before / after it (see
    search.periods); signals "auto" blends in citation overlap when the paper has citation links
    in the index, "text" never does, "citations" ranks by citation overlap alone.
    """
    engine.limits.check_k(k)
    if direction not in (None, *DIRECTIONS):
        raise InvalidQueryError(f"direction={direction!r}: use 'earlier', 'later' or leave it out")
    if signals not in SIGNALS:
        raise InvalidQueryError(f"signals={signals!r}: use one of {', '.join(SIGNALS)}")
    store = engine.store
    vid = store.vid_of(paper_id)
    paper = store.get(paper_id)
    allowed = _allowed(store, paper, filters, direction)
    graph = None if signals == "text" else CitationGraph.from_store(store)
    if signals == "auto" and graph is not None and not graph.degree(paper.id):
        graph = None
    ranked = rank_related(
        store,
        vid,
        paper,
        allowed=allowed,
        graph=graph,
        citations_only=signals == "citations",
        k=k,
    )
    # Paired by vid: a paper removed since the ranking was taken is left out, not a failure.
    papers = dict(store.papers_with_vids([r[0] for r in ranked]))
    kept = [r for r in ranked if r[0] in papers]
    return [
        RelatedHit(papers[vid], score, rank, signal, text, cit)
        for rank, (vid, score, signal, text, cit) in enumerate(kept, 1)
    ]


def rank_related(
    store: Store,
    vid: int,
    paper: Paper,
    *,
    allowed: np.ndarray | None,
    graph: CitationGraph | None,
    k: int,
    citations_only: bool = False,
    skip: frozenset[int] = frozenset(),
) -> list[tuple[int, float, str, float | None, float | None]]:
    """Top-k (vid, score, signal, text_score, citation_score), duplicates of the paper and `skip`
    left out. `allowed` (sorted vids) restricts candidates; used by `related` and the evaluation.
    """
    excluded = store.work_mates([vid]) | set(skip)
    # Deeper than k: other records of one work each take a place before they are collapsed.
    depth = WORK_DEPTH * k + len(excluded)
    cites: dict[int, float] = {}
    if graph is not None:
        cites = _citation_candidates(store, graph, paper.id, allowed)
    text: dict[int, float] = {}
    if not citations_only:
        # Papers found through citations are scored on text too, however far down they rank.
        extra = np.fromiter(cites, dtype=np.int64, count=len(cites))
        text = text_similarity(store, vid, allowed, depth, also=extra)
    scored = []
    for cand in set(text) | set(cites):
        if cand in excluded:
            continue
        t, c = text.get(cand), cites.get(cand)
        score = (c or 0.0) if citations_only else (t or 0.0) + CITATION_WEIGHT * (c or 0.0)
        signal = "citations" if citations_only else _signal(t or 0.0, c)
        scored.append((cand, float(score), signal, t, None if graph is None else (c or 0.0)))
    scored.sort(key=lambda row: (-row[1], row[0]))
    return one_per_work(store, scored, lambda row: row[0])[:k]


def _signal(text: float, cites: float | None) -> str:
    if not cites:
        return "text"
    return "text+citations" if text > 0 else "citations"


def _citation_candidates(
    store: Store, graph: CitationGraph, paper_id: str, allowed: np.ndarray | None
) -> dict[int, float]:
    overlap = graph.overlap_scores(paper_id)
    if not overlap:
        return {}
    ids = list(overlap)
    rows = store.ids_to_vids(ids)
    found = {vid: overlap[pid] for pid, vid in rows}
    if allowed is not None:
        keep = set(np.intersect1d(np.fromiter(found, dtype=np.int64), allowed).tolist())
        found = {v: s for v, s in found.items() if v in keep}
    return found


def _allowed(
    store: Store, paper: Paper, filters: Filters | None, direction: str | None
) -> np.ndarray | None:
    allowed = store.select_vids(filters)
    if direction is None:
        return allowed
    span = periods.work_bounds(store, store.vid_of(paper.id), paper)
    if span is None:
        raise InvalidQueryError(
            f"paper {paper.id!r} has no date, so nothing is known to be {direction}: "
            "leave out --direction"
        )
    if direction == "earlier":
        timed = periods.vids_before(store, span[0])
    else:
        timed = periods.vids_after(store, span[1])
    return timed if allowed is None else np.intersect1d(allowed, timed)

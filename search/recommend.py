"""Recommendations from liked and disliked papers: a linear classifier trained per request.

As arxiv-sanity does with an SVM, each request fits a linear model on paper embeddings: the
positive papers are +1; the negative papers and a background sample of the index are -1 (the
background keeps the model from rewarding what every paper shares; the explicit negatives weigh
as much as the positives together). Ridge-regularised least squares gives the weight vector in
closed form (one dim x dim solve), and since the score is linear, the best papers of the whole
index are found by one inner-product search with that vector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexer.filters import Filters
from indexer.paper import Paper
from indexer.store import Store
from models.errors import InvalidQueryError
from search.engine import Engine
from search.works import WORK_DEPTH, one_per_work

BACKGROUND = 1000
# Share of the total training weight given to the background sample, and to the negatives.
BACKGROUND_WEIGHT = 0.5
NEGATIVE_WEIGHT = 1.0
RIDGE = 0.05


@dataclass(frozen=True)
class Recommendation:
    """A recommended paper; score is the classifier's decision value (higher = more like the
    positives), closest_positive_id the liked paper it is most similar to (cosine)."""

    paper: Paper
    score: float
    rank: int
    closest_positive_id: str
    closest_similarity: float


def recommend(
    engine: Engine,
    positive_ids: list[str],
    negative_ids: list[str] = (),
    *,
    k: int = 10,
    filters: Filters | None = None,
) -> list[Recommendation]:
    """The k works the per-request classifier scores highest, each as its best record; inputs
    and the other records of their works are never returned."""
    engine.limits.check_k(k)
    positive_ids, negative_ids = _validate(list(positive_ids), list(negative_ids or ()))
    engine.limits.check_inputs(positive_ids, negative_ids)
    store = engine.store
    pos_vids = [store.vid_of(pid) for pid in positive_ids]
    neg_vids = [store.vid_of(pid) for pid in negative_ids]
    allowed = store.select_vids(filters)
    excluded = store.work_mates(pos_vids + neg_vids)
    positives = store.embeddings(pos_vids)
    weights, bias = fit_classifier(
        positives, store.embeddings(neg_vids), _background(store, allowed, excluded)
    )
    norm = float(np.linalg.norm(weights))
    if norm == 0:
        return []
    _scores, vids = store.vectors.search(
        (weights / norm)[None, :].astype(np.float32), WORK_DEPTH * k + len(excluded), allowed
    )
    found = [v for v in vids[0].tolist() if v >= 0 and v not in excluded]
    found = one_per_work(store, found, int)[:k]
    # Paired by vid: a paper removed since the search is left out, not a failure.
    papers = store.papers_with_vids(found)
    vectors = store.vectors.vectors(np.array([v for v, _ in papers], dtype=np.int64))
    scores = vectors @ weights + bias
    closeness = vectors @ positives.T
    out = []
    for rank, ((_vid, paper), score, sims) in enumerate(
        zip(papers, scores, closeness, strict=True), 1
    ):
        best = int(np.argmax(sims))
        out.append(Recommendation(paper, float(score), rank, positive_ids[best], float(sims[best])))
    return out


def fit_classifier(
    positives: np.ndarray, negatives: np.ndarray, background: np.ndarray
) -> tuple[np.ndarray, float]:
    """Weighted ridge regression to +1 / -1 targets; returns (weights of shape (dim,), bias)."""
    n_pos = len(positives)
    parts = [(positives, 1.0, np.full(n_pos, 1.0))]
    if len(negatives):
        parts.append(
            (negatives, -1.0, np.full(len(negatives), NEGATIVE_WEIGHT * n_pos / len(negatives)))
        )
    if len(background):
        parts.append(
            (
                background,
                -1.0,
                np.full(len(background), BACKGROUND_WEIGHT * n_pos / len(background)),
            )
        )
    x = np.vstack([p[0] for p in parts]).astype(np.float64)
    y = np.concatenate([np.full(len(p[0]), p[1]) for p in parts])
    w = np.concatenate([p[2] for p in parts])
    x = np.hstack([x, np.ones((len(x), 1))])  # bias column, not regularised
    penalty = RIDGE * w.sum() * np.eye(x.shape[1])
    penalty[-1, -1] = 0.0
    solution = np.linalg.solve(x.T @ (x * w[:, None]) + penalty, x.T @ (w * y))
    return solution[:-1], float(solution[-1])


def _validate(positive_ids: list[str], negative_ids: list[str]) -> tuple[list[str], list[str]]:
    positive_ids = list(dict.fromkeys(p for p in positive_ids if p))
    negative_ids = list(dict.fromkeys(n for n in negative_ids if n))
    if not positive_ids:
        raise InvalidQueryError("give at least one positive paper id (a paper you like)")
    both = sorted(set(positive_ids) & set(negative_ids))
    if both:
        raise InvalidQueryError(f"paper {both[0]!r} is both positive and negative: keep it in one")
    return positive_ids, negative_ids


def _background(store: Store, allowed: np.ndarray | None, excluded: set[int]) -> np.ndarray:
    """An evenly spaced sample of the papers that may be recommended (deterministic)."""
    pool = store.keywords.vids if allowed is None else allowed
    pool = pool[~np.isin(pool, np.fromiter(excluded, dtype=np.int64))]
    step = max(1, len(pool) // BACKGROUND)
    return store.embeddings(pool[::step][:BACKGROUND])

"""Hybrid fusion: combine keyword (BM25) and semantic (cosine) scores of one candidate set."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FUSION_METHODS = ("convex", "rrf")
NORMALIZATIONS = ("zscore", "minmax")


@dataclass(frozen=True)
class FusionParams:
    """How hybrid mode fuses its two candidate lists.

    convex (default): weight * sem' + (1 - weight) * kw', where each side is normalised over
    the query's candidate set (z-score: subtract the mean, divide by the standard deviation;
    or min-max to [0, 1]). BM25 and cosine live on different scales that vary per query, and
    normalising both within the query makes one weight work for every query. The fused score
    compares papers of one query only. rrf: sum of 1 / (rrf_k + rank) over both lists.

    The defaults were chosen on SciFact *train* (bench/tune_hybrid.py): z-score, weight 0.5.
    """

    method: str = "convex"
    weight: float = 0.5
    normalization: str = "zscore"
    rrf_k: int = 60


def fuse(
    keyword: np.ndarray,
    semantic: np.ndarray,
    keyword_rank: np.ndarray,
    semantic_rank: np.ndarray,
    params: FusionParams,
    reference: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """Fused score per candidate (higher is better).

    `keyword` and `semantic` are the exact component scores of every candidate; the ranks are
    1-based positions in each side's candidate list, 0 where a candidate is not in that list.
    `reference` (keyword, semantic scores) gives the statistics that normalise each side; by
    default the candidates' own. A fixed reference makes the fused score of a paper independent
    of how many candidates were fetched, so rankings of different depths agree.
    """
    if params.method == "rrf":
        return rrf(keyword_rank, params.rrf_k) + rrf(semantic_rank, params.rrf_k)
    if params.method != "convex":
        raise ValueError(f"unknown fusion method {params.method!r}; one of {FUSION_METHODS}")
    scale = zscore if params.normalization == "zscore" else minmax
    kw_ref, sem_ref = reference if reference is not None else (keyword, semantic)
    return params.weight * scale(semantic, sem_ref) + (1.0 - params.weight) * scale(keyword, kw_ref)


def rrf(ranks: np.ndarray, k: int) -> np.ndarray:
    """Reciprocal rank fusion term: 1 / (k + rank), 0 for candidates the list did not hold."""
    ranks = np.asarray(ranks, dtype=np.float64)
    return np.where(ranks > 0, 1.0 / (k + np.maximum(ranks, 1)), 0.0)


def zscore(scores: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """(score - mean) / std, the statistics taken over `reference` (default: the scores
    themselves); all zeros when the reference scores are all equal."""
    scores = np.asarray(scores, dtype=np.float64)
    ref = scores if reference is None else np.asarray(reference, dtype=np.float64)
    spread = float(ref.std()) if len(ref) else 0.0
    return (scores - ref.mean()) / spread if spread > 0 else np.zeros_like(scores)


def minmax(scores: np.ndarray, reference: np.ndarray | None = None) -> np.ndarray:
    """Scores mapped so that the `reference` range (default: the scores) becomes [0, 1]; all
    zeros when the reference scores are all equal."""
    scores = np.asarray(scores, dtype=np.float64)
    ref = scores if reference is None else np.asarray(reference, dtype=np.float64)
    spread = float(ref.max() - ref.min()) if len(ref) else 0.0
    return (scores - ref.min()) / spread if spread > 0 else np.zeros_like(scores)

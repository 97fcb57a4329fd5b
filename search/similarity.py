"""Paper-to-paper text similarity: dense cosine plus TF-IDF cosine, each corrected for hubs.

Both signals are taken in CSLS form (cross-domain similarity local scaling, Lample et al. 2018):
csls(q, c) = 2 cos(q, c) - r(q) - r(c), where r(x) is the mean similarity of x to its K nearest
papers. A paper that is close to everything (a hub) is pulled down, a paper in a sparse region
pulled up. Each signal is then z-scored over the papers allowed and the two z-scores are summed.
On Cora this lifts citation-neighbour recall@10 from 0.43 (plain z-scored sum) to about 0.45.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np

from indexer.paper import embedding_text
from indexer.store import Store
from models.errors import InvalidQueryError
from search.tfidf import TfidfIndex

MAX_K = 100
# Candidates taken from each signal before re-scoring.
MIN_DEPTH = 200
# Neighbours that define a paper's local density r(x).
DENSITY_K = 10
# Papers (evenly spaced) whose scores estimate the mean and spread of each signal.
STATS_SAMPLE = 2048
_ROW_BLOCK = 256
LEXICAL_MODEL = "related-lexical"
# TF-IDF entries the lexical model keeps: 16 bytes each (the matrix and its transpose), so
# 2 GB at most. Up to ~500k arXiv abstracts (234 terms each) everything is kept; past that each
# paper keeps its heaviest terms (on Cora, keeping 64 of ~300 cost 0.027 recall@10).
MAX_LEXICAL_NNZ = 128_000_000


def check_k(k: int, max_k: int = MAX_K) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= max_k:
        raise InvalidQueryError(f"k={k!r} is out of range: give a whole number from 1 to {max_k}")


@dataclass
class LexicalModel:
    """The TF-IDF rows (unigrams and bigrams) of the papers of one snapshot in vid order, and
    the local densities computed so far (NaN until needed); dense densities are kept beside them
    by vid. Memory is about N x 12 x terms per paper bytes; the vectors are the view's."""

    vids: np.ndarray
    tfidf: TfidfIndex
    lexical_density: np.ndarray
    dense_density: dict[int, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def build(cls, store: Store) -> LexicalModel:
        """Tokenise every paper of one snapshot (full-corpus work: run off the request path)."""
        vids, texts = store.texts_snapshot()
        tfidf = TfidfIndex.build(
            np.arange(len(vids)).tolist(), texts, bigrams=True, min_df=2, max_nnz=MAX_LEXICAL_NNZ
        )
        return cls(vids, tfidf, np.full(len(vids), np.nan))

    def row_of(self, vid: int) -> int | None:
        at = int(np.searchsorted(self.vids, vid))
        return at if at < len(self.vids) and self.vids[at] == vid else None

    def lexical_densities(self, rows: np.ndarray) -> np.ndarray:
        """Lexical r of the given model rows: mean TF-IDF cosine to the DENSITY_K nearest."""
        with self.lock:
            todo = np.unique(rows[np.isnan(self.lexical_density[rows])])
        for start in range(0, len(todo), _ROW_BLOCK):
            block = todo[start : start + _ROW_BLOCK]
            values = _top_mean(self.tfidf.similarities(block.tolist()), block)
            with self.lock:
                self.lexical_density[block] = values
        return self.lexical_density[rows]


def lexical_model(store: Store) -> LexicalModel:
    """The newest lexical model of the index. After a write the previous one answers while the
    next is built in the background; only an index that never had one builds it on the spot."""
    return store.latest(LEXICAL_MODEL, lambda: LexicalModel.build(store))


def text_similarity(
    store: Store,
    vid: int,
    allowed: np.ndarray | None,
    depth: int,
    also: np.ndarray | None = None,
) -> dict[int, float]:
    """Summed z-scores of dense and lexical CSLS between paper `vid` and its best candidates.

    Candidates are the top max(depth, MIN_DEPTH) papers of either signal among `allowed`
    (sorted vids; None = all), plus the vids in `also` that are allowed. Returns vid -> score.
    Dense candidates come from the vector index (exact or HNSW, as search), so no request
    scans every vector; a paper newer than the lexical model is scored with its vocabulary.
    """
    view = store.view()
    vectors = view.vectors
    model = lexical_model(store)
    depth = max(depth, MIN_DEPTH)
    pool = (
        vectors.table.live_vids
        if allowed is None
        else np.intersect1d(vectors.table.live_vids, allowed)
    )
    if len(pool) == 0:
        return {}
    query = vectors.vectors(np.array([vid]))[0]
    _, dense_top = vectors.search(query, depth, None if allowed is None else pool)
    lexical_all = _lexical_row(store, model, vid)
    in_model = _model_rows(model, pool)
    lexical_pool = np.where(in_model >= 0, lexical_all[in_model.clip(min=0)], 0.0)
    lexical_top = pool[_top(np.arange(len(pool)), lexical_pool, depth)]
    candidates = np.union1d(dense_top[0][dense_top[0] >= 0], lexical_top)
    if also is not None and len(also):
        candidates = np.union1d(candidates, np.intersect1d(also, pool))
    sample = pool[:: max(1, len(pool) // STATS_SAMPLE)]
    dense_c, lexical_c = _csls(store, view, model, query, lexical_all, candidates)
    dense_s, lexical_s = _csls(store, view, model, query, lexical_all, sample)
    combined = (dense_c - dense_s.mean()) / max(dense_s.std(), 1e-9) + (
        lexical_c - lexical_s.mean()
    ) / max(lexical_s.std(), 1e-9)
    return dict(zip(candidates.tolist(), combined.tolist(), strict=True))


def _lexical_row(store: Store, model: LexicalModel, vid: int) -> np.ndarray:
    """TF-IDF cosine of paper `vid` to every paper of the model."""
    row = model.row_of(vid)
    if row is not None:
        return model.tfidf.similarities([row])[0]
    paper = store.papers_by_vids([vid])
    text = embedding_text(paper[0].title, paper[0].abstract) if paper else ""
    return model.tfidf.similarities_of(model.tfidf.vectorize([text]))[0]


def _model_rows(model: LexicalModel, vids: np.ndarray) -> np.ndarray:
    """Row of each vid in the model, -1 for papers newer than it."""
    if not len(model.vids):
        return np.full(len(vids), -1, dtype=np.int64)
    at = np.searchsorted(model.vids, vids).clip(max=len(model.vids) - 1)
    return np.where(model.vids[at] == vids, at, -1)


def _top(rows: np.ndarray, scores: np.ndarray, depth: int) -> np.ndarray:
    if len(rows) <= depth:
        return rows
    return rows[np.argpartition(-scores, depth - 1)[:depth]]


def _csls(
    store: Store,
    view,
    model: LexicalModel,
    query: np.ndarray,
    lexical_all: np.ndarray,
    vids: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """2 cos(q, x) - r(x) for each paper x, dense and lexical (r(q) is the same for all)."""
    dense = view.vectors.vectors(vids) @ query
    rows = _model_rows(model, vids)
    known = rows >= 0
    lexical = np.zeros(len(vids))
    lexical_r = np.zeros(len(vids))
    lexical[known] = lexical_all[rows[known]]
    lexical_r[known] = model.lexical_densities(rows[known])
    return 2 * dense.astype(np.float64) - _dense_densities(
        view, model, vids
    ), 2 * lexical - lexical_r


def _dense_densities(view, model: LexicalModel, vids: np.ndarray) -> np.ndarray:
    """Dense r of each paper: mean cosine to its DENSITY_K nearest papers (itself left out),
    found through the vector index and kept with the lexical model."""
    with model.lock:
        todo = [v for v in vids.tolist() if v not in model.dense_density]
    for start in range(0, len(todo), _ROW_BLOCK):
        block = np.array(todo[start : start + _ROW_BLOCK], dtype=np.int64)
        scores, found = view.vectors.search(view.vectors.vectors(block), DENSITY_K + 1)
        values = {}
        for v, row_s, row_v in zip(block.tolist(), scores, found, strict=True):
            others = row_s[(row_v != v) & (row_v >= 0)][:DENSITY_K]
            values[v] = float(others.mean()) if len(others) else 0.0
        with model.lock:
            model.dense_density.update(values)
    with model.lock:
        return np.array([model.dense_density[v] for v in vids.tolist()], dtype=np.float64)


def _top_mean(sims: np.ndarray, own_rows: np.ndarray) -> np.ndarray:
    """Mean of the DENSITY_K largest values of each row, the paper's own column left out."""
    sims[np.arange(len(own_rows)), own_rows] = -np.inf
    k = min(DENSITY_K, sims.shape[1] - 1)
    if k <= 0:
        return np.zeros(len(sims))
    return np.partition(sims, -k, axis=1)[:, -k:].astype(np.float64).mean(axis=1)

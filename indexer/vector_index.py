"""FAISS vector index keyed by paper vid: exact (flat) when small, HNSW when large, HNSW over
8-bit scalar-quantised vectors (a quarter of the memory) when very large."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import faiss
import numpy as np

from models.errors import BadInputError
from models.hardware import physical_cores

log = logging.getLogger(__name__)

KINDS = ("auto", "flat", "hnsw", "hnsw_sq8")
# Up to this many vectors exact search is fast enough (a few ms per query on 2 cores).
AUTO_FLAT_LIMIT = 50_000
# Above this many, float32 vectors alone pass 1.5 GB (1M x 384 x 4 bytes): store 8-bit codes.
AUTO_HNSW_FLAT_LIMIT = 500_000
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 96
# 8-bit codes blur close scores a little; a deeper search keeps recall@10 at the float level.
HNSW_SQ8_EF_SEARCH = 128
# The quantiser learns each dimension's range from this many vectors.
SQ8_TRAIN_SAMPLE = 100_000
# A filter that keeps at most this many papers is answered by exact search over just those.
EXACT_SUBSET_LIMIT = 20_000
# Fewer queries than this run on the calling thread: for one query FAISS's OpenMP team costs more
# than it saves (16 ms instead of 0.2 ms for 6k vectors when the cores are busy), while batches
# and builds use every core.
PARALLEL_QUERIES = 8


def _use_threads(work_items: int) -> None:
    """Set FAISS's OpenMP threads for the calling thread (the setting is per thread)."""
    faiss.omp_set_num_threads(1 if work_items < PARALLEL_QUERIES else physical_cores())


def choose_kind(kind: str, count: int) -> str:
    if kind not in KINDS:
        raise BadInputError(f"unknown vector index kind {kind!r}; choose one of {', '.join(KINDS)}")
    if kind != "auto":
        return kind
    if count <= AUTO_FLAT_LIMIT:
        return "flat"
    return "hnsw" if count <= AUTO_HNSW_FLAT_LIMIT else "hnsw_sq8"


def _ef_search(kind: str) -> int:
    return HNSW_SQ8_EF_SEARCH if kind == "hnsw_sq8" else HNSW_EF_SEARCH


def _new_base(kind: str, dim: int) -> faiss.Index:
    if kind == "flat":
        return faiss.IndexFlatIP(dim)
    if kind == "hnsw":
        base = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    else:
        qtype = faiss.ScalarQuantizer.QT_8bit
        base = faiss.IndexHNSWSQ(dim, qtype, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    base.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    base.hnsw.efSearch = _ef_search(kind)
    return base


def _train_and_add(base: faiss.Index, index: faiss.Index, held: list) -> int:
    """Train the quantiser on the held chunks, then add them; returns how many were added."""
    sample = np.vstack([v for _, v in held])
    if not len(sample):
        return 0
    base.train(sample[:SQ8_TRAIN_SAMPLE])
    for vids, vectors in held:
        index.add_with_ids(vectors, np.asarray(vids, dtype=np.int64))
    return len(sample)


class VectorIndex:
    """Inner-product search over L2-normalised vectors; ids are paper vids (int64)."""

    def __init__(self, index: faiss.Index, kind: str) -> None:
        self._index = index
        self.kind = kind

    @classmethod
    def build(
        cls, dim: int, vids: np.ndarray, vectors: np.ndarray, kind: str = "auto"
    ) -> VectorIndex:
        """Index `vectors` (n, dim) under `vids` (n,)."""
        return cls.build_chunks(dim, [(np.asarray(vids), vectors)], len(vids), kind)

    @classmethod
    def build_chunks(
        cls,
        dim: int,
        chunks: Iterable[tuple[np.ndarray, np.ndarray]],
        count: int,
        kind: str = "auto",
    ) -> VectorIndex:
        """Index (vids, vectors) chunks, `count` vectors in all, adding one chunk at a time: memory
        holds the index and one chunk, never a second full copy of the vectors. An 8-bit index
        first learns its ranges from the first SQ8_TRAIN_SAMPLE vectors."""
        kind = choose_kind(kind, count)
        _use_threads(count)
        base = _new_base(kind, dim)
        index = faiss.IndexIDMap2(base)
        held: list[tuple[np.ndarray, np.ndarray]] = []
        added = 0
        for vids, vectors in chunks:
            vectors = np.ascontiguousarray(vectors, dtype=np.float32)
            if base.is_trained:
                index.add_with_ids(vectors, np.asarray(vids, dtype=np.int64))
                added += len(vectors)
                continue
            held.append((vids, vectors))
            if sum(len(v) for v, _ in held) >= SQ8_TRAIN_SAMPLE:
                added += _train_and_add(base, index, held)
                held = []
        if held:
            added += _train_and_add(base, index, held)
        log.info("built %s vector index of %d papers", kind, added)
        return cls(index, kind)

    @classmethod
    def load(cls, path: Path, kind: str) -> VectorIndex:
        index = faiss.read_index(str(path))
        if kind != "flat":
            faiss.downcast_index(index.index).hnsw.efSearch = _ef_search(kind)
        return cls(index, kind)

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def search(
        self,
        queries: np.ndarray,
        k: int,
        allowed: np.ndarray | None = None,
        *,
        ef_search: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, vids) per query row, shape (m, k); missing slots have vid -1.

        `allowed` restricts results to those vids exactly: small sets are scored brute force
        over their vectors, larger ones through a FAISS id selector (HNSW gets a deeper search).
        `ef_search` overrides the HNSW search depth (recall against speed; benchmarks).
        """
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        _use_threads(len(queries))
        pool = len(self) if allowed is None else len(allowed)
        k = min(k, pool)
        if k <= 0:
            empty = np.zeros((len(queries), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        if allowed is None:
            if ef_search is None or self.kind == "flat":
                return self._index.search(queries, k)
            params = faiss.SearchParametersHNSW(efSearch=max(ef_search, k))
            return self._index.search(queries, k, params=params)
        allowed = np.asarray(allowed, dtype=np.int64)
        if self.kind != "flat" and len(allowed) <= EXACT_SUBSET_LIMIT:
            return self._exact_subset(queries, k, allowed)
        selector = faiss.IDSelectorBatch(allowed)
        if self.kind != "flat":
            ef = max(ef_search or _ef_search(self.kind), 4 * k)
            params = faiss.SearchParametersHNSW(sel=selector, efSearch=ef)
        else:
            params = faiss.SearchParameters(sel=selector)
        return self._index.search(queries, k, params=params)

    def vectors(self, vids: np.ndarray) -> np.ndarray:
        """Stored vectors of the given vids, shape (len(vids), dim)."""
        vids = np.asarray(vids, dtype=np.int64)
        if len(vids) == 0:
            return np.zeros((0, self._index.d), dtype=np.float32)
        return np.vstack([self._index.reconstruct(int(v)) for v in vids])

    def _exact_subset(
        self, queries: np.ndarray, k: int, allowed: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        matrix = self.vectors(allowed)
        scores = queries @ matrix.T
        top = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(scores, top, axis=1), allowed[top]

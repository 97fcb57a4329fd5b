"""Vector search by slot: a memory-mapped float32 matrix plus an optional FAISS HNSW (float or
8-bit scalar-quantised) over its first rows, with exact filters that never come back short.

A slot is one stored version of a paper's vector. Slots only grow: an added paper takes a new
slot, a changed one takes a new slot and kills its old one, a removed one kills its slot. So the
matrix file is append-only (readers that mapped a shorter file are never disturbed), HNSW is
never asked to delete (it cannot), and each version of the index is an immutable object that
a search keeps for its whole duration while writers build the next one.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import faiss
import numpy as np

from indexer.files import read_rows
from indexer.slots import SlotTable
from models.errors import BadInputError, NotFoundError
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
# A filter that keeps at most this many slots of the HNSW part is answered exactly over their
# rows of the matrix (about 6 ms for 40k rows); broader ones go through HNSW. Exact also covers
# the case HNSW handles worst: allowed papers in a region of the graph far from the query.
EXACT_SUBSET_LIMIT = 40_000
# ... and so is a filter that keeps at most this share of it: exact over 15% of the rows costs
# about what a beam wide enough to hold k allowed papers would (1M papers: 20-30 ms).
EXACT_SUBSET_SHARE = 0.15
# When a filtered HNSW search comes back short, it is retried once with a beam four times
# deeper (at most MAX_RETRY_EF), then answered exactly: the result is never short.
HNSW_RETRIES = 1
MAX_RETRY_EF = 16_384
# Rows scored per matrix product in exact search (bounded memory per query).
EXACT_CHUNK = 16_384
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


def default_ef(kind: str) -> int:
    return HNSW_SQ8_EF_SEARCH if kind == "hnsw_sq8" else HNSW_EF_SEARCH


def new_ann(kind: str, dim: int) -> faiss.Index:
    """An empty HNSW index of the kind (inner product over L2-normalised vectors)."""
    if kind == "hnsw":
        ann = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    else:
        qtype = faiss.ScalarQuantizer.QT_8bit
        ann = faiss.IndexHNSWSQ(dim, qtype, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    ann.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    ann.hnsw.efSearch = default_ef(kind)
    return ann


def extend_ann(ann: faiss.Index, rows: Iterable[np.ndarray]) -> faiss.Index:
    """Add row blocks to an HNSW index in slot order (training an 8-bit one on its first rows)."""
    _use_threads(PARALLEL_QUERIES)
    for block in rows:
        block = np.ascontiguousarray(block, dtype=np.float32)
        if not len(block):
            continue
        if not ann.is_trained:
            ann.train(block[:SQ8_TRAIN_SAMPLE])
        ann.add(block)
    return ann


def read_ann(path: Path, kind: str, *, mapped: bool = True) -> faiss.Index:
    """Open an HNSW file. `mapped` maps its stored vectors or codes from the file instead of
    copying them into memory (processes share the pages; the index is then read-only)."""
    flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY if mapped else 0
    ann = faiss.read_index(str(path), flags)
    ann.hnsw.efSearch = default_ef(kind)
    return ann


def write_ann(ann: faiss.Index, path: Path) -> None:
    """Write under a temporary name, then rename: a reader never opens a half-written file."""
    tmp = path.with_name(f".{path.name}.tmp")
    faiss.write_index(ann, str(tmp))
    tmp.replace(path)


@dataclass(frozen=True)
class VectorIndex:
    """One immutable version of the vectors. `stored` holds slots [0, len(stored)) (memory-mapped),
    `extra` the slots after them (in memory, written since), `table` the paper of each slot, and
    `ann`, when set, an HNSW over slots [0, ann_rows)."""

    kind: str
    stored: np.ndarray
    extra: np.ndarray
    table: SlotTable
    ann: faiss.Index | None = None
    ann_rows: int = 0

    @classmethod
    def build(
        cls, dim: int, vids: np.ndarray, vectors: np.ndarray, kind: str = "auto"
    ) -> VectorIndex:
        """An index held in memory of `vectors` (n, dim) under `vids` (n,), one slot each (tests,
        benchmarks; an index folder's are built by indexer.derived)."""
        vectors = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32).reshape(-1, dim))
        kind = choose_kind(kind, len(vectors))
        ann = None
        if kind != "flat" and len(vectors):
            ann = extend_ann(new_ann(kind, dim), [vectors])
        table = SlotTable.of(np.asarray(vids, dtype=np.int64))
        return cls(kind, vectors, np.zeros((0, dim), np.float32), table, ann, len(vectors))

    # ---- shape ---------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return int(self.stored.shape[1])

    @property
    def slot_vids(self) -> np.ndarray:
        return self.table.slot_vids

    @property
    def slots(self) -> int:
        return self.table.size

    def __len__(self) -> int:
        return self.table.live

    def slots_of(self, vids: np.ndarray) -> np.ndarray:
        """Live slot of each vid, -1 for a vid that is not (or no longer) indexed."""
        return self.table.slots_of(vids)

    @property
    def stored_rows(self) -> int:
        """Slots [0, stored_rows) are stored (on disk); the ones after them are in `extra`."""
        return len(self.stored)

    def _stored(self, slots: np.ndarray) -> np.ndarray:
        """Stored rows of the given slots (each < stored_rows)."""
        return np.asarray(self.stored[slots], dtype=np.float32)

    def _stored_range(self, lo: int, hi: int) -> np.ndarray:
        return read_rows(self.stored, lo, hi)

    def rows(self, slots: np.ndarray) -> np.ndarray:
        """The vectors of the given slots (a copy), shape (len(slots), dim)."""
        slots = np.asarray(slots, dtype=np.int64)
        base = self.stored_rows
        if len(slots) and slots.max() < base:
            return self._stored(slots)
        out = np.empty((len(slots), self.dim), dtype=np.float32)
        old = slots < base
        out[old] = self._stored(slots[old])
        out[~old] = self.extra[slots[~old] - base]
        return out

    def vectors(self, vids: np.ndarray) -> np.ndarray:
        """Stored vectors of the given vids, shape (len(vids), dim); every vid must be indexed."""
        slots = self.slots_of(vids)
        if (slots < 0).any():  # e.g. removed between a lookup and this read
            missing = np.asarray(vids)[slots < 0][:5].tolist()
            raise NotFoundError(f"papers no longer in the index (vids {missing})")
        return self.rows(slots)

    # ---- writes --------------------------------------------------------------------------
    def evolve(self, table: SlotTable, added: np.ndarray) -> VectorIndex:
        """The next version over `table` (this table evolved), `added` holding the vectors of
        its new slots in order."""
        extra = self.extra
        if len(added):
            extra = np.vstack([extra, np.asarray(added, dtype=np.float32).reshape(-1, self.dim)])
        if self.stored_rows + len(extra) != table.size:
            raise ValueError(f"{self.stored_rows + len(extra)} vectors for {table.size} slots")
        return replace(self, extra=extra, table=table)

    # ---- search --------------------------------------------------------------------------
    def search(
        self,
        queries: np.ndarray,
        k: int,
        allowed: np.ndarray | None = None,
        *,
        ef_search: int | None = None,
        exact: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, vids) per query row, shape (m, k'), best first, ties by vid, with
        k' = min(k, papers allowed): never fewer. `allowed` (vids) restricts results exactly.
        `ef_search` overrides the HNSW beam (recall against speed; benchmarks); `exact` scores
        every allowed row instead (novelty, whose scores must not depend on the index kind)."""
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        _use_threads(len(queries))
        if allowed is None:
            pool = None
            count = len(self)
        else:
            allowed = np.asarray(allowed, dtype=np.int64)
            if len(allowed) > 1 and not (allowed[1:] > allowed[:-1]).all():
                allowed = np.unique(allowed)  # callers mostly pass sorted vids already
            pool = self.slots_of(allowed)
            pool = np.sort(pool[pool >= 0])
            count = len(pool)
        k = min(int(k), count)
        if k <= 0:
            empty = np.zeros((len(queries), 0))
            return empty.astype(np.float32), empty.astype(np.int64)
        ann_rows = self._indexed_rows(exact)
        parts = []
        if ann_rows:
            parts.append(self._ann_part(queries, k, pool, ann_rows, ef_search, exact))
        tail = self._tail_slots(pool, ann_rows)
        if tail is None or len(tail):
            parts.append(self._exact(queries, k, tail, start=ann_rows))
        scores = np.concatenate([p[0] for p in parts], axis=1)
        slots = np.concatenate([p[1] for p in parts], axis=1)
        return self._best(scores, slots, k)

    def _indexed_rows(self, exact: bool) -> int:
        """Slots [0, n) that the index answers; the rest are scored exactly here."""
        return self.ann_rows if self.ann is not None and not exact else 0

    def _tail_slots(self, pool: np.ndarray | None, start: int) -> np.ndarray | None:
        """Allowed slots at or after `start`; None means every live slot there."""
        if pool is None:
            return None
        return pool[pool >= start]

    @cached_property
    def _ann_live(self) -> tuple[int, np.ndarray | None]:
        """Live slots of the HNSW part, and their mask when some are dead: fixed for a version,
        and an O(N) scan that an unfiltered query should not pay."""
        alive = self.slot_vids[: self.ann_rows] >= 0
        wanted = int(alive.sum())
        return wanted, (None if wanted == self.ann_rows else alive)

    def _ann_part(
        self,
        queries: np.ndarray,
        k: int,
        pool: np.ndarray | None,
        ann_rows: int,
        ef_search: int | None,
        exact: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k among the allowed live slots of the HNSW part, complete whatever the filter
        (`exact` searches never come here: HNSW cannot be asked for exact scores)."""
        if pool is None:
            wanted, members = self._ann_live
        else:
            ann_pool = pool[pool < ann_rows]
            wanted = len(ann_pool)
            if wanted <= max(EXACT_SUBSET_LIMIT, EXACT_SUBSET_SHARE * ann_rows):
                return self._exact(queries, k, ann_pool, start=0)
            members = np.zeros(ann_rows, dtype=bool)
            members[ann_pool] = True
        need = min(k, wanted)
        if need == 0:
            return _empty(len(queries))
        ef = max(ef_search or default_ef(self.kind), k)
        if members is not None:
            # A filter that keeps a share s of the graph leaves about s of each beam usable.
            # The beam depends on the filter, not on k (up to the paging beam), so pages of a
            # filtered query explore the same papers too.
            ef = int(ef * min(1 / EXACT_SUBSET_SHARE, ann_rows / max(wanted, 1)))
        selector = None
        if members is not None:
            bits = np.packbits(members, bitorder="little")  # kept alive until the search ends
            selector = faiss.IDSelectorBitmap(ann_rows, faiss.swig_ptr(bits))
        for _ in range(HNSW_RETRIES + 1):
            params = faiss.SearchParametersHNSW(efSearch=ef)
            if selector is not None:
                params.sel = selector
            scores, slots = self.ann.search(queries, k, params=params)
            if ((slots >= 0).sum(axis=1) >= need).all():
                return scores, slots.astype(np.int64)
            ef = min(4 * ef, MAX_RETRY_EF)
        log.debug("filtered HNSW search came back short at efSearch %d: exact instead", ef)
        everything = np.flatnonzero(
            members if members is not None else self.slot_vids[:ann_rows] >= 0
        )
        return self._exact(queries, k, everything, start=0)

    def _exact(
        self, queries: np.ndarray, k: int, slots: np.ndarray | None, *, start: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k over `slots` (None: every live slot from `start` on), chunk by chunk."""
        m = len(queries)
        best_s = np.full((m, 0), -np.inf, dtype=np.float32)
        best_i = np.zeros((m, 0), dtype=np.int64)
        if slots is None:
            live = np.flatnonzero(self.slot_vids[start:] >= 0) + start
            dense = len(live) > 0.5 * (self.slots - start)
            chunks = _ranges(start, self.slots) if dense else _pieces(live)
        else:
            chunks = _pieces(slots)
            dense = False
        for chunk in chunks:
            if dense:  # a contiguous range: score it whole, then drop dead slots
                lo, hi = chunk
                ids = np.arange(lo, hi, dtype=np.int64)
                sims = queries @ self._range(lo, hi).T
                dead = self.slot_vids[lo:hi] < 0
                if dead.any():
                    sims[:, dead] = -np.inf
            else:
                ids = chunk
                sims = queries @ self._gather(ids).T
            best_s, best_i = _merge_top(best_s, best_i, sims, ids, k)
        best_i = np.where(np.isfinite(best_s), best_i, -1)
        return best_s, best_i

    def _range(self, lo: int, hi: int) -> np.ndarray:
        """Rows lo..hi-1; the stored ones read from the file (see files.read_rows): a scan of
        the whole index must not leave all of it resident in this process."""
        base = self.stored_rows
        if hi <= base:
            return self._stored_range(lo, hi)
        if lo >= base:
            return self.extra[lo - base : hi - base]
        return np.vstack([self._stored_range(lo, base), self.extra[: hi - base]])

    def _gather(self, slots: np.ndarray) -> np.ndarray:
        """Rows of sorted slots: read as one range when they fill a good part of their span
        (a broad filter, prior work for novelty), else picked through the mapping."""
        if len(slots) and 4 * len(slots) >= slots[-1] - slots[0] + 1:
            return self._range(int(slots[0]), int(slots[-1]) + 1)[slots - slots[0]]
        return self.rows(slots)

    def _best(self, scores: np.ndarray, slots: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Merge candidate slots into the top-k vids per row, ties broken by vid."""
        vids = np.where(slots >= 0, self.slot_vids[slots.clip(min=0)], -1)
        scores = np.where(vids >= 0, scores, -np.inf).astype(np.float32)
        out_s = np.full((len(scores), k), -np.inf, dtype=np.float32)
        out_v = np.full((len(scores), k), -1, dtype=np.int64)
        for i in range(len(scores)):
            order = np.lexsort((vids[i], -scores[i]))
            order = order[np.isfinite(scores[i][order])][:k]
            out_s[i, : len(order)] = scores[i][order]
            out_v[i, : len(order)] = vids[i][order]
        return out_s, out_v


def _empty(m: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((m, 0), dtype=np.float32), np.zeros((m, 0), dtype=np.int64)


def _ranges(lo: int, hi: int) -> list[tuple[int, int]]:
    return [(a, min(hi, a + EXACT_CHUNK)) for a in range(lo, hi, EXACT_CHUNK)]


def _pieces(slots: np.ndarray) -> list[np.ndarray]:
    return [slots[a : a + EXACT_CHUNK] for a in range(0, len(slots), EXACT_CHUNK)]


def _merge_top(
    best_s: np.ndarray, best_i: np.ndarray, sims: np.ndarray, ids: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Keep the k highest of the running best and one new block (ties at the cut kept by the
    caller's final vid ordering, since k + ties never shrink below k here)."""
    scores = np.concatenate([best_s, sims.astype(np.float32)], axis=1)
    idx = np.concatenate([best_i, np.broadcast_to(ids, sims.shape)], axis=1)
    if scores.shape[1] <= k:
        return scores, idx
    keep = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    return np.take_along_axis(scores, keep, axis=1), np.take_along_axis(idx, keep, axis=1)

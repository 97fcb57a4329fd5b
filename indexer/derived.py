"""The derived indexes of an index folder: written once from SQLite, then kept up to date by
appending what changed, never by rebuilding on a write.

On disk (named by the manifest's `derived` entry; every name is new, none is ever rewritten):
- `vectors-<build>.f32`: float32 rows, one per slot, append-only; the entry says how many rows
  are valid, so a torn append past them is ignored and cut off by the next writer;
- `slots-<build>-<generation>.npy`: the vid of each slot (-1 dead);
- `keyword-<build>-<first slot>[-<rows>]/`: BM25 segments covering consecutive slots;
- `ann-<build>-<rows>.faiss`: HNSW over the first `ann_rows` slots (not for flat indexes).

In memory, a `DerivedView` is those files plus what SQLite's change log holds after the entry's
generation (vectors in memory, a small keyword segment per batch). A view is immutable: a search
keeps one for its whole duration while writers install the next, so no search waits for a
write. Writing the in-memory part to disk (`compact`) is cheap: rows are appended, a segment is
written, and HNSW gets the new rows added to a copy; it happens in the background.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from indexer import qdrant_keywords, qdrant_vectors
from indexer.backend import BackendConfig
from indexer.bm25 import Corpus, Segment
from indexer.files import load_array, publish, remove, save_array, temporary_folder
from indexer.keyword_index import KeywordIndex
from indexer.qdrant_keywords import QdrantKeywords
from indexer.slots import SlotTable
from indexer.vector_index import (
    VectorIndex,
    choose_kind,
    extend_ann,
    new_ann,
    read_ann,
    write_ann,
)

if TYPE_CHECKING:
    from indexer.store import Store

log = logging.getLogger(__name__)

LAYOUT = 2
# Rows held in memory after which a view is written to disk (in the background in `serve`).
COMPACT_ROWS = 2_000
# Rows past the HNSW part (searched exactly) after which they are added to HNSW: a share of the
# graph's size, at least this many.
ANN_TAIL_ROWS = 20_000
ANN_TAIL_SHARE = 0.05
# Papers tokenised and turned into one segment at a time during a build (bounded memory).
BUILD_CHUNK = 50_000
# Keyword segments an index keeps before the ones after the first are folded into one.
MAX_SEGMENTS = 8
LOCK_NAME = ".derived.lock"
KEYWORD_LOCK_NAME = ".keywords.lock"
# The vector kind of an index whose vectors a Qdrant collection holds (indexer.backend).
QDRANT = "qdrant"


@dataclass(frozen=True)
class DerivedView:
    """The vector and keyword indexes as of SQLite generation `generation`; `entry` is the
    manifest entry of the files it extends."""

    generation: int
    entry: dict
    vectors: VectorIndex
    # Keyword search: the BM25 segments, or on the qdrant backend its keyword collection.
    keywords: KeywordIndex | QdrantKeywords
    # The BM25 segments of the index folder on either backend: related papers read their
    # TF-IDF rows from them (None: the same as `keywords`).
    segments: KeywordIndex | None = None

    @property
    def postings(self) -> KeywordIndex:
        return self.keywords if self.segments is None else self.segments

    @property
    def pending(self) -> int:
        """Slots held only in memory (not yet in the entry's files)."""
        return self.vectors.slots - int(self.entry["rows"])

    @property
    def ann_tail(self) -> int:
        """Slots searched exactly because HNSW does not cover them yet."""
        if self.vectors.kind in ("flat", QDRANT):
            return 0
        return self.vectors.slots - self.vectors.ann_rows


def kind_outgrown(entry: dict, papers: int) -> bool:
    """Whether an "auto" index holds so many papers now that auto would pick another kind (a
    full build, the only one besides `reindex`)."""
    return (
        is_current(entry)
        and entry["kind"] != QDRANT
        and entry.get("requested", "auto") == "auto"
        and choose_kind("auto", papers) != entry["kind"]
    )


def is_current(entry: dict) -> bool:
    """Whether a manifest entry describes derived files of this layout."""
    return bool(entry) and entry.get("layout") == LAYOUT


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """An exclusive lock on `path`, across processes and threads (released if the holder dies)."""
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def keyword_lock(index_dir: Path) -> AbstractContextManager[None]:
    """One writer of the Qdrant keyword collection at a time."""
    return _exclusive(index_dir / KEYWORD_LOCK_NAME)


def folder_lock(index_dir: Path) -> AbstractContextManager[None]:
    """One writer of derived files at a time."""
    return _exclusive(index_dir / LOCK_NAME)


# ---- building from scratch ---------------------------------------------------------------------
def build(store: Store, requested: str) -> dict:
    """Write every derived file from one SQLite snapshot; returns the new manifest entry (not yet
    saved). Memory holds one chunk of rows and the keyword postings, not a copy of the vectors."""
    index_dir, dim = store.index_dir, store.dim
    build_id = uuid.uuid4().hex[:10]
    backend = store.backend
    extra: dict = {}
    with store.read_snapshot() as snap:
        generation = snap.generation()
        if backend.name != QDRANT:
            kind = choose_kind(requested, snap.embedding_count())
            vec_name = f"vectors-{build_id}.f32"
            slot_vids = _write_rows(index_dir / vec_name, snap.iter_embeddings(), dim)
        segments, text_vids = [], []
        for vids, titles, abstracts in snap.iter_texts(BUILD_CHUNK):
            segments.append(Segment.build(KeywordIndex.tokenize_documents(titles, abstracts)))
            text_vids.append(vids)
        segment = Segment.concat(segments) if segments else Segment.build([])
        if backend.name == QDRANT:
            kind, vec_name = QDRANT, None
            slot_vids, extra = _build_in_qdrant(store, snap, build_id, segment)
    if not np.array_equal(np.concatenate([slot_vids[:0], *text_vids]), slot_vids):
        raise RuntimeError("papers and embeddings differ: run `paperscope reindex` after ingest")
    keyword_dir = _save_segment(index_dir, segment, f"keyword-{build_id}-0")
    entry = {
        "layout": LAYOUT,
        "id": uuid.uuid4().hex[:10],
        "build": build_id,
        "generation": generation,
        "kind": kind,
        "requested": requested,
        "dim": dim,
        "vectors": vec_name,
        "rows": len(slot_vids),
        "count": len(slot_vids),
        "slots": _save_slots(index_dir, build_id, generation, slot_vids),
        "keyword": [{"dir": keyword_dir, "rows": segment.size}],
        "ann": None,
        "ann_rows": 0,
        **extra,
    }
    if kind == "hnsw" or kind == "hnsw_sq8":
        entry["ann"], entry["ann_rows"] = _write_ann(store, entry, None, 0)
    log.info(
        "built %s derived indexes of %d papers (generation %d)", kind, len(slot_vids), generation
    )
    return entry


def _build_in_qdrant(
    store: Store, snap, build_id: str, segment: Segment
) -> tuple[np.ndarray, dict]:
    """A vector collection (one point per slot) and a keyword collection (one per paper) of the
    snapshot, whose BM25 segment gives the average length: (slot vids, the entry's fields)."""
    backend = store.backend
    connection = qdrant_vectors.connect(backend, store.index_dir)
    collection = f"{backend.prefix}{build_id}"
    qdrant_vectors.create_collection(connection, collection, store.dim)
    slot_vids = qdrant_vectors.append(connection, collection, snap.iter_embeddings(), 0)
    keywords = f"{collection}-kw"
    avgdl = float(segment.doc_len.mean()) if segment.size else 0.0
    qdrant_keywords.create_collection(connection, keywords)
    for vids, titles, abstracts in snap.iter_texts(BUILD_CHUNK):
        qdrant_keywords.write(connection, keywords, vids, titles, abstracts, avgdl)
    fields = {
        "collection": collection,
        "keyword_collection": keywords,
        "avgdl": avgdl,
        "ann_rows": len(slot_vids),
    }
    return slot_vids, fields


def _write_rows(path: Path, chunks, dim: int) -> np.ndarray:
    """Write (vids, vectors) chunks as float32 rows; returns the vids in row order."""
    tmp = path.with_name(f".{path.name}.tmp")
    vids = []
    with open(tmp, "wb") as handle:
        for chunk_vids, vectors in chunks:
            handle.write(np.ascontiguousarray(vectors, dtype="<f4").tobytes())
            vids.append(np.asarray(chunk_vids, dtype=np.int64))
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(path)
    return np.concatenate(vids) if vids else np.zeros(0, dtype=np.int64)


def _save_slots(index_dir: Path, build_id: str, generation: int, slot_vids: np.ndarray) -> str:
    # Every name is new (a uuid part): a file left by a write-out that died is never reused.
    name = f"slots-{build_id}-{generation}-{uuid.uuid4().hex[:6]}.npy"
    save_array(index_dir / name, np.asarray(slot_vids, dtype=np.int64))
    return name


def _save_segment(index_dir: Path, segment: Segment, name: str) -> str:
    tmp = temporary_folder(index_dir, name)
    segment.save(tmp)
    publish(tmp, index_dir / name)
    return name


def _matrix(index_dir: Path, entry: dict) -> np.ndarray:
    """The entry's valid rows of the vector file, memory-mapped read-only."""
    rows, dim = int(entry["rows"]), int(entry["dim"])
    if rows == 0:
        return np.zeros((0, dim), dtype=np.float32)
    return np.memmap(index_dir / entry["vectors"], dtype="<f4", mode="r", shape=(rows, dim))


def _write_ann(store: Store, entry: dict, base, base_rows: int) -> tuple[str, int]:
    """HNSW over all the entry's rows: `base` (read from its file, covering `base_rows`) extended
    with the rest, or a new one. Returns (file name, rows covered)."""
    index_dir = store.index_dir
    matrix = _matrix(index_dir, entry)
    rows = len(matrix)
    ann = base if base is not None else new_ann(entry["kind"], entry["dim"])
    blocks = (matrix[a : min(rows, a + 50_000)] for a in range(base_rows, rows, 50_000))
    extend_ann(ann, blocks)
    name = f"ann-{entry['build']}-{rows}-{uuid.uuid4().hex[:6]}.faiss"
    write_ann(ann, index_dir / name)
    return name, rows


# ---- opening -----------------------------------------------------------------------------------
class SegmentCache:
    """Loaded keyword segments and HNSW files by name: a new entry mostly names the same ones.
    Shared by the request threads and the write-out thread of a Store."""

    def __init__(self) -> None:
        self.segments: dict[str, Segment] = {}
        self.anns: dict[str, object] = {}
        self._lock = threading.Lock()

    def keep(self, names: set[str]) -> None:
        """Forget segments no entry in use names (after a rebuild or a fold)."""
        with self._lock:
            self.segments = {n: s for n, s in self.segments.items() if n in names}

    def segment(self, index_dir: Path, name: str) -> Segment:
        with self._lock:
            if name not in self.segments:
                self.segments[name] = Segment.load(index_dir / name)
            return self.segments[name]

    def ann(self, index_dir: Path, name: str, kind: str):
        with self._lock:
            if name not in self.anns:
                self.anns = {name: read_ann(index_dir / name, kind)}  # keep only the newest
            return self.anns[name]


def load(index_dir: Path, entry: dict, cache: SegmentCache, backend: BackendConfig) -> DerivedView:
    """A view of exactly the entry's files (as of the entry's generation)."""
    table = SlotTable.of(load_array(index_dir / entry["slots"]))
    cache.keep({part["dir"] for part in entry["keyword"]})
    segments = [cache.segment(index_dir, part["dir"]) for part in entry["keyword"]]
    if sum(s.size for s in segments) != table.size or int(entry["rows"]) != table.size:
        raise RuntimeError(f"derived files of {index_dir} disagree: run `paperscope reindex`")
    postings = KeywordIndex(Corpus(segments, table.alive), table)
    generation = int(entry["generation"])
    if entry["kind"] != QDRANT:
        vectors = _local_view(index_dir, entry, table, cache)
        return DerivedView(generation, entry, vectors, postings)
    vectors = _qdrant_view(index_dir, entry, table, backend)
    keywords = qdrant_keywords.QdrantKeywords(
        vectors.connection, entry["keyword_collection"], table
    )
    return DerivedView(generation, entry, vectors, keywords, postings)


def _local_view(index_dir: Path, entry: dict, table: SlotTable, cache: SegmentCache):
    ann = cache.ann(index_dir, entry["ann"], entry["kind"]) if entry.get("ann") else None
    return VectorIndex(
        entry["kind"],
        _matrix(index_dir, entry),
        np.zeros((0, int(entry["dim"])), dtype=np.float32),
        table,
        ann,
        int(entry.get("ann_rows", 0)) if ann is not None else 0,
    )


def _qdrant_view(index_dir: Path, entry: dict, table: SlotTable, backend: BackendConfig):
    rows, dim = int(entry["rows"]), int(entry["dim"])
    return qdrant_vectors.QdrantVectors(
        QDRANT,
        np.zeros((0, dim), dtype=np.float32),
        np.zeros((0, dim), dtype=np.float32),
        table,
        None,
        rows,
        connection=qdrant_vectors.connect(backend, index_dir),
        collection=entry["collection"],
        marked=np.flatnonzero(table.slot_vids[:rows] < 0),
    )


def catch_up(store: Store, view: DerivedView) -> DerivedView | None:
    """The view brought up to SQLite's current generation from the change log: the papers
    changed since are re-read (one read transaction) and appended; removed ones die. None when
    the log no longer reaches back to the view (newer files replaced it: load those)."""
    with store.read_snapshot() as snap:
        generation = snap.generation()
        if generation == view.generation:
            return view
        if snap.pruned_through() > view.generation:
            return None
        changed = snap.changed_since(view.generation)
        vids, vectors, titles, abstracts = snap.current_versions(changed)
    table, killed = view.vectors.table.evolve(changed, vids)
    segment = (
        Segment.build(KeywordIndex.tokenize_documents(titles, abstracts)) if len(vids) else None
    )
    postings = view.postings.evolve(table, killed, segment)
    vectors = view.vectors.evolve(table, vectors)
    if view.entry["kind"] != QDRANT:
        return DerivedView(generation, view.entry, vectors, postings)
    # The keyword collection is written through (see indexer.qdrant_keywords), one writer at a
    # time, each writing the papers' text as SQLite holds it now: a writer that read an older
    # version cannot land after a newer one. An index built empty takes the average length of
    # the papers held now.
    avgdl = float(view.entry.get("avgdl") or 0) or postings.corpus.avgdl
    with keyword_lock(store.index_dir):
        current = store.texts_of(changed.tolist())
        keywords = view.keywords.updated(
            table,
            changed,
            np.array([vid for vid, _, _ in current], dtype=np.int64),
            [title for _, title, _ in current],
            [abstract for _, _, abstract in current],
            avgdl,
        )
    return DerivedView(generation, view.entry, vectors, keywords, postings)


# ---- writing the in-memory part --------------------------------------------------------------
def compact(store: Store, view: DerivedView, entry_on_disk: dict) -> dict | None:
    """Write the view's in-memory slots to disk and return the new entry (not yet saved); None
    when the files on disk are no longer those the view extends (another process wrote newer
    ones: the caller reloads instead). The caller holds `folder_lock`."""
    if entry_on_disk.get("id") != view.entry.get("id"):
        return None
    index_dir = store.index_dir
    entry = dict(view.entry)
    rows = int(entry["rows"])
    vectors = view.vectors
    if entry["kind"] == QDRANT:
        chunk = (vectors.slot_vids[rows:], vectors.extra)
        qdrant_vectors.append(vectors.connection, entry["collection"], [chunk], rows)
        # The stored slots that died since: later searches leave them out.
        qdrant_vectors.mark_dead(vectors.connection, entry["collection"], vectors.unmarked)
    if vectors.slots > rows:
        if entry["kind"] != QDRANT:
            _append_rows(index_dir / entry["vectors"], rows, vectors.extra, vectors.dim)
        persisted = len(entry["keyword"])
        segments = view.postings.corpus.segments
        fresh = Segment.concat(segments[persisted:])
        parts = [*entry["keyword"], {"dir": "", "rows": fresh.size}]
        if len(parts) > MAX_SEGMENTS:  # a query visits every segment: fold the small ones
            fresh = Segment.concat([*segments[1:persisted], fresh])
            parts = [entry["keyword"][0], {"dir": "", "rows": fresh.size}]
        first = int(sum(part["rows"] for part in parts[:-1]))
        parts[-1]["dir"] = _save_segment(
            index_dir, fresh, f"keyword-{entry['build']}-{first}-{rows}"
        )
        entry["keyword"] = parts
    entry["rows"] = vectors.slots
    entry["count"] = len(vectors)
    entry["generation"] = view.generation
    entry["slots"] = _save_slots(index_dir, entry["build"], view.generation, vectors.slot_vids)
    tail = entry["rows"] - int(entry.get("ann_rows", 0))
    if entry["kind"] == QDRANT:
        entry["ann_rows"] = entry["rows"]
    elif entry["kind"] != "flat" and tail >= max(
        ANN_TAIL_ROWS, ANN_TAIL_SHARE * int(entry.get("ann_rows", 0))
    ):
        base = (
            read_ann(index_dir / entry["ann"], entry["kind"], mapped=False)
            if entry.get("ann")
            else None
        )
        entry["ann"], entry["ann_rows"] = _write_ann(
            store, entry, base, int(entry.get("ann_rows", 0)) if base is not None else 0
        )
    entry["id"] = uuid.uuid4().hex[:10]
    return entry


def _append_rows(path: Path, rows: int, extra: np.ndarray, dim: int) -> None:
    """Append rows after the first `rows` valid ones (a torn earlier append is cut off first)."""
    with open(path, "r+b") as handle:
        handle.truncate(rows * dim * 4)
        handle.seek(0, os.SEEK_END)
        handle.write(np.ascontiguousarray(extra, dtype="<f4").tobytes())
        handle.flush()
        os.fsync(handle.fileno())


def files_of(entry: dict) -> set[str]:
    """Every file and folder name an entry refers to."""
    if not is_current(entry):
        return set()
    names = {entry["slots"], *(part["dir"] for part in entry["keyword"])}
    names |= {entry[key] for key in ("vectors", "ann") if entry.get(key)}
    return names


def drop_unnamed_collections(store: Store, entry: dict, previous: dict) -> None:
    """The Qdrant counterpart of remove_unnamed: collections of this index that neither entry
    names are dropped."""
    if store.backend.name != QDRANT:
        return
    keep = {
        e.get(key)
        for e in (entry, previous)
        if is_current(e)
        for key in ("collection", "keyword_collection")
    } - {None}
    connection = qdrant_vectors.connect(store.backend, store.index_dir)
    qdrant_vectors.drop_collections(connection, store.backend.prefix, keep)


DERIVED_PREFIXES = ("vectors-", "slots-", "keyword-", "ann-")


def remove_unnamed(index_dir: Path, keep: set[str]) -> None:
    """Delete derived files that neither the current nor the previous entry names (a process
    that read the previous manifest can still open its files)."""
    for path in index_dir.iterdir():
        name = path.name
        if name.startswith(DERIVED_PREFIXES) and name not in keep:
            remove(path)  # also the files of the layout before slots (vectors-<generation>.faiss)
        elif name.startswith(tuple("." + p for p in DERIVED_PREFIXES)):
            # Temporary files of a write that died: the caller holds the folder lock, so no
            # write is under way now.
            remove(path)

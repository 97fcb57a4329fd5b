"""The index folder: SQLite (source of truth) plus derived FAISS and BM25 files, kept in sync."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np

from indexer import derived, qdrant_vectors, schema
from indexer.backend import BackendConfig
from indexer.derived import DerivedView
from indexer.filters import Filters
from indexer.keyword_index import KeywordIndex
from indexer.manifest import MANIFEST_NAME, Manifest, load_manifest, save_manifest
from indexer.paper import Paper
from indexer.snapshot import Snapshot
from indexer.store_queries import StoreQueries
from indexer.store_works import StoreWorks
from indexer.vector_index import VectorIndex, choose_kind
from models.errors import BadInputError, NotFoundError

log = logging.getLogger(__name__)
T = TypeVar("T")

DB_NAME = "papers.sqlite3"
_CHUNK = 900
_NO_VIDS = np.zeros(0, dtype=np.int64)
# Filter results kept per generation (each at most 8 bytes a paper).
FILTER_CACHE = 32  # stay under SQLite's bound-parameter limit on old builds


@dataclass(frozen=True)
class StoredPaper:
    """What ingest needs to decide whether a record is new, changed or unchanged."""

    vid: int
    paper: Paper
    content_hash: str
    text_hash: str


class Store(StoreQueries, StoreWorks):
    """One open index folder. Reads are thread-safe (a SQLite connection per thread); writes are
    for a single writer. Derived indexes are rebuilt from SQLite when they lag behind it."""

    def __init__(self, index_dir: Path, manifest: Manifest) -> None:
        self.index_dir = index_dir
        self.manifest = manifest
        self._local = threading.local()
        self._lock = threading.Lock()
        self._view: DerivedView | None = None
        self._view_lock = threading.Lock()
        self._compacting = threading.Lock()
        self._kind_request: str | None = None
        self._files = derived.SegmentCache()
        self._caches: dict[str, tuple[int, object]] = {}
        self._cache_locks: dict[str, threading.Lock] = {}
        self._refreshing: set[str] = set()
        self._filter_cache: OrderedDict[Filters, np.ndarray] = OrderedDict()
        self._filter_generation = -1
        self._filter_lock = threading.Lock()
        with self._conn() as conn:
            conn.executescript(schema.SCHEMA)
            schema.migrate(conn)
        self._fill_works(self._conn())

    # ---- opening -------------------------------------------------------------------------
    @classmethod
    def open(cls, index_dir: Path, model: str | None = None) -> Store:
        """Open an existing index; `model` (if given) must be the one it was built with."""
        index_dir = Path(index_dir)
        if not (index_dir / MANIFEST_NAME).is_file() or not (index_dir / DB_NAME).is_file():
            raise NotFoundError(
                f"no paperscope index at {index_dir}: run `paperscope ingest PATH --index "
                f"{index_dir}` first, or point --index / PAPERSCOPE_INDEX at an existing one"
            )
        manifest = load_manifest(index_dir)
        manifest.check_model(model)
        return cls(index_dir, manifest)

    @staticmethod
    def existing_max_windows(index_dir: Path) -> int | None:
        """The window cap of the index in `index_dir`, None where there is no index yet."""
        if not (Path(index_dir) / MANIFEST_NAME).is_file():
            return None
        return load_manifest(Path(index_dir)).max_windows

    @classmethod
    def create_or_open(
        cls,
        index_dir: Path,
        model: str,
        dim: int,
        *,
        max_windows: int = 0,
        backend: BackendConfig | None = None,
    ) -> Store:
        """Open the index for writing, creating it for `model` (and `max_windows` windows per
        paper, 0 for all; its vectors served by `backend`, default the embedded one) if the
        folder holds none."""
        index_dir = Path(index_dir)
        if (index_dir / MANIFEST_NAME).is_file():
            store = cls.open(index_dir, model)
            store.manifest.check_model(model, dim)
            store.manifest.check_windows(max_windows)
            store.backend.check_same(backend)
            return store
        if index_dir.exists() and not index_dir.is_dir():
            raise BadInputError(f"--index {index_dir} is a file, not a folder")
        index_dir.mkdir(parents=True, exist_ok=True)
        manifest = Manifest(model=model, dim=dim, max_windows=max_windows)
        if backend is not None and backend.name != "faiss":
            qdrant_vectors.connect(backend, index_dir)  # the extra, the server: before any file
            manifest.backend = backend.to_manifest()
        save_manifest(index_dir, manifest)
        return cls(index_dir, manifest)

    def _conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = schema.connect(str(self.index_dir / DB_NAME))
            self._local.conn = conn
        return conn

    @property
    def model_name(self) -> str:
        return self.manifest.model

    @property
    def dim(self) -> int:
        return self.manifest.dim

    # ---- reads ---------------------------------------------------------------------------
    def count(self) -> int:
        return self._conn().execute("SELECT COUNT(*) FROM papers").fetchone()[0]

    def generation(self) -> int:
        row = self._conn().execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def vid_of(self, paper_id: str) -> int:
        row = self._conn().execute("SELECT vid FROM papers WHERE id = ?", (paper_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no paper with id {paper_id!r} in this index")
        return int(row[0])

    def get(self, paper_id: str) -> Paper:
        return self.papers_by_vids([self.vid_of(paper_id)])[0]

    def papers_by_vids(self, vids: Iterable[int]) -> list[Paper]:
        """Papers in the order of `vids`; unknown vids are left out."""
        return [paper for _vid, paper in self.papers_with_vids(vids)]

    def papers_with_vids(self, vids: Iterable[int]) -> list[tuple[int, Paper]]:
        """(vid, paper) in the order of `vids`; unknown (or just removed) vids are left out, so
        callers pair papers with their vids, never by position."""
        vids = [int(v) for v in vids]
        found: dict[int, Paper] = {}
        conn = self._conn()
        for start in range(0, len(vids), _CHUNK):
            chunk = vids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            authors = self._grouped(
                f"SELECT vid, name FROM authors WHERE vid IN ({marks}) ORDER BY vid, position",
                chunk,
            )
            cats = self._grouped(
                f"SELECT vid, category FROM categories WHERE vid IN ({marks}) "
                "ORDER BY vid, position",
                chunk,
            )
            rows = conn.execute(
                f"SELECT vid, {schema.PAPER_COLUMNS} FROM papers WHERE vid IN ({marks})", chunk
            )
            for row in rows:
                found[row[0]] = schema.row_to_paper(
                    row, authors.get(row[0], []), cats.get(row[0], [])
                )
        return [(v, found[v]) for v in vids if v in found]

    def _grouped(self, sql: str, params: list) -> dict[int, list[str]]:
        out: dict[int, list[str]] = {}
        for vid, value in self._conn().execute(sql, params):
            out.setdefault(vid, []).append(value)
        return out

    def stored(self, paper_ids: list[str]) -> dict[str, StoredPaper]:
        """Existing records among `paper_ids`, for change detection during ingest."""
        out: dict[str, StoredPaper] = {}
        conn = self._conn()
        for start in range(0, len(paper_ids), _CHUNK):
            chunk = paper_ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT vid, content_hash, text_hash FROM papers WHERE id IN ({marks})", chunk
            ).fetchall()
            papers = self.papers_by_vids([r[0] for r in rows])
            for (vid, chash, thash), paper in zip(rows, papers, strict=True):
                out[paper.id] = StoredPaper(vid, paper, chash, thash)
        return out

    def embeddings(self, vids: Iterable[int]) -> np.ndarray:
        """Stored vectors in the order of `vids`, shape (n, dim)."""
        vids = [int(v) for v in vids]
        found: dict[int, bytes] = {}
        for start in range(0, len(vids), _CHUNK):
            chunk = vids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            found.update(
                self._conn().execute(
                    f"SELECT vid, vector FROM embeddings WHERE vid IN ({marks})", chunk
                )
            )
        missing = [v for v in vids if v not in found]
        if missing:
            raise NotFoundError(f"no embedding stored for vids {missing[:5]}")
        if not vids:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([np.frombuffer(found[v], dtype="<f4") for v in vids])

    def iter_embeddings(self, batch: int = 20_000) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """All (vids, vectors) in vid order from one snapshot, `batch` rows at a time."""
        with self.read_snapshot() as snap:
            yield from snap.iter_embeddings(batch)

    def select_vids(self, filters: Filters | None) -> np.ndarray | None:
        """Vids passing the filters, sorted; None when no filter is set (everything passes).
        Kept for the current generation (the last FILTER_CACHE filters): the pages of a
        query, and the queries of a session, mostly repeat a filter."""
        if filters is None or filters.is_empty():
            return None
        filters = filters.validate()
        generation = self.generation()
        with self._filter_lock:
            if self._filter_generation != generation:
                self._filter_cache.clear()
                self._filter_generation = generation
            held = self._filter_cache.get(filters)
            if held is not None:
                self._filter_cache.move_to_end(filters)
                return held
        passing = self._select_vids(filters)
        passing.flags.writeable = False  # shared by every caller
        with self._filter_lock:
            if self._filter_generation == generation:
                self._filter_cache[filters] = passing
                while len(self._filter_cache) > FILTER_CACHE:
                    self._filter_cache.popitem(last=False)
        return passing

    def _select_vids(self, filters: Filters) -> np.ndarray:
        passing = None
        for sql, params in filters.queries():
            # One text of all vids, parsed by numpy: 4x faster than a Python tuple per row.
            (joined,) = (
                self._conn().execute(f"SELECT group_concat(vid) FROM ({sql})", params).fetchone()
            )
            vids = np.unique(np.array(joined.split(","), dtype=np.int64)) if joined else _NO_VIDS
            passing = vids if passing is None else np.intersect1d(passing, vids, assume_unique=True)
        return passing if passing is not None else _NO_VIDS.copy()

    # ---- writes --------------------------------------------------------------------------
    def write_batch(
        self, new: list[Paper], updated: list[tuple[int, Paper]], vectors: dict[str, np.ndarray]
    ) -> None:
        """Insert new papers and update changed ones in one transaction, with their vectors.

        `vectors` maps paper id to its embedding, for every new paper and every updated paper
        whose text changed. A crash before commit leaves the store as it was.
        """
        conn = self._conn()
        touched = [vid for vid, _ in updated]
        with self._lock, conn:
            for paper in new:
                cur = conn.execute(
                    f"INSERT INTO papers ({schema.PAPER_COLUMNS}) VALUES ({','.join('?' * 20)})",
                    schema.paper_to_row(paper),
                )
                touched.append(cur.lastrowid)
                self._write_children(conn, cur.lastrowid, paper, vectors.get(paper.id))
            for vid, paper in updated:
                sets = ", ".join(f"{c.strip()} = ?" for c in schema.PAPER_COLUMNS.split(","))
                conn.execute(
                    f"UPDATE papers SET {sets} WHERE vid = ?", (*schema.paper_to_row(paper), vid)
                )
                conn.execute("DELETE FROM authors WHERE vid = ?", (vid,))
                conn.execute("DELETE FROM categories WHERE vid = ?", (vid,))
                conn.execute("DELETE FROM citations WHERE citing = ?", (vid,))
                self._write_children(conn, vid, paper, vectors.get(paper.id))
            # A new record can join a work, and a changed one (a new DOI) join or leave one.
            touched += self._relink(conn, touched)
            self._bump_generation(conn, touched)

    def _write_children(self, conn, vid: int, paper: Paper, vector: np.ndarray | None) -> None:
        conn.executemany("INSERT INTO authors VALUES (?, ?, ?, ?)", schema.author_rows(vid, paper))
        conn.executemany(
            "INSERT INTO categories VALUES (?, ?, ?)", schema.category_rows(vid, paper)
        )
        conn.executemany("INSERT INTO citations VALUES (?, ?, ?)", schema.citation_rows(vid, paper))
        self._write_work_keys(conn, vid, paper)
        if vector is not None:
            if vector.shape != (self.dim,):
                raise ValueError(f"vector of shape {vector.shape}, expected ({self.dim},)")
            conn.execute(
                "INSERT OR REPLACE INTO embeddings VALUES (?, ?)",
                (vid, np.asarray(vector, dtype="<f4").tobytes()),
            )

    def remove(self, paper_ids: list[str]) -> list[str]:
        """Delete papers (and their authors, categories, vectors); returns the ids not found."""
        conn = self._conn()
        missing = []
        gone = []
        with self._lock, conn:
            for pid in paper_ids:
                row = conn.execute("SELECT vid FROM papers WHERE id = ?", (pid,)).fetchone()
                if row is None:
                    missing.append(pid)
                else:
                    gone.append(row[0])
            # The records merged with a removed one are regrouped without it.
            mates = self.work_mates(gone) - set(gone)
            for vid in gone:
                conn.execute("DELETE FROM papers WHERE vid = ?", (vid,))
            if gone:
                self._bump_generation(conn, [*gone, *self._relink(conn, mates)])
        return missing

    def _bump_generation(self, conn, vids: Iterable[int]) -> None:
        """Advance the generation and log which papers it changed (the derived indexes replay
        the log), in the caller's transaction."""
        (generation,) = conn.execute(
            "INSERT INTO meta (key, value) VALUES ('generation', '1') ON CONFLICT(key) "
            "DO UPDATE SET value = CAST(value AS INTEGER) + 1 RETURNING CAST(value AS INTEGER)"
        ).fetchone()
        conn.executemany(
            "INSERT INTO changes (generation, vid) VALUES (?, ?)",
            [(generation, int(v)) for v in set(vids)],
        )

    # ---- saved searches (not papers: no generation bump) ----------------------------------
    def save_watch(
        self, name: str, query: str, filters_json: str, created: str, seen_vid: int
    ) -> bool:
        """Store a new saved search; False (and nothing written) when the name is taken."""
        conn = self._conn()
        with self._lock, conn:
            cur = conn.execute(
                "INSERT INTO watches (name, query, filters, created, last_run, seen_vid) "
                "VALUES (?, ?, ?, ?, NULL, ?) ON CONFLICT(name) DO NOTHING",
                (name, query, filters_json, created, seen_vid),
            )
            return cur.rowcount == 1

    def delete_watch(self, name: str) -> bool:
        """Remove a saved search; False when there was none of that name."""
        conn = self._conn()
        with self._lock, conn:
            return conn.execute("DELETE FROM watches WHERE name = ?", (name,)).rowcount == 1

    def mark_watch(self, name: str, seen_vid: int, last_run: str) -> None:
        """Record a run: papers up to `seen_vid` have been reported (the mark never moves back)."""
        conn = self._conn()
        with self._lock, conn:
            conn.execute(
                "UPDATE watches SET seen_vid = MAX(seen_vid, ?), last_run = ? WHERE name = ?",
                (seen_vid, last_run, name),
            )

    # ---- derived indexes -----------------------------------------------------------------
    def view(self) -> DerivedView:
        """The derived indexes as of SQLite's current generation. Cheap when nothing changed (one
        SELECT); after a write, only the changed papers are read and appended. A search takes
        one view and uses it throughout, so it sees one consistent state."""
        view = self._view
        if view is not None and view.generation == self.generation():
            return view
        with self._view_lock:
            view = self._view
            generation = self.generation()
            if view is not None and view.generation == generation:
                return view
            view = self._refreshed(view)
            self._view = view
        self._maybe_compact(view)
        return view

    @property
    def vectors(self) -> VectorIndex:
        return self.view().vectors

    @property
    def keywords(self) -> KeywordIndex:
        return self.view().keywords

    def _refreshed(self, view: DerivedView | None) -> DerivedView:
        """Re-read the manifest (another process may have written newer files), load them if
        they changed, build them if there are none, then catch up with the change log."""
        for attempt in range(5):
            # The whole manifest: another process may also have moved the index to another
            # backend (`reindex --backend`).
            self.manifest = load_manifest(self.index_dir)
            entry = self.manifest.derived
            if not derived.is_current(entry):
                with derived.folder_lock(self.index_dir):
                    self.manifest = load_manifest(self.index_dir)
                    entry = self.manifest.derived
                    if not derived.is_current(entry):
                        entry = self._publish(derived.build(self, self._requested_kind(entry)))
            if view is None or view.entry.get("id") != entry.get("id"):
                try:
                    view = derived.load(self.index_dir, entry, self._files, self.backend)
                except FileNotFoundError:
                    # Replaced between reading the manifest and opening: read it again.
                    if attempt == 4:
                        raise
                    view = None
                    continue
            caught_up = derived.catch_up(self, view)
            if caught_up is not None:
                return caught_up
            view = None  # the log was pruned past it: newer files exist, read the manifest again
        raise RuntimeError(f"could not load the derived indexes of {self.index_dir}")

    def _requested_kind(self, entry: dict) -> str:
        return self._kind_request or entry.get("requested") or "auto"

    def request_vector_kind(self, kind: str) -> None:
        """The vector index kind for the first build of a new index (checked now)."""
        choose_kind(kind, 0)
        self.backend.check_vector_kind(kind)
        self._kind_request = kind

    def _publish(self, entry: dict) -> dict:
        """Save a new derived entry in the manifest (the caller holds the folder lock); files that
        neither it nor the entry it replaces name are deleted."""
        manifest = load_manifest(self.index_dir)
        previous = manifest.derived
        manifest.derived = entry
        save_manifest(self.index_dir, manifest)
        self.manifest = manifest
        keep = derived.files_of(entry) | derived.files_of(previous)
        derived.remove_unnamed(self.index_dir, keep)
        derived.drop_unnamed_collections(self, entry, previous)
        if derived.is_current(previous):
            self._prune_changes(int(previous["generation"]))
        return entry

    def is_stale(self) -> bool:
        """Whether the derived files on disk lag behind SQLite (the rest is replayed from the
        change log when the index is opened)."""
        entry = load_manifest(self.index_dir).derived
        return not derived.is_current(entry) or int(entry["generation"]) != self.generation()

    @property
    def backend(self) -> BackendConfig:
        """The engine that serves this index's vectors."""
        return BackendConfig.from_manifest(self.manifest.backend)

    def rebuild(
        self, vector_kind: str | None = None, *, backend: BackendConfig | None = None
    ) -> DerivedView:
        """Build every derived file anew from SQLite (`reindex`, or a change of index kind);
        `backend` moves the vectors to another engine (nothing is re-embedded)."""
        if backend is not None and backend.name == derived.QDRANT:
            # Checked before the manifest names it: the extra, the server or the local folder.
            backend.check_vector_kind(vector_kind)
            qdrant_vectors.connect(backend, self.index_dir)
        with derived.folder_lock(self.index_dir):
            if backend is not None and not backend.same_place(self.backend):
                manifest = load_manifest(self.index_dir)
                manifest.backend = backend.to_manifest() if backend.name != "faiss" else {}
                save_manifest(self.index_dir, manifest)
                self.manifest = manifest
            if vector_kind is not None:
                self.request_vector_kind(vector_kind)
            entry = load_manifest(self.index_dir).derived
            kind = vector_kind or (entry.get("requested") if derived.is_current(entry) else None)
            self._publish(derived.build(self, kind or self._kind_request or "auto"))
        with self._view_lock:
            self._view = self._refreshed(None)
            return self._view

    def flush(self) -> DerivedView:
        """Write what the view holds in memory to the derived files now (end of an ingest);
        waits for a write-out already running in the background, then writes what is left."""
        self.view()
        with self._compacting:
            pass  # a background write-out finishes first
        view = self.view()
        if view.pending or view.generation != int(view.entry["generation"]):
            self._compact(view, wait=True)
        return self.view()

    def _maybe_compact(self, view: DerivedView) -> None:
        """Start writing the in-memory part in the background once it is large enough."""
        if view.pending < derived.COMPACT_ROWS or self._compacting.locked():
            return
        threading.Thread(target=self._compact, args=(view,), daemon=True).start()

    def _compact(self, view: DerivedView, *, wait: bool = False) -> None:
        if not self._compacting.acquire(blocking=wait):
            return
        try:
            with derived.folder_lock(self.index_dir):
                on_disk = load_manifest(self.index_dir).derived
                if derived.kind_outgrown(on_disk, len(view.vectors)):
                    # "auto" picked this kind for fewer papers: build the one it picks now.
                    entry = derived.build(self, "auto")
                else:
                    entry = derived.compact(self, view, on_disk)
                if entry is not None:
                    self._publish(entry)
            fresh = self._refreshed(None)
            with self._view_lock:
                current = self._view
                if current is None or current.generation <= fresh.generation:
                    self._view = fresh
        except Exception:  # the view in memory stays right; the next compaction retries
            log.exception("writing the derived indexes of %s failed", self.index_dir)
        finally:
            self._compacting.release()

    def sync_derived(self) -> None:
        """Bring the derived indexes up to date now (they otherwise follow on the next read)."""
        self.view()

    # ---- read snapshots ------------------------------------------------------------------
    @contextmanager
    def read_snapshot(self) -> Iterator[Snapshot]:
        """One SQLite read transaction: everything read through it is one consistent state, even
        while another thread or process writes."""
        conn = schema.connect(str(self.index_dir / DB_NAME))
        try:
            conn.execute("BEGIN")
            conn.execute("SELECT 1 FROM meta LIMIT 1").fetchall()  # the snapshot starts here
            yield Snapshot(conn, self.dim)
        finally:
            conn.rollback()
            conn.close()

    def embedding_records(
        self, batch: int = 20_000
    ) -> Iterator[tuple[list[str], list[str], np.ndarray]]:
        """(ids, text hashes, vectors) of every paper from one snapshot, for export."""
        with self.read_snapshot() as snap:
            yield from snap.iter_embedding_records(batch)

    def pruned_through(self) -> int:
        """Change-log entries up to this generation have been deleted."""
        row = self._conn().execute("SELECT value FROM meta WHERE key = 'pruned'").fetchone()
        return int(row[0]) if row else 0

    def _prune_changes(self, generation: int) -> None:
        conn = self._conn()
        with conn:
            conn.execute("DELETE FROM changes WHERE generation <= ?", (generation,))
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('pruned', ?) ON CONFLICT(key) "
                "DO UPDATE SET value = MAX(CAST(value AS INTEGER), excluded.value)",
                (str(generation),),
            )

    # ---- caches --------------------------------------------------------------------------
    def cached(self, name: str, make: Callable[[], T]) -> T:
        """A value derived from the whole index, made once per generation and shared by every
        thread of this process (concurrent callers wait for one maker)."""
        generation = self.generation()
        held = self._caches.get(name)
        if held is not None and held[0] == generation:
            return held[1]
        with self._cache_locks.setdefault(name, threading.Lock()):
            held = self._caches.get(name)
            if held is not None and held[0] == generation:
                return held[1]
            value = make()
            self._caches[name] = (generation, value)
            return value

    def named_lock(self, name: str) -> threading.Lock:
        """One lock per name for this open index (e.g. one novelty refresh at a time)."""
        return self._cache_locks.setdefault(f"lock:{name}", threading.Lock())  # atomic

    def remember(self, name: str, value: object) -> None:
        """Replace a cached value for the current generation (made by the caller)."""
        self._caches[name] = (self.generation(), value)

    def latest(self, name: str, make: Callable[[], T]) -> T:
        """The newest value made from the whole index. When the index has changed since it was
        made, it is returned as it is while a new one is made in a background thread; only the
        first call, when there is none, waits for `make`."""
        generation = self.generation()
        held = self._caches.get(name)
        if held is None:
            with self._cache_locks.setdefault(name, threading.Lock()):
                held = self._caches.get(name)
                if held is None:
                    held = (generation, make())
                    self._caches[name] = held
            return held[1]
        if held[0] != generation and name not in self._refreshing:
            self._refreshing.add(name)
            threading.Thread(target=self._remake, args=(name, make), daemon=True).start()
        return held[1]

    def _remake(self, name: str, make: Callable[[], object]) -> None:
        try:
            generation = self.generation()
            self._caches[name] = (generation, make())
        except Exception:  # the previous value keeps answering; the next change retries
            log.exception("remaking %s for %s failed", name, self.index_dir)
        finally:
            self._refreshing.discard(name)

    # ---- derived scores ------------------------------------------------------------------
    def save_novelty(self, rows: Iterable[tuple], *, generation: int, rule: str = "") -> None:
        """Replace the stored novelty scores with `rows` (vid, raw, max_similarity, prior_count,
        percentile, kth_similarity, neighbour vids, distance) computed as of `generation` under
        `rule` (see novelty_rule). Derived data: no generation bump."""
        conn = self._conn()
        with self._lock, conn:
            conn.execute("DELETE FROM novelty")
            # A paper removed while the scores were computed is left out, not an error.
            conn.executemany(
                "INSERT INTO novelty (vid, raw, max_similarity, prior_count, percentile, "
                "generation, kth_similarity, neighbours, distance) "
                "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? "
                "WHERE EXISTS (SELECT 1 FROM papers WHERE vid = ?)",
                [
                    (
                        *row[:5],
                        generation,
                        row[5],
                        np.asarray(row[6], dtype="<i8").tobytes(),
                        row[7],
                        row[0],
                    )
                    for row in rows
                ],
            )
            conn.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [("novelty_generation", str(generation)), ("novelty_rule", rule)],
            )

    def novelty_rule(self) -> str | None:
        """The percentile rule the stored scores were saved under; None when never recorded."""
        row = self._conn().execute("SELECT value FROM meta WHERE key = 'novelty_rule'").fetchone()
        return None if row is None else row[0]

    def novelty_generation(self) -> int | None:
        """The generation the stored novelty scores reflect; None before the first scoring."""
        row = (
            self._conn()
            .execute("SELECT value FROM meta WHERE key = 'novelty_generation'")
            .fetchone()
        )
        return int(row[0]) if row else None

    def novelty_state(self, k: int) -> dict[int, tuple]:
        """vid -> (raw, max_similarity, prior_count, kth_similarity, neighbour vids, distance)
        of every stored score (neighbours padded with -1 to k)."""
        out = {}
        rows = self._conn().execute(
            "SELECT vid, raw, max_similarity, prior_count, kth_similarity, neighbours, distance "
            "FROM novelty"
        )
        for vid, raw, top, prior, kth, blob, distance in rows:
            found = np.frombuffer(blob or b"", dtype="<i8")
            neighbours = np.full(k, -1, dtype=np.int64)
            neighbours[: min(k, len(found))] = found[:k]
            out[vid] = (raw, top, prior, kth, neighbours, distance)
        return out

    def changed_since(self, generation: int) -> np.ndarray | None:
        """Vids changed after `generation`, None when the change log no longer reaches back."""
        if generation < self.pruned_through():
            return None
        with self.read_snapshot() as snap:
            return snap.changed_since(generation)

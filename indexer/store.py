"""The index folder: SQLite (source of truth) plus derived FAISS and BM25 files, kept in sync."""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from indexer import schema
from indexer.filters import Filters
from indexer.keyword_index import KeywordIndex
from indexer.manifest import MANIFEST_NAME, Manifest, load_manifest, save_manifest
from indexer.paper import Paper
from indexer.store_queries import StoreQueries
from indexer.vector_index import VectorIndex, choose_kind
from models.errors import BadInputError, NotFoundError

log = logging.getLogger(__name__)

DB_NAME = "papers.sqlite3"
_CHUNK = 900  # stay under SQLite's bound-parameter limit on old builds


@dataclass(frozen=True)
class StoredPaper:
    """What ingest needs to decide whether a record is new, changed or unchanged."""

    vid: int
    paper: Paper
    content_hash: str
    text_hash: str


class Store(StoreQueries):
    """One open index folder. Reads are thread-safe (a SQLite connection per thread); writes are
    for a single writer. Derived indexes are rebuilt from SQLite when they lag behind it."""

    def __init__(self, index_dir: Path, manifest: Manifest) -> None:
        self.index_dir = index_dir
        self.manifest = manifest
        self._local = threading.local()
        self._lock = threading.Lock()
        self._vectors: VectorIndex | None = None
        self._keywords: KeywordIndex | None = None
        with self._conn() as conn:
            conn.executescript(schema.SCHEMA)

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
        cls, index_dir: Path, model: str, dim: int, *, max_windows: int = 0
    ) -> Store:
        """Open the index for writing, creating it for `model` (and `max_windows` windows per
        paper, 0 for all) if the folder holds none."""
        index_dir = Path(index_dir)
        if (index_dir / MANIFEST_NAME).is_file():
            store = cls.open(index_dir, model)
            store.manifest.check_model(model, dim)
            store.manifest.check_windows(max_windows)
            return store
        if index_dir.exists() and not index_dir.is_dir():
            raise BadInputError(f"--index {index_dir} is a file, not a folder")
        index_dir.mkdir(parents=True, exist_ok=True)
        manifest = Manifest(model=model, dim=dim, max_windows=max_windows)
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
        return [found[v] for v in vids if v in found]

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
        """All (vids, vectors) in vid order, `batch` rows at a time (memory stays bounded)."""
        last = -1
        while True:
            rows = (
                self._conn()
                .execute(
                    "SELECT vid, vector FROM embeddings WHERE vid > ? ORDER BY vid LIMIT ?",
                    (last, batch),
                )
                .fetchall()
            )
            if not rows:
                return
            vids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            yield (
                vids,
                np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(
                    len(rows), self.dim
                ),
            )
            last = int(vids[-1])

    def select_vids(self, filters: Filters | None) -> np.ndarray | None:
        """Vids passing the filters, sorted; None when no filter is set (everything passes)."""
        if filters is None or filters.is_empty():
            return None
        where, params = filters.validate().to_sql()
        rows = self._conn().execute(f"SELECT vid FROM papers p WHERE {where} ORDER BY vid", params)
        return np.fromiter((r[0] for r in rows), dtype=np.int64)

    def execute(self, sql: str, params: Iterable = ()) -> list[tuple]:
        """Read-only SQL for search modules that aggregate over the store (authors, stats)."""
        return self._conn().execute(sql, tuple(params)).fetchall()

    # ---- writes --------------------------------------------------------------------------
    def write_batch(
        self, new: list[Paper], updated: list[tuple[int, Paper]], vectors: dict[str, np.ndarray]
    ) -> None:
        """Insert new papers and update changed ones in one transaction, with their vectors.

        `vectors` maps paper id to its embedding, for every new paper and every updated paper
        whose text changed. A crash before commit leaves the store as it was.
        """
        conn = self._conn()
        with self._lock, conn:
            for paper in new:
                cur = conn.execute(
                    f"INSERT INTO papers ({schema.PAPER_COLUMNS}) VALUES ({','.join('?' * 20)})",
                    schema.paper_to_row(paper),
                )
                self._write_children(conn, cur.lastrowid, paper, vectors.get(paper.id))
            for vid, paper in updated:
                sets = ", ".join(f"{c.strip()} = ?" for c in schema.PAPER_COLUMNS.split(","))
                conn.execute(
                    f"UPDATE papers SET {sets} WHERE vid = ?", (*schema.paper_to_row(paper), vid)
                )
                conn.execute("DELETE FROM authors WHERE vid = ?", (vid,))
                conn.execute("DELETE FROM categories WHERE vid = ?", (vid,))
                self._write_children(conn, vid, paper, vectors.get(paper.id))
            self._bump_generation(conn)

    def _write_children(self, conn, vid: int, paper: Paper, vector: np.ndarray | None) -> None:
        conn.executemany("INSERT INTO authors VALUES (?, ?, ?, ?)", schema.author_rows(vid, paper))
        conn.executemany(
            "INSERT INTO categories VALUES (?, ?, ?)", schema.category_rows(vid, paper)
        )
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
        with self._lock, conn:
            for pid in paper_ids:
                if conn.execute("DELETE FROM papers WHERE id = ?", (pid,)).rowcount == 0:
                    missing.append(pid)
            if len(missing) < len(paper_ids):
                self._bump_generation(conn)
        return missing

    def _bump_generation(self, conn) -> None:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('generation', '1') ON CONFLICT(key) "
            "DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    # ---- derived indexes -----------------------------------------------------------------
    @property
    def vectors(self) -> VectorIndex:
        self.sync_derived()
        assert self._vectors is not None
        return self._vectors

    @property
    def keywords(self) -> KeywordIndex:
        self.sync_derived()
        assert self._keywords is not None
        return self._keywords

    def is_stale(self) -> bool:
        generation = self.generation()
        return any(
            self.manifest.derived.get(name, {}).get("generation") != generation
            for name in ("vectors", "keyword")
        )

    def sync_derived(self, *, force: bool = False, vector_kind: str | None = None) -> None:
        """Load the derived indexes, rebuilding them from SQLite if they lag behind it."""
        with self._lock:
            if (
                not force
                and vector_kind is None
                and self._vectors is not None
                and not self._loaded_stale()
            ):
                return
            if force or vector_kind is not None or self.is_stale():
                self._rebuild(vector_kind)
            else:
                self._load()

    def _loaded_stale(self) -> bool:
        return getattr(self, "_loaded_generation", None) != self.generation()

    def _load(self) -> None:
        derived = self.manifest.derived
        self._vectors = VectorIndex.load(
            self.index_dir / derived["vectors"]["file"], derived["vectors"]["kind"]
        )
        self._keywords = KeywordIndex.load(self.index_dir / derived["keyword"]["file"])
        self._loaded_generation = derived["vectors"]["generation"]

    def _rebuild(self, vector_kind: str | None) -> None:
        generation = self.generation()
        requested = vector_kind or self.manifest.derived.get("vectors", {}).get("requested", "auto")
        choose_kind(requested, 0)  # validate before the long work
        log.info("rebuilding vector and keyword indexes from SQLite (generation %d)", generation)
        # Chunk by chunk from SQLite: memory holds the index and one chunk, not a second copy.
        count = self._conn().execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
        vectors = VectorIndex.build_chunks(self.dim, self.iter_embeddings(), count, requested)
        rows = (
            self._conn().execute("SELECT vid, title, abstract FROM papers ORDER BY vid").fetchall()
        )
        keywords = KeywordIndex.build(
            np.array([r[0] for r in rows], dtype=np.int64),
            [r[1] for r in rows],
            [r[2] for r in rows],
        )
        vec_file, kw_file = f"vectors-{generation}.faiss", f"keyword-{generation}"
        vectors.save(self.index_dir / vec_file)
        shutil.rmtree(self.index_dir / kw_file, ignore_errors=True)
        keywords.save(self.index_dir / kw_file)
        old = dict(self.manifest.derived)
        self.manifest.derived = {
            "vectors": {
                "file": vec_file,
                "kind": vectors.kind,
                "requested": requested,
                "generation": generation,
                "count": len(vectors),
            },
            "keyword": {"file": kw_file, "generation": generation, "count": len(keywords)},
        }
        save_manifest(self.index_dir, self.manifest)
        self._remove_files(old)
        self._vectors, self._keywords, self._loaded_generation = vectors, keywords, generation

    def _remove_files(self, old: dict) -> None:
        for name in ("vectors", "keyword"):
            file = old.get(name, {}).get("file")
            if file and file != self.manifest.derived[name]["file"]:
                path = self.index_dir / file
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(
                    missing_ok=True
                )

    # ---- derived scores ------------------------------------------------------------------
    def save_novelty(
        self,
        rows: Iterable[tuple[int, float | None, float | None, int, float | None]],
        *,
        generation: int,
        replace_all: bool = False,
    ) -> None:
        """Store novelty rows (vid, raw, max_similarity, prior_count, percentile) computed at
        `generation`; replace_all clears the table first. Derived data: no generation bump."""
        conn = self._conn()
        with self._lock, conn:
            if replace_all:
                conn.execute("DELETE FROM novelty")
            conn.executemany(
                "INSERT OR REPLACE INTO novelty VALUES (?, ?, ?, ?, ?, ?)",
                [(*row, generation) for row in rows],
            )

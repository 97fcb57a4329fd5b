"""Reads inside one SQLite read transaction: what the derived indexes are built and updated from."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import numpy as np

from indexer.store_queries import chunked

ROWS_PER_READ = 20_000


class Snapshot:
    """A consistent state of the store (WAL keeps it while others write)."""

    def __init__(self, conn: sqlite3.Connection, dim: int) -> None:
        self._conn = conn
        self.dim = dim

    def generation(self) -> int:
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def pruned_through(self) -> int:
        """Change-log entries up to this generation have been deleted."""
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'pruned'").fetchone()
        return int(row[0]) if row else 0

    def embedding_count(self) -> int:
        return self._conn.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]

    def _pages(self, sql: str, batch: int) -> Iterator[list[tuple]]:
        """Rows of `sql` (its first column the vid, with `vid > ? ORDER BY vid LIMIT ?`
        placeholders) `batch` at a time, by keyset paging."""
        last = -1
        while True:
            rows = self._conn.execute(sql, (last, batch)).fetchall()
            if not rows:
                return
            yield rows
            last = int(rows[-1][0])

    def iter_embeddings(
        self, batch: int = ROWS_PER_READ
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """All (vids, vectors) in vid order, `batch` rows at a time."""
        sql = "SELECT vid, vector FROM embeddings WHERE vid > ? ORDER BY vid LIMIT ?"
        for rows in self._pages(sql, batch):
            yield _vids(rows), self._vectors(rows)

    def iter_texts(self, batch: int = ROWS_PER_READ) -> Iterator[tuple[np.ndarray, list, list]]:
        """All (vids, titles, abstracts) in vid order, `batch` papers at a time."""
        sql = "SELECT vid, title, abstract FROM papers WHERE vid > ? ORDER BY vid LIMIT ?"
        for rows in self._pages(sql, batch):
            yield _vids(rows), [r[1] for r in rows], [r[2] for r in rows]

    def iter_embedding_records(
        self, batch: int = ROWS_PER_READ
    ) -> Iterator[tuple[list[str], list[str], np.ndarray]]:
        """All (ids, text hashes, vectors) in vid order, `batch` papers at a time."""
        sql = (
            "SELECT p.vid, p.id, p.text_hash, e.vector FROM papers p "
            "JOIN embeddings e ON e.vid = p.vid WHERE p.vid > ? ORDER BY p.vid LIMIT ?"
        )
        for rows in self._pages(sql, batch):
            vectors = self._vectors([(r[0], r[3]) for r in rows])
            yield [r[1] for r in rows], [r[2] for r in rows], vectors

    def changed_since(self, generation: int) -> np.ndarray:
        """Sorted vids added, changed or removed after `generation`."""
        rows = self._conn.execute(
            "SELECT DISTINCT vid FROM changes WHERE generation > ? ORDER BY vid", (generation,)
        ).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def current_versions(self, vids: np.ndarray) -> tuple[np.ndarray, np.ndarray, list, list]:
        """(vids, vectors, titles, abstracts) of those of `vids` still stored, in vid order."""
        rows: list[tuple] = []
        for chunk in chunked(np.asarray(vids).tolist()):
            marks = ",".join("?" * len(chunk))
            rows += self._conn.execute(
                f"SELECT p.vid, e.vector, p.title, p.abstract FROM papers p "
                f"JOIN embeddings e ON e.vid = p.vid WHERE p.vid IN ({marks})",
                chunk,
            ).fetchall()
        rows.sort(key=lambda r: r[0])
        found = _vids(rows)
        vectors = self._vectors([(r[0], r[1]) for r in rows])
        return found, vectors, [r[2] for r in rows], [r[3] for r in rows]

    def _vectors(self, rows: list[tuple]) -> np.ndarray:
        if not rows:
            return np.zeros((0, self.dim), dtype=np.float32)
        data = b"".join(r[1] for r in rows)
        return np.frombuffer(data, dtype="<f4").reshape(len(rows), self.dim)


def _vids(rows: list[tuple]) -> np.ndarray:
    return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

"""Named read queries of the store, so that search/ and api/ never write SQL of their own."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

# Stay under SQLite's bound-parameter limit on old builds.
IN_CHUNK = 900


def chunked(values: Sequence, size: int = IN_CHUNK) -> Iterator[Sequence]:
    """`values` in slices of at most `size`, for `IN (?, ...)` lists."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


class StoreQueries:
    """Read methods mixed into Store; `_conn()` is the calling thread's SQLite connection."""

    def _conn(self):  # provided by Store
        raise NotImplementedError

    def _rows_in(self, sql: str, values: Iterable, extra: tuple = ()) -> list[tuple]:
        """Run `sql` (with one `{marks}` placeholder for an IN list) over `values` in chunks;
        `extra` parameters follow each chunk's."""
        values = list(values)
        out: list[tuple] = []
        for chunk in chunked(values):
            marks = ",".join("?" * len(chunk))
            out += self._conn().execute(sql.format(marks=marks), (*chunk, *extra)).fetchall()
        return out

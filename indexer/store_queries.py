"""Named read queries of the store, so that search/ and api/ never write SQL of their own."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import date

# Stay under SQLite's bound-parameter limit on old builds.
IN_CHUNK = 900

# SQL over `papers p`: the first and last day a paper's date may stand for (ISO text). A year
# date (S2ORC) covers the whole year and a month date the whole month; see search/periods.py.
START_SQL = (
    "CASE p.date_precision WHEN 'year' THEN printf('%04d-01-01', p.year) "
    "WHEN 'month' THEN date(p.published, 'start of month') ELSE p.published END"
)
END_SQL = (
    "CASE p.date_precision WHEN 'year' THEN printf('%04d-12-31', p.year) "
    "WHEN 'month' THEN date(p.published, 'start of month', '+1 month', '-1 day') "
    "ELSE p.published END"
)


_OWN_START = f"CASE WHEN p.published IS NOT NULL THEN {START_SQL} END"
_OWN_END = f"CASE WHEN p.published IS NOT NULL THEN {END_SQL} END"
# (vid, work, s, e): the date interval of the work of each merged record (the `works` table),
# over its dated records: from the earliest possible start to the earliest end.
_WORK_SPANS = (
    f"SELECT w.vid AS vid, w.work AS work, MIN({START_SQL}) AS s, MIN({END_SQL}) AS e "
    "FROM works w "
    "JOIN works m ON m.work = w.work JOIN papers p ON p.vid = m.vid "
    "WHERE p.published IS NOT NULL GROUP BY w.vid"
)
# A dated work takes part in time-ordered comparisons once, as its first record (the work id).
_ONE_RECORD = "(ws.vid IS NULL OR ws.work = p.vid)"

# Authorship counts count works: the records of one work (the `works` table) count once.
_WITH_WORKS = "LEFT JOIN works w ON w.vid = a.vid"
_WORKS_COUNT = "COUNT(DISTINCT COALESCE(w.work, a.vid))"

# Distinct vids of the papers citing id ?, other than the paper with id ? itself.
_CITING_SQL = (
    "SELECT DISTINCT c.citing FROM citations c WHERE c.cited = ? "
    "AND c.citing NOT IN (SELECT vid FROM papers WHERE id = ?)"
)


def chunked(values: Sequence, size: int = IN_CHUNK) -> Iterator[Sequence]:
    """`values` in slices of at most `size`, for `IN (?, ...)` lists."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


class StoreQueries:
    """Read methods mixed into Store, which provides `_conn()` (the calling thread's SQLite
    connection)."""

    def _rows_in(self, sql: str, values: Iterable, extra: tuple = ()) -> list[tuple]:
        """Run `sql` (with one `{marks}` placeholder for an IN list) over `values` in chunks;
        `extra` parameters follow each chunk's."""
        values = list(values)
        out: list[tuple] = []
        for chunk in chunked(values):
            marks = ",".join("?" * len(chunk))
            out += self._conn().execute(sql.format(marks=marks), (*chunk, *extra)).fetchall()
        return out

    def _rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self._conn().execute(sql, params).fetchall()

    def _column(self, sql: str, params: tuple = ()) -> list:
        """The first value of each row."""
        return [r[0] for r in self._conn().execute(sql, params)]

    def _scalar(self, sql: str, params: tuple = ()):
        return self._conn().execute(sql, params).fetchone()[0]

    # ---- saved searches ------------------------------------------------------------------
    def watch_rows(self, name: str | None = None) -> list[tuple[str, str, str, str, str, int]]:
        """(name, query, filters JSON, created, last_run or None, seen_vid) of every saved search
        by name, or of the one named."""
        sql = "SELECT name, query, filters, created, last_run, seen_vid FROM watches"
        if name is None:
            return self._rows(sql + " ORDER BY name")
        return self._rows(sql + " WHERE name = ?", (name,))

    def max_vid(self) -> int:
        """The largest vid handed out so far, removed papers included (AUTOINCREMENT never
        reuses one); 0 for an empty index."""
        return self._scalar(
            "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'papers'), 0)"
        )

    def vid_dates(self, vids: Iterable[int]) -> list[tuple[int, str | None]]:
        """(vid, published ISO date or None) of the given papers that exist."""
        return self._rows_in(
            "SELECT vid, published FROM papers WHERE vid IN ({marks})", [int(v) for v in vids]
        )

    # ---- papers by key -------------------------------------------------------------------
    def all_ids(self) -> list[str]:
        """Every paper id, in vid order."""
        return self._column("SELECT id FROM papers ORDER BY vid")

    def all_vids(self) -> list[int]:
        """Every paper vid, ascending."""
        return self._column("SELECT vid FROM papers ORDER BY vid")

    def ids_to_vids(self, paper_ids: Iterable[str]) -> list[tuple[str, int]]:
        """(id, vid) of the stored papers among `paper_ids`; unknown ids are left out."""
        return self._rows_in("SELECT id, vid FROM papers WHERE id IN ({marks})", paper_ids)

    def ids_by_title(self, title: str) -> list[str]:
        """Ids of the papers whose title is exactly `title`."""
        return self._column("SELECT id FROM papers WHERE title = ?", (title,))

    def ids_by_title_prefix(self, prefix: str) -> list[str]:
        """Ids of the papers whose title starts with `prefix` (ASCII case-blind, as SQL LIKE)."""
        sql = "SELECT id FROM papers WHERE title LIKE ? ESCAPE '\\'"
        return self._column(sql, (_like_prefix(prefix),))

    def papers_text_in_vid_order(self) -> list[tuple[int, str, str]]:
        """(vid, title, abstract) of every paper, ascending vid."""
        return self._rows("SELECT vid, title, abstract FROM papers ORDER BY vid")

    def texts_of(self, vids: Iterable[int]) -> list[tuple[int, str, str]]:
        """(vid, title, abstract) of the stored papers among `vids` (for exact text checks)."""
        return self._rows_in("SELECT vid, title, abstract FROM papers WHERE vid IN ({marks})", vids)

    def sort_keys(self, vids: Iterable[int]) -> list[tuple[int, str | None, int | None]]:
        """(vid, published, citation_count) of the stored papers among `vids`."""
        sql = "SELECT vid, published, citation_count FROM papers WHERE vid IN ({marks})"
        return self._rows_in(sql, vids)

    def facet_rows(self, vids: Iterable[int], facet: str) -> list[tuple]:
        """(vid, value) of the papers among `vids` for a facet: year, category, venue, or
        author as (vid, name, name_key)."""
        sql = {
            "year": "SELECT vid, year FROM papers WHERE vid IN ({marks}) AND year IS NOT NULL",
            "category": "SELECT vid, category FROM categories WHERE vid IN ({marks})",
            "venue": "SELECT vid, venue FROM papers WHERE vid IN ({marks}) AND venue != ''",
            "author": "SELECT vid, name, name_key FROM authors WHERE vid IN ({marks})",
        }[facet]
        return self._rows_in(sql, vids)

    def paper_references(self) -> list[tuple[str, list[str]]]:
        """(id, referenced ids) of every paper that lists references."""
        rows = self._rows("SELECT id, refs FROM papers WHERE refs != '[]'")
        return [(pid, json.loads(refs)) for pid, refs in rows]

    # ---- citations -----------------------------------------------------------------------
    # A record that lists itself (some S2ORC records do) is not its own reference or citer.
    def referenced_vids(self, vid: int) -> list[int]:
        """Vids of the indexed papers that paper `vid` lists as references, in its list's order
        (each once)."""
        rows = self._column(
            "SELECT p.vid FROM citations c JOIN papers p ON p.id = c.cited "
            "WHERE c.citing = ? AND p.vid != c.citing ORDER BY c.position",
            (vid,),
        )
        return list(dict.fromkeys(rows))

    def citing_vids(self, paper_id: str, limit: int) -> list[int]:
        """Vids of up to `limit` papers whose references list `paper_id`: most cited first, then
        newest, then in index order (a stable order for ties)."""
        return self._column(
            f"SELECT p.vid FROM papers p WHERE p.vid IN ({_CITING_SQL}) "
            "ORDER BY p.citation_count IS NULL, p.citation_count DESC, p.published DESC, p.vid "
            "LIMIT ?",
            (paper_id, paper_id, limit),
        )

    def citing_count(self, paper_id: str) -> int:
        """How many indexed papers list `paper_id` among their references."""
        return self._column(f"SELECT COUNT(*) FROM ({_CITING_SQL})", (paper_id, paper_id))[0]

    # ---- dates ---------------------------------------------------------------------------
    def vids_dated_before(self, start: date) -> list[int]:
        """Ascending vids of papers whose whole date interval lies strictly before `start`; a
        work of several records counts once, as its first record, with the work's interval."""
        return self._column(
            f"SELECT p.vid FROM papers p LEFT JOIN ({_WORK_SPANS}) ws ON ws.vid = p.vid "
            f"WHERE COALESCE(ws.e, {_OWN_END}) < ? AND {_ONE_RECORD} ORDER BY p.vid",
            (start.isoformat(),),
        )

    def vids_dated_after(self, end: date) -> list[int]:
        """Ascending vids of papers whose whole date interval lies strictly after `end`; a work
        of several records counts once, as its first record, with the work's interval."""
        return self._column(
            f"SELECT p.vid FROM papers p LEFT JOIN ({_WORK_SPANS}) ws ON ws.vid = p.vid "
            f"WHERE COALESCE(ws.s, {_OWN_START}) > ? AND {_ONE_RECORD} ORDER BY p.vid",
            (end.isoformat(),),
        )

    def date_bounds(self) -> list[tuple[int, str, str, int]]:
        """(vid, first day, last day as ISO text, year) of every dated work, ascending vid: a
        work of several records appears once, as its first record, with the work's interval
        and the year it starts in."""
        return self._rows(
            f"SELECT p.vid, COALESCE(ws.s, {_OWN_START}), COALESCE(ws.e, {_OWN_END}), "
            "COALESCE(CAST(substr(ws.s, 1, 4) AS INTEGER), p.year) "
            f"FROM papers p LEFT JOIN ({_WORK_SPANS}) ws ON ws.vid = p.vid "
            f"WHERE COALESCE(ws.s, p.published) IS NOT NULL AND {_ONE_RECORD} ORDER BY p.vid"
        )

    def date_ends(self, vids: Iterable[int]) -> dict[int, str]:
        """vid -> the last day (ISO text) the date of the vid's work may stand for, for the
        dated ones among `vids`: the interval end that date_bounds gives."""
        rows = self._rows_in(
            f"SELECT p.vid, COALESCE(ws.e, {_OWN_END}) FROM papers p "
            f"LEFT JOIN ({_WORK_SPANS}) ws ON ws.vid = p.vid WHERE p.vid IN ({{marks}})",
            vids,
        )
        return {vid: end for vid, end in rows if end is not None}

    def work_span(self, vid: int) -> tuple[str, str] | None:
        """(first day, last day) of the work of a merged record: it appeared no earlier than
        its first record could have and no later than its earliest-ending record did. None
        for a record alone in its work or a work with no dated record."""
        row = (
            self._conn()
            .execute(f"SELECT s, e FROM ({_WORK_SPANS}) WHERE vid = ?", (int(vid),))
            .fetchone()
        )
        return (row[0], row[1]) if row else None

    def dated_count(self) -> int:
        """Number of papers with a publication date."""
        return self._scalar("SELECT COUNT(*) FROM papers WHERE published IS NOT NULL")

    # ---- authors and categories ----------------------------------------------------------
    def author_spellings(self, key_prefix: str) -> list[tuple[str, str, int]]:
        """(name_key, name as written, works) for authors whose normalised name, or a word of
        it, starts with `key_prefix` (already normalised)."""
        like = _like_prefix(key_prefix)
        return self._rows(
            f"SELECT name_key, name, {_WORKS_COUNT} FROM authors a {_WITH_WORKS} "
            "WHERE name_key LIKE ? ESCAPE '\\' OR name_key LIKE ? ESCAPE '\\' "
            "GROUP BY name_key, name",
            (like, "% " + like),
        )

    def author_paper_counts(self, name_keys: Iterable[str]) -> dict[str, int]:
        """name_key -> number of works (records of one work count once), for the given
        normalised names that occur."""
        sql = (
            f"SELECT name_key, {_WORKS_COUNT} FROM authors a {_WITH_WORKS} "
            "WHERE name_key IN ({marks}) GROUP BY name_key"
        )
        # Keys are distinct, so each key's count comes whole from one chunk.
        return dict(self._rows_in(sql, dict.fromkeys(name_keys)))

    def authorships(self, name_key: str) -> list[tuple[int, str]]:
        """(vid, name as written) of every authorship whose normalised name is `name_key`."""
        return self._rows("SELECT vid, name FROM authors WHERE name_key = ?", (name_key,))

    def author_row_count(self, vid: int) -> int:
        """Number of author rows stored for `vid` (0 once the paper is removed)."""
        return self._scalar("SELECT COUNT(*) FROM authors WHERE vid = ?", (vid,))

    def top_authors(self, limit: int) -> list[tuple[str, int]]:
        """(a spelling, works) of the `limit` authors with most works, by normalised name."""
        return self._rows(
            f"SELECT MIN(name), {_WORKS_COUNT} AS n FROM authors a {_WITH_WORKS} "
            "GROUP BY name_key "
            "ORDER BY n DESC, name_key LIMIT ?",
            (limit,),
        )

    def vid_categories(self) -> list[tuple[int, str]]:
        """(vid, category) of every category assignment."""
        return self._rows("SELECT vid, category FROM categories")

    def top_categories(self, limit: int) -> list[str]:
        """The `limit` most used categories, most used first (ties by name)."""
        return self._column(
            "SELECT category FROM categories GROUP BY category ORDER BY COUNT(*) DESC, category "
            "LIMIT ?",
            (limit,),
        )

    # ---- novelty -------------------------------------------------------------------------
    def novelty_raws_by_year(self, min_prior: int) -> list[tuple[int, int, float]]:
        """(year, vid, raw) of the stored scores with at least `min_prior` earlier papers,
        ascending year."""
        return self._rows(
            "SELECT p.year, n.vid, n.raw FROM novelty n JOIN papers p ON p.vid = n.vid "
            "WHERE n.raw IS NOT NULL AND n.prior_count >= ? ORDER BY p.year",
            (min_prior,),
        )

    def novelty_percentiles(self, vids: Iterable[int]) -> list[tuple[int, float | None, float]]:
        """(vid, percentile, raw) of the scored papers among `vids`."""
        return self._rows_in(
            "SELECT vid, percentile, raw FROM novelty WHERE vid IN ({marks}) AND raw IS NOT NULL",
            vids,
        )

    def novelty_scores(
        self, vids: Iterable[int], min_prior: int
    ) -> list[tuple[int, int, float, float | None]]:
        """(vid, year, raw, distance) of the papers among `vids` whose stored score had enough
        earlier papers to mean something (`min_prior`), for checks against human labels."""
        return self._rows_in(
            "SELECT n.vid, p.year, n.raw, n.distance FROM novelty n JOIN papers p ON p.vid = n.vid "
            "WHERE n.vid IN ({marks}) AND n.raw IS NOT NULL AND n.prior_count >= ?",
            vids,
            (min_prior,),
        )

    def novelty_rows(self) -> dict[str, tuple]:
        """paper id -> (raw, max_similarity, prior_count, percentile, distance) of every stored
        score."""
        rows = self._rows(
            "SELECT p.id, n.raw, n.max_similarity, n.prior_count, n.percentile, n.distance "
            "FROM novelty n JOIN papers p ON p.vid = n.vid"
        )
        return {r[0]: r[1:] for r in rows}

    # ---- summary -------------------------------------------------------------------------
    def content_counts(self) -> dict:
        """Counts of what the tables hold, for `paperscope stats` (JSON-ready)."""
        one = self._scalar
        years = self._rows("SELECT MIN(year), MAX(year) FROM papers")[0]
        return {
            "papers": one("SELECT COUNT(*) FROM papers"),
            "embeddings": one("SELECT COUNT(*) FROM embeddings"),
            "authors": one("SELECT COUNT(DISTINCT name_key) FROM authors"),
            "categories": one("SELECT COUNT(DISTINCT category) FROM categories"),
            "with_date": one("SELECT COUNT(*) FROM papers WHERE published IS NOT NULL"),
            "with_citation_count": one(
                "SELECT COUNT(*) FROM papers WHERE citation_count IS NOT NULL"
            ),
            "novelty_scored": one("SELECT COUNT(*) FROM novelty"),
            "year_range": list(years) if years[0] is not None else None,
            "sources": dict(
                self._rows("SELECT source, COUNT(*) FROM papers GROUP BY source ORDER BY 2 DESC")
            ),
        }


def _like_prefix(prefix: str) -> str:
    """A LIKE pattern (with ESCAPE '\\') matching text that starts with `prefix` literally."""
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"

"""Works in the store: which records are one work, kept up to date inside every write."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from indexer.paper import Paper
from indexer.store_queries import chunked
from indexer.work_rule import link_reason, work_keys
from models.errors import BadInputError

log = logging.getLogger(__name__)

# A key shared by more records than this (a generic title such as "A note on the conjecture",
# or a DOI a dump put on every record) is no evidence of one work, so it links nothing.
MAX_SHARERS = 50
# Linking stops growing a group at this size: a real work has a handful of records.
MAX_WORK = 200


class StoreWorks:
    """Work methods mixed into Store, which provides `_conn()`, `_lock`, `papers_with_vids` and
    `_bump_generation`."""

    # ---- reads ---------------------------------------------------------------------------
    def works_of(self, vids: Iterable[int]) -> dict[int, int]:
        """vid -> work (the lowest vid of its group) for those of `vids` merged with others."""
        out: dict[int, int] = {}
        for chunk in chunked([int(v) for v in vids]):
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT vid, work FROM works WHERE vid IN ({marks})"
            out.update(self._conn().execute(sql, chunk).fetchall())
        return out

    def work_rows(self, vid: int) -> list[tuple[int, int | None, str | None]]:
        """(vid, linked_to, reason) of every record of `vid`'s work, lowest vid first; empty
        when the record is a work of its own."""
        return (
            self._conn()
            .execute(
                "SELECT vid, linked_to, reason FROM works "
                "WHERE work = (SELECT work FROM works WHERE vid = ?) ORDER BY vid",
                (int(vid),),
            )
            .fetchall()
        )

    def work_mates(self, vids: Iterable[int]) -> set[int]:
        """`vids` and every other record of their works."""
        vids = {int(v) for v in vids}
        works = set(self.works_of(vids).values())
        out = set(vids)
        for chunk in chunked(sorted(works)):
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT vid FROM works WHERE work IN ({marks})"
            out.update(r[0] for r in self._conn().execute(sql, chunk))
        return out

    def merged_count(self) -> tuple[int, int]:
        """(works of more than one record, records in them)."""
        row = self._conn().execute("SELECT COUNT(DISTINCT work), COUNT(*) FROM works").fetchone()
        return int(row[0]), int(row[1])

    # ---- writes --------------------------------------------------------------------------
    def split(self, paper_id: str) -> list[str]:
        """Take `paper_id` out of its work, for good: it is never linked again to the records it
        was merged with. Returns their ids; raises BadInputError if it was merged with none."""
        conn = self._conn()
        with self._lock, conn:
            vid = self.vid_of(paper_id)
            mates = sorted(self.work_mates([vid]) - {vid})
            if not mates:
                raise BadInputError(f"paper {paper_id!r} is not merged with any other record")
            ids = [p.id for _, p in self.papers_with_vids(mates)]
            now = datetime.now(UTC).isoformat(timespec="seconds")
            conn.executemany(
                "INSERT OR IGNORE INTO work_splits VALUES (?, ?, ?)",
                [(*_pair(paper_id, other), now) for other in ids],
            )
            changed = self._relink(conn, [vid, *mates])
            self._bump_generation(conn, changed | {vid, *mates})
        return ids

    def _write_work_keys(self, conn, vid: int, paper: Paper) -> None:
        conn.execute("DELETE FROM work_keys WHERE vid = ?", (vid,))
        conn.executemany(
            "INSERT OR IGNORE INTO work_keys VALUES (?, ?)", [(k, vid) for k in work_keys(paper)]
        )

    def _fill_works(self, conn) -> None:
        """Give an index made before works existed its work keys and groups (once)."""
        if conn.execute("SELECT 1 FROM meta WHERE key = 'works_filled'").fetchone():
            return
        with self._lock, conn:
            vids = [r[0] for r in conn.execute("SELECT vid FROM papers ORDER BY vid")]
            for chunk in chunked(vids, 5000):
                for vid, paper in self.papers_with_vids(chunk):
                    self._write_work_keys(conn, vid, paper)
            shared = conn.execute(
                "SELECT vid FROM work_keys WHERE key IN (SELECT key FROM work_keys "
                "GROUP BY key HAVING COUNT(*) BETWEEN 2 AND ?)",
                (MAX_SHARERS,),
            ).fetchall()
            self._relink(conn, [r[0] for r in shared])
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('works_filled', '1')")

    def _relink(self, conn, seeds: Iterable[int]) -> set[int]:
        """Recompute the works of `seeds`, of the records they were merged with and of those they
        now link to, in the caller's transaction; returns the vids whose work changed."""
        seeds = self.work_mates(seeds)
        before = self.works_of(seeds)
        papers: dict[int, Paper] = {}
        edges: dict[int, dict[int, str]] = {}
        looked_up: set[int] = set()
        frontier = set(seeds)
        while frontier and len(looked_up) < MAX_WORK:
            looked_up |= frontier
            candidates = self._key_sharers(conn, frontier)
            involved = set(candidates).union(*candidates.values())
            papers.update(self.papers_with_vids(sorted(involved - set(papers))))
            splits = self._splits(conn, {p.id for p in papers.values()})
            reached = set()
            for cand, linked in candidates.items():
                for vid in linked:
                    if cand not in papers or vid not in papers:
                        continue  # removed in this transaction
                    a, b = papers[vid], papers[cand]
                    reason = None if _pair(a.id, b.id) in splits else link_reason(a, b)
                    if reason:
                        edges.setdefault(vid, {})[cand] = reason
                        edges.setdefault(cand, {})[vid] = reason
                        reached.add(cand)
            frontier = reached - looked_up
        rows = _group_rows(set(papers), edges)
        members = sorted(set(papers) | seeds | set(before))
        for chunk in chunked(members):
            conn.execute(f"DELETE FROM works WHERE vid IN ({','.join('?' * len(chunk))})", chunk)
        conn.executemany("INSERT INTO works VALUES (?, ?, ?, ?)", rows)
        after = {vid: work for vid, work, _, _ in rows}
        return {v for v in members if before.get(v) != after.get(v)}

    def _key_sharers(self, conn, vids: set[int]) -> dict[int, set[int]]:
        """Other record -> the records of `vids` it shares a work key with (keys shared by more
        than MAX_SHARERS records left out)."""
        by_key: dict[str, set[int]] = {}
        mine: dict[str, set[int]] = {}
        for chunk in chunked(sorted(vids)):
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT a.key, a.vid, b.vid FROM work_keys a JOIN work_keys b ON b.key = a.key "
                f"WHERE a.vid IN ({marks}) AND b.vid != a.vid",
                chunk,
            )
            for key, own, other in rows:
                by_key.setdefault(key, set()).add(other)
                mine.setdefault(key, set()).add(own)
        out: dict[int, set[int]] = {}
        for key, others in by_key.items():
            if len(others | mine[key]) > MAX_SHARERS:
                log.debug("work key %s is shared by %d records: ignored", key, len(others))
                continue
            for other in others:
                out.setdefault(other, set()).update(mine[key] - {other})
        return out

    def _splits(self, conn, ids: set[str]) -> set[tuple[str, str]]:
        out: set[tuple[str, str]] = set()
        for chunk in chunked(sorted(ids)):
            marks = ",".join("?" * len(chunk))
            out.update(
                conn.execute(
                    f"SELECT a, b FROM work_splits WHERE a IN ({marks}) OR b IN ({marks})",
                    (*chunk, *chunk),
                ).fetchall()
            )
        return out


def _pair(a: str, b: str) -> tuple[str, str]:
    """A pair of paper ids in the order work_splits keeps them."""
    return (a, b) if a < b else (b, a)


def _group_rows(vids: set[int], edges: dict[int, dict[int, str]]) -> list[tuple]:
    """(vid, work, linked_to, reason) rows for every group of two or more linked records: a
    breadth-first tree from the lowest vid, so each row names the record that brought it in."""
    rows: list[tuple] = []
    done: set[int] = set()
    for root in sorted(vids):
        if root in done or root not in edges:
            continue
        done.add(root)
        group = [(root, root, None, None)]
        queue = [root]
        while queue:
            here = queue.pop(0)
            for other in sorted(edges.get(here, {})):
                if other not in done:
                    done.add(other)
                    group.append((other, root, here, edges[here][other]))
                    queue.append(other)
        rows += group
    return rows

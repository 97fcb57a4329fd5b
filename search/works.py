"""One record per work: collapsing result lists, the versions of a paper, and splitting a work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from indexer.paper import Paper
from indexer.store import Store
from indexer.work_rule import own_arxiv_id, publisher_doi

T = TypeVar("T")
# How much deeper than a list a ranking is read, so that other records of works already listed
# can be left out and the list still filled with distinct works.
WORK_DEPTH = 8


def one_per_work(store: Store, items: list[T], vid: Callable[[T], int]) -> list[T]:
    """`items` in order, each record after the first of its work left out (the best-ranked
    record stands for the work)."""
    works = store.works_of(vid(item) for item in items)
    seen: set[int] = set()
    out = []
    for item in items:
        work = works.get(vid(item), vid(item))
        if work not in seen:
            seen.add(work)
            out.append(item)
    return out


def one_record_per_work(store: Store, pairs: list[tuple[int, Paper]]) -> list[tuple[int, Paper]]:
    """(vid, paper) pairs with one record per work: the one with the highest citation count
    (copies of one work share their citations, so counts are not added), then the published
    record, then the first ingested. Order follows the kept records' first appearance."""
    works = store.works_of(vid for vid, _ in pairs)
    best: dict[int, tuple[int, Paper]] = {}
    for vid, paper in pairs:
        work = works.get(vid, vid)
        if work not in best or _preference(vid, paper) < _preference(*best[work]):
            best[work] = (vid, paper)
    kept = {vid for vid, _ in best.values()}
    return [pair for pair in pairs if pair[0] in kept]


def _preference(vid: int, paper: Paper) -> tuple:
    cited = -1 if paper.citation_count is None else paper.citation_count
    return (-cited, publisher_doi(paper) is None and not paper.venue, vid)


def reading_links(paper: Paper) -> list[tuple[str, str]]:
    """(label, URL) of where a record can be read: arXiv abstract and PDF, DOI, its own URL."""
    out = []
    arxiv = own_arxiv_id(paper)
    if arxiv:
        version = paper.id[len(arxiv) :] if paper.id.lower().startswith(arxiv) else ""
        out += [
            (f"arXiv {paper.id}", f"https://arxiv.org/abs/{arxiv}{version}"),
            ("PDF", f"https://arxiv.org/pdf/{arxiv}{version}"),
        ]
    if publisher_doi(paper):
        out.append((f"DOI {paper.doi}", f"https://doi.org/{paper.doi}"))
    if paper.url and paper.url not in {url for _, url in out}:
        out.append(("Record", paper.url))
    return out


@dataclass(frozen=True)
class Version:
    """One record of a work, with the record it was matched with and why."""

    paper: Paper
    linked_to: str | None
    reason: str | None

    def links(self) -> list[tuple[str, str]]:
        return reading_links(self.paper)

    # The record's own fields, as the API lists a version.
    id = property(lambda self: self.paper.id)
    title = property(lambda self: self.paper.title)
    published = property(lambda self: self.paper.published)
    venue = property(lambda self: self.paper.venue)
    doi = property(lambda self: self.paper.doi)
    source = property(lambda self: self.paper.source)


@dataclass(frozen=True)
class Work:
    """Every record of one work, earliest first; a paper alone has one version."""

    versions: list[Version]
    earliest: date | None

    @property
    def merged(self) -> bool:
        return len(self.versions) > 1


def work_of(store: Store, paper_id: str) -> Work:
    """The work `paper_id` belongs to: its records, how each was matched, the earliest date."""
    vid = store.vid_of(paper_id)
    rows = store.work_rows(vid) or [(vid, None, None)]
    records = dict(store.papers_with_vids(sorted(r[0] for r in rows)))
    versions = [
        Version(records[v], records[linked].id if linked in records else None, reason)
        for v, linked, reason in rows
        if v in records
    ]
    versions.sort(key=lambda v: (v.paper.published or date.max, v.paper.id))
    return Work(versions, versions[0].paper.published if versions else None)

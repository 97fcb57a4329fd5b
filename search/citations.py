"""Citation links between papers: the directed lists a paper page shows (references, cited by)
and the undirected graph whose overlap scores related papers use."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from indexer.paper import Paper
from indexer.store import Store

GRAPH = "citation-graph"


@dataclass(frozen=True)
class CitationLists:
    """A paper's references and the papers citing it, both within the index. `reference_count`
    counts the distinct ids of its source list, indexed or not; `cited_by_count` counts all
    citing papers, of which `cited_by` holds the first `limit`. A paper never lists itself."""

    paper_id: str
    references: list[Paper]
    reference_count: int
    cited_by: list[Paper]
    cited_by_count: int

    @property
    def references_in_index(self) -> int:
        return len(self.references)


def citation_lists(store: Store, paper_id: str, limit: int = 100) -> CitationLists:
    """References (in the paper's order) and citing papers (most cited first) of a stored
    paper, at most `limit` of each; raises NotFoundError for an unknown id."""
    paper = store.get(paper_id)
    vid = store.vid_of(paper.id)
    references = store.papers_by_vids(store.referenced_vids(vid)[:limit])
    citing = store.papers_by_vids(store.citing_vids(paper.id, limit))
    return CitationLists(
        paper_id=paper.id,
        references=references,
        reference_count=len(set(paper.references) - {paper.id}),
        cited_by=citing,
        cited_by_count=store.citing_count(paper.id),
    )


class CitationGraph:
    """Undirected links between paper ids; ids outside the index count as shared neighbours
    (two papers citing the same unindexed paper are coupled)."""

    def __init__(self, neighbours: dict[str, set[str]]) -> None:
        self._neighbours = neighbours

    @classmethod
    def from_edges(cls, edges: Iterable[tuple[str, str]]) -> CitationGraph:
        """Graph of (citing, cited) pairs; direction is dropped, self-links ignored."""
        neighbours: dict[str, set[str]] = {}
        for src, dst in edges:
            if src == dst:
                continue
            neighbours.setdefault(src, set()).add(dst)
            neighbours.setdefault(dst, set()).add(src)
        return cls(neighbours)

    @classmethod
    def from_store(cls, store: Store) -> CitationGraph:
        """The graph of every stored `references` list: the newest one built; after a write it
        answers while the next is built in the background (see Store.latest)."""
        return store.latest(GRAPH, lambda: cls.build(store))

    @classmethod
    def build(cls, store: Store) -> CitationGraph:
        """Read every stored `references` list (whole-index work)."""
        rows = store.paper_references()
        return cls.from_edges((pid, ref) for pid, refs in rows for ref in refs)

    def __len__(self) -> int:
        return sum(len(n) for n in self._neighbours.values()) // 2

    def neighbours(self, paper_id: str) -> set[str]:
        return self._neighbours.get(paper_id, set())

    def degree(self, paper_id: str) -> int:
        return len(self._neighbours.get(paper_id, ()))

    def overlap_scores(self, paper_id: str) -> dict[str, float]:
        """Cosine overlap of closed neighbourhoods, in (0, 1], for every paper within two links.

        N[x] is x's neighbours plus x itself, so a direct link and shared neighbours (co-citation,
        bibliographic coupling) both count: score(q, c) = |N[q] & N[c]| / sqrt(|N[q]| |N[c]|).
        """
        own = self.neighbours(paper_id)
        if not own:
            return {}
        closed = own | {paper_id}
        # |N[q] & N[c]| = sum over x in N[q] of [x in N[c]]; walk x over q's neighbours m
        # (m is in N[m], and in N[c] for every neighbour c of m), then x = q itself.
        counts: dict[str, int] = {}
        for middle in own:
            counts[middle] = counts.get(middle, 0) + 1
            for other in self.neighbours(middle):
                counts[other] = counts.get(other, 0) + 1
        counts.pop(paper_id, None)
        for neighbour in own:
            counts[neighbour] += 1  # q is in N[c] for every direct neighbour c
        return {
            other: shared / math.sqrt(len(closed) * (self.degree(other) + 1))
            for other, shared in counts.items()
        }

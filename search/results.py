"""Typed search results: Snippet, Hit and SearchPage (only the API turns them into JSON)."""

from __future__ import annotations

from dataclasses import dataclass, field

from indexer.filters import Filters
from indexer.paper import Paper
from search.facets import FacetValue

# Decimal places of every score, similarity and percentile written out (JSON and CSV).
DECIMALS = 6


@dataclass(frozen=True)
class Snippet:
    """A short piece of the abstract; `spans` are (start, end) character offsets of the matched
    query terms in `text`, sorted and non-overlapping."""

    text: str
    spans: tuple[tuple[int, int], ...] = ()

    def marked(self, open: str = "[", close: str = "]") -> str:
        """The text with every matched term wrapped in `open` ... `close`."""
        out: list[str] = []
        last = 0
        for start, end in self.spans:
            out += [self.text[last:start], open, self.text[start:end], close]
            last = end
        out.append(self.text[last:])
        return "".join(out)


@dataclass(frozen=True)
class Hit:
    """One paper in a ranking. `vid` is its store id; `score` is the final score of the mode
    (BM25 for keyword, cosine for semantic, the fused score for hybrid). The component fields
    say where each retriever put the paper: a rank is None when the paper was outside that
    retriever's candidate list (its score is still exact), and both are None for the side a
    mode did not run. A ranking holds bare hits; a page's hits also carry the record, the
    1-based `rank` counting the offset, and the snippet."""

    vid: int
    score: float
    keyword_score: float | None = None
    keyword_rank: int | None = None
    semantic_score: float | None = None
    semantic_rank: int | None = None
    paper: Paper | None = None
    rank: int | None = None
    snippet: Snippet | None = None


@dataclass
class SearchPage:
    """One page of results: hits[i].rank == offset + i + 1.

    `total` counts the papers the query matches: exactly (`total_exact`) for keyword search and
    for filters and constraints alone, else the papers among the `depth` best candidates that a
    semantic or hybrid ranking reads ("about"). Facets count over the same papers."""

    query: str
    mode: str
    hits: list[Hit]
    offset: int
    k: int
    filters: Filters = field(default_factory=Filters)
    total: int = 0
    total_exact: bool = True
    depth: int | None = None
    sort: str = "relevance"
    constraints: tuple[str, ...] = ()
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)
    message: str | None = None

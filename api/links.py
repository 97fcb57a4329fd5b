"""The URLs the pages link to: paper and author pages, and the API's export and feed answers."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from indexer.paper import Paper
from search.watches import MAX_QUERY_CHARS

# The export links of a page: (label, format), each pointing at the API route of the same list.
EXPORTS = (("BibTeX", "bibtex"), ("RIS", "ris"), ("CSV", "csv"))


def paper_url(paper: Paper | str) -> str:
    """/paper/{id}; ids may hold "/" (math/0703001), which stays a path separator."""
    return "/paper/" + quote(paper if isinstance(paper, str) else paper.id, safe="/:")


def author_url(name: str) -> str:
    return "/author/" + quote(name, safe="")


def api_paper_url(paper: Paper) -> str:
    """/papers/{id}: the API's record of the paper, which also answers format=bibtex etc."""
    return "/papers/" + quote(paper.id, safe="/:")


def api_author_url(name: str) -> str:
    return "/authors/" + quote(name, safe="")


def export_urls(path: str, params: dict | None = None) -> list[tuple[str, str]]:
    """(label, URL) of the API's BibTeX, RIS and CSV answers for `path` with the page's query."""
    query = {key: value for key, value in (params or {}).items() if value not in ("", [], None)}
    return [
        (label, path + "?" + urlencode({**query, "format": fmt}, doseq=True))
        for label, fmt in EXPORTS
    ]


def feed_url(form: dict[str, str]) -> str | None:
    """/search.atom with the query and filters (not the mode: a feed lists every paper that holds
    all the words); None for a query too long to be a saved search."""
    if len(form["q"]) > MAX_QUERY_CHARS:
        return None
    return "/search.atom?" + urlencode({k: v for k, v in form.items() if k != "mode"})

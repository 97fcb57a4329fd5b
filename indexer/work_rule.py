"""The one rule for which records are one work: arXiv versions, a preprint and its published
record, and one paper from two dumps."""

from __future__ import annotations

import re

from indexer.paper import Paper, normalize_name, title_key

# A title of fewer words ("Introduction", "Editorial note") says nothing about the work.
MIN_TITLE_WORDS = 3
# A preprint and its journal version are often a year apart (December preprint, January issue).
YEAR_GAP = 1

_NEW_STYLE = re.compile(r"(\d{4}\.\d{4,5})(?:v\d+)?")
_OLD_STYLE = re.compile(r"([a-z][a-z-]*(?:\.[a-z]{2})?/\d{7})(?:v\d+)?", re.IGNORECASE)
_PREFIX = re.compile(r"^(?:arxiv:|https?://(?:www\.)?arxiv\.org/(?:abs|pdf)/)", re.IGNORECASE)
_ARXIV_DOI = re.compile(r"^10\.48550/arxiv\.", re.IGNORECASE)


def arxiv_base(value: str | None) -> str | None:
    """The arXiv id without its version in `value` ("0704.0001v2", "arXiv:0704.0001",
    "math/0703001", an abs or pdf URL, an arXiv DOI); None if it is not one."""
    if not value:
        return None
    text = _ARXIV_DOI.sub("", _PREFIX.sub("", value.strip())).removesuffix(".pdf")
    match = _NEW_STYLE.fullmatch(text) or _OLD_STYLE.fullmatch(text)
    return match.group(1).lower() if match else None


def own_arxiv_id(paper: Paper) -> str | None:
    """The arXiv id the record itself is filed under (its id), None for other records."""
    return arxiv_base(paper.id)


def arxiv_ids(paper: Paper) -> set[str]:
    """Every arXiv id the record names: its own id, an `arxiv_id` field, an arXiv DOI or URL."""
    named = (paper.id, str(paper.extra.get("arxiv_id") or ""), paper.doi, paper.url)
    return {base for base in map(arxiv_base, named) if base}


def publisher_doi(paper: Paper) -> str | None:
    """The DOI in lower case, unless it is arXiv's own (that one is an arXiv id)."""
    doi = (paper.doi or "").strip().lower()
    return doi if doi and not _ARXIV_DOI.match(doi) else None


def work_keys(paper: Paper) -> list[str]:
    """Lookup keys: two records can be one work only if they share a key (see `link_reason`)."""
    keys = [f"arxiv:{base}" for base in sorted(arxiv_ids(paper))]
    doi = publisher_doi(paper)
    if doi:
        keys.append(f"doi:{doi}")
    key = title_key(paper.title)
    if len(key.split()) >= MIN_TITLE_WORDS and paper.authors:
        keys.append(f"title:{key}")
    return keys


def link_reason(a: Paper, b: Paper) -> str | None:
    """Why records `a` and `b` are one work, in words for the paper page; None if they are not.

    One work: the same arXiv id (two versions, or a published record naming the preprint); the
    same publisher DOI; or the same title (of MIN_TITLE_WORDS words or more) with the same first
    author and years at most YEAR_GAP apart, unless their arXiv ids or DOIs say otherwise.
    """
    shared = sorted(arxiv_ids(a) & arxiv_ids(b))
    if shared:
        if own_arxiv_id(a) and own_arxiv_id(b):
            return f"versions of arXiv {shared[0]}"
        named = b if own_arxiv_id(a) else a
        return f"{named.id} names arXiv id {shared[0]}"
    doi_a, doi_b = publisher_doi(a), publisher_doi(b)
    if doi_a and doi_a == doi_b:
        return f"same DOI {doi_a}"
    if _apart(arxiv_ids(a), arxiv_ids(b)) or _apart({doi_a} - {None}, {doi_b} - {None}):
        return None
    key = title_key(a.title)
    if len(key.split()) < MIN_TITLE_WORDS or key != title_key(b.title):
        return None
    if not a.authors or not b.authors or _name(a.authors[0]) != _name(b.authors[0]):
        return None
    if a.year is None or b.year is None or abs(a.year - b.year) > YEAR_GAP:
        return None
    years = str(a.year) if a.year == b.year else f"{min(a.year, b.year)}-{max(a.year, b.year)}"
    return f"same title and first author ({a.authors[0]}), {years}"


def _apart(ids_a: set, ids_b: set) -> bool:
    """Both records carry identifiers of the same kind and none is shared: two publications."""
    return bool(ids_a) and bool(ids_b) and not ids_a & ids_b


def _name(author: str) -> tuple[str, str]:
    """Surname and first initial: "Kelsey R. Allen" and "K. Allen" are one first author."""
    words = normalize_name(author).split()
    if not words:
        return ("", "")
    return (words[-1], words[0][0])

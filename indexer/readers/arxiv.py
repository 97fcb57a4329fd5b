"""Reader for the arXiv metadata snapshot (`arxiv-metadata-oai-snapshot.json`, JSON lines)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from indexer.paper import Paper, normalize_space
from indexer.readers.base import ReadResult
from indexer.readers.generic import (
    RecordError,
    as_date,
    as_id,
    as_optional_text,
    as_str_list,
    as_text,
    read_json_records,
    split_names,
    strip_et_al,
)

_VERSION = re.compile(r"v\d+$")
# "(1) CREST, Japan Science and Technology Agency, (2) Russian Research Centre": label, text.
_FOOTNOTE = re.compile(r"\((\d+)\)\s*(.*?)(?=,?\s*\(\d+\)|$)", re.S)
_LABEL_SPLIT = re.compile(r"\s*(?:,|\band\b|&)\s*")
# LaTeX accents in author names: \'a, {\"o}, \'{\i}; letter commands need braces or a space:
# \c{c}, \v S (so that \cal or \vec are left alone).
_ACCENT = re.compile(r"\\([`'^\"~=.])\{?\\?([A-Za-z])\}?")
_LETTER_ACCENT = re.compile(r"\\([uvHc])(?:\{\\?([A-Za-z])\}|\s+([A-Za-z])(?![A-Za-z]))")
_COMBINING = {
    "`": "\u0300", "'": "\u0301", "^": "\u0302", '"': "\u0308", "~": "\u0303", "=": "\u0304",
    ".": "\u0307", "u": "\u0306", "v": "\u030c", "H": "\u030b", "c": "\u0327",
}  # fmt: skip


def read_arxiv(path: Path, *, keep_title_only: bool = False) -> Iterator[ReadResult]:
    """Stream arXiv snapshot records as Papers (id without version, published = v1 date)."""
    return read_json_records(path, arxiv_paper, keep_title_only)


def arxiv_paper(record: dict) -> Paper:
    """One snapshot record -> Paper; raises RecordError on a wrong shape or a bad date."""
    paper_id = _VERSION.sub("", as_id(record.get("id")))
    published, precision = _first_version_date(record.get("versions"))
    parsed = record.get("authors_parsed")
    raw_authors = _latex_accents(as_text(record.get("authors"), "authors"))
    if parsed is not None:
        authors, affiliations = _parsed_authors(parsed, _footnotes(raw_authors))
    else:
        authors, affiliations = split_names(raw_authors), ()
    authors, truncated = strip_et_al(authors)
    return Paper(
        id=paper_id,
        title=as_text(record.get("title"), "title"),
        abstract=as_text(record.get("abstract"), "abstract"),
        authors=authors,
        categories=as_str_list(record.get("categories"), "categories"),
        published=published,
        date_precision=precision,
        updated=as_date(record.get("update_date"), "update_date")[0],
        venue=as_optional_text(record.get("journal-ref"), "journal-ref"),
        doi=as_optional_text(record.get("doi"), "doi"),
        url=f"https://arxiv.org/abs/{paper_id}",
        affiliations=affiliations,
        source="arxiv",
        extra={"authors_truncated": True} if truncated else {},
    )


def _first_version_date(versions: object) -> tuple:
    """(date, "day") of v1 from [{"version": "v1", "created": "Mon, 2 Apr 2007 ..."}, ...]."""
    if versions is None or versions == []:
        return None, None
    if not isinstance(versions, list) or not all(isinstance(v, dict) for v in versions):
        raise RecordError("versions is not a list of objects")
    first = next((v for v in versions if v.get("version") == "v1"), versions[0])
    return as_date(first.get("created"), "versions[0].created")


def _parsed_authors(
    parsed: object, footnotes: dict[str, str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """[[last, first, suffix, affiliation...], ...] -> (("First Last Suffix", ...), affiliations).

    arXiv puts what followed a name in parentheses after the suffix: an affiliation
    ("Universität Stuttgart") or footnote labels ("1 and 2") that `footnotes` resolves.
    Affiliations are kept once each, in order of first appearance, never inside a name."""
    if not isinstance(parsed, list):
        raise RecordError("authors_parsed is not a list")
    names: list[str] = []
    affiliations: dict[str, None] = {}
    for parts in parsed:
        if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
            raise RecordError("authors_parsed holds an entry that is not a list of texts")
        if parts:
            last, first, suffix = (parts + ["", ""])[:3]
            name = normalize_space(" ".join([first, last, suffix]))
            if name:
                names.append(_latex_accents(name))
            for extra in parts[3:]:
                for affiliation in _resolve_affiliation(normalize_space(extra), footnotes):
                    affiliations[_latex_accents(affiliation)] = None
    return tuple(names), tuple(affiliations)


def _footnotes(authors: str) -> dict[str, str]:
    """Footnoted affiliations of an authors line: "... ((1) CREST, (2) Tokyo)" -> {"1": ...}."""
    start = authors.rfind("((")
    if start < 0:
        return {}
    body = authors[start + 1 :].removesuffix(")")
    return {m[1]: normalize_space(m[2]).rstrip(",") for m in _FOOTNOTE.finditer(body)}


def _resolve_affiliation(text: str, footnotes: dict[str, str]) -> list[str]:
    """One affiliation, or the footnoted ones its labels name ("1 and 2"); unresolved labels
    are dropped rather than shown as an affiliation."""
    labels = _LABEL_SPLIT.split(text)
    if all(label.isdigit() for label in labels):
        return [footnotes[label] for label in labels if label in footnotes]
    return [text] if text else []


def _latex_accents(text: str) -> str:
    """Turn LaTeX accent commands into letters: "Bal\\'azs" -> "Balázs"; strip leftover braces."""
    if "\\" not in text:
        return text
    text = _ACCENT.sub(lambda m: m[2] + _COMBINING[m[1]], text)
    text = _LETTER_ACCENT.sub(lambda m: (m[2] or m[3]) + _COMBINING[m[1]], text)
    return unicodedata.normalize("NFC", text).replace("{", "").replace("}", "")

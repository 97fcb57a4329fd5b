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
)

_VERSION = re.compile(r"v\d+$")
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
    if parsed is not None:
        authors = _parsed_authors(parsed)
    else:
        authors = split_names(_latex_accents(as_text(record.get("authors"), "authors")))
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
        source="arxiv",
    )


def _first_version_date(versions: object) -> tuple:
    """(date, "day") of v1 from [{"version": "v1", "created": "Mon, 2 Apr 2007 ..."}, ...]."""
    if versions is None or versions == []:
        return None, None
    if not isinstance(versions, list) or not all(isinstance(v, dict) for v in versions):
        raise RecordError("versions is not a list of objects")
    first = next((v for v in versions if v.get("version") == "v1"), versions[0])
    return as_date(first.get("created"), "versions[0].created")


def _parsed_authors(parsed: object) -> tuple[str, ...]:
    """[[last, first, suffix], ...] -> ("First Last Suffix", ...)."""
    if not isinstance(parsed, list):
        raise RecordError("authors_parsed is not a list")
    names = []
    for parts in parsed:
        if not isinstance(parts, list) or not all(isinstance(p, str) for p in parts):
            raise RecordError("authors_parsed holds an entry that is not a list of texts")
        if parts:
            last, rest = parts[0], parts[1:]
            first = rest[0] if rest else ""
            name = normalize_space(" ".join([first, last, *rest[1:]]))
            if name:
                names.append(_latex_accents(name))
    return tuple(names)


def _latex_accents(text: str) -> str:
    """Turn LaTeX accent commands into letters: "Bal\\'azs" -> "Balázs"; strip leftover braces."""
    if "\\" not in text:
        return text
    text = _ACCENT.sub(lambda m: m[2] + _COMBINING[m[1]], text)
    text = _LETTER_ACCENT.sub(lambda m: (m[2] or m[3]) + _COMBINING[m[1]], text)
    return unicodedata.normalize("NFC", text).replace("{", "").replace("}", "")

"""Generic JSON-lines and CSV/TSV readers with a column mapping, and the shared record helpers."""

from __future__ import annotations

import csv
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from datetime import date
from functools import partial
from pathlib import Path

from indexer.paper import Paper, normalize_space, title_key
from indexer.readers.base import ReadResult, Skip, open_text_lines
from indexer.readers.dates import parse_date
from models.errors import BadInputError

# Paper field -> source columns tried in order (case-insensitive) when no mapping names one.
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "paper_id", "_id", "arxiv_id", "doi"),
    "title": ("title",),
    "abstract": ("abstract", "summary", "text"),
    "authors": ("authors", "author"),
    "categories": ("categories", "category"),
    "published": ("published", "date", "publication_date", "year"),
    "updated": ("updated", "update_date"),
    "venue": ("venue", "journal"),
    "citation_count": ("citation_count", "citations", "n_citation"),
}
ALIASES |= {name: (name,) for name in ("doi", "url", "code_url", "has_code")}
ALIASES |= {name: (name,) for name in ("references", "affiliations")}
MAPPABLE_FIELDS = tuple(ALIASES)

_LIST_SEP = re.compile(r"[\s,;]+")
_SEMICOLON = re.compile(r"\s*;\s*")
_NAME_SEP = re.compile(r"\s*,\s*(?:and\s+)?|\s+and\s+")
_NAME_SEP_SEMICOLON = re.compile(r"\s*;\s*(?:and\s+)?|\s+and\s+")
_FLAGS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


class RecordError(ValueError):
    """A record that cannot become a Paper; the message becomes the Skip reason."""


_KINDS = {type(None): "null", bool: "a boolean", int: "a number", float: "a number"}
_KINDS |= {str: "text", list: "a list", dict: "an object"}


def _kind(value: object) -> str:
    """How a JSON value is named in a Skip reason."""
    return _KINDS.get(type(value), type(value).__name__)


def as_text(value: object, name: str) -> str:
    """Text with whitespace collapsed; None is ""; any other type is a RecordError."""
    if value is None:
        return ""
    if isinstance(value, str):
        return normalize_space(value)
    raise RecordError(f"{name} is {_kind(value)}, expected text")


def as_optional_text(value: object, name: str) -> str | None:
    return as_text(value, name) or None


def as_id(value: object, name: str = "id") -> str:
    """A non-empty id; integer ids become text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    text = as_text(value, name)
    if not text:
        raise RecordError(f"missing {name}")
    return text


def as_str_list(value: object, name: str, sep: re.Pattern | None = _LIST_SEP) -> tuple[str, ...]:
    """A list of texts (integers become text, nulls are dropped) or one text split on `sep`."""
    if value is None:
        return ()
    if isinstance(value, str):
        items: list = sep.split(value) if sep else [value]
    elif isinstance(value, list):
        items = [str(v) if isinstance(v, int) and not isinstance(v, bool) else v for v in value]
    else:
        raise RecordError(f"{name} is {_kind(value)}, expected a list or text")
    for item in items:
        if item is not None and not isinstance(item, str):
            raise RecordError(f"{name} holds {_kind(item)}, expected texts")
    return tuple(text for text in (normalize_space(i) for i in items if i) if text)


def split_names(text: str) -> tuple[str, ...]:
    """Split "A; B" or "A, B and C" into names (semicolons win: "Doe, J.; Roe, R.")."""
    sep = _NAME_SEP_SEMICOLON if ";" in text else _NAME_SEP
    return tuple(name for name in (normalize_space(p) for p in sep.split(text)) if name)


_ET_AL = {"et al", "et al.", "others", "and others", "et al..."}


def strip_et_al(names: tuple[str, ...]) -> tuple[tuple[str, ...], bool]:
    """Drop a final "et al." / "others" entry: (names, whether the source marked the list cut)."""
    if names and names[-1].strip().casefold().rstrip(",") in _ET_AL:
        return names[:-1], True
    return names, False


def as_names(value: object, name: str = "authors") -> tuple[str, ...]:
    """Author names from text, a list of texts, or dicts with "name" or first/middle/last/suffix."""
    if isinstance(value, str):
        return split_names(value)
    if not isinstance(value, list):
        return as_str_list(value, name)  # None -> (), anything else -> RecordError
    names = []
    for item in value:
        if isinstance(item, dict):
            item = item.get("name") if "name" in item else _join_name_parts(item, name)
        names.append(item)
    return as_str_list(names, name, sep=None)


def _join_name_parts(parts: dict, name: str) -> str:
    middle = parts.get("middle") or []
    words = [parts.get("first"), *(middle if isinstance(middle, list) else [middle])]
    words += [parts.get("last"), parts.get("suffix")]
    return " ".join(as_text(word, name) for word in words if word)


def as_count(value: object, name: str) -> int | None:
    """A whole number >= 0 (text digits accepted); a list counts its items; None/"" is None."""
    if value is None or value == "":
        return None
    if isinstance(value, list):
        return len(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    shown = repr(value)[:40] if isinstance(value, str | int | float) else _kind(value)
    raise RecordError(f"{name} is not a whole number >= 0 ({shown})")


def as_flag(value: object, name: str) -> bool | None:
    """A boolean from true/false, 1/0 or yes/no (any case); None/"" is None."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _FLAGS:
        return _FLAGS[value.strip().lower()]
    raise RecordError(f"{name} is not true/false, 1/0 or yes/no ({repr(value)[:40]})")


def as_date(value: object, name: str) -> tuple[date | None, str | None]:
    """(date, precision) via parse_date; None/"" is (None, None)."""
    if value is None or value == "":
        return None, None
    try:
        return parse_date(value)
    except ValueError as exc:
        raise RecordError(f"bad date in {name} ({exc})") from None


def to_result(
    record: dict, to_paper: Callable[[dict], Paper], keep_title_only: bool
) -> Paper | str:
    """The Paper for one decoded record, or why it is skipped ("no abstract", a bad field...)."""
    try:
        paper = to_paper(record)
    except RecordError as exc:
        return str(exc)
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        # A shape no reader anticipated: still a counted skip, never a crash mid-ingest.
        return f"bad record ({type(exc).__name__}: {exc})"
    if paper.abstract or (paper.title and keep_title_only):
        return paper
    return "no abstract" if paper.title else "no title or abstract"


def read_json_records(
    path: Path, to_paper: Callable[[dict], Paper], keep_title_only: bool
) -> Iterator[ReadResult]:
    """Stream a JSON-lines file through `to_paper`; each unusable line becomes a Skip."""
    for number, text, error in open_text_lines(path):
        if error is None and not text.strip():
            continue
        result = error or _decode_line(text, to_paper, keep_title_only)
        yield Skip(str(path), number, result) if isinstance(result, str) else result


def _decode_line(text: str, to_paper: Callable[[dict], Paper], keep: bool) -> Paper | str:
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"bad JSON ({exc.msg} at column {exc.colno})"
    except (ValueError, RecursionError) as exc:
        return f"bad JSON ({exc})"
    if not isinstance(record, dict):
        return f"not a JSON object (the line holds {_kind(record)})"
    return to_result(record, to_paper, keep)


def generic_paper(record: dict, mapping: dict[str, str] | None = None, source: str = "") -> Paper:
    """Map one flat record to a Paper: `mapping` columns first, then ALIASES (case-insensitive)."""
    mapping = mapping or {}
    lowered = {str(key).strip().lower(): key for key in record}
    used: set = set()

    def get(field: str) -> object:
        keys = [mapping[field]] if field in mapping else [lowered.get(a) for a in ALIASES[field]]
        for key in keys:
            if key in record and record[key] not in (None, ""):
                used.add(key)
                return record[key]
        return None

    title, abstract = as_text(get("title"), "title"), as_text(get("abstract"), "abstract")
    raw_id = get("id")
    if raw_id is None and not title:
        raise RecordError("missing id (and no title to derive one from)")
    paper_id = as_id(raw_id) if raw_id is not None else _title_id(title)
    published, precision = as_date(get("published"), "published")
    code_url = as_optional_text(get("code_url"), "code_url")
    has_code = as_flag(get("has_code"), "has_code")
    authors, truncated = strip_et_al(as_names(get("authors")))
    fields = dict(
        categories=as_str_list(get("categories"), "categories"),
        updated=as_date(get("updated"), "updated")[0],
        venue=as_optional_text(get("venue"), "venue"),
        doi=as_optional_text(get("doi"), "doi"),
        url=as_optional_text(get("url"), "url"),
        citation_count=as_count(get("citation_count"), "citation_count"),
        references=as_str_list(get("references"), "references"),
        affiliations=as_str_list(get("affiliations"), "affiliations", sep=_SEMICOLON),
    )
    # Last, so that only the columns no field took are kept (e.g. arxiv_id, status).
    extra = {key: value for key, value in record.items() if key not in used}
    if truncated:
        extra["authors_truncated"] = True
    return Paper(
        id=paper_id,
        title=title,
        abstract=abstract,
        authors=authors,
        published=published,
        date_precision=precision,
        code_url=code_url,
        has_code=True if code_url else has_code,
        source=source,
        extra=extra,
        **fields,
    )


def _title_id(title: str) -> str:
    """Stable id for a record without one: "t:" + 16 hex chars of the title key's SHA-1."""
    return "t:" + hashlib.sha1(title_key(title).encode("utf-8")).hexdigest()[:16]


def read_jsonl(
    path: Path, *, mapping: dict[str, str] | None = None, keep_title_only: bool = False
) -> Iterator[ReadResult]:
    """Stream a JSON-lines file of flat paper records (see `generic_paper`)."""
    to_paper = partial(generic_paper, mapping=mapping, source="jsonl")
    return read_json_records(path, to_paper, keep_title_only)


def read_csv(
    path: Path, *, mapping: dict[str, str] | None = None, keep_title_only: bool = False
) -> Iterator[ReadResult]:
    """Stream a CSV file with a header row (`.tsv` is tab-separated); see `generic_paper`."""
    delimiter = "\t" if path.name.removesuffix(".gz").endswith(".tsv") else ","
    where, line, skips = str(path), [0], []  # line: the last physical line the csv module read

    def lines() -> Iterator[str]:
        for number, text, error in open_text_lines(path):
            line[0] = number
            if error is None:
                yield text
            else:
                skips.append(Skip(where, number, error))

    to_paper = partial(generic_paper, mapping=mapping, source="csv")
    rows, header = csv.reader(lines(), delimiter=delimiter), None
    while True:
        try:
            row = next(rows, None)
        except csv.Error as exc:
            row = []
            skips.append(Skip(where, line[0], f"bad CSV ({exc})"))
        yield from skips
        skips.clear()
        if row is None:
            return
        if not row:
            continue
        if header is None:  # a mapped column that is not there is an argument error, not a record's
            header = [row[0].lstrip("\ufeff"), *row[1:]]
            missing = [f"{f}={c}" for f, c in (mapping or {}).items() if c not in header]
            if missing:
                raise BadInputError(
                    f"--map {', '.join(missing)}: no such column in {path} "
                    f"(columns: {', '.join(header)})"
                )
            continue
        if len(row) != len(header):
            result: Paper | str = (
                f"wrong number of columns ({len(row)}, the header has {len(header)})"
            )
        else:
            result = to_result(dict(zip(header, row, strict=True)), to_paper, keep_title_only)
        yield Skip(where, line[0], result) if isinstance(result, str) else result

"""Find input files, detect their format and dispatch to the right streaming reader.

Formats: `arxiv` (arXiv metadata snapshot), `s2orc` (S2ORC / Semantic Scholar), `beir` (BEIR
corpus.jsonl), `cora` (Cora papers), `jsonl` and `csv` (generic; `.tsv` is tab-separated; both
may be gzipped). A folder stands for its data files (not its subfolders); a BEIR folder stands
for its corpus.jsonl only.

Column mapping (generic jsonl and csv)
--------------------------------------
Each Paper field is read from the first of these columns that a record has (names match
case-insensitively; empty cells count as missing):

| field | columns tried |
|---|---|
| id | id, paper_id, _id, arxiv_id, doi; none: "t:" + 16 hex chars of the title's SHA-1 |
| title | title |
| abstract | abstract, summary, text |
| authors | authors, author: a list, or text split on "; " (else ", " and " and ") |
| categories | categories, category: a list, or text split on spaces, commas, semicolons |
| published | published, date, publication_date, year: "2007", "2007-04", "2007-04-02", ISO |
| updated | updated, update_date |
| venue | venue, journal |
| doi, url, code_url | doi, url, code_url |
| has_code | has_code: true/false, 1/0, yes/no; true whenever code_url is given |
| citation_count | citation_count, citations, n_citation (a list counts its items) |
| references | references: a list, or text split like categories |
| affiliations | affiliations: a list, or text split on ";" |

`--map FIELD=COLUMN` (repeatable) reads FIELD from COLUMN instead, e.g.
`--map title=paper_title --map abstract=summary`. Other columns are kept in `Paper.extra`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import closing
from pathlib import Path

from indexer.readers.arxiv import read_arxiv
from indexer.readers.base import ReadResult, open_text_lines
from indexer.readers.beir import read_beir
from indexer.readers.cora import read_cora
from indexer.readers.generic import MAPPABLE_FIELDS, read_csv, read_jsonl
from indexer.readers.s2orc import read_s2orc
from models.errors import BadInputError

FORMATS = ("arxiv", "s2orc", "beir", "cora", "jsonl", "csv")
DATA_SUFFIXES = (".json", ".jsonl", ".csv", ".tsv")
SNIFF_LINES = 50
_S2ORC_KEYS = {"inbound_citations", "outbound_citations", "s2_url", "mag_field_of_study"}


def iter_input_files(paths: Sequence[Path]) -> list[Path]:
    """Files as given; a folder becomes its sorted data files (a BEIR folder: corpus only).

    Raises BadInputError for a path that does not exist or a folder without data files.
    """
    files: list[Path] = []
    for path in map(Path, paths):
        if not path.exists():
            raise BadInputError(f"{path} does not exist: give a data file or a folder of them")
        files.extend(_folder_files(path) if path.is_dir() else [path])
    return list(dict.fromkeys(files))


def _folder_files(folder: Path) -> list[Path]:
    for name in ("corpus.jsonl", "corpus.jsonl.gz"):
        if (folder / name).is_file():
            return [folder / name]  # BEIR: queries.jsonl and qrels/ are not papers
    found = sorted(
        child
        for child in folder.iterdir()
        if child.is_file()
        and not child.name.startswith(".")
        and child.name.removesuffix(".gz").endswith(DATA_SUFFIXES)
    )
    if not found:
        suffixes = ", ".join(DATA_SUFFIXES)
        raise BadInputError(f"{folder} holds no data files ({suffixes}, optionally .gz)")
    return found


def detect_format(path: Path) -> str:
    """One of FORMATS, from the suffix (csv/tsv) or the keys of the first JSON object."""
    if path.name.removesuffix(".gz").endswith((".csv", ".tsv")):
        return "csv"
    keys = _first_object_keys(path)
    if keys is None:
        raise BadInputError(
            f"{path}: no JSON object in the first {SNIFF_LINES} lines; expected JSON lines "
            f"(one object per line) or a .csv/.tsv file, or name the format ({', '.join(FORMATS)})"
        )
    if "authors_parsed" in keys or "versions" in keys:
        return "arxiv"
    if "paper_id" in keys and keys & _S2ORC_KEYS:
        return "s2orc"
    if "text" in keys and "_id" in keys:
        return "beir"
    if "text" in keys and "node_id" in keys:
        return "cora"
    return "jsonl"


def _first_object_keys(path: Path) -> set[str] | None:
    with closing(open_text_lines(path)) as lines:
        for number, text, _error in lines:
            if number > SNIFF_LINES:
                break
            try:
                record = json.loads(text) if text else None
            except ValueError:
                continue
            if isinstance(record, dict):
                return set(record)
    return None


def read_papers(
    path: Path,
    fmt: str | None = None,
    *,
    mapping: dict[str, str] | None = None,
    keep_title_only: bool = False,
) -> Iterator[ReadResult]:
    """Stream Papers and Skips from one file; `fmt=None` detects the format.

    Argument errors (unknown format, a mapping for a non-generic format, an unreadable file)
    raise BadInputError here, before the first record.
    """
    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"{path} is not a file")
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise BadInputError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if fmt in ("jsonl", "csv"):
        reader = read_csv if fmt == "csv" else read_jsonl
        return reader(path, mapping=mapping, keep_title_only=keep_title_only)
    if mapping:
        raise BadInputError(f"--map applies to the jsonl and csv formats only, not to {fmt}")
    readers = {"arxiv": read_arxiv, "s2orc": read_s2orc, "beir": read_beir, "cora": read_cora}
    return readers[fmt](path, keep_title_only=keep_title_only)


def parse_mapping(pairs: Sequence[str]) -> dict[str, str]:
    """["title=paper_title", "abstract=summary"] -> {"title": "paper_title", ...}."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        field, sep, column = (part.strip() for part in pair.partition("="))
        if not sep or not field or not column:
            raise BadInputError(f"--map {pair!r}: expected FIELD=COLUMN, e.g. title=paper_title")
        if field not in MAPPABLE_FIELDS:
            raise BadInputError(
                f"--map {pair!r}: unknown field {field!r}; fields: {', '.join(MAPPABLE_FIELDS)}"
            )
        mapping[field] = column
    return mapping

"""Reader for S2ORC metadata and Semantic Scholar Graph API paper records (JSON lines)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from indexer.paper import Paper
from indexer.readers.base import ReadResult
from indexer.readers.generic import (
    as_count,
    as_date,
    as_id,
    as_names,
    as_optional_text,
    as_str_list,
    as_text,
    read_json_records,
)

_EXTRA_IDS = ("arxiv_id", "acl_id", "pmc_id", "pubmed_id", "mag_id")


def read_s2orc(path: Path, *, keep_title_only: bool = False) -> Iterator[ReadResult]:
    """Stream S2ORC / S2 Graph API records as Papers (year-only dates have precision "year")."""
    return read_json_records(path, s2orc_paper, keep_title_only)


def s2orc_paper(record: dict) -> Paper:
    """One S2ORC (paper_id, year, ...) or Graph API (paperId, publicationDate, ...) record."""
    get = record.get
    external = get("externalIds") if isinstance(get("externalIds"), dict) else {}
    if get("publicationDate"):
        published, precision = as_date(get("publicationDate"), "publicationDate")
    else:
        published, precision = as_date(get("year"), "year")
    citation_count = as_count(get("citationCount"), "citationCount")
    if citation_count is None and "inbound_citations" in record:
        citation_count = len(as_str_list(get("inbound_citations"), "inbound_citations", sep=None))
    extra = {key: get(key) for key in _EXTRA_IDS if get(key)}
    if external.get("ArXiv") and "arxiv_id" not in extra:
        extra["arxiv_id"] = external["ArXiv"]
    return Paper(
        id=as_id(get("paper_id", get("paperId")), "paper_id"),
        title=as_text(get("title"), "title"),
        abstract=as_text(get("abstract"), "abstract"),
        authors=as_names(get("authors")),
        categories=as_str_list(
            get("mag_field_of_study") or get("fieldsOfStudy"), "mag_field_of_study", sep=None
        ),
        published=published,
        date_precision=precision,
        venue=as_optional_text(get("venue") or _journal_name(get("journal")), "venue"),
        doi=as_optional_text(get("doi") or external.get("DOI"), "doi"),
        url=as_optional_text(get("s2_url") or get("url"), "s2_url"),
        citation_count=citation_count,
        references=as_str_list(get("outbound_citations"), "outbound_citations", sep=None),
        source="s2orc",
        extra=extra,
    )


def _journal_name(journal: object) -> object:
    """S2ORC gives the journal as text, the Graph API as {"name": ..., "volume": ...}."""
    return journal.get("name") if isinstance(journal, dict) else journal

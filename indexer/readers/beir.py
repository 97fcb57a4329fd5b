"""Reader for a BEIR corpus.jsonl (`_id`, `title`, `text`, optional `metadata`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from indexer.paper import Paper
from indexer.readers.base import ReadResult
from indexer.readers.generic import as_id, as_text, read_json_records


def read_beir(path: Path, *, keep_title_only: bool = False) -> Iterator[ReadResult]:
    """Stream BEIR corpus documents as Papers (abstract = text; no dates or authors)."""
    return read_json_records(path, beir_paper, keep_title_only)


def beir_paper(record: dict) -> Paper:
    """One corpus line -> Paper; a non-empty `metadata` object is kept in `extra`."""
    metadata = record.get("metadata")
    return Paper(
        id=as_id(record.get("_id"), "_id"),
        title=as_text(record.get("title"), "title"),
        abstract=as_text(record.get("text"), "text"),
        source="beir",
        extra={"metadata": metadata} if isinstance(metadata, dict) and metadata else {},
    )

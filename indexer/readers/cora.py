"""Reader for the Cora citation graph papers (`node_id`, `text` = "Title. : abstract", `label`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from indexer.paper import Paper
from indexer.readers.base import ReadResult
from indexer.readers.generic import as_id, as_text, read_json_records

# Most texts are "Title. : abstract"; the rest use '"Title," : ', "Title : ", "Title: " or a
# full-width colon, tried in that order. A title may hold colons itself ("HGA: A Hardware-Based
# Genetic Algorithm: This paper..."), so "Title: " moves on to a colon that follows within
# _SUBTITLE characters. A separator further in than _MAX_TITLE is taken to be in the abstract.
_SEPARATORS = [re.compile(p) for p in (r"\. : ", r"[,\"'\u201d]\s*:\s+", r"\s+:\s+")]
_COLON = re.compile(r"\s*[:\uff1a]\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_MAX_TITLE, _SUBTITLE = 300, 120
_TITLE_TRIM = " ,;.:\"'"


def read_cora(path: Path, *, keep_title_only: bool = False) -> Iterator[ReadResult]:
    """Stream Cora papers as Papers; the class label (0..6) is kept in `extra["label"]`."""
    return read_json_records(path, cora_paper, keep_title_only)


def cora_paper(record: dict) -> Paper:
    """One Cora line -> Paper with the title split off the front of `text`."""
    title, abstract = split_title(as_text(record.get("text"), "text"))
    label = record.get("label")
    return Paper(
        id=as_id(record.get("node_id"), "node_id"),
        title=title,
        abstract=abstract,
        source="cora",
        extra={} if label is None else {"label": label},
    )


def split_title(text: str) -> tuple[str, str]:
    """Split "Title. : abstract" into (title, abstract); without a separator the title is the
    first sentence."""
    text = text.lstrip(" :")  # a few texts have an empty title: ": abstract"
    match = next((m for p in _SEPARATORS if (m := p.search(text, 0, _MAX_TITLE))), None)
    if match is None:
        match = _COLON.search(text, 0, _MAX_TITLE)
        while match and (later := _COLON.search(text, match.end(), match.end() + _SUBTITLE)):
            match = later
    if match is None:
        match = _SENTENCE_END.search(text, 0, _MAX_TITLE)
    if match is None:
        return text.strip(_TITLE_TRIM), ""
    return text[: match.start()].strip(_TITLE_TRIM), text[match.end() :].strip()

"""What every reader yields: a Paper or a Skip (line number and reason), never an exception."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from indexer.paper import Paper


@dataclass(frozen=True)
class Skip:
    """A record that could not be used: where it was and why."""

    path: str
    line: int
    reason: str


ReadResult = Paper | Skip


def open_text_lines(path: Path) -> Iterator[tuple[int, str | None, str | None]]:
    """Yield (line_number, text, error) for each line; `.gz` is decompressed while streaming.

    Non-UTF-8 bytes make that one line an error instead of failing the whole file.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                yield number, raw.decode("utf-8"), None
            except UnicodeDecodeError as exc:
                yield number, None, f"not UTF-8 ({exc.reason} at byte {exc.start})"

"""The request limits the library enforces, given by the entry point (api.settings.Settings),
and the one check of each: every caller (API, pages, CLI) gets the same message and type."""

from __future__ import annotations

from dataclasses import dataclass

from models.errors import InvalidQueryError


@dataclass(frozen=True)
class Limits:
    """Largest k, offset, query length and recommendation inputs one call may ask for."""

    max_k: int = 100
    max_offset: int = 1000
    max_query_chars: int = 20_000
    max_positives: int = 50

    def check_k(self, k: int, name: str = "k") -> int:
        """1 <= k <= max_k."""
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= self.max_k:
            raise InvalidQueryError(
                f"{name}={k!r} is out of range: give a whole number from 1 to {self.max_k}"
            )
        return k

    def check_offset(self, offset: int) -> int:
        """0 <= offset <= max_offset."""
        if isinstance(offset, bool) or not isinstance(offset, int) or not offset >= 0:
            raise InvalidQueryError(f"offset={offset!r} is out of range: give 0 or more")
        if offset > self.max_offset:
            raise InvalidQueryError(
                f"offset={offset} is out of range: the maximum is {self.max_offset}; narrow the "
                "query with filters instead of paging further"
            )
        return offset

    def check_text(self, text: str, name: str = "the query", *, required: bool = True) -> str:
        """A text of at most max_query_chars characters, not blank when `required`."""
        if not isinstance(text, str) or (required and not text.strip()):
            raise InvalidQueryError(f"{name} is empty: give keywords, a question or an abstract")
        if len(text) > self.max_query_chars:
            raise InvalidQueryError(
                f"{name} has {len(text)} characters, more than the maximum of "
                f"{self.max_query_chars}"
            )
        return text

    def check_inputs(self, positive: list, negative: list) -> None:
        """At most max_positives liked papers, and as many disliked ones."""
        for name, ids in (("liked (positive)", positive), ("disliked (negative)", negative)):
            if len(ids) > self.max_positives:
                raise InvalidQueryError(
                    f"{len(ids)} {name} papers exceed the maximum of {self.max_positives}"
                )

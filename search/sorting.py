"""Result orders other than relevance: newest, oldest, most cited; ties keep relevance order."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from indexer.store import Store
from models.errors import InvalidQueryError

T = TypeVar("T")
SORTS = ("relevance", "newest", "oldest", "citations")


def check_sort(sort: str) -> str:
    if sort not in SORTS:
        raise InvalidQueryError(f"unknown sort {sort!r}: choose one of {', '.join(SORTS)}")
    return sort


def sort_items(store: Store, items: list[T], vid: Callable[[T], int], sort: str) -> list[T]:
    """`items` (in relevance order) reordered by `sort`. Python's sort is stable, also in
    reverse, so equal keys keep their relevance order; papers without a date or a citation count
    come last."""
    if sort == "relevance" or not items:
        return items
    keys = {v: (published, cited) for v, published, cited in store.sort_keys(vid(i) for i in items)}
    known = [item for item in items if vid(item) in keys]

    def published(item: T) -> tuple[bool, str]:
        day = keys[vid(item)][0]
        return (day is not None, day or "")

    def cited(item: T) -> tuple[bool, int]:
        count = keys[vid(item)][1]
        return (count is not None, count or 0)

    if sort == "citations":
        return sorted(known, key=cited, reverse=True)
    if sort == "newest":
        return sorted(known, key=published, reverse=True)
    # Oldest first, undated last.
    return sorted(known, key=lambda item: (not published(item)[0], published(item)[1]))

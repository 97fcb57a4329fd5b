"""Facet counts over a result set: years, categories, venues and top authors, each with the
filter that selects it, counted the way that filter matches so a link gives its count."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from indexer.store import Store
from models.errors import InvalidQueryError

FACETS = ("year", "category", "venue", "author")
FACET_VALUES = 10  # values shown per facet, the most frequent


@dataclass(frozen=True)
class FacetValue:
    """One value of a facet: how many results have it, and the filter that selects them."""

    value: str
    count: int
    filter: dict[str, str | int]


def parse_facets(names: str | Iterable[str] | None) -> tuple[str, ...]:
    """Facet names from "year,category" or a list; raises InvalidQueryError on an unknown one."""
    if not names:
        return ()
    items = names.split(",") if isinstance(names, str) else list(names)
    out = []
    for name in (item.strip().lower() for item in items):
        if not name:
            continue
        if name not in FACETS:
            raise InvalidQueryError(f"unknown facet {name!r}: choose from {', '.join(FACETS)}")
        if name not in out:
            out.append(name)
    return tuple(out)


def facet_counts(
    store: Store, vids: list[int], names: tuple[str, ...], limit: int = FACET_VALUES
) -> dict[str, list[FacetValue]]:
    """The `limit` most frequent values of each facet among `vids`."""
    return {name: _COUNTERS[name](store, vids, limit) for name in names}


def _years(store: Store, vids: list[int], limit: int) -> list[FacetValue]:
    counts = Counter(year for _, year in store.facet_rows(vids, "year"))
    top = sorted(counts.most_common(limit), key=lambda item: -item[0])
    return [FacetValue(str(y), n, {"year_from": y, "year_to": y}) for y, n in top]


def _categories(store: Store, vids: list[int], limit: int) -> list[FacetValue]:
    # The category filter is a case-insensitive prefix at dot boundaries, so a value counts the
    # papers with it or any of its sub-categories: exactly what its link returns.
    held: dict[int, set[str]] = defaultdict(set)
    spelled: dict[str, Counter] = defaultdict(Counter)
    for vid, category in store.facet_rows(vids, "category"):
        held[vid].add(category.casefold())
        spelled[category.casefold()][category] += 1
    counts = Counter(c for cats in held.values() for c in cats)
    out = []
    for key, _ in counts.most_common(limit):
        n = sum(
            1 for cats in held.values() if any(c == key or c.startswith(key + ".") for c in cats)
        )
        name = spelled[key].most_common(1)[0][0]
        out.append(FacetValue(name, n, {"category": name}))
    return sorted(out, key=lambda f: (-f.count, f.value))


def _venues(store: Store, vids: list[int], limit: int) -> list[FacetValue]:
    # The venue filter is a case-insensitive substring: "ICML" also selects "ICML Workshop".
    venues = [venue for _, venue in store.facet_rows(vids, "venue") if venue]
    out = []
    for venue, _ in Counter(venues).most_common(limit):
        key = venue.lower()
        n = sum(1 for v in venues if key in v.lower())
        out.append(FacetValue(venue, n, {"venue": venue}))
    return sorted(out, key=lambda f: (-f.count, f.value))


def _authors(store: Store, vids: list[int], limit: int) -> list[FacetValue]:
    papers: dict[str, set[int]] = defaultdict(set)
    spelled: dict[str, Counter] = defaultdict(Counter)
    for vid, name, key in store.facet_rows(vids, "author"):
        papers[key].add(vid)
        spelled[key][name] += 1
    top = sorted(papers.items(), key=lambda item: (-len(item[1]), item[0]))[:limit]
    out = []
    for key, held in top:
        name = spelled[key].most_common(1)[0][0]
        out.append(FacetValue(name, len(held), {"author": name}))
    return out


_COUNTERS = {"year": _years, "category": _categories, "venue": _venues, "author": _authors}

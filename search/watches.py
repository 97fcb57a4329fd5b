"""Saved searches ("watches"): the papers that match one, and those new since its last run.

A paper matches a query when its title or abstract holds every query term, as keyword search
tokenises them (stemmed, stopwords dropped: "graph neural networks" matches a paper that says
"neural network on graphs"), and it passes the saved filters. An all-terms rule, like the
keyword alerts of arXiv and Google Scholar, because an alert must say yes or no: a ranking has
no cut-off, and every paper has some cosine to any query. It is read from the keyword index's
postings, so its cost follows the terms' document frequencies, not the corpus size.

"New since the last run" uses vids, which only grow: a run reports the matching papers with a
vid above the watch's mark and moves the mark to the largest vid handed out when it started.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np

from indexer.filters import Filters
from indexer.keyword_index import tokenize
from indexer.paper import Paper
from indexer.store import Store
from models.errors import BadInputError, InvalidQueryError, NotFoundError

# Names go into URLs (/feeds/NAME.atom) and shell commands as they are.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
MAX_QUERY_CHARS = 1000
FEED_SIZE = 50


@dataclass(frozen=True)
class Watch:
    """A saved search. `seen_vid`: papers up to this vid were there at the last run (or when it
    was added); created and last_run are UTC ISO timestamps."""

    name: str
    query: str
    filters: Filters
    created: str
    last_run: str | None
    seen_vid: int


def check_query(query: str) -> str:
    """The query stripped; InvalidQueryError when it is empty, too long or only stopwords."""
    query = (query or "").strip()
    if not query:
        raise InvalidQueryError("the query is empty: give the words a new paper must contain")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidQueryError(
            f"the query has {len(query)} characters; a saved search takes at most {MAX_QUERY_CHARS}"
        )
    if not tokenize(query):
        raise InvalidQueryError(f"{query!r} has no searchable words (only stopwords)")
    return query


def add_watch(store: Store, name: str, query: str, filters: Filters | None = None) -> Watch:
    """Save a search; its first run reports the papers added after this moment."""
    if not NAME.match(name or ""):
        raise InvalidQueryError(
            f"watch name {name!r}: use 1-64 letters, digits, '-' or '_', starting with a letter "
            "or digit (it becomes /feeds/NAME.atom)"
        )
    query = check_query(query)
    filters = (filters or Filters()).validate()
    created = _now()
    if not store.save_watch(name, query, json.dumps(filters.to_dict()), created, store.max_vid()):
        raise BadInputError(f"a watch named {name!r} exists; remove it first or pick another name")
    return get_watch(store, name)


def list_watches(store: Store) -> list[Watch]:
    """Every saved search, by name."""
    return [_watch(row) for row in store.watch_rows()]


def get_watch(store: Store, name: str) -> Watch:
    rows = store.watch_rows(name)
    if not rows:
        raise NotFoundError(f"no watch named {name!r}; `paperscope watch list` shows them")
    return _watch(rows[0])


def remove_watch(store: Store, name: str) -> None:
    if not store.delete_watch(name):
        raise NotFoundError(f"no watch named {name!r}; `paperscope watch list` shows them")


def run_watch(store: Store, name: str) -> tuple[Watch, list[Paper]]:
    """(the watch as it was before this run, the matching papers added since), newest first;
    the mark moves on, so the next run reports only papers added after this one."""
    watch = get_watch(store, name)
    through = store.max_vid()  # read first: a paper added during the run waits for the next
    papers = newest_matches(store, watch.query, watch.filters, after=watch.seen_vid, upto=through)
    store.mark_watch(name, through, _now())
    return watch, papers


def matching_vids(
    store: Store, query: str, filters: Filters | None, *, after: int = 0, upto: int | None = None
) -> np.ndarray:
    """Sorted vids of the papers that match `query` and `filters`, with after < vid <= upto."""
    vids = store.view().keywords.containing_all(check_query(query))
    allowed = store.select_vids(filters if filters and not filters.is_empty() else None)
    if allowed is not None:
        vids = np.intersect1d(vids, allowed)
    keep = vids > after
    if upto is not None:
        keep &= vids <= upto
    return vids[keep]


def newest_matches(
    store: Store,
    query: str,
    filters: Filters | None = None,
    *,
    limit: int | None = None,
    after: int = 0,
    upto: int | None = None,
) -> list[Paper]:
    """The matching papers newest first (publication date, then the later added); undated
    papers last."""
    vids = matching_vids(store, query, filters, after=after, upto=upto)
    dated = sorted(
        store.vid_dates(vids.tolist()), key=lambda row: (row[1] or "", row[0]), reverse=True
    )
    return store.papers_by_vids([vid for vid, _ in dated[:limit]])


def feed_date(paper: Paper) -> date | None:
    """The date a feed entry was last updated: the paper's update, else its publication."""
    return paper.updated or paper.published


def _watch(row: tuple) -> Watch:
    name, query, filters, created, last_run, seen_vid = row
    return Watch(name, query, Filters.from_dict(json.loads(filters)), created, last_run, seen_vid)


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat()

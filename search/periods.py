"""Publication dates as intervals, so "earlier" and "later" are exact whatever a date's precision.

A paper dated to the day is the interval [d, d]; one dated to a month covers that month; one
dated to a year (S2ORC) covers the whole year. Paper A is *certainly before* paper B when A's
interval ends before B's starts. Undated papers are never before or after anything. Records
merged into one work (a preprint and its journal version) share the work's interval.
"""

from __future__ import annotations

import calendar
from datetime import date

import numpy as np

from indexer.paper import Paper
from indexer.store import Store


def bounds(published: date | None, precision: str | None) -> tuple[date, date] | None:
    """(first day, last day) the date may stand for; None for an undated paper."""
    if published is None:
        return None
    if precision == "year":
        return date(published.year, 1, 1), date(published.year, 12, 31)
    if precision == "month":
        last = calendar.monthrange(published.year, published.month)[1]
        return published.replace(day=1), published.replace(day=last)
    return published, published


def paper_bounds(paper: Paper) -> tuple[date, date] | None:
    return bounds(paper.published, paper.date_precision)


def work_bounds(store: Store, vid: int, paper: Paper) -> tuple[date, date] | None:
    """The interval of the paper's work: its own, unless it is merged with other records of one
    work (see Store.work_span), whose earliest date then counts."""
    span = store.work_span(vid)
    if span is None:
        return paper_bounds(paper)
    return date.fromisoformat(span[0]), date.fromisoformat(span[1])


def vids_before(store: Store, start: date) -> np.ndarray:
    """Sorted vids of papers whose whole date interval lies strictly before `start`."""
    return np.array(store.vids_dated_before(start), dtype=np.int64)


def vids_after(store: Store, end: date) -> np.ndarray:
    """Sorted vids of papers whose whole date interval lies strictly after `end`."""
    return np.array(store.vids_dated_after(end), dtype=np.int64)


def all_bounds(store: Store) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(vids, start ordinals, end ordinals, years) of every dated paper, in vid order."""
    rows = store.date_bounds()
    vids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    starts = np.fromiter((_ordinal(r[1]) for r in rows), dtype=np.int64, count=len(rows))
    ends = np.fromiter((_ordinal(r[2]) for r in rows), dtype=np.int64, count=len(rows))
    years = np.fromiter((r[3] for r in rows), dtype=np.int64, count=len(rows))
    return vids, starts, ends, years


def _ordinal(iso: str) -> int:
    return date.fromisoformat(iso).toordinal()

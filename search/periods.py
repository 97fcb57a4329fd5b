"""Publication dates as intervals, so "earlier" and "later" are exact whatever a date's precision.

A paper dated to the day is the interval [d, d]; one dated to a month covers that month; one
dated to a year (S2ORC) covers the whole year. Paper A is *certainly before* paper B when A's
interval ends before B's starts. Undated papers are never before or after anything.
"""

from __future__ import annotations

import calendar
from datetime import date

import numpy as np

from indexer.paper import Paper
from indexer.store import Store

# SQL over `papers p`: the first and last day a paper's date may stand for (ISO text).
START_SQL = (
    "CASE p.date_precision WHEN 'year' THEN printf('%04d-01-01', p.year) "
    "WHEN 'month' THEN date(p.published, 'start of month') ELSE p.published END"
)
END_SQL = (
    "CASE p.date_precision WHEN 'year' THEN printf('%04d-12-31', p.year) "
    "WHEN 'month' THEN date(p.published, 'start of month', '+1 month', '-1 day') "
    "ELSE p.published END"
)


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


def vids_before(store: Store, start: date) -> np.ndarray:
    """Sorted vids of papers whose whole date interval lies strictly before `start`."""
    rows = store.execute(
        f"SELECT vid FROM papers p WHERE p.published IS NOT NULL AND ({END_SQL}) < ? ORDER BY vid",
        (start.isoformat(),),
    )
    return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))


def vids_after(store: Store, end: date) -> np.ndarray:
    """Sorted vids of papers whose whole date interval lies strictly after `end`."""
    rows = store.execute(
        f"SELECT vid FROM papers p WHERE p.published IS NOT NULL AND ({START_SQL}) > ? "
        "ORDER BY vid",
        (end.isoformat(),),
    )
    return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))


def all_bounds(store: Store) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(vids, start ordinals, end ordinals, years) of every dated paper, in vid order."""
    rows = store.execute(
        f"SELECT vid, {START_SQL}, {END_SQL}, p.year FROM papers p "
        "WHERE p.published IS NOT NULL ORDER BY vid"
    )
    vids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    starts = np.fromiter((_ordinal(r[1]) for r in rows), dtype=np.int64, count=len(rows))
    ends = np.fromiter((_ordinal(r[2]) for r in rows), dtype=np.int64, count=len(rows))
    years = np.fromiter((r[3] for r in rows), dtype=np.int64, count=len(rows))
    return vids, starts, ends, years


def _ordinal(iso: str) -> int:
    return date.fromisoformat(iso).toordinal()

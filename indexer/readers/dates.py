"""Parse the date shapes found in paper metadata into (date, precision)."""

from __future__ import annotations

import re
from datetime import date, datetime
from email.utils import parsedate_to_datetime

MIN_YEAR, MAX_YEAR = 1000, 2100
_YEAR = re.compile(r"\d{4}")
_YEAR_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_EXPECTED = "expected YYYY, YYYY-MM, YYYY-MM-DD, an ISO datetime or an RFC 2822 date"


def parse_date(value: object) -> tuple[date, str]:
    """Return (calendar date, precision) where precision is "day", "month" or "year".

    A year-only value (text or int) becomes Jan 1st of that year, "YYYY-MM" the 1st of that
    month. Raises ValueError naming the value on anything else, including years outside
    1000..2100, month 13 or words like "yesterday".
    """
    parsed = _parse(value)
    if parsed is None:
        raise ValueError(f"bad date {value!r}: {_EXPECTED}")
    if not MIN_YEAR <= parsed[0].year <= MAX_YEAR:
        raise ValueError(f"bad date {value!r}: the year must be within {MIN_YEAR}..{MAX_YEAR}")
    return parsed


def _parse(value: object) -> tuple[date, str] | None:
    if isinstance(value, datetime):
        return value.date(), "day"
    if isinstance(value, date):
        return value, "day"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    try:
        if isinstance(value, int):
            return date(value, 1, 1), "year"
        text = value.strip()
        if _YEAR.fullmatch(text):
            return date(int(text), 1, 1), "year"
        match = _YEAR_MONTH.fullmatch(text)
        if match:
            return date(int(match[1]), int(match[2]), 1), "month"
        if text[:4].isdigit():
            return datetime.fromisoformat(text).date(), "day"
        # RFC 2822, as in arXiv version stamps: "Mon, 2 Apr 2007 19:18:42 GMT".
        return parsedate_to_datetime(text).date(), "day"
    except (TypeError, ValueError, IndexError, OverflowError):
        return None

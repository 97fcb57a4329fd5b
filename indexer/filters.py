"""Search filters (years, dates, category prefix, author, venue) as exact SQL over the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from indexer.paper import normalize_name
from models.errors import InvalidQueryError


@dataclass(frozen=True)
class Filters:
    """All optional; a paper passes when it meets every filter that is set.

    category is a case-insensitive prefix at dot boundaries ("cs" matches cs.LG);
    author matches a full name case-, accent- and punctuation-insensitively (one word: a surname,
    or a one-word name); venue is a
    case-insensitive substring. Papers without a date fail any date or year filter.
    """

    year_from: int | None = None
    year_to: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    category: str | None = None
    author: str | None = None
    venue: str | None = None

    def to_dict(self) -> dict:
        """The filters that are set, JSON-ready (dates as ISO text)."""
        return {
            name: (value.isoformat() if isinstance(value, date) else value)
            for name, value in vars(self).items()
            if value not in (None, "")
        }

    @classmethod
    def from_dict(cls, data: dict) -> Filters:
        """The inverse of to_dict."""
        values = dict(data)
        for name in ("date_from", "date_to"):
            if values.get(name):
                values[name] = date.fromisoformat(values[name])
        return cls(**values)

    def is_empty(self) -> bool:
        return all(getattr(self, name) in (None, "") for name in self.__dataclass_fields__)

    def validate(self) -> Filters:
        if (
            self.year_from is not None
            and self.year_to is not None
            and self.year_from > self.year_to
        ):
            raise InvalidQueryError(f"year_from={self.year_from} is after year_to={self.year_to}")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise InvalidQueryError(f"date_from={self.date_from} is after date_to={self.date_to}")
        return self

    def queries(self) -> list[tuple[str, list]]:
        """One `SELECT vid` per filter that is set, each answered from an index (never a scan of
        the papers table, whose rows hold the abstracts); a paper passes when every query
        returns it."""
        out: list[tuple[str, list]] = []
        if self.year_from is not None or self.year_to is not None:
            lo = -(10**6) if self.year_from is None else self.year_from
            hi = 10**6 if self.year_to is None else self.year_to
            out.append(("SELECT vid FROM papers WHERE year BETWEEN ? AND ?", [lo, hi]))
        if self.date_from is not None or self.date_to is not None:
            lo = "0000" if self.date_from is None else self.date_from.isoformat()
            hi = "9999" if self.date_to is None else self.date_to.isoformat()
            out.append(("SELECT vid FROM papers WHERE published BETWEEN ? AND ?", [lo, hi]))
        if self.category:
            # The category itself, or any "<category>." child: the range ["cs.", "cs/").
            out.append(
                (
                    "SELECT vid FROM categories WHERE category = ?1 COLLATE NOCASE OR "
                    "(category >= ?2 COLLATE NOCASE AND category < ?3 COLLATE NOCASE)",
                    [self.category, self.category + ".", self.category + "/"],
                )
            )
        if self.author:
            key = normalize_name(self.author)
            if " " in key:
                out.append(("SELECT vid FROM authors WHERE name_key = ?", [key]))
            else:  # a surname alone: the name itself, or any name that ends with it
                sql = "SELECT vid FROM authors WHERE name_key = ?1 OR name_key LIKE ?2 ESCAPE '\\'"
                out.append((sql, [key, "% " + _like_escape(key)]))
        if self.venue:
            out.append(
                (
                    "SELECT vid FROM papers INDEXED BY papers_venue WHERE venue LIKE ? ESCAPE '\\'",
                    ["%" + _like_escape(self.venue) + "%"],
                )
            )
        return out


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

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
    author matches a full name case-, accent- and punctuation-insensitively; venue is a
    case-insensitive substring. Papers without a date fail any date or year filter.
    """

    year_from: int | None = None
    year_to: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    category: str | None = None
    author: str | None = None
    venue: str | None = None

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

    def to_sql(self) -> tuple[str, list]:
        """A WHERE clause over `papers p` and its parameters ("1" when no filter is set)."""
        clauses: list[str] = []
        params: list = []
        if self.year_from is not None:
            clauses.append("p.year >= ?")
            params.append(self.year_from)
        if self.year_to is not None:
            clauses.append("p.year <= ?")
            params.append(self.year_to)
        if self.date_from is not None:
            clauses.append("p.published >= ?")
            params.append(self.date_from.isoformat())
        if self.date_to is not None:
            clauses.append("p.published <= ?")
            params.append(self.date_to.isoformat())
        if self.category:
            clauses.append(
                "EXISTS (SELECT 1 FROM categories c WHERE c.vid = p.vid AND "
                "(c.category = ? COLLATE NOCASE OR c.category LIKE ? ESCAPE '\\'))"
            )
            params += [self.category, _like_escape(self.category) + ".%"]
        if self.author:
            clauses.append(
                "EXISTS (SELECT 1 FROM authors a WHERE a.vid = p.vid AND a.name_key = ?)"
            )
            params.append(normalize_name(self.author))
        if self.venue:
            clauses.append("p.venue LIKE ? ESCAPE '\\'")
            params.append("%" + _like_escape(self.venue) + "%")
        return (" AND ".join(clauses) or "1"), params


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

"""What every route module shares: the engine and settings loaded at start-up, and the limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request

from api.settings import Settings
from indexer.filters import Filters
from models.errors import InvalidQueryError
from search.engine import Engine


def get_engine(request: Request) -> Engine:
    """The Engine opened once by the app's lifespan."""
    return request.app.state.engine


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
PaperId = Annotated[
    str,
    Path(
        description='paper id as stored; may contain "/" (old arXiv ids such as math/0703001)',
        examples=["0704.0001"],
    ),
]


def check_k(k: int, settings: Settings, name: str = "k") -> int:
    """1 <= k <= max_k; both bounds here, so that either mistake gets the one invalid_query."""
    if k < 1:
        raise InvalidQueryError(f"{name}={k} is below the minimum of 1")
    if k > settings.max_k:
        raise InvalidQueryError(f"{name}={k} exceeds the maximum of {settings.max_k}")
    return k


def check_offset(offset: int, settings: Settings) -> int:
    if offset < 0:
        raise InvalidQueryError(f"offset={offset} is below the minimum of 0")
    if offset > settings.max_offset:
        raise InvalidQueryError(
            f"offset={offset} exceeds the maximum of {settings.max_offset}; narrow the query "
            "with filters instead of paging further"
        )
    return offset


def check_text(text: str, settings: Settings, name: str = "q") -> str:
    """A non-blank text of at most max_query_chars characters."""
    if not text.strip():
        raise InvalidQueryError(f"{name} is empty: give keywords, a question or an abstract")
    if len(text) > settings.max_query_chars:
        raise InvalidQueryError(
            f"{name} has {len(text)} characters; the maximum is {settings.max_query_chars}"
        )
    return text


def filter_params(
    year_from: Annotated[
        int | None, Query(ge=1, le=9999, description="first year, inclusive", examples=[2007])
    ] = None,
    year_to: Annotated[
        int | None, Query(ge=1, le=9999, description="last year, inclusive", examples=[2024])
    ] = None,
    category: Annotated[
        str | None,
        Query(max_length=100, description='category prefix: "cs" matches cs.LG', examples=["cs"]),
    ] = None,
    author: Annotated[
        str | None,
        Query(max_length=300, description="full author name, any case or accents"),
    ] = None,
    venue: Annotated[
        str | None, Query(max_length=300, description="venue substring, any case")
    ] = None,
) -> Filters | None:
    """Dependency: the filter query parameters as Filters; None when none is set."""
    filters = Filters(
        year_from=year_from, year_to=year_to, category=category, author=author, venue=venue
    )
    return None if filters.is_empty() else filters.validate()


FiltersDep = Annotated[Filters | None, Depends(filter_params)]

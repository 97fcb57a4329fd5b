"""What every route module shares: the engine and settings loaded at start-up, and the limits."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query, Request

from api.settings import Settings
from indexer.filters import Filters
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

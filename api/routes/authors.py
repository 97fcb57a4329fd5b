"""GET /authors?q= (find authors by name prefix) and GET /authors/{name} (a profile)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from api.export import ExportFormat, export_response, export_responses
from api.routes import EngineDep
from api.schemas import AuthorListOut, AuthorProfileOut, dump, error_responses
from search.authors import author_profile, find_authors

router = APIRouter(tags=["authors"])


@router.get(
    "/authors",
    response_model=AuthorListOut,
    responses=error_responses(422),
    summary="Find authors by name prefix",
)
def authors(
    engine: EngineDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=300,
            description="start of a name or of any word of it, any case or accents",
            examples=["kel"],
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=1000, description="most authors to return")] = 20,
) -> dict:
    """Matching authors, most papers first, each under their most common spelling."""
    found = find_authors(engine, q, limit=limit)
    return dump(AuthorListOut, query=q, authors=found)


@router.get(
    "/authors/{name:path}",
    response_model=AuthorProfileOut,
    responses=error_responses(404, 422) | export_responses(),
    summary="An author's profile",
)
def profile(
    name: Annotated[
        str, Path(description="full name, any case or accents", examples=["Kelsey Allen"])
    ],
    engine: EngineDep,
    fmt: ExportFormat = "json",
) -> dict | Response:
    """Papers, citations, h-index, novelty % and AI score of the author with this name; with
    format=bibtex|ris|csv (or Accept), the author's papers as a file."""
    profile = author_profile(engine, name)
    return export_response(fmt, profile.papers, dump(AuthorProfileOut, profile), profile.name)

"""GET /search: keyword, semantic or hybrid search with filters and paging."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from api.export import ExportFormat, export_response, export_responses
from api.routes import EngineDep, FiltersDep
from api.schemas import SearchPageOut, dump, error_responses
from search.facets import FACETS
from search.retrieval import MODES, search
from search.sorting import SORTS

router = APIRouter(tags=["search"])


@router.get(
    "/search",
    response_model=SearchPageOut,
    responses=error_responses(422) | export_responses(),
    summary="Search papers",
)
def search_papers(
    engine: EngineDep,
    filters: FiltersDep,
    q: Annotated[
        str,
        Query(
            description="keywords, a question or a pasted abstract (at most max_query_chars)",
            examples=["contrastive learning for dense retrieval"],
        ),
    ],
    mode: Annotated[
        Literal[MODES],  # type: ignore[valid-type]
        Query(description="keyword (BM25), semantic (embeddings) or hybrid (both, fused)"),
    ] = "hybrid",
    # No bounds here: search() checks both ranges, so every out-of-range value gets one type.
    k: Annotated[int, Query(description="results per page, 1 to max_k")] = 10,
    offset: Annotated[int, Query(description="results to skip, 0 to max_offset")] = 0,
    sort: Annotated[
        Literal[SORTS],  # type: ignore[valid-type]
        Query(description="relevance, newest, oldest or citations (ties keep relevance order)"),
    ] = "relevance",
    facets: Annotated[
        str | None,
        Query(description=f"comma-separated facets to count: {', '.join(FACETS)}"),
    ] = None,
    fmt: ExportFormat = "json",
) -> dict | Response:
    """One page of results, best first, with the total and facet counts; `filters` and
    `constraints` echo what was applied. The query takes "phrases", -word, NOT, OR, title:,
    abstract:, author:, venue:, category:, year:2019..2023 and prefix*. With
    format=bibtex|ris|csv (or Accept), the page's papers as a file instead."""
    # search() validates k, offset and q against the server's limits (engine.limits).
    page = search(
        engine,
        q,
        k=k,
        mode=mode,
        filters=filters,
        offset=offset,
        sort=sort,
        facets=facets,
    )
    return export_response(fmt, page.hits, dump(SearchPageOut, page), f"search-{q[:40]}")

"""Related papers, recommendations and novelty (of a stored paper or of a draft)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from api.export import ExportFormat, export_response, export_responses
from api.routes import (
    EngineDep,
    FiltersDep,
    PaperId,
    filter_params,
)
from api.schemas import (
    NoveltyOut,
    NoveltyRequest,
    RecommendationListOut,
    RecommendationRequest,
    RelatedListOut,
    dump,
    error_responses,
)
from search.novelty import novelty_of_draft, novelty_of_paper
from search.recommend import recommend
from search.related import DIRECTIONS, SIGNALS, related

router = APIRouter(tags=["discovery"])

# No bounds here: the library checks 1 <= k <= max_k, so k=0 and k=max_k+1 get one error type.
K = Annotated[int, Query(description="how many results, 1 to max_k")]


@router.get(
    "/papers/{paper_id:path}/related",
    response_model=RelatedListOut,
    responses=error_responses(404, 422) | export_responses(),
    summary="Papers related to a paper",
)
def related_papers(
    paper_id: PaperId,
    engine: EngineDep,
    filters: FiltersDep,
    k: K = 10,
    direction: Annotated[
        Literal[DIRECTIONS] | None,  # type: ignore[valid-type]
        Query(description="only papers certainly published earlier / later than this one"),
    ] = None,
    signals: Annotated[
        Literal[SIGNALS],  # type: ignore[valid-type]
        Query(description="auto: text, plus citation overlap when the paper has citations"),
    ] = "auto",
    fmt: ExportFormat = "json",
) -> dict | Response:
    """The papers most related to this one, best first; never the paper or its duplicates.
    With format=bibtex|ris|csv (or Accept), the list as a file."""
    hits = related(
        engine,
        paper_id,
        k=k,
        filters=filters,
        direction=direction,
        signals=signals,
    )
    data = dump(RelatedListOut, paper_id=paper_id, hits=hits)
    return export_response(fmt, hits, data, f"related-{paper_id}")


@router.get(
    "/papers/{paper_id:path}/novelty",
    response_model=NoveltyOut,
    responses=error_responses(404, 422),
    summary="Novelty of a paper against earlier work",
)
def paper_novelty(
    paper_id: PaperId,
    engine: EngineDep,
    k: Annotated[
        int, Query(description="nearest earlier papers of the plain distance and the evidence")
    ] = 10,
) -> dict:
    """How far the paper is from the papers published before it, with the closest ones."""
    return dump(NoveltyOut, novelty_of_paper(engine, paper_id, k=k))


@router.post(
    "/recommendations",
    response_model=RecommendationListOut,
    responses=error_responses(400, 404, 413, 422) | export_responses(),
    summary="Recommendations from liked and disliked papers",
)
def recommendations(
    body: RecommendationRequest,
    engine: EngineDep,
    fmt: ExportFormat = "json",
) -> dict | Response:
    """The papers a classifier trained on this request's likes and dislikes scores highest.
    With format=bibtex|ris|csv (or Accept), the list as a file."""
    filters = filter_params(body.year_from, body.year_to, body.category)
    hits = recommend(engine, body.positive_ids, body.negative_ids, k=body.k, filters=filters)
    return export_response(fmt, hits, dump(RecommendationListOut, hits=hits), "recommendations")


@router.get(
    "/recommendations",
    response_model=RecommendationListOut,
    responses=error_responses(404, 422) | export_responses(),
    summary="Recommendations from liked and disliked papers, as a link",
)
def recommendations_link(
    engine: EngineDep,
    filters: FiltersDep,
    positive: Annotated[
        list[str],
        Query(min_length=1, description="ids of liked papers (repeat the parameter)"),
    ],
    negative: Annotated[
        list[str], Query(description="ids of disliked papers (repeat the parameter)")
    ] = [],  # noqa: B006 -- FastAPI copies defaults per request
    k: K = 10,
    fmt: ExportFormat = "json",
) -> dict | Response:
    """The same as POST /recommendations with the inputs in the URL, so that a page can link to
    a list and its BibTeX, RIS or CSV export."""
    hits = recommend(engine, positive, negative, k=k, filters=filters)
    return export_response(fmt, hits, dump(RecommendationListOut, hits=hits), "recommendations")


@router.post(
    "/novelty",
    response_model=NoveltyOut,
    responses=error_responses(400, 413, 422),
    summary="Novelty of a draft",
)
def draft_novelty(body: NoveltyRequest, engine: EngineDep) -> dict:
    """Score an unpublished title and abstract as if published on `date` (default: today)."""
    novelty = novelty_of_draft(engine, body.title, body.abstract, body.date, k=body.k)
    return dump(NoveltyOut, novelty)

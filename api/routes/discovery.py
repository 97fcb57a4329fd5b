"""Related papers, recommendations and novelty (of a stored paper or of a draft)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from api.routes import (
    EngineDep,
    FiltersDep,
    PaperId,
    SettingsDep,
    check_k,
    check_text,
    filter_params,
)
from api.schemas import (
    NoveltyOut,
    NoveltyRequest,
    RecommendationListOut,
    RecommendationRequest,
    RelatedListOut,
    error_responses,
)
from models.errors import InvalidQueryError
from search.novelty import novelty_of_draft, novelty_of_paper
from search.recommend import recommend
from search.related import DIRECTIONS, SIGNALS, related

router = APIRouter(tags=["discovery"])

K = Annotated[int, Query(ge=1, description="how many results (at most max_k)")]


@router.get(
    "/papers/{paper_id:path}/related",
    response_model=RelatedListOut,
    responses=error_responses(404, 422),
    summary="Papers related to a paper",
)
def related_papers(
    paper_id: PaperId,
    engine: EngineDep,
    settings: SettingsDep,
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
) -> dict:
    """The papers most related to this one, best first; never the paper or its duplicates."""
    hits = related(
        engine,
        paper_id,
        k=check_k(k, settings),
        filters=filters,
        direction=direction,
        signals=signals,
    )
    return {"paper_id": paper_id, "hits": [hit.to_dict() for hit in hits]}


@router.get(
    "/papers/{paper_id:path}/novelty",
    response_model=NoveltyOut,
    responses=error_responses(404, 422),
    summary="Novelty of a paper against earlier work",
)
def paper_novelty(paper_id: PaperId, engine: EngineDep, settings: SettingsDep, k: K = 10) -> dict:
    """How far the paper is from the papers published before it, with the closest ones."""
    return novelty_of_paper(engine, paper_id, k=check_k(k, settings)).to_dict()


@router.post(
    "/recommendations",
    response_model=RecommendationListOut,
    responses=error_responses(400, 404, 413, 422),
    summary="Recommendations from liked and disliked papers",
)
def recommendations(body: RecommendationRequest, engine: EngineDep, settings: SettingsDep) -> dict:
    """The papers a classifier trained on this request's likes and dislikes scores highest."""
    for name in ("positive_ids", "negative_ids"):
        ids = getattr(body, name)
        if len(ids) > settings.max_positives:
            raise InvalidQueryError(
                f"{len(ids)} {name} exceed the maximum of {settings.max_positives}"
            )
    filters = filter_params(body.year_from, body.year_to, body.category)
    hits = recommend(
        engine,
        body.positive_ids,
        body.negative_ids,
        k=check_k(body.k, settings),
        filters=filters,
    )
    return {"hits": [hit.to_dict() for hit in hits]}


@router.post(
    "/novelty",
    response_model=NoveltyOut,
    responses=error_responses(400, 413, 422),
    summary="Novelty of a draft",
)
def draft_novelty(body: NoveltyRequest, engine: EngineDep, settings: SettingsDep) -> dict:
    """Score an unpublished title and abstract as if published on `date` (default: today)."""
    check_text(body.abstract, settings, "abstract")
    if len(body.title) > settings.max_query_chars:
        raise InvalidQueryError(f"title exceeds the maximum of {settings.max_query_chars} chars")
    novelty = novelty_of_draft(
        engine, body.title, body.abstract, body.date, k=check_k(body.k, settings)
    )
    return novelty.to_dict()

"""GET /papers/{id}/citations: a paper's references and the papers citing it, in this index."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.routes import EngineDep, PaperId
from api.schemas import CitationsOut, dump, error_responses
from search.citations import citation_lists

router = APIRouter(tags=["discovery"])

MAX_LISTED = 1000  # papers per list; the counts are always complete


@router.get(
    "/papers/{paper_id:path}/citations",
    response_model=CitationsOut,
    responses=error_responses(404, 422),
    summary="References and cited-by lists of a paper",
)
def paper_citations(
    paper_id: PaperId,
    engine: EngineDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LISTED, description="papers per list")] = 100,
) -> dict:
    """The papers of this index that the paper cites (in its reference order) and that cite it
    (most cited first), from the `references` lists of the source records."""
    return dump(CitationsOut, citation_lists(engine.store, paper_id, limit=limit))

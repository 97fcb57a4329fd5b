"""GET /papers/{id}/versions and POST /papers/{id}/split: one record per work, and undoing a
wrong merge (token only)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.auth import require_write_token
from api.routes import EngineDep, PaperId
from api.routes.papers import WRITE_LOCK
from api.schemas import SplitOut, WorkOut, dump, error_responses
from search.works import work_of

router = APIRouter(tags=["papers"])


@router.get(
    "/papers/{paper_id:path}/versions",
    response_model=WorkOut,
    responses=error_responses(404, 422),
    summary="The records of a paper's work, and why they were merged",
)
def paper_versions(paper_id: PaperId, engine: EngineDep) -> dict:
    """Every record of the work this paper belongs to, earliest first, with links and the
    reason each was merged (see README, "One record per work")."""
    return dump(WorkOut, work_of(engine.store, paper_id), paper_id=paper_id)


@router.post(
    "/papers/{paper_id:path}/split",
    response_model=SplitOut,
    responses=error_responses(400, 401, 403, 404, 422),
    dependencies=[Depends(require_write_token)],
    summary="Take a paper out of its work (needs the API token)",
)
def split_paper(paper_id: PaperId, engine: EngineDep) -> dict:
    """Undo a wrong merge: the paper becomes a work of its own and is never merged again with
    the records it was merged with; 400 if it was merged with none."""
    with WRITE_LOCK:
        others = engine.store.split(paper_id)
    work = dump(WorkOut, work_of(engine.store, paper_id), paper_id=paper_id)
    return dump(SplitOut, paper_id=paper_id, split_from=others, work=work)

"""GET /papers/{id}, and the write routes POST /papers and DELETE /papers/{id} (token only)."""

from __future__ import annotations

import threading
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Response
from pydantic import Field

from api.auth import require_write_token
from api.export import ExportFormat, export_response, export_responses
from api.routes import EngineDep, PaperId
from api.schemas import PaperIn, PaperOut, RemoveReport, WriteReport, dump, error_responses
from indexer.ingest import ingest_papers
from indexer.paper import Paper
from indexer.readers.generic import generic_paper, to_result
from models.errors import BadInputError, NotFoundError

router = APIRouter(tags=["papers"])

# One write at a time: ingest checks what is stored and then writes, which must not interleave.
WRITE_LOCK = threading.Lock()
MAX_PAPERS = 1000  # per request; larger loads belong to `paperscope ingest`

NewPapers = Annotated[
    PaperIn | Annotated[list[PaperIn], Field(min_length=1, max_length=MAX_PAPERS)],
    Body(description=f"one paper or a list of 1 to {MAX_PAPERS}, in the generic JSONL names"),
]


@router.get(
    "/papers/{paper_id:path}",
    response_model=PaperOut,
    responses=error_responses(404, 422) | export_responses(),
    summary="One paper",
)
def get_paper(paper_id: PaperId, engine: EngineDep, fmt: ExportFormat = "json") -> dict | Response:
    """The stored record of a paper; with format=bibtex|ris|csv (or Accept), as a file."""
    paper = engine.store.get(paper_id)
    return export_response(fmt, [paper], dump(PaperOut, paper), paper.id)


@router.post(
    "/papers",
    response_model=WriteReport,
    responses=error_responses(400, 401, 403, 413, 422),
    dependencies=[Depends(require_write_token)],
    summary="Add or update papers (needs the API token)",
)
def add_papers(body: NewPapers, engine: EngineDep) -> dict:
    """Embed and store papers through the same path as `paperscope ingest`; a paper whose id
    exists is updated field by field. All-or-nothing: one bad record rejects the request."""
    records = body if isinstance(body, list) else [body]
    papers = [_to_paper(i, r) for i, r in enumerate(records)]
    with WRITE_LOCK:
        report = ingest_papers(engine.store, engine.encoder, papers)
        total = engine.store.count()
    return {
        "received": len(papers),
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "total": total,
    }


def _to_paper(position: int, record: PaperIn) -> Paper:
    to_paper = partial(generic_paper, source="api")
    result = to_result(record.model_dump(exclude_none=True), to_paper, keep_title_only=False)
    if isinstance(result, str):
        raise BadInputError(f"paper {position} ({record.id or record.title!r}): {result}")
    return result


@router.delete(
    "/papers/{paper_id:path}",
    response_model=RemoveReport,
    responses=error_responses(401, 403, 404, 422),
    dependencies=[Depends(require_write_token)],
    summary="Remove a paper (needs the API token)",
)
def remove_paper(paper_id: PaperId, engine: EngineDep) -> dict:
    """Delete a paper from SQLite and every derived index."""
    with WRITE_LOCK:
        if engine.store.remove([paper_id]):
            raise NotFoundError(f"no paper with id {paper_id!r} in this index")
        engine.store.sync_derived()
        total = engine.store.count()
    return {"removed": paper_id, "total": total}

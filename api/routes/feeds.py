"""Saved searches (GET/POST /watches, DELETE /watches/{name}; writes need the token) and their
Atom feeds: /feeds/{name}.atom for a saved search, /search.atom?q= for any query."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from api.atom import MEDIA_TYPE, atom_feed
from api.auth import require_write_token
from api.links import paper_url
from api.routes import EngineDep, FiltersDep, filter_params
from api.schemas import WatchIn, WatchListOut, WatchOut, WatchRemoved, dump, error_responses
from indexer.filters import Filters
from indexer.paper import Paper
from search.watches import FEED_SIZE, add_watch, get_watch, list_watches, newest_matches
from search.watches import remove_watch as remove_saved

router = APIRouter(tags=["feeds"])

WatchName = Annotated[str, Path(description="the saved search's name", examples=["gnn"])]
ATOM_RESPONSE = {200: {"description": "Atom 1.0", "content": {"application/atom+xml": {}}}}


@router.get("/watches", response_model=WatchListOut, summary="Saved searches")
def watches(engine: EngineDep) -> dict:
    """Every saved search, by name."""
    return dump(WatchListOut, watches=list_watches(engine.store))


@router.post(
    "/watches",
    response_model=WatchOut,
    status_code=201,
    responses=error_responses(400, 401, 403, 413, 422),
    dependencies=[Depends(require_write_token)],
    summary="Save a search (needs the API token)",
)
def add(body: WatchIn, engine: EngineDep) -> dict:
    """Its feed lists the matching papers; `paperscope watch run` those added from now on."""
    filters = filter_params(body.year_from, body.year_to, body.category, body.author, body.venue)
    return dump(WatchOut, add_watch(engine.store, body.name, body.query, filters))


@router.delete(
    "/watches/{name}",
    response_model=WatchRemoved,
    responses=error_responses(401, 403, 404, 422),
    dependencies=[Depends(require_write_token)],
    summary="Remove a saved search (needs the API token)",
)
def remove(name: WatchName, engine: EngineDep) -> dict:
    remove_saved(engine.store, name)
    return {"removed": name}


@router.get(
    "/feeds/{name}.atom",
    response_class=Response,
    responses=error_responses(404, 422) | ATOM_RESPONSE,
    summary="Atom feed of a saved search",
)
def watch_feed(name: WatchName, request: Request, engine: EngineDep) -> Response:
    """The newest matching papers (at most 50), newest first."""
    watch = get_watch(engine.store, name)
    papers = newest_matches(engine.store, watch.query, watch.filters, limit=FEED_SIZE)
    return _feed(request, f"{watch.name}: {watch.query}", watch.query, watch.filters, papers)


@router.get(
    "/search.atom",
    response_class=Response,
    responses=error_responses(422) | ATOM_RESPONSE,
    summary="Atom feed of a query",
)
def search_feed(
    request: Request,
    engine: EngineDep,
    filters: FiltersDep,
    q: Annotated[
        str,
        Query(
            max_length=1000,
            description="the words every listed paper holds (stemmed, as keyword search)",
            examples=["graph neural network"],
        ),
    ],
) -> Response:
    """The newest papers (at most 50) that hold every word of `q` and pass the filters."""
    papers = newest_matches(engine.store, q, filters, limit=FEED_SIZE)
    return _feed(request, f"paperscope: {q.strip()}", q, filters, papers)


def _feed(
    request: Request, title: str, query: str, filters: Filters | None, papers: list[Paper]
) -> Response:
    base = str(request.base_url).rstrip("/")
    page = base + "/?" + urlencode({"q": query, **(filters.to_dict() if filters else {})})
    body = atom_feed(
        feed_id=str(request.url),
        title=title,
        self_url=str(request.url),
        page_url=page,
        papers=papers,
        paper_url=lambda p: base + paper_url(p),
    )
    return Response(body, media_type=MEDIA_TYPE)

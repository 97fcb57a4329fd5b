"""The FastAPI app: create_app(settings) loads the index and model once and mounts every route."""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response, install_error_handlers
from api.settings import Settings
from search.engine import Engine
from search.novelty_cohorts import ensure_fresh
from search.similarity import lexical_model

log = logging.getLogger(__name__)

# Router modules in mounting order. Order matters: paper ids may contain "/", so the catch-all
# /papers/{paper_id:path} of `papers` must come after /papers/{paper_id:path}/related etc.
ROUTERS = (
    "api.routes.system",
    "api.routes.search",
    "api.routes.discovery",
    "api.routes.authors",
    "api.routes.feeds",
    "api.routes.citations",  # before api.routes.papers, whose /papers/{id:path} would match it
    "api.routes.works",  # likewise
    "api.routes.papers",
    "api.pages",  # HTML pages: /, /paper/{id}, /author/{name}, /static/*
)

# Larger bodies get a 413 before they are read into memory; bulk loads belong to `ingest`.
MAX_BODY_BYTES = 16 * 1024 * 1024

DESCRIPTION = """
Semantic, keyword and hybrid search over a paperscope index, related papers, recommendations,
novelty and author profiles.

Every error has the body `{{"error": {{"type": ..., "message": ...}}}}`: 400 malformed request,
401/403 write token, 404 unknown paper, author or route, 405 wrong method, 413 body over 16
MiB, 422 invalid parameters.

Limits on this server: k <= {max_k}, offset <= {max_offset}, query text <= {max_query_chars}
characters, at most {max_positives} papers in one recommendation request. Writes
(`POST /papers`, `DELETE /papers/{{id}}`, `POST /watches`, `DELETE /watches/{{name}}`) are
{writes}.

Lists (search, a paper, an author's papers, related papers, recommendations) come as JSON, or
as BibTeX, RIS or CSV with `format=` or an `Accept` header.
"""


def start_background_work(engine: Engine) -> None:
    """Whole-index work that pages need, started now so that no request runs it: stored novelty
    scores and the lexical model of related papers."""
    ensure_fresh(engine)
    threading.Thread(target=lexical_model, args=(engine.store,), daemon=True).start()


def create_app(settings: Settings, *, engine: Engine | None = None) -> FastAPI:
    """The API over `settings.index_dir`; pass an already open `engine` to share one (tests)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if app.state.engine is None:
            # Once per process, not per request; raises NotFoundError/IndexMismatchError early.
            app.state.engine = Engine.open(settings.index_dir, settings.model)
        # Also for an engine passed in (what `serve` does): the setting was ignored there.
        app.state.engine.background_novelty = settings.background_novelty
        # The library enforces the server's limits, not constants of its own (issue 14).
        app.state.engine.limits = settings.limits()
        log.info("serving %s (%d papers)", settings.index_dir, app.state.engine.store.count())
        start_background_work(app.state.engine)
        yield

    writes = "enabled (Authorization: Bearer token)" if settings.api_token else "disabled"
    # FastAPIOffline: a FastAPI app whose /docs and /redoc load their scripts from this server.
    app = FastAPIOffline(
        title="paperscope",
        version="0.1.0",
        description=DESCRIPTION.format(
            max_k=settings.max_k,
            max_offset=settings.max_offset,
            max_query_chars=settings.max_query_chars,
            max_positives=settings.max_positives,
            writes=writes,
        ),
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(JsonBodies)
    app.add_middleware(DocsPolicy)
    for module in ROUTERS:
        app.include_router(importlib.import_module(module).router)
    return app


# The API docs pages may load only from this server: ReDoc's bundle would otherwise fetch its
# footer logo from cdn.redoc.ly. (Swagger UI and ReDoc start from inline scripts and workers.)
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' blob:; worker-src 'self' blob:; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:"
)
DOCS_PATHS = ("/docs", "/redoc")


class DocsPolicy:
    """A Content-Security-Policy on the docs pages: nothing from another host."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in DOCS_PATHS:
            return await self.app(scope, receive, send)

        async def with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [*message.get("headers", [])]
                headers.append((b"content-security-policy", DOCS_POLICY.encode()))
                message = {**message, "headers": headers}
            await send(message)

        return await self.app(scope, receive, with_policy)


class JsonBodies:
    """415 in the one error body for a request body that is not declared as JSON: every body the
    API takes is JSON, and a form or text body would otherwise fail as a confusing 422."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH"):
            headers = Headers(scope=scope)
            has_body = headers.get("content-length", "0") not in ("", "0") or (
                "transfer-encoding" in headers
            )
            kind = headers.get("content-type", "").split(";")[0].strip().lower()
            if has_body and kind != "application/json" and not kind.endswith("+json"):
                got = f"Content-Type {kind!r}" if kind else "no Content-Type"
                message = f"the body must be JSON, sent with Content-Type: application/json ({got})"
                await error_response(415, "unsupported_media_type", message)(scope, receive, send)
                return None
        return await self.app(scope, receive, send)


class BodyLimit:
    """413 in the one error body for a request body over `max_bytes`, declared or streamed.

    (FastAPI's own max_body_size answers a declared oversize length in plain text.)"""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large()(scope, receive, send)
            return None
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                # Raised inside the route, so the app's error handlers give it the one body.
                raise StarletteHTTPException(413, self._message())
            return message

        return await self.app(scope, counted, send)

    def _message(self) -> str:
        return f"the request body exceeds {self.max_bytes // 2**20} MiB; send fewer papers"

    def _too_large(self) -> JSONResponse:
        return error_response(413, "too_large", self._message())

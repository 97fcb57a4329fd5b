"""The one error body {"error": {"type", "message"}} for every failure a request can meet."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError, ResponseValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from models.errors import (
    BadInputError,
    ForbiddenError,
    IndexBusyError,
    IndexMismatchError,
    InvalidQueryError,
    ModelLoadError,
    NotFoundError,
    PaperscopeError,
    UnauthorizedError,
)

log = logging.getLogger(__name__)

# First match wins, so subclasses come before their bases (InvalidQueryError is a BadInputError).
STATUS_BY_CLASS: tuple[tuple[type[PaperscopeError], int], ...] = (
    (UnauthorizedError, 401),
    (ForbiddenError, 403),
    (NotFoundError, 404),
    (IndexMismatchError, 409),
    (IndexBusyError, 409),
    (InvalidQueryError, 422),
    (BadInputError, 400),
    (ModelLoadError, 503),
    (PaperscopeError, 400),
)

# Types for failures that do not come from models.errors.
HTTP_TYPES = {404: "not_found", 405: "method_not_allowed", 413: "too_large", 415: "bad_input"}
VALIDATION_TYPE = "invalid_request"
MALFORMED_JSON_TYPE = "malformed_json"
INTERNAL_TYPE = "internal_error"


def status_of(exc: PaperscopeError) -> int:
    """The HTTP status for a library error."""
    return next(status for cls, status in STATUS_BY_CLASS if isinstance(exc, cls))


def error_response(
    status: int, kind: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        {"error": {"type": kind, "message": message}}, status_code=status, headers=headers
    )


def validation_message(errors: list[dict]) -> tuple[str, str]:
    """(type, message) for pydantic's errors, naming the field and where it was sent."""
    if any(e.get("type") == "json_invalid" for e in errors):
        detail = next(e for e in errors if e.get("type") == "json_invalid")
        reason = (detail.get("ctx") or {}).get("error", "not valid JSON")
        return MALFORMED_JSON_TYPE, f"the request body is not valid JSON ({reason})"
    parts = [_describe(e) for e in errors[:3]]
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return VALIDATION_TYPE, "; ".join(parts) + more


def _describe(error: dict) -> str:
    loc = [str(part) for part in error.get("loc", ())]
    where = loc[0] if loc else "request"
    name = ".".join(loc[1:]) or where
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind == "missing":
        return f"{name} is required in the {where}"
    if kind in ("less_than_equal", "less_than") and "input" in error:
        bound = ctx.get("le", ctx.get("lt"))
        return f"{name}={error['input']} exceeds the maximum of {bound} ({where})"
    if kind in ("greater_than_equal", "greater_than") and "input" in error:
        bound = ctx.get("ge", ctx.get("gt"))
        return f"{name}={error['input']} is below the minimum of {bound} ({where})"
    return f"{name}: {error.get('msg', 'invalid value')} ({where})"


async def _library_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PaperscopeError)
    status = status_of(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status >= 500:
        log.error("%s %s: %s", request.method, request.url.path, exc)
    return error_response(status, exc.kind, str(exc), headers)


async def _request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    kind, message = validation_message(list(exc.errors()))
    return error_response(400 if kind == MALFORMED_JSON_TYPE else 422, kind, message)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status, headers = exc.status_code, dict(exc.headers or {})
    if status == 404:
        message = f"no route {request.method} {request.url.path}; see /docs for the API"
    elif status == 405:
        headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
        message = (
            f"{request.method} is not allowed on {request.url.path} (allowed: {headers['Allow']})"
        )
    else:
        message = str(exc.detail)
    kind = HTTP_TYPES.get(status, "bad_request" if status < 500 else INTERNAL_TYPE)
    return error_response(status, kind, message, headers)


def _allowed_methods(request: Request) -> str:
    """Every method some route accepts on this path (Starlette names only the first route's)."""
    return ", ".join(sorted(_methods(request.app.router.routes, request.scope)))


def _methods(routes, scope) -> set[str]:
    found: set[str] = set()
    for route in routes:
        included = getattr(route, "original_router", None)  # FastAPI's include_router wrapper
        if included is not None:
            found |= _methods(included.routes, scope)
        elif route.matches(scope)[0] is not Match.NONE:
            found |= set(getattr(route, "methods", None) or ())
    return found


async def _internal(request: Request, exc: Exception) -> JSONResponse:
    # A bug, not the client's fault: log the traceback, keep the body shape and tell nothing more.
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    message = "internal server error; the server log has the details"
    if isinstance(exc, ResponseValidationError):
        message = "the server built a response that breaks its own schema; please report it"
    return error_response(500, INTERNAL_TYPE, message)


def install_error_handlers(app: FastAPI) -> None:
    """Route every exception a request can raise to the one error body."""
    app.add_exception_handler(PaperscopeError, _library_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ResponseValidationError, _internal)
    app.add_exception_handler(Exception, _internal)

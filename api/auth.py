"""The write token: write routes need `Authorization: Bearer <PAPERSCOPE_API_TOKEN>`."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from models.errors import ForbiddenError, UnauthorizedError

# auto_error=False: a missing header is our 401 in the one error body, not FastAPI's own 403.
bearer = HTTPBearer(
    auto_error=False,
    description="The server's PAPERSCOPE_API_TOKEN; only the write routes need it.",
)


def token_matches(given: str, expected: str) -> bool:
    """Compare in constant time, so response times do not leak how much of a guess was right."""
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def require_write_token(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    """Dependency of the write routes: 403 when writes are off, 401 without the right token."""
    expected = request.app.state.settings.api_token
    if not expected:
        raise ForbiddenError(
            "writes are disabled on this server; start it with PAPERSCOPE_API_TOKEN set to "
            "enable POST /papers and DELETE /papers/{id}"
        )
    if credentials is None:
        raise UnauthorizedError("this route needs the header 'Authorization: Bearer <token>'")
    if not token_matches(credentials.credentials, expected):
        raise UnauthorizedError("wrong API token in the Authorization header")

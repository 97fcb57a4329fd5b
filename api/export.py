"""Export responses: `format=` or the Accept header picks JSON, BibTeX, RIS or CSV for a route."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Request, Response

from search.export import EXTENSIONS, FORMATS, MEDIA_TYPES, export_text

# Media types a client may name in Accept, with the aliases that are in use for them.
ACCEPTED = {media: fmt for fmt, media in MEDIA_TYPES.items()} | {
    "text/x-bibtex": "bibtex",
    "application/x-ris": "ris",
    "text/x-research-info-systems": "ris",
}


def requested_format(
    request: Request,
    response: Response,
    format: Annotated[
        Literal[FORMATS] | None,  # type: ignore[valid-type]
        Query(
            description="json (default), bibtex, ris or csv; without it the Accept header "
            "decides (application/x-bibtex, application/x-research-info-systems, text/csv)"
        ),
    ] = None,
) -> str:
    """Dependency: `format=` if given, else the best export type in Accept, else json."""
    response.headers["Vary"] = "Accept"  # caches must not hand a .bib to a JSON client
    return format or format_from_accept(request.headers.get("accept", ""))


ExportFormat = Annotated[str, Depends(requested_format)]


def format_from_accept(accept: str) -> str:
    """The format of the highest-q media type we can write; json when none is named (*/* too)."""
    best, best_q = "json", 0.0
    for part in accept.split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        fmt = ACCEPTED.get(media.lower())
        q = next((_quality(p[2:]) for p in params if p.lower().startswith("q=")), 1.0)
        if fmt and q > best_q:
            best, best_q = fmt, q
    return best


def _quality(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0  # a malformed q counts as "not acceptable" rather than failing the request


def export_response(fmt: str, items: Iterable, data: dict, name: str) -> dict | Response:
    """`data` (the route's JSON body) for json; else `items` as a download named after `name`."""
    if fmt == "json":
        return data
    filename = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "export"
    return Response(
        export_text(items, fmt),
        media_type=f"{MEDIA_TYPES[fmt]}; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="paperscope-{filename}.'
            f'{EXTENSIONS[fmt]}"',
            "Vary": "Accept",
        },
    )


def export_responses() -> dict[int | str, dict[str, Any]]:
    """OpenAPI: the 200 answer's text media types beside its JSON."""
    text = {"schema": {"type": "string"}}
    content = {MEDIA_TYPES[fmt]: text for fmt in FORMATS if fmt != "json"}
    return {200: {"description": "JSON, or the list as BibTeX, RIS or CSV", "content": content}}

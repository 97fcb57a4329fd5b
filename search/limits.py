"""The request limits the library enforces, given by the entry point (api.settings.Settings)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Largest k, offset, query length and recommendation inputs one call may ask for."""

    max_k: int = 100
    max_offset: int = 1000
    max_query_chars: int = 20_000
    max_positives: int = 50

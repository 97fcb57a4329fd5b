"""GET /health and GET /stats."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter

from api.routes import EngineDep, SettingsDep
from api.schemas import HealthOut, StatsOut
from indexer.stats import index_stats

router = APIRouter(tags=["system"])


@router.get("/health", response_model=HealthOut, summary="Liveness and index size")
def health(engine: EngineDep, settings: SettingsDep) -> dict:
    """`ok` once the index and model are loaded; answers without touching the model."""
    return {
        "status": "ok",
        "papers": engine.store.count(),
        "model": engine.encoder.name,
        "writes_enabled": bool(settings.api_token),
    }


@router.get("/stats", response_model=StatsOut, summary="What the index holds")
def stats(engine: EngineDep) -> dict:
    """Counts of papers, authors and categories, the year range and the derived indexes."""
    data = index_stats(engine.store)
    # The folder's name only: a client has no business knowing the server's paths.
    data["index"] = Path(data["index"]).name
    return data

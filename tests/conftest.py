"""Shared fixtures: paths to ../shared/data, the real packaged model loaded once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data beside the project; skip loudly if a checkout lacks it."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"{SHARED_DATA} is missing: clone the project beside shared/")
    return SHARED_DATA


@pytest.fixture(scope="session")
def encoder():
    """The real packaged all-MiniLM-L6-v2, loaded once for the whole test session."""
    from models.encoder import load_encoder

    return load_encoder()


def small_index(shared_data: Path, encoder, folder: Path):
    """A store of the seed profile plus the first 40 arXiv sample records, embedded with the real
    model: the small real index the API, page, export and watch tests start from."""
    from indexer.ingest import ingest
    from indexer.store import Store

    arxiv = folder / "arxiv40.json"
    with open(shared_data / "arxiv/arxiv-metadata-oai-snapshot.sample200.json") as src:
        arxiv.write_text("".join(next(src) for _ in range(40)))
    store = Store.create_or_open(folder / "idx", encoder.name, encoder.dim)
    ingest(store, encoder, [arxiv, shared_data / "seed_profile.jsonl"], progress=False)
    return store

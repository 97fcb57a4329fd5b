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


def _qdrant_installed() -> bool:
    try:
        import qdrant_client  # noqa: F401
    except ImportError:
        return False
    return True


# The vector backends a test module runs against: Qdrant (local mode, in-process) where the
# `qdrant` extra is installed (`make test-extras`), skipped by the lean `make test`.
BACKENDS = [
    "faiss",
    pytest.param(
        "qdrant",
        marks=pytest.mark.skipif(not _qdrant_installed(), reason="the qdrant extra is missing"),
    ),
]


def small_index(shared_data: Path, encoder, folder: Path, backend: str = "faiss"):
    """A store of the seed profile plus the first 40 arXiv sample records, embedded with the real
    model: the small real index the API, page, export and watch tests start from."""
    from indexer.backend import BackendConfig
    from indexer.ingest import ingest
    from indexer.store import Store

    arxiv = folder / "arxiv40.json"
    with open(shared_data / "arxiv/arxiv-metadata-oai-snapshot.sample200.json") as src:
        arxiv.write_text("".join(next(src) for _ in range(40)))
    store = Store.create_or_open(
        folder / "idx", encoder.name, encoder.dim, backend=BackendConfig.choose(backend)
    )
    ingest(store, encoder, [arxiv, shared_data / "seed_profile.jsonl"], progress=False)
    return store


@pytest.fixture(scope="module")
def arxiv(shared_data):
    """The first 900 arXiv 2025 papers and their shipped vectors (no model run)."""
    import itertools

    from indexer.embeddings_io import read as read_embeddings
    from indexer.paper import text_hash
    from indexer.readers.base import Skip
    from indexer.readers.detect import read_papers

    folder = shared_data / "arxiv-2025"
    papers = list(
        itertools.islice(
            (
                p
                for p in read_papers(folder / "arxiv-2025-115k.jsonl.gz")
                if not isinstance(p, Skip)
            ),
            900,
        )
    )
    vectors = read_embeddings(folder / "embeddings")
    return papers, {p.id: vectors.vector(p.id, text_hash(p)) for p in papers}

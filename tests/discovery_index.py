"""A small real index for the discovery tests, embedded once per session by the packaged model.

It holds the 14 seed-profile papers (ML, 2018-2026, day dates), the first 24 arXiv sample records
(2007, physics and maths, day dates) and the first 16 S2ORC records with an abstract (year-only
dates, citation counts). Tests that write get their own copy of the folder.
"""

from __future__ import annotations

import dataclasses
import itertools
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from indexer.embeddings_io import read as read_embeddings
from indexer.paper import Paper, embedding_text, text_hash
from indexer.readers.base import Skip
from indexer.readers.detect import read_papers
from indexer.store import Store
from search.engine import Engine
from search.novelty_cohorts import refresh

_built: dict[str, Path] = {}


def _take(path: Path, count: int) -> list[Paper]:
    return list(itertools.islice((p for p in read_papers(path) if not isinstance(p, Skip)), count))


def real_papers(shared_data: Path) -> list[Paper]:
    return (
        _take(shared_data / "seed_profile.jsonl", 14)
        + _take(shared_data / "arxiv" / "arxiv-metadata-oai-snapshot.sample200.json", 24)
        + _take(shared_data / "s2orc" / "metadata_sample.jsonl", 16)
    )


def add_papers(engine: Engine, papers: Sequence[Paper]) -> None:
    """Embed and write papers the way ingest does (one embedding path), then resync."""
    vectors = engine.encoder.encode_documents([embedding_text(p.title, p.abstract) for p in papers])
    engine.store.write_batch(
        list(papers), [], {p.id: v for p, v in zip(papers, vectors, strict=True)}
    )
    engine.store.sync_derived()


def undated_copy(paper: Paper, paper_id: str = "undated") -> Paper:
    """The paper's text under another id and title, with no date, DOI or URL: not a record of
    the paper's work (which would give it the work's date)."""
    return dataclasses.replace(
        paper,
        id=paper_id,
        title="An undated copy",
        doi=None,
        url=None,
        published=None,
        date_precision=None,
    )


def discovery_engine(shared_data: Path, encoder, folder: Path | None = None) -> Engine:
    """An Engine over a copy of the session's index in `folder` (a new temporary folder if
    None); the index itself is built on the first call."""
    if "base" not in _built:
        base = Path(tempfile.mkdtemp(prefix="paperscope-discovery-")) / "idx"
        store = Store.create_or_open(base, encoder.name, encoder.dim)
        add_papers(Engine(store, encoder), real_papers(shared_data))
        refresh(Engine(store, encoder))  # stored novelty, as serve's start-up job makes it
        _built["base"] = base
    return _copy_of("base", encoder, folder)


COHORT_PAPERS = 120


def cohort_engine(shared_data: Path, encoder, folder: Path | None = None) -> Engine:
    """The discovery index plus the first COHORT_PAPERS arXiv 2025 papers (with their shipped
    vectors, so no model run): a 2025 cohort big enough for percentiles."""
    if "cohort" not in _built:
        base = Path(tempfile.mkdtemp(prefix="paperscope-cohort-")) / "idx"
        shutil.copytree(discovery_engine(shared_data, encoder).store.index_dir, base)
        store = Store.open(base)
        folder_2025 = shared_data / "arxiv-2025"
        papers = _take(folder_2025 / "arxiv-2025-115k.jsonl.gz", COHORT_PAPERS)
        shipped = read_embeddings(folder_2025 / "embeddings")
        store.write_batch(papers, [], {p.id: shipped.vector(p.id, text_hash(p)) for p in papers})
        store.sync_derived()
        refresh(Engine(store, encoder))
        _built["cohort"] = base
    return _copy_of("cohort", encoder, folder)


def _copy_of(name: str, encoder, folder: Path | None) -> Engine:
    """An Engine over a copy of the built index `name` in `folder` (a new temporary folder if
    None), so that tests that write never change it."""
    target = Path(folder or tempfile.mkdtemp(prefix="paperscope-copy-")) / "idx"
    shutil.copytree(_built[name], target)
    store = Store.open(target)
    store.sync_derived()
    return Engine(store, encoder)


def seed_id(engine: Engine, title_start: str) -> str:
    """The id of the seed-profile paper whose title starts so (seed ids derive from titles)."""
    rows = [pid for pid in engine.store.ids_by_title_prefix(title_start) if pid.startswith("t:")]
    assert len(rows) == 1, f"{len(rows)} papers start with {title_start!r}"
    return rows[0]

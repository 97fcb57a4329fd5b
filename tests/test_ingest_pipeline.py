"""Ingest pipeline: embedding overlapped with commits keeps sequential semantics and flat memory."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from indexer.ingest import ingest, ingest_papers
from indexer.paper import Paper, embedding_text
from indexer.store import Store
from tests.fakes import FakeEncoder


def _paper(pid: str, abstract: str, title: str = "A title") -> Paper:
    return Paper(id=pid, title=title, abstract=abstract)


def _store(tmp_path: Path, encoder) -> Store:
    return Store.create_or_open(tmp_path / "idx", encoder.name, encoder.dim)


def test_same_id_in_adjacent_batches_is_compared_with_the_committed_version(tmp_path):
    fake = FakeEncoder()
    store = _store(tmp_path, fake)
    papers = [
        _paper("a", "first text of a"),
        _paper("b", "text of b"),
        _paper("a", "second text of a"),  # batch 2, while batch 1 is still being embedded
        _paper("c", "text of c"),
        _paper("b", "text of b"),  # batch 3: unchanged
    ]
    report = ingest_papers(store, fake, papers, batch_size=2)
    assert (report.added, report.updated, report.unchanged) == (3, 1, 1)
    assert report.embedded == 4 and store.count() == 3
    assert store.get("a").abstract == "second text of a"
    vid = store.vid_of("a")
    expected = fake.encode_documents([embedding_text("A title", "second text of a")])[0]
    np.testing.assert_allclose(store.embeddings([vid])[0], expected, atol=1e-6)


class FailingEncoder(FakeEncoder):
    """Fails on its n-th call, like a model that runs out of memory mid-run."""

    def __init__(self, fail_on: int) -> None:
        super().__init__()
        self.fail_on = fail_on

    def encode_documents(self, texts, **kw):
        if self.calls + 1 == self.fail_on:
            self.calls += 1
            raise RuntimeError("boom")
        return super().encode_documents(texts, **kw)


def test_an_encoder_error_stops_the_run_with_whole_batches_committed(tmp_path):
    failing = FailingEncoder(fail_on=3)
    store = _store(tmp_path, failing)
    papers = [_paper(f"p{i}", f"abstract number {i}") for i in range(10)]
    with pytest.raises(RuntimeError, match="boom"):
        ingest_papers(store, failing, papers, batch_size=2)
    assert store.count() == 4  # batches 1 and 2; batch 3 failed, nothing after it was written
    report = ingest_papers(store, FakeEncoder(), papers, batch_size=2)
    assert (report.added, report.unchanged) == (6, 4) and store.count() == 10


class WatchingEncoder(FakeEncoder):
    """Records, at each call, how far reading ran ahead of what is committed."""

    def __init__(self, store_dir: Path, read: list[int]) -> None:
        super().__init__()
        self.store_dir, self.read, self.ahead = store_dir, read, []

    def encode_documents(self, texts, **kw):
        committed = Store.open(self.store_dir).count()
        self.ahead.append(self.read[0] - committed)
        return super().encode_documents(texts, **kw)


def test_memory_stays_flat_at_most_three_batches_ahead(tmp_path, monkeypatch):
    source = tmp_path / "many.jsonl"
    with source.open("w") as f:
        for i in range(120):
            f.write(json.dumps({"id": f"x{i}", "title": f"T {i}", "abstract": f"words {i}"}) + "\n")
    read = [0]
    import indexer.ingest as ingest_module

    original = ingest_module.read_records

    def counting(*args, **kwargs):
        for paper in original(*args, **kwargs):
            read[0] += 1
            yield paper

    monkeypatch.setattr(ingest_module, "read_records", counting)
    watcher = WatchingEncoder(tmp_path / "idx", read)
    store = _store(tmp_path, watcher)
    report = ingest(store, watcher, [source], fmt="jsonl", batch_size=10, progress=False)
    assert report.added == 120 and store.count() == 120
    assert max(watcher.ahead) <= 30, watcher.ahead  # batch being embedded, read, one pending


def test_real_model_vectors_land_on_their_own_papers(encoder, shared_data, tmp_path):
    source = tmp_path / "scifact24.jsonl"
    lines = (shared_data / "scifact/corpus.jsonl").read_text(encoding="utf-8").splitlines()[:24]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    store = _store(tmp_path, encoder)
    report = ingest(store, encoder, [source], batch_size=16, progress=False)
    assert report.added == 24
    papers = store.papers_by_vids(range(1, 25))
    stored = store.embeddings([store.vid_of(p.id) for p in papers])
    fresh = encoder.encode_documents([embedding_text(p.title, p.abstract) for p in papers])
    assert np.sum(stored * fresh, axis=1).min() > 0.999

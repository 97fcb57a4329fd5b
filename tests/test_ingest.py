"""Ingest end to end: real readers and model, idempotence, updates, bad input, kill -9, resume."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from api.cli import main as cli
from indexer.ingest import ingest
from indexer.store import Store
from models.errors import NotFoundError
from search.engine import Engine
from tests.fakes import FakeEncoder


class CountingEncoder:
    """Wraps the real encoder and counts how many texts it embedded."""

    def __init__(self, inner) -> None:
        self._inner = inner
        self.name, self.dim = inner.name, inner.dim
        self.texts = 0

    def encode_documents(self, texts, **kw):
        self.texts += len(texts)
        return self._inner.encode_documents(texts, **kw)

    def encode_query(self, text):
        return self._inner.encode_query(text)


def _head(src: Path, dest: Path, lines: int) -> Path:
    with open(src, encoding="utf-8") as f:
        dest.write_text("".join(next(f) for _ in range(lines)), encoding="utf-8")
    return dest


@pytest.fixture
def sources(shared_data, tmp_path) -> list[Path]:
    arxiv = _head(
        shared_data / "arxiv/arxiv-metadata-oai-snapshot.sample200.json",
        tmp_path / "arxiv.json",
        30,
    )
    return [arxiv, shared_data / "seed_profile.jsonl"]


def test_reingest_adds_nothing_and_embeds_nothing(encoder, sources, tmp_path):
    counting = CountingEncoder(encoder)
    store = Store.create_or_open(tmp_path / "idx", encoder.name, encoder.dim)
    first = ingest(store, counting, sources, progress=False)
    assert (first.read, first.added, first.embedded) == (44, 44, 44)
    second = ingest(Store.open(tmp_path / "idx"), counting, sources, progress=False)
    assert (second.added, second.updated, second.unchanged, second.embedded) == (0, 0, 44, 0)
    assert counting.texts == 44 and store.count() == 44
    # The stored vectors are the real model's: a paper's own title finds it first.
    paper = store.get("0704.0002")
    _, vids = store.vectors.search(encoder.encode_query(paper.title), 1)
    assert store.papers_by_vids(vids[0])[0].id == "0704.0002"


def test_changed_records_update_and_only_changed_text_is_embedded(encoder, sources, tmp_path):
    counting = CountingEncoder(encoder)
    store = Store.create_or_open(tmp_path / "idx", encoder.name, encoder.dim)
    ingest(store, counting, sources, progress=False)
    rows = [json.loads(line) for line in sources[0].read_text().splitlines()]
    rows[0]["abstract"] = "A completely new abstract about protein folding."
    rows[1]["journal-ref"] = "Journal of Tests 1 (2026)"
    changed = tmp_path / "changed.json"
    changed.write_text("\n".join(json.dumps(r) for r in rows[:2]))
    before = counting.texts
    report = ingest(store, counting, [changed], progress=False)
    assert (report.updated, report.embedded, counting.texts - before) == (2, 1, 1)
    assert store.get(rows[0]["id"]).abstract.startswith("A completely new abstract")
    assert store.get(rows[1]["id"]).venue == "Journal of Tests 1 (2026)"
    assert store.count() == 44


def test_malformed_lines_are_skipped_counted_and_located(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    good = {"id": "g1", "title": "Good paper", "abstract": "Fine text.", "year": 2020}
    lines = [
        json.dumps(good).encode(),
        b"{not json",
        b'"a string"',
        json.dumps({"title": 5, "abstract": "x"}).encode(),
        json.dumps({"title": "T", "abstract": "A", "date": "2020-13-45"}).encode(),
        b'{"title": "caf\xe9", "abstract": "bytes"}',
        json.dumps({"id": "g2", "title": "Another", "abstract": "Also fine."}).encode(),
    ]
    bad.write_bytes(b"\n".join(lines) + b"\n")
    code = cli(["ingest", str(bad), "--index", str(tmp_path / "idx"), "-q"])
    out = capsys.readouterr().out
    assert code == 0
    assert "read 2, added 2" in out and "skipped 5" in out
    assert f"{bad}:2:" in out  # first examples name their line numbers
    nothing = tmp_path / "nothing.jsonl"
    nothing.write_bytes(b"{oops\n[1, 2]\n")
    assert cli(["ingest", str(nothing), "--index", str(tmp_path / "idx2"), "-q"]) == 1


def test_remove_and_reindex_through_the_cli(encoder, sources, tmp_path, capsys):
    index = tmp_path / "idx"
    ingest(Store.create_or_open(index, encoder.name, encoder.dim), encoder, sources, progress=False)
    assert cli(["remove", "0704.0003", "0704.0004", "--index", str(index)]) == 0
    store = Store.open(index)
    assert store.count() == 42 and len(store.vectors) == 42 and len(store.keywords) == 42
    for removed in ("0704.0003", "0704.0004"):
        with pytest.raises(NotFoundError):
            store.vid_of(removed)
    assert store.vid_of("0704.0005") in set(store.keywords.vids.tolist())
    assert set(store.keywords.vids.tolist()) == set(store.all_vids())
    for path in index.glob("ann-*.faiss"):
        path.unlink()
    assert cli(["reindex", "--index", str(index), "--vector-index", "hnsw"]) == 0
    rebuilt = Store.open(index)
    assert rebuilt.manifest.derived["kind"] == "hnsw" and len(rebuilt.vectors) == 42
    q = rebuilt.embeddings([rebuilt.vid_of("0704.0005")])
    assert rebuilt.papers_by_vids(rebuilt.vectors.search(q, 1)[1][0])[0].id == "0704.0005"
    assert "removed 2 papers" in capsys.readouterr().out


def test_model_mismatch_is_refused(tmp_path, sources, capsys):
    fake = FakeEncoder()
    ingest(
        Store.create_or_open(tmp_path / "idx", fake.name, fake.dim), fake, sources, progress=False
    )
    code = cli(["stats", "--index", str(tmp_path / "idx"), "--model", "all-MiniLM-L6-v2"])
    err = capsys.readouterr().err
    assert code == 2 and "fake-encoder" in err and "all-MiniLM-L6-v2" in err
    assert "Traceback" not in err


def test_window_cap_is_fixed_per_index_and_used_for_queries(tmp_path, sources, capsys):
    index = tmp_path / "idx"
    assert cli(["ingest", str(sources[1]), "--index", str(index), "--max-windows", "1", "-q"]) == 0
    assert Store.open(index).manifest.max_windows == 1
    # Re-ingest without the flag keeps the index's choice; another cap is refused, naming both.
    assert cli(["ingest", str(sources[1]), "--index", str(index), "-q"]) == 0
    assert cli(["ingest", str(sources[0]), "--index", str(index), "--max-windows", "0"]) == 2
    err = capsys.readouterr().err
    assert "at most 1 window" in err and "every window" in err and "Traceback" not in err
    assert Engine.open(index).encoder.max_windows == 1
    assert cli(["ingest", str(sources[1]), "--index", str(index), "--max-windows", "-1"]) == 2


@pytest.mark.slow
def test_kill_9_mid_ingest_then_resume(shared_data, tmp_path, encoder):
    corpus = _head(shared_data / "scifact/corpus.jsonl", tmp_path / "corpus.jsonl", 240)
    index = tmp_path / "idx"
    cmd = [
        sys.executable,
        "-m",
        "api.cli",
        "ingest",
        str(corpus),
        "--index",
        str(index),
        "--batch-size",
        "16",
        "-q",
    ]
    env = dict(os.environ, TQDM_DISABLE="1")
    proc = subprocess.Popen(
        cmd,
        env=env,
        cwd=Path(__file__).parents[1],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    committed = _wait_for_commits(index / "papers.sqlite3", at_least=32, proc=proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 32 <= committed < 240, "the kill should land mid-ingest"
    engine = Engine.open(index)  # opens, rebuilds stale derived indexes, answers queries
    partial = engine.store.count()
    assert partial >= committed
    _, vids = engine.store.vectors.search(engine.encoder.encode_query("cancer"), 5)
    assert len(vids[0]) == 5
    counting = CountingEncoder(encoder)
    report = ingest(Store.open(index), counting, [corpus], progress=False)
    store = Store.open(index)
    assert store.count() == 240 and report.added == 240 - partial
    assert counting.texts == 240 - partial
    ids = store.all_ids()
    assert len(ids) == len(set(ids)) == 240
    assert np.isfinite(store.embeddings([store.vid_of(ids[-1])])).all()


def _wait_for_commits(db: Path, at_least: int, proc: subprocess.Popen, timeout: float = 600) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(db, timeout=1) as conn:
                    count = conn.execute("SELECT COUNT(*) FROM papers").fetchone()[0]
                if count >= at_least:
                    return count
            except sqlite3.OperationalError:
                pass  # schema not created yet
        time.sleep(0.05)
    pytest.fail("ingest subprocess finished or stalled before the kill")

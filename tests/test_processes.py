"""Two processes on one index, and `kill -9` of serve during a burst of writes: no errors, exact
final counts, and every acknowledged paper there and searchable after a restart.

Real arXiv 2025 records and their shipped vectors; the CLI and serve run as real processes with
the packaged model (serve embeds what is POSTed).
"""

from __future__ import annotations

import gzip
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from indexer.embeddings_io import read as read_embeddings
from indexer.paper import text_hash
from indexer.readers.base import Skip
from indexer.readers.detect import read_papers
from indexer.store import Store
from tests.test_api_server import _env, _wait_for_url

pytestmark = pytest.mark.slow

CLI = [sys.executable, "-m", "api.cli"]
MODEL = "all-MiniLM-L6-v2"


def _records(shared_data: Path, start: int, stop: int) -> list[dict]:
    with gzip.open(shared_data / "arxiv-2025" / "arxiv-2025-115k.jsonl.gz", "rt") as handle:
        return [json.loads(line) for line in itertools.islice(handle, start, stop)]


def _write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _seeded_index(shared_data: Path, folder: Path, count: int) -> tuple[Store, dict]:
    """An index of the first `count` records, written with their shipped vectors."""
    papers = list(
        itertools.islice(
            (
                p
                for p in read_papers(shared_data / "arxiv-2025" / "arxiv-2025-115k.jsonl.gz")
                if not isinstance(p, Skip)
            ),
            count + 200,
        )
    )
    shipped = read_embeddings(shared_data / "arxiv-2025" / "embeddings")
    vectors = {p.id: shipped.vector(p.id, text_hash(p)) for p in papers}
    store = Store.create_or_open(folder, MODEL, 384)
    store.write_batch(papers[:count], [], {p.id: vectors[p.id] for p in papers[:count]})
    store.flush()
    return store, {"papers": papers, "vectors": vectors}


def test_cli_ingest_while_another_process_reads_and_writes(shared_data, tmp_path):
    index = tmp_path / "idx"
    store, extra = _seeded_index(shared_data, index, 600)
    dump = _write_jsonl(tmp_path / "more.jsonl", _records(shared_data, 2_000, 3_500))
    ingest = subprocess.Popen(
        [
            *CLI,
            "ingest",
            str(dump),
            "--embeddings",
            str(shared_data / "arxiv-2025" / "embeddings"),
            "--index",
            str(index),
            "--batch-size",
            "100",
            "--quiet",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    mine = extra["papers"][600:650]
    removed = [p.id for p in extra["papers"][:30]]
    searches = 0
    try:
        while ingest.poll() is None or searches < 20:
            view = store.view()
            query = extra["vectors"][extra["papers"][searches % 600].id]
            scores, vids = view.vectors.search(query, 10)
            assert (vids >= 0).all() and vids.shape == (1, 10)
            view.keywords.search("language model", 10)
            if searches < len(mine):
                paper = mine[searches]
                store.write_batch([paper], [], {paper.id: extra["vectors"][paper.id]})
            if searches < len(removed):
                assert store.remove([removed[searches]]) == []
            searches += 1
        out, err = ingest.communicate(timeout=600)
    finally:
        if ingest.poll() is None:
            ingest.kill()
    assert ingest.returncode == 0, err
    report = json.loads(out)
    assert report["added"] == 1_500 and report["embedded"] == 0, report
    expected = 600 + 1_500 + len(mine) - len(removed)
    for opened in (store, Store.open(index)):
        view = opened.view()
        assert opened.count() == len(view.vectors) == len(view.keywords) == expected
        ids = {p.id for _v, p in opened.papers_with_vids(view.vectors.table.live_vids)}
        assert len(ids) == expected and not ids & set(removed)


def test_kill_9_of_serve_during_a_write_burst_loses_no_acknowledged_paper(shared_data, tmp_path):
    index = tmp_path / "idx"
    _seeded_index(shared_data, index, 300)
    burst = _records(shared_data, 5_000, 5_400)
    env = _env(PAPERSCOPE_API_TOKEN="tok")
    serve = [*CLI, "serve", "--index", str(index), "--port", "0", "--quiet"]
    proc = subprocess.Popen(
        serve, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    acknowledged: list[dict] = []
    try:
        url = _wait_for_url(proc)
        stop = threading.Event()

        def post() -> None:
            with httpx.Client(base_url=url, timeout=30) as http:
                for record in burst:
                    if stop.is_set():
                        return
                    body = {k: record[k] for k in ("id", "title", "abstract", "authors")}
                    try:
                        answer = http.post(
                            "/papers", json=body, headers={"Authorization": "Bearer tok"}
                        )
                    except httpx.TransportError:
                        return  # the server died mid-request: not acknowledged
                    assert answer.status_code == 200, answer.text
                    acknowledged.append(record)

        writer = threading.Thread(target=post)
        writer.start()
        deadline = time.monotonic() + 120
        while len(acknowledged) < 25 and time.monotonic() < deadline and writer.is_alive():
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        stop.set()
        writer.join(timeout=60)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert len(acknowledged) >= 25
    proc = subprocess.Popen(
        serve, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        url = _wait_for_url(proc)
        with httpx.Client(base_url=url, timeout=60) as http:
            for record in acknowledged:
                assert http.get(f"/papers/{record['id']}").status_code == 200, record["id"]
                found = http.get(
                    "/search", params={"q": record["title"], "mode": "keyword", "k": 10}
                ).json()["hits"]
                assert record["id"] in [h["paper"]["id"] for h in found], record["id"]
            stats = http.get("/stats").json()
            assert stats["papers"] >= 300 + len(acknowledged)
            assert stats["derived"]["vectors"]["count"] == stats["papers"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)

"""A real `paperscope serve` process on a free 127.0.0.1 port, queried over HTTP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time

import httpx
import pytest

from indexer.ingest import ingest
from indexer.store import Store

pytestmark = pytest.mark.slow

SERVE = [sys.executable, "-m", "api.cli", "serve"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAPERSCOPE_")}
    return env | {"HF_HUB_OFFLINE": "1", "TQDM_DISABLE": "1"} | extra


@pytest.fixture(scope="module")
def index_dir(shared_data, encoder, tmp_path_factory):
    index = tmp_path_factory.mktemp("api-server") / "idx"
    store = Store.create_or_open(index, encoder.name, encoder.dim)
    ingest(store, encoder, [shared_data / "seed_profile.jsonl"], progress=False)
    return index


def _wait_for_url(proc: subprocess.Popen, timeout: float = 120.0) -> str:
    """The URL the server prints once it has loaded the index and bound its port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"serve exited early: {proc.wait()} {proc.stderr.read()}")
        found = re.search(r"at (http://127\.0\.0\.1:\d+)", line)
        if found:
            return found.group(1)
    raise AssertionError("serve printed no URL in time")


def test_serve_answers_over_http(index_dir):
    # --port 0: the OS picks a free port and serve prints the one it bound.
    proc = subprocess.Popen(
        [*SERVE, "--index", str(index_dir), "--port", "0", "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(PAPERSCOPE_API_TOKEN="tok"),
    )
    try:
        url = _wait_for_url(proc)
        with httpx.Client(base_url=url, timeout=30) as http:
            health = http.get("/health")
            assert health.status_code == 200
            assert health.json() == {
                "status": "ok",
                "papers": 14,
                "model": "all-MiniLM-L6-v2",
                "writes_enabled": True,
            }
            hits = http.get("/search", params={"q": "hard negatives for dual encoders", "k": 3})
            assert hits.status_code == 200, hits.text
            top = hits.json()["hits"][0]["paper"]["title"]
            assert top.startswith("Improving Dual-Encoder Training"), top
            missing = http.get("/papers/nope")
            assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found"
            denied = http.delete("/papers/nope", headers={"Authorization": "Bearer wrong"})
            assert denied.status_code == 401
            assert http.get("/openapi.json").json()["info"]["title"] == "paperscope"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_serve_fails_fast_on_a_missing_index(tmp_path):
    started = time.monotonic()
    done = subprocess.run(
        [*SERVE, "--index", str(tmp_path / "missing"), "--port", "0"],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no paperscope index" in lines[0], done.stderr
    assert "http://" not in done.stdout
    assert time.monotonic() - started < 60


def test_serve_refuses_a_port_in_use(index_dir):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*SERVE, "--index", str(index_dir), "--port", str(port)],
            capture_output=True,
            text=True,
            env=_env(),
            timeout=180,
        )
    assert done.returncode == 2 and f"cannot bind 127.0.0.1:{port}" in done.stderr, done.stderr

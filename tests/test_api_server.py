"""A real `paperscope serve` process on a free 127.0.0.1 port, queried over HTTP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

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
            _concurrent_reads_and_a_write(url)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize(
    ("where", "model", "message"),
    [("missing", None, "no paperscope index"), ("index", "other-model", "built with model")],
)
def test_serve_fails_fast_on_a_missing_or_mismatched_index(
    index_dir, tmp_path, where, model, message
):
    index = index_dir if where == "index" else tmp_path / "missing"
    started = time.monotonic()
    done = subprocess.run(
        [*SERVE, "--index", str(index), "--port", "0", *(["--model", model] if model else [])],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=120,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
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


def _concurrent_reads_and_a_write(url: str) -> None:
    """Searches, draft novelty and paper lookups, 16 at once with a write among them."""
    paper = {"id": "demo/0001", "title": "A demo paper", "abstract": "Dual encoders and trees."}

    def call(i: int) -> int:
        with httpx.Client(base_url=url, timeout=60) as http:
            if i == 0:
                auth = {"Authorization": "Bearer tok"}
                return http.post("/papers", json=paper, headers=auth).status_code
            if i % 3 == 1:
                return http.get("/search", params={"q": f"video models {i}", "k": 5}).status_code
            if i % 3 == 2:
                draft = {"title": "", "abstract": f"negative mining, variant {i}"}
                return http.post("/novelty", json=draft).status_code
            return http.get("/papers/demo/0001").status_code  # 404 until the write lands

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(call, range(16)))
    assert statuses[0] == 200 and all(s == 200 for i, s in enumerate(statuses) if i % 3), statuses
    assert all(s in (200, 404) for s in statuses[3::3]), statuses
    with httpx.Client(base_url=url, timeout=60) as http:
        assert http.get("/papers/demo/0001").json()["title"] == "A demo paper"
        assert http.get("/health").json()["papers"] == 15


def test_served_connections_have_nagle_off():
    # With Nagle on, each keep-alive request after the first waited 40 ms for a delayed ACK.
    import asyncio
    import socket

    from api.commands.serve import _bind

    async def server_side_nodelay() -> int:
        accepted: asyncio.Future = asyncio.get_running_loop().create_future()

        def on_connect(reader, writer):
            sock = writer.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(on_connect, sock=_bind("127.0.0.1", 0))
        port = server.sockets[0].getsockname()[1]
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            return await asyncio.wait_for(accepted, 10)
        finally:
            writer.close()
            server.close()

    assert asyncio.run(server_side_nodelay()) != 0

"""`paperscope embed`: Parquet shards of real SciFact records, resumed after an interruption,
equal to the encoder's own vectors, and loaded by `ingest --embeddings` with nothing embedded;
on a real local Ray cluster when the ray extra is installed."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from api.cli import main
from indexer import embeddings_io
from indexer.embed_job import EmbedSettings, ShardEncoder, embed_files
from indexer.ingest import ingest
from indexer.paper import embedding_text
from indexer.store import Store
from models.errors import BadInputError

DOCS = 40


@pytest.fixture(scope="module")
def corpus(shared_data, tmp_path_factory):
    """The first 40 SciFact documents and one malformed line, in BEIR layout."""
    folder = tmp_path_factory.mktemp("embed")
    with open(shared_data / "scifact" / "corpus.jsonl", encoding="utf-8") as handle:
        lines = list(itertools.islice(handle, DOCS))
    path = folder / "corpus.jsonl"
    path.write_text("".join(lines[:20]) + "{not json\n" + "".join(lines[20:]), encoding="utf-8")
    records = [json.loads(line) for line in lines]
    return path, records


def _vectors(folder, ids) -> np.ndarray:
    got = embeddings_io.read(folder)
    return np.stack([np.asarray(got.vectors[got.ids[i]], dtype=np.float32) for i in ids])


def test_shards_resume_after_an_interruption_and_equal_the_encoder(corpus, encoder, tmp_path):
    path, records = corpus
    settings = EmbedSettings(model=encoder.name, max_windows=0, shard_rows=16)
    shards = ShardEncoder(settings)
    out = tmp_path / "out"
    calls = {"n": 0}
    real = shards.encode

    def dies_on_the_second_shard(texts):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        return real(texts)

    shards.encode = dies_on_the_second_shard
    with pytest.raises(KeyboardInterrupt):
        embed_files([path], out, settings, shards, progress=False)
    assert [p.name for p in sorted(out.glob("*.parquet"))] == ["part-00000.parquet"]
    assert not list(out.glob(".*.tmp")), "no half-written file is left"
    shards.encode = real
    report = embed_files([path], out, settings, shards, progress=False)
    assert (report.shards_resumed, report.shards_written, report.embedded) == (1, 2, DOCS - 16)
    assert report.read == DOCS and report.skipped == {"bad JSON": 1}
    ids = [r["_id"] for r in records]
    texts = [embedding_text(r["title"], r["text"]) for r in records]
    cosines = (_vectors(out, ids) * encoder.encode_documents(texts)).sum(axis=1)
    assert cosines.min() >= 0.999
    meta = json.loads((out / "embeddings.json").read_text())
    assert meta["rows"] == DOCS and meta["model"] == encoder.name and meta["dim"] == 384

    # The index takes every vector: nothing is embedded again.
    store = Store.create_or_open(tmp_path / "index", encoder.name, encoder.dim)
    loaded = ingest(store, encoder, [path], embeddings=embeddings_io.read(out), progress=False)
    assert (loaded.added, loaded.embedded, loaded.imported) == (DOCS, 0, DOCS)

    # Resuming with other settings would mix shards of two runs: refused.
    other = EmbedSettings(model=encoder.name, max_windows=1, shard_rows=16)
    with pytest.raises(BadInputError, match="another embed run.*max_windows"):
        embed_files([path], out, other, shards, progress=False)


def test_embed_command_writes_shards_and_refuses_a_foreign_folder(corpus, tmp_path, capsys):
    path, _ = corpus
    out = tmp_path / "out"
    assert main(["embed", str(path), "--out", str(out), "--shard-rows", "25", "-q", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["embedded"] == DOCS and report["shards_written"] == 2
    assert report["workers"].startswith("1 process")
    (out / "embeddings.json").unlink()  # as if stopped after the last shard, before this file
    assert main(["embed", str(path), "--out", str(out), "--shard-rows", "25", "-q"]) == 0
    assert "0 papers in 0 shards (2 already done)" in capsys.readouterr().out
    assert json.loads((out / "embeddings.json").read_text())["rows"] == DOCS
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "part-00000.parquet").write_bytes(b"")
    assert main(["embed", str(path), "--out", str(foreign), "-q"]) == 2
    assert "not written by `paperscope embed`" in capsys.readouterr().err
    assert main(["embed", str(path), "--out", str(out), "--actors", "0", "-q"]) == 2


def test_ray_actor_pool_gives_the_encoder_vectors(corpus, encoder, tmp_path):
    """A real local Ray cluster (2 CPUs), the Ray Data actor pool, the same Parquet layout."""
    ray = pytest.importorskip("ray")
    path, records = corpus
    settings = EmbedSettings(model=encoder.name, max_windows=0, shard_rows=16)
    try:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        shards = ShardEncoder(settings, ray_address="local", actors=2)
        report = embed_files([path], tmp_path / "ray", settings, shards, progress=False)
    finally:
        ray.shutdown()
    assert report.embedded == DOCS and report.workers == "Ray, 2 actors (cpu)"
    assert report.shards_written == 3  # one wave, cut back into shards of 16, 16 and 8
    ids = [r["_id"] for r in records]
    texts = [embedding_text(r["title"], r["text"]) for r in records]
    cosines = (_vectors(tmp_path / "ray", ids) * encoder.encode_documents(texts)).sum(axis=1)
    assert cosines.min() >= 0.999

"""The Qdrant backend (local mode, in-process) against the embedded one: the same exact filtered
search, incremental writes that equal a rebuild, reads overlapping deletes, and moving an index
between backends. The API module runs on both backends too (tests/test_api.py).

Real arXiv 2025 papers with their shipped MiniLM vectors (no model run).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

pytest.importorskip("qdrant_client")

from indexer import qdrant_vectors  # noqa: E402
from indexer.backend import BackendConfig  # noqa: E402
from indexer.filters import Filters  # noqa: E402
from indexer.store import Store  # noqa: E402
from models.errors import BadInputError, IndexMismatchError  # noqa: E402
from search.engine import Engine  # noqa: E402
from tests.fakes import FakeEncoder  # noqa: E402
from tests.test_live_writes import (  # noqa: E402
    MODEL,
    QUERIES,
    _dense,
    _keyword,
    _write,
    read_while,
)

QDRANT = BackendConfig.choose("qdrant")


def _same_ranking(a: list[tuple[str, float]], b: list[tuple[str, float]]) -> None:
    """Same papers in the same order, scores equal up to float rounding (Qdrant sums in its own
    order)."""
    assert [pid for pid, _ in a] == [pid for pid, _ in b]
    np.testing.assert_allclose([s for _, s in a], [s for _, s in b], atol=1e-4)


def _same_keyword_scores(a: dict[str, float], b: dict[str, float], rtol: float) -> None:
    """The same papers match; BM25 scores agree to `rtol` (the keyword collection keeps the
    average length of its build, the embedded BM25 that of the papers held now)."""
    assert set(a) == set(b)
    np.testing.assert_allclose([a[k] for k in sorted(a)], [b[k] for k in sorted(a)], rtol=rtol)


def _store(path, backend: BackendConfig | None = QDRANT) -> Store:
    return Store.create_or_open(path, MODEL, 384, backend=backend)


def _both(tmp_path, papers, vectors) -> tuple[Store, Store]:
    """The same papers in a Qdrant-backed index and an embedded one, written out."""
    remote, local = _store(tmp_path / "q"), _store(tmp_path / "f", None)
    for store in (remote, local):
        _write(store, papers, vectors)
        store.flush()
    return remote, local


def test_filtered_search_equals_the_embedded_exact_search(arxiv, tmp_path):
    papers, vectors = arxiv
    remote, local = _both(tmp_path, papers, vectors)
    assert remote.view().vectors.kind == "qdrant" and local.view().vectors.kind == "flat"
    vids = np.sort(local.select_vids(Filters(year_from=2000)))
    queries = np.stack([vectors[papers[i].id] for i in (0, 250, 500, 750)])
    # 50%, 10% and 1% of the papers, and a filter with fewer papers than k.
    for allowed in (None, vids[::2], vids[::10], vids[::100], vids[:7]):
        for k in (1, 10, 50):
            got_s, got_v = remote.vectors.search(queries, k, allowed)
            want_s, want_v = local.vectors.search(queries, k, allowed)
            expected = min(k, len(vids) if allowed is None else len(allowed))
            assert got_v.shape == (len(queries), expected)  # never short
            assert np.array_equal(got_v, want_v)
            np.testing.assert_allclose(got_s, want_s, atol=1e-5)
            if allowed is not None:
                assert np.isin(got_v, allowed).all()
    # Exact search (novelty's) over the earlier papers takes the same path.
    earlier = vids[: len(vids) // 3]
    got = remote.vectors.search(queries, 20, earlier, exact=True)[1]
    assert np.array_equal(got, local.vectors.search(queries, 20, earlier, exact=True)[1])


def test_keyword_search_equals_the_embedded_bm25(arxiv, tmp_path):
    papers, vectors = arxiv
    remote, local = _both(tmp_path, papers, vectors)
    a, b = remote.view().keywords, local.view().keywords
    vids = np.sort(local.select_vids(Filters(year_from=2000)))
    for text in [*QUERIES, "the", "quantum error-correcting codes", "zzzunknownword"]:
        _same_keyword_scores(_keyword(remote, text), _keyword(local, text), rtol=1e-4)
        for allowed in (None, vids[::10]):
            got_s, got_v = a.top(a.scores(text), 10, allowed)
            want_s, want_v = b.top(b.scores(text), 10, allowed)
            np.testing.assert_allclose(got_s, want_s, rtol=1e-4)
            assert len(got_v) == len(want_v)
            assert a.matching(a.scores(text), allowed) == b.matching(b.scores(text), allowed)
        assert a.matches_any(text) == b.matches_any(text)
        assert np.array_equal(a.containing_all(text), b.containing_all(text))


def test_incremental_writes_equal_a_rebuild_and_the_collection_holds_only_live_slots(
    arxiv, tmp_path
):
    papers, vectors = arxiv
    live = _store(tmp_path / "live")
    _write(live, papers[:600], vectors)
    live.flush()
    _write(live, papers[600:], vectors)  # in memory, scored exactly beside the collection
    removed = [p.id for p in papers[::29]]
    assert live.remove(removed) == []
    renamed = papers[1]
    changed = dataclasses.replace(renamed, title="A renamed paper about galaxy clusters")
    live.write_batch([], [(live.vid_of(renamed.id), changed)], {changed.id: vectors[papers[2].id]})

    final = [changed if p.id == changed.id else p for p in papers if p.id not in set(removed)]
    fresh = _store(tmp_path / "fresh", None)
    _write(fresh, final, vectors | {changed.id: vectors[papers[2].id]})
    fresh.flush()

    def same(a: Store) -> None:
        assert len(a.vectors) == len(fresh.vectors) == len(final)
        for i in (3, 100, 650, 899):
            _same_ranking(_dense(a, vectors[papers[i].id]), _dense(fresh, vectors[papers[i].id]))
        for text in [*QUERIES, changed.title]:
            _same_keyword_scores(_keyword(a, text), _keyword(fresh, text), rtol=2e-3)

    same(live)
    live.flush()  # the new rows go into the collection, the dead slots are marked there
    view = live.view()
    assert view.pending == 0 and not live.is_stale()
    held = qdrant_vectors.searchable_slots(view.vectors.connection, view.entry["collection"])
    assert set(held) == set(view.vectors.table.live_slots.tolist())
    same(live)
    same(Store.open(tmp_path / "live"))  # reopened from the manifest alone


def test_reads_overlapping_writes_and_deletes_never_fail(arxiv, tmp_path):
    papers, vectors = arxiv
    store = _store(tmp_path / "idx")
    _write(store, papers[:400], vectors)
    store.flush()

    def writes() -> None:
        for paper in papers[:60]:
            store.remove([paper.id])
        _write(store, papers[400:460], vectors)
        store.flush()

    engine = Engine(store, FakeEncoder(dim=384))
    errors = read_while(engine, papers[398].id, papers[399].id, writes, readers=2)
    assert not errors, errors[0]
    assert len(store.vectors) == 400


def test_an_index_moves_between_backends_and_refuses_a_mismatch(arxiv, tmp_path):
    papers, vectors = arxiv
    store = _store(tmp_path / "idx", None)
    _write(store, papers[:300], vectors)
    query = vectors[papers[5].id]
    before = _dense(store, query)
    assert store.rebuild(backend=QDRANT).vectors.kind == "qdrant"
    _same_ranking(_dense(store, query), before)
    reopened = Store.open(tmp_path / "idx")
    assert reopened.backend.name == "qdrant"
    _same_ranking(_dense(reopened, query), before)
    with pytest.raises(IndexMismatchError, match="serves its vectors from qdrant"):
        _store(tmp_path / "idx", BackendConfig())
    with pytest.raises(BadInputError, match="faiss backend"):
        store.request_vector_kind("hnsw")
    assert store.rebuild(backend=BackendConfig()).vectors.kind == "flat"
    assert _dense(store, query) == before  # the same files as at first: bit for bit
    with pytest.raises(BadInputError, match="not both"):
        BackendConfig.choose("qdrant", url="http://localhost:6333", path="x")


def test_keyword_ties_at_the_cut_are_broken_by_vid_at_every_depth(tmp_path):
    """60 papers with one text tie on every query; each page depth must cut them by vid, as the
    embedded index does, or pages of different depths overlap."""
    from indexer.paper import Paper

    papers = [Paper(id=f"p{i}", title="Alpha beta", abstract="gamma delta") for i in range(60)]
    rng = np.random.default_rng(0)
    vectors = {p.id: rng.normal(size=384).astype(np.float32) for p in papers}
    for v in vectors.values():
        v /= np.linalg.norm(v)
    remote, local = _both(tmp_path, papers, vectors)
    a, b = remote.view().keywords, local.view().keywords
    for k in (5, 10, 30):
        assert np.array_equal(a.top(a.scores("alpha"), k)[1], b.top(b.scores("alpha"), k)[1])


def test_a_store_opened_before_a_move_follows_it(arxiv, tmp_path):
    papers, vectors = arxiv
    first = _store(tmp_path / "idx", None)
    _write(first, papers[:200], vectors)
    query = vectors[papers[7].id]
    before = _dense(first, query)
    second = Store.open(tmp_path / "idx")
    second.rebuild(backend=QDRANT)
    _write(second, papers[200:210], vectors)  # a write after the move: the first store reloads
    assert first.view().vectors.kind == "qdrant" and first.backend.name == "qdrant"
    _same_ranking(_dense(first, query)[:5], before[:5])


def test_the_cli_refuses_an_unusable_backend_before_embedding_anything(
    tmp_path, capsys, monkeypatch, encoder
):
    from api.cli import main

    monkeypatch.setattr("models.encoder.load_encoder", lambda *a, **kw: encoder)
    index = tmp_path / "idx"
    base = ["ingest", "sample/", "--index", str(index), "-q"]
    assert main([*base, "--backend", "qdrant", "--qdrant-url", "http://127.0.0.1:9"]) == 2
    assert "cannot reach Qdrant at http://127.0.0.1:9" in capsys.readouterr().err
    assert main([*base, "--backend", "qdrant", "--vector-index", "hnsw"]) == 2
    assert "is for the faiss backend" in capsys.readouterr().err
    assert not (index / "manifest.json").exists()  # nothing half-made: any backend may follow

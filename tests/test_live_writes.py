"""Writes while reading: incremental derived indexes equal a rebuild, reads overlapping deletes,
filtered HNSW that is never short, and paging that concatenates to one ranking.

Real arXiv 2025 papers with their shipped MiniLM vectors (no model run), plus the real model for
the queries of the paging test.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import numpy as np
import pytest

from indexer.ingest import ingest_papers
from indexer.paper import Paper
from indexer.store import Store
from indexer.vector_index import VectorIndex
from search.engine import Engine
from search.recommend import recommend
from search.related import related
from search.retrieval import rank, search
from tests.fakes import FakeEncoder

MODEL = "all-MiniLM-L6-v2"
QUERIES = ["gaussian splatting", "language model reasoning", "galaxy cluster", "robot grasping"]


def _store(path: Path) -> Store:
    return Store.create_or_open(path, MODEL, 384)


def _write(store: Store, papers: list[Paper], vectors: dict) -> None:
    store.write_batch(papers, [], {p.id: vectors[p.id] for p in papers})


def _dense(store: Store, query: np.ndarray, k: int = 10, allowed=None) -> list[tuple[str, float]]:
    scores, vids = store.vectors.search(query, k, allowed)
    papers = dict(store.papers_with_vids(vids[0]))
    return [(papers[v].id, round(float(s), 5)) for s, v in zip(scores[0], vids[0], strict=True)]


def _keyword(store: Store, query: str) -> dict[str, float]:
    view = store.view()
    scores = view.keywords.scores(query)
    vids = view.keywords.vids
    ids = dict(store.papers_with_vids(vids))
    values = view.keywords.scores_of(scores, vids)
    return {ids[v].id: round(float(s), 4) for v, s in zip(vids, values, strict=True) if s > 0}


def test_incremental_add_remove_update_equal_a_full_rebuild(arxiv, tmp_path):
    papers, vectors = arxiv
    live = _store(tmp_path / "live")
    _write(live, papers[:600], vectors)
    live.flush()  # files on disk for 600; what follows is replayed from the change log
    _write(live, papers[600:], vectors)
    removed = [p.id for p in papers[::29]]
    assert live.remove(removed) == []
    renamed = papers[1]
    vid = live.vid_of(renamed.id)
    changed = dataclasses.replace(renamed, title="A renamed paper about galaxy clusters")
    live.write_batch([], [(vid, changed)], {changed.id: vectors[papers[2].id]})
    assert live.view().pending > 0 and live.is_stale()

    final = [changed if p.id == changed.id else p for p in papers if p.id not in set(removed)]
    fresh = _store(tmp_path / "fresh")
    _write(fresh, final, vectors | {changed.id: vectors[papers[2].id]})
    fresh.sync_derived()

    def same(a: Store, b: Store) -> None:
        assert len(a.vectors) == len(b.vectors) == len(final) == len(a.keywords)
        for i in (3, 100, 650, 899):
            query = vectors[papers[i].id]
            assert _dense(a, query) == _dense(b, query)
            allowed_a = a.select_vids(None)
            assert allowed_a is None
        for text in [*QUERIES, changed.title]:
            assert _keyword(a, text) == _keyword(b, text)

    same(live, fresh)
    assert not any(pid in set(_keyword(live, "the")) for pid in removed)
    live.flush()  # written to disk: the same again, and again after reopening
    assert not live.is_stale()
    same(live, fresh)
    same(Store.open(tmp_path / "live"), fresh)


def test_reads_overlapping_writes_and_deletes_never_fail(arxiv, tmp_path):
    papers, vectors = arxiv
    store = _store(tmp_path / "idx")
    _write(store, papers[:500], vectors)

    def writes() -> None:
        for paper in papers[:120]:
            store.remove([paper.id])
        ingest_papers(store, FakeEncoder(dim=384), papers[500:560])

    errors = read_while(Engine(store, FakeEncoder(dim=384)), papers[498].id, papers[499].id, writes)
    assert not errors, errors[0]
    assert store.count() == len(store.vectors) == len(store.keywords) == 440


def read_while(engine: Engine, liked: str, seed: str, writes, readers: int = 3) -> list:
    """Run `writes` while `readers` threads search in every mode and ask for related papers
    and recommendations; returns what the readers raised."""
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader(which: int) -> None:
        while not stop.is_set():
            try:
                for mode in ("keyword", "semantic", "hybrid"):
                    search(engine, QUERIES[which % len(QUERIES)], mode=mode, k=10)
                related(engine, seed, k=5)
                recommend(engine, [liked], k=5)
            except BaseException as exc:  # collected: the caller fails with it
                errors.append(exc)
                return

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(readers)]
    for thread in threads:
        thread.start()
    try:
        writes()
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    return errors


def test_incremental_novelty_equals_scoring_everything_again(arxiv, tmp_path):
    from search.novelty import novelty_of_paper
    from search.novelty_cohorts import refresh, score_all

    papers, vectors = arxiv
    store = _store(tmp_path / "idx")
    _write(store, papers[:700], vectors)
    engine = Engine(store, FakeEncoder(dim=384))
    score_all(engine, progress=False)
    assert store.novelty_generation() == store.generation()
    # New papers (some dated before existing ones, one an earlier copy), removals, a change.
    # Another title and no arXiv URL: the same text, but not a record of 650's work.
    earlier = dataclasses.replace(
        papers[650],
        id="copy-of-650",
        title="Copied: " + papers[650].title,
        url=None,
        published=papers[0].published,
    )
    _write(store, papers[700:760], vectors)
    store.write_batch([earlier], [], {earlier.id: vectors[papers[650].id]})
    assert store.remove([p.id for p in papers[5:300:15]]) == []
    refresh(engine)
    incremental = store.novelty_rows()
    score_all(engine, progress=False)
    assert store.novelty_rows() == incremental
    live = novelty_of_paper(engine, papers[650].id)
    assert live.evidence[0].paper.id == "copy-of-650"  # the earlier copy is found
    assert (live.raw, live.max_similarity) == incremental[papers[650].id][:2]


@pytest.mark.parametrize("kind", ["flat", "hnsw_sq8"])
def test_hybrid_pages_concatenate_to_one_ranking(arxiv, encoder, tmp_path, kind):
    papers, vectors = arxiv
    store = _store(tmp_path / "idx")
    store.request_vector_kind(kind)  # 8-bit codes score their own hits approximately
    _write(store, papers, vectors)
    assert store.view().vectors.kind == kind
    engine = Engine(store, encoder)
    for query in ("model of the data", "language model reasoning"):
        whole = [r.vid for r in rank(engine, query, mode="hybrid", depth=400)]
        pages = []
        for page in range(40):
            hits = search(engine, query, mode="hybrid", k=10, offset=page * 10).hits
            pages += [store.vid_of(h.paper.id) for h in hits]
        assert len(whole) == 400 and pages == whole


def _clustered_far_filter(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The issue's case: 30k vectors near the query and 21k allowed ones far from it."""
    rng = np.random.default_rng(seed)
    dim = 32
    query = rng.normal(size=dim)
    query /= np.linalg.norm(query)
    near = query + 0.35 * rng.normal(size=(30_000, dim))
    far = -query + 0.8 * rng.normal(size=(21_000, dim))
    data = np.vstack([near, far])
    data /= np.linalg.norm(data, axis=1, keepdims=True)
    allowed = np.arange(30_000, 51_000, dtype=np.int64)
    return data.astype(np.float32), query.astype(np.float32), allowed


@pytest.mark.parametrize("kind", ["hnsw", "hnsw_sq8"])
def test_filtered_hnsw_is_complete_and_matches_exact(kind, monkeypatch):
    import indexer.vector_index as vector_index

    data, query, far = _clustered_far_filter()
    vids = np.arange(len(data), dtype=np.int64)
    index = VectorIndex.build(data.shape[1], vids, data, kind)
    exact = VectorIndex.build(data.shape[1], vids, data, "flat")
    rng = np.random.default_rng(1)
    queries = np.vstack([query, data[rng.integers(0, len(data), 20)]])

    def check(allowed: np.ndarray, k: int, floor: float) -> None:
        _, found = index.search(queries, k, allowed)
        _, truth = exact.search(queries, k, allowed)
        assert found.shape == (len(queries), min(k, len(allowed)))  # never short
        assert (found >= 0).all() and np.isin(found, allowed).all()
        recall = np.mean([len(set(f) & set(t)) / k for f, t in zip(found, truth, strict=True)])
        assert recall >= floor, (kind, len(allowed), k, recall)

    check(far, 10, 1.0)  # far from the query, 21k allowed: answered exactly over their rows
    # Through the HNSW path (the exact limit lowered): 50%, 10% and 1% of the papers.
    monkeypatch.setattr(vector_index, "EXACT_SUBSET_LIMIT", 100)
    monkeypatch.setattr(vector_index, "EXACT_SUBSET_SHARE", 0.001)
    for allowed in (vids[vids % 2 == 0], vids[vids % 10 == 3], vids[vids % 100 == 7]):
        for k in (1, 10, 50):
            check(allowed, k, 0.95)
    check(far, 10, 0.8)  # HNSW's worst case still comes back complete
    assert index.search(queries, 10, vids[:7])[1].shape == (len(queries), 7)  # min(k, matches)


def test_an_auto_index_that_outgrows_its_kind_is_rebuilt_once_and_keeps_answering(
    arxiv, tmp_path, monkeypatch
):
    import indexer.vector_index as vector_index

    monkeypatch.setattr(vector_index, "AUTO_FLAT_LIMIT", 300)
    papers, vectors = arxiv
    store = _store(tmp_path / "idx")
    _write(store, papers[:250], vectors)
    assert store.view().vectors.kind == "flat"
    _write(store, papers[250:500], vectors)
    store.flush()  # the end of an ingest: 500 papers are past the flat limit
    view = store.view()
    assert view.vectors.kind == "hnsw" and view.vectors.ann_rows == 500 and view.pending == 0
    assert _dense(store, vectors[papers[400].id], k=1)[0][0] == papers[400].id
    assert Store.open(tmp_path / "idx").manifest.derived["kind"] == "hnsw"


def test_written_out_segments_fold_and_still_equal_a_rebuild(arxiv, tmp_path, monkeypatch):
    import indexer.derived as derived

    monkeypatch.setattr(derived, "MAX_SEGMENTS", 3)
    papers, vectors = arxiv
    store = _store(tmp_path / "idx")
    _write(store, papers[:300], vectors)
    store.flush()
    for start in range(300, 800, 100):  # five write-outs: segments fold past three
        _write(store, papers[start : start + 100], vectors)
        store.remove([papers[start - 150].id])
        store.flush()
        assert len(store.manifest.derived["keyword"]) <= 3
    fresh = _store(tmp_path / "fresh")
    kept = [p for p in papers[:800] if p.id in set(store.all_ids())]
    _write(fresh, kept, vectors)
    reopened = Store.open(tmp_path / "idx")
    for text in QUERIES:
        assert _keyword(reopened, text) == _keyword(fresh, text)
    assert _dense(reopened, vectors[papers[777].id]) == _dense(fresh, vectors[papers[777].id])


def test_flush_waits_for_a_background_write_out(arxiv, tmp_path, monkeypatch):
    import indexer.derived as derived

    monkeypatch.setattr(derived, "COMPACT_ROWS", 50)
    papers, vectors = arxiv
    store = _store(tmp_path / "idx")
    _write(store, papers[:200], vectors)
    store.flush()
    for start in range(200, 800, 100):
        _write(store, papers[start : start + 100], vectors)
        store.view()  # past COMPACT_ROWS: a write-out starts in the background
    view = store.flush()  # the end of a CLI ingest: everything on disk when it returns
    assert view.pending == 0 and not store.is_stale()
    assert not [p for p in store.index_dir.iterdir() if p.name.startswith(".keyword")]
    reopened = Store.open(tmp_path / "idx")
    assert len(reopened.vectors) == 800 and reopened.view().pending == 0


def test_novelty_refresh_skips_papers_removed_meanwhile(arxiv, tmp_path):
    from search.novelty_cohorts import refresh

    papers, vectors = arxiv
    store = _store(tmp_path / "idx")
    _write(store, papers[:300], vectors)
    engine = Engine(store, FakeEncoder(dim=384))
    rows = store.save_novelty  # remove a paper between the scan and the write of its score

    def save_after_a_removal(scored, **saved):
        store.remove([papers[10].id])
        rows(scored, **saved)

    store.save_novelty = save_after_a_removal
    refresh(engine)
    assert papers[10].id not in store.novelty_rows() and len(store.novelty_rows()) == 299

"""Store: write, read, update, remove, derived index sync, filters and model checks."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from indexer.filters import Filters
from indexer.manifest import load_manifest
from indexer.paper import Paper
from indexer.store import Store
from models.errors import IndexMismatchError, InvalidQueryError, NotFoundError
from tests.fakes import FakeEncoder


def _paper(i: int, **kw) -> Paper:
    base = dict(
        id=f"p{i}",
        title=f"Paper {i} about topic{i % 3}",
        abstract=f"words w{i} topic{i % 3}",
        authors=(f"Author {i % 4}", "Zoë Çelik"),
        categories=(["cs.LG", "math.CO"][i % 2],),
        published=date(2000 + i, 1 + i % 12, 1),
        date_precision="day",
    )
    base.update(kw)
    return Paper(**base)


@pytest.fixture
def store(tmp_path):
    enc = FakeEncoder()
    s = Store.create_or_open(tmp_path / "idx", enc.name, enc.dim)
    papers = [_paper(i) for i in range(10)]
    s.write_batch(papers, [], {p.id: enc._vector(p.title) for p in papers})
    return s


def test_roundtrip_and_derived_indexes(store):
    assert store.count() == 10
    paper = store.get("p3")
    assert paper.authors == ("Author 3", "Zoë Çelik") and paper.published == date(2003, 4, 1)
    assert store.is_stale()
    store.sync_derived()
    assert not store.is_stale() and len(store.vectors) == 10 and len(store.keywords) == 10
    reopened = Store.open(store.index_dir)
    assert not reopened.is_stale()
    q = store.embeddings([store.vid_of("p3")])
    _scores, vids = reopened.vectors.search(q, 1)
    assert store.papers_by_vids(vids[0])[0].id == "p3"


def test_update_keeps_vid_and_remove_cleans_everything(store):
    vid = store.vid_of("p1")
    store.write_batch([], [(vid, _paper(1, title="Renamed"))], {"p1": np.ones(32, "f4") / 32**0.5})
    assert store.get("p1").title == "Renamed" and store.vid_of("p1") == vid
    assert store.remove(["p1", "nope"]) == ["nope"]
    with pytest.raises(NotFoundError):
        store.get("p1")
    store.sync_derived()
    assert vid not in set(store.keywords.vids) and len(store.vectors) == 9
    assert store.author_row_count(vid) == 0


def test_filters_are_exact(store):
    by_cat = store.papers_by_vids(store.select_vids(Filters(category="cs")))
    assert {p.id for p in by_cat} == {f"p{i}" for i in range(0, 10, 2)}
    by_author = store.papers_by_vids(store.select_vids(Filters(author="zoe celik", year_to=2002)))
    assert {p.id for p in by_author} == {"p0", "p1", "p2"}
    assert store.select_vids(Filters()) is None
    with pytest.raises(InvalidQueryError):
        store.select_vids(Filters(year_from=2010, year_to=2000))


def test_model_mismatch_is_refused_with_both_names(store):
    with pytest.raises(IndexMismatchError, match="fake-encoder.*other-model"):
        Store.open(store.index_dir, "other-model")
    with pytest.raises(IndexMismatchError, match="dimension"):
        Store.create_or_open(store.index_dir, "fake-encoder", 64)
    assert load_manifest(store.index_dir).dim == 32


def test_missing_index_is_a_clear_error(tmp_path):
    with pytest.raises(NotFoundError, match="paperscope ingest"):
        Store.open(tmp_path / "nothing")


def test_filter_results_are_kept_per_generation_and_follow_writes(store):
    filters = Filters(category="cs")
    first = store.select_vids(filters)
    assert store.select_vids(filters) is first  # the same array: kept
    assert not first.flags.writeable  # shared, so callers cannot change it
    enc = FakeEncoder()
    extra = _paper(20, categories=("cs.AI",))
    store.write_batch([extra], [], {extra.id: enc._vector(extra.title)})
    after = store.select_vids(filters)
    assert store.vid_of("p20") in after and store.vid_of("p20") not in first

"""Named read queries of the store: chunked IN lists, dates as intervals, authors, works."""

from __future__ import annotations

from datetime import date

import pytest

from indexer.paper import Paper
from indexer.store import Store
from indexer.store_queries import IN_CHUNK
from tests.fakes import FakeEncoder

MANY = IN_CHUNK + 150  # more values than one IN chunk holds


def _paper(i: int, **kw) -> Paper:
    base = dict(
        id=f"p{i}",
        title=f"Paper {i} about topic{i % 3}",
        abstract=f"words w{i}",
        authors=(f"Author {i % 4}", "Zoë Çelik"),
        categories=(["cs.LG", "math.CO"][i % 2],),
        published=date(2000 + i % 20, 1 + i % 12, 1),
        date_precision="day",
    )
    base.update(kw)
    return Paper(**base)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    enc = FakeEncoder()
    s = Store.create_or_open(tmp_path_factory.mktemp("q") / "idx", enc.name, enc.dim)
    papers = [_paper(i) for i in range(MANY)] + [
        _paper(MANY, title="Dated to a year", published=date(2030, 1, 1), date_precision="year"),
        _paper(
            MANY + 1, title="Dated to a month", published=date(2031, 2, 1), date_precision="month"
        ),
        _paper(MANY + 2, title="Undated", published=None, date_precision=None),
        _paper(MANY + 3, id="1234.5678v1", title="Versioned one", doi="10.1/AbC"),
        _paper(MANY + 4, id="1234.5678v2", title="Versioned two", authors=("Under_Score",)),
        _paper(MANY + 5, id="1234.56789", title="Versioned other"),
    ]
    s.write_batch(papers, [], {p.id: enc._vector(p.title) for p in papers})
    return s


def test_ids_to_vids_spans_chunks_and_skips_unknown_ids(store):
    ids = [f"p{i}" for i in range(MANY)] + ["nope"]
    pairs = store.ids_to_vids(ids)
    assert len(pairs) == MANY > IN_CHUNK
    assert all(store.vid_of(pid) == vid for pid, vid in pairs[:: MANY // 10])
    assert store.ids_to_vids([]) == []


def test_works_and_novelty_percentiles_span_chunks(store):
    vids = [v for _, v in store.ids_to_vids(f"p{i}" for i in range(MANY))]
    assert store.works_of(vids) == {}  # distinct titles: every record is a work of its own
    rows = [(v, 0.5, 0.4, 3 + v % 2, float(v % 100), 0.3, [v], 0.25) for v in vids]
    store.save_novelty(rows, generation=7)
    rows = store.novelty_percentiles(vids + [10**9])
    assert len(rows) == MANY and {r[0] for r in rows} == set(vids)
    scores = store.novelty_scores(vids + [10**9], min_prior=4)
    assert {r[0] for r in scores} == {v for v in vids if v % 2} and scores[0][2:] == (0.5, 0.25)
    assert store.novelty_generation() == 7


def test_dates_are_intervals(store):
    year, month, undated = (store.vid_of(f"p{MANY + k}") for k in range(3))
    assert year not in store.vids_dated_before(date(2030, 12, 31))
    assert year in store.vids_dated_before(date(2031, 1, 1))
    assert month in store.vids_dated_after(date(2031, 1, 31))
    assert month not in store.vids_dated_after(date(2031, 2, 1))
    before = store.vids_dated_before(date(2100, 1, 1))
    assert before == sorted(before) and undated not in before
    bounds = {vid: (start, end) for vid, start, end, _ in store.date_bounds()}
    assert bounds[year] == ("2030-01-01", "2030-12-31")
    assert bounds[month] == ("2031-02-01", "2031-02-28")
    assert undated not in bounds and store.dated_count() == store.count() - 1


def test_versions_of_an_arxiv_id_are_one_work(store):
    v1, v2, other = (store.vid_of(pid) for pid in ("1234.5678v1", "1234.5678v2", "1234.56789"))
    assert store.works_of([v1, v2, other]) == {v1: v1, v2: v1}
    assert store.work_rows(v2) == [(v1, None, None), (v2, v1, "versions of arXiv 1234.5678")]
    assert store.work_mates([v2]) == {v1, v2} and store.work_rows(other) == []


def test_author_queries(store):
    spellings = store.author_spellings("celik")
    assert spellings == [("zoe celik", "Zoë Çelik", MANY + 5)]
    # "_" is a literal character in the prefix, not a LIKE wildcard.
    assert store.author_spellings("under_") == [] and store.author_spellings("score")
    counts = store.author_paper_counts(["zoe celik", "author 1", "nobody"])
    assert counts == {"zoe celik": MANY + 5, "author 1": len(range(1, MANY + 6, 4))}
    assert {name for _, name in store.authorships("author 2")} == {"Author 2"}
    assert store.top_authors(1) == [("Zoë Çelik", MANY + 5)]
    assert store.top_categories(5) == ["cs.LG", "math.CO"]  # a tie, broken by name


def test_ids_by_title_and_text_order(store):
    assert store.ids_by_title("Undated") == [f"p{MANY + 2}"]
    assert sorted(store.ids_by_title_prefix("versioned")) == sorted(
        ["1234.5678v1", "1234.5678v2", "1234.56789"]
    )
    texts = store.papers_text_in_vid_order()
    assert [t[0] for t in texts] == store.all_vids() and len(texts) == store.count()
    assert store.all_vids() == sorted(store.all_vids())
    assert store.all_ids()[0] == "p0" and len(store.all_ids()) == store.count()

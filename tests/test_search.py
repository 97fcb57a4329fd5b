"""search(): exact filters, hybrid against its parts, long queries, pagination, validation.

The real packaged model over a judged slice of SciFact: the relevant abstracts of 30 test
queries plus, for each query, its top non-relevant abstract by BM25 and by the dense model, so
that neither retriever's blind spots decide the comparison; synthetic metadata for filters.
"""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.cli import main
from api.schemas import HitOut, dump
from indexer.filters import Filters
from indexer.keyword_index import KeywordIndex, tokenize
from indexer.paper import Paper, embedding_text, normalize_name
from indexer.store import Store
from models.encoder import load_encoder
from models.errors import InvalidQueryError
from search.engine import Engine
from search.evaluation import load_beir, mean_metrics, score_run
from search.limits import Limits
from search.retrieval import DEEP_CANDIDATES, MODES, rank, search

MAX_K, MAX_OFFSET = Limits().max_k, Limits().max_offset

N_QUERIES = 30
# Top non-relevant abstract of each query by the packaged model over the full SciFact index
# (mined once with semantic search; embedding 5k abstracts here would take minutes).
DENSE_NEGATIVES = (  # noqa: SIM905 (a compact list of ids)
    "29638116 2739854 15663829 8842332 18557974 40913091 11349166 23913146 39559521 32001951 "
    "3973445 22185730 9483851 25970224 37768883 20428155 20313748 34982259 14584755 34760396 "
    "4465735 21479231 22938539 22867765 4688277 6945691 86694016"
).split()
AUTHORS = ("Zoë Çelik", "José Núñez", "Ann Lee", "Bo Chen", "Ö. Åström")
CATEGORIES = ("cs.LG", "cs.CL", "q-bio.NC", "math.ST", "csx.AI")
VENUES = ("Nature Medicine", "The Lancet", "Cell", None)


@pytest.fixture(scope="session")
def encoder():
    return load_encoder()


@pytest.fixture(scope="session")
def judged(shared_data):
    """(corpus slice as Papers, queries, qrels) from SciFact test, deterministic."""
    folder = shared_data / "scifact"
    data = load_beir(folder, "test")
    qids = sorted(data.queries, key=int)[:N_QUERIES]
    docs = {}
    with (folder / "corpus.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            docs[record["_id"]] = record
    ids = list(docs)
    bm25 = KeywordIndex.build(
        np.arange(len(ids)), [docs[i]["title"] for i in ids], [docs[i]["text"] for i in ids]
    )
    keep = {d for q in qids for d in data.qrels[q]} | set(DENSE_NEGATIVES)
    for q in qids:
        _, rows = bm25.search(data.queries[q], 1 + len(data.qrels[q]))
        keep.update([ids[r] for r in rows if ids[r] not in data.qrels[q]][:1])
    papers = [_paper(n, docs[doc_id]) for n, doc_id in enumerate(sorted(keep, key=int))]
    return papers, {q: data.queries[q] for q in qids}, {q: data.qrels[q] for q in qids}


def _paper(n: int, record: dict) -> Paper:
    """A SciFact abstract with synthetic metadata cycling through every filter value."""
    return Paper(
        id=record["_id"],
        title=record["title"],
        abstract=record["text"],
        authors=(AUTHORS[n % 5], AUTHORS[(n * 3 + 1) % 5]) if n % 7 else (),
        categories=(CATEGORIES[n % 5],) + ((CATEGORIES[(n + 2) % 5],) if n % 3 == 0 else ()),
        published=date(2000 + n % 20, 1 + n % 12, 1 + n % 28) if n % 11 else None,
        date_precision="day",
        venue=VENUES[n % 4],
    )


@pytest.fixture(scope="session")
def engine(judged, encoder, tmp_path_factory) -> Engine:
    papers = judged[0]
    store = Store.create_or_open(
        tmp_path_factory.mktemp("search") / "idx", encoder.name, encoder.dim
    )
    vectors = encoder.encode_documents([embedding_text(p.title, p.abstract) for p in papers])
    store.write_batch(papers, [], {p.id: v for p, v in zip(papers, vectors, strict=True)})
    store.sync_derived()
    return Engine(store, encoder)


def _passes(paper: Paper, f: Filters) -> bool:
    """Brute-force reading of the Filters documentation, independent of the SQL."""
    year = paper.published.year if paper.published else None
    checks = [
        f.year_from is None or (year is not None and year >= f.year_from),
        f.year_to is None or (year is not None and year <= f.year_to),
        f.date_from is None or (paper.published is not None and paper.published >= f.date_from),
        f.date_to is None or (paper.published is not None and paper.published <= f.date_to),
        not f.category
        or any(
            c.lower() == f.category.lower() or c.lower().startswith(f.category.lower() + ".")
            for c in paper.categories
        ),
        not f.author or any(_author_matches(a, f.author) for a in paper.authors),
        not f.venue or (paper.venue is not None and f.venue.lower() in paper.venue.lower()),
    ]
    return all(checks)


def _author_matches(name: str, wanted: str) -> bool:
    """A full name, or one word that is the whole name or its last word (a surname)."""
    name, wanted = normalize_name(name), normalize_name(wanted)
    return name == wanted or (" " not in wanted and name.split()[-1:] == [wanted])


filters_strategy = st.builds(
    Filters,
    year_from=st.none() | st.integers(1998, 2021),
    year_to=st.none() | st.integers(2005, 2022),
    date_from=st.none() | st.dates(date(1999, 1, 1), date(2020, 12, 31)),
    category=st.none() | st.sampled_from(["cs", "CS.lg", "q-bio", "math.ST", "c", "csx", "bio"]),
    author=st.none()
    | st.sampled_from(["zoe celik", "JOSE NUNEZ", "Ann  Lee", "o astrom", "Bo", "Smith", "wang"]),
    venue=st.none() | st.sampled_from(["nature", "LANCET", "ce", "science"]),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    f=filters_strategy,
    mode=st.sampled_from(MODES),
    k=st.integers(1, 40),
    query=st.sampled_from(["vitamin D fracture risk", "stem cells", "cancer mortality"]),
)
def test_filtered_search_is_exact_and_complete(engine, judged, f, mode, k, query):
    if f.year_from and f.year_to and f.year_from > f.year_to:
        with pytest.raises(InvalidQueryError, match="after"):
            search(engine, query, k=k, mode=mode, filters=f)
        return
    passing = [p for p in judged[0] if _passes(p, f)]
    if mode == "keyword":  # keyword mode only returns papers sharing a term with the query
        terms = set(tokenize(query))
        passing = [p for p in passing if terms & set(tokenize(p.title + " " + p.abstract))]
    hits = search(engine, query, k=k, mode=mode, filters=f).hits
    assert all(_passes(h.paper, f) for h in hits)
    assert len(hits) == min(k, len(passing))  # no "filter after top-k" shortfall
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


class _EncodeOnce:
    """The real encoder, each query text encoded once (a test runs every query in two modes)."""

    def __init__(self, encoder) -> None:
        self._encoder, self._done = encoder, {}

    def encode_query(self, text: str) -> np.ndarray:
        if text not in self._done:
            self._done[text] = self._encoder.encode_query(text)
        return self._done[text]


def test_hybrid_is_not_worse_than_either_part(engine, judged):
    _, queries, qrels = judged
    once = Engine(engine.store, _EncodeOnce(engine.encoder))
    ndcg = {}
    for mode in MODES:
        rows = [
            score_run([h.paper.id for h in search(once, text, k=10, mode=mode).hits], qrels[q])
            for q, text in queries.items()
        ]
        ndcg[mode] = mean_metrics(rows)["ndcg@10"]
    assert ndcg["hybrid"] >= max(ndcg["keyword"], ndcg["semantic"]), ndcg
    assert ndcg["semantic"] > 0.5 and ndcg["keyword"] > 0.5, ndcg


def test_hybrid_hits_carry_component_scores_and_ranks(engine):
    hits = search(engine, "vitamin D and bone fractures in the elderly", k=5).hits
    top = hits[0]
    assert top.keyword_score is not None and top.semantic_score is not None
    # Each side's rank is the hit's place in that side's own ranking (1-based), checked there.
    keyword = rank(
        engine, "vitamin D and bone fractures in the elderly", mode="keyword", depth=DEEP_CANDIDATES
    )
    semantic = rank(
        engine,
        "vitamin D and bone fractures in the elderly",
        mode="semantic",
        depth=DEEP_CANDIDATES,
    )
    for hit in hits:
        vid = engine.store.vid_of(hit.paper.id)
        for side, ranked in (("keyword", keyword), ("semantic", semantic)):
            order = [r.vid for r in ranked]
            expected = order.index(vid) + 1 if vid in order else None
            assert getattr(hit, f"{side}_rank") == expected, (side, hit.paper.id)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    d = dump(HitOut, top)
    assert d["paper"]["id"] == top.paper.id and d["rank"] == 1 and "spans" in d["snippet"]


def _long_abstracts(engine, judged, n: int) -> list[Paper]:
    window = engine.encoder.max_tokens
    papers = [
        p for p in judged[0] if len(engine.encoder._tokenizer(p.abstract)["input_ids"]) > window
    ]
    assert len(papers) >= n, "the slice needs abstracts longer than the model window"
    return papers[:n]


def test_pasted_long_abstract_is_encoded_as_a_whole(engine, judged):
    """A query longer than the model window: text after the first window still counts."""
    first, second = _long_abstracts(engine, judged, 2)
    query = f"{first.abstract} {second.abstract}"
    top = [h.paper.id for h in search(engine, query, k=3, mode="semantic").hits]
    assert first.id in top and second.id in top, top
    hybrid = search(engine, first.abstract, k=3).hits
    assert hybrid[0].paper.id == first.id
    assert hybrid[0].snippet.spans  # a pasted abstract still gets its terms marked


def test_snippets_mark_query_terms(engine):
    hits = search(engine, "vitamin D fractures", k=5, mode="keyword").hits
    assert hits
    for hit in hits:
        marked = {hit.snippet.text[s:e].lower() for s, e in hit.snippet.spans}
        assert marked and marked <= {"vitamin", "d", "fracture", "fractures"}, marked
        assert "[" in hit.snippet.marked() and len(hit.snippet.text) <= 260


@pytest.mark.parametrize("mode", MODES)
def test_pages_concatenate_to_the_full_list(engine, mode):
    query = "cells"
    full = search(engine, query, k=30, mode=mode).hits
    pages = [search(engine, query, k=7, mode=mode, offset=o).hits for o in range(0, 28, 7)]
    flat = [h for page in pages for h in page]
    assert [h.paper.id for h in flat] == [h.paper.id for h in full[:28]]
    assert [h.rank for h in flat] == list(range(1, 29))
    assert len({h.paper.id for h in full}) == len(full)
    again = search(engine, query, k=30, mode=mode).hits
    assert [h.paper.id for h in again] == [h.paper.id for h in full]


def test_offset_past_the_end_gives_an_empty_page(engine, judged):
    page = search(engine, "cells", k=10, mode="semantic", offset=len(judged[0]))
    assert page.hits == [] and page.offset == len(judged[0])


@pytest.mark.parametrize("query", ["", "   ", "\n\t"])
def test_empty_query_is_a_clear_error(engine, query):
    with pytest.raises(InvalidQueryError, match="query is empty"):
        search(engine, query)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 0}, "k=0"),
        ({"k": MAX_K + 1}, f"k={MAX_K + 1}"),
        ({"offset": -1}, "offset=-1"),
        ({"offset": MAX_OFFSET + 1}, f"offset={MAX_OFFSET + 1}"),
        ({"mode": "fuzzy"}, "unknown mode"),
    ],
)
def test_bounds_are_enforced(engine, kwargs, message):
    with pytest.raises(InvalidQueryError, match=message):
        search(engine, "cells", **kwargs)


def test_largest_k_and_offset_are_accepted(engine, judged):
    assert len(search(engine, "cells", k=MAX_K, mode="semantic").hits) == min(MAX_K, len(judged[0]))
    assert search(engine, "cells", k=MAX_K, offset=MAX_OFFSET).hits == []


def test_the_cli_takes_its_limits_from_the_settings(engine, capsys, monkeypatch):
    monkeypatch.setattr("search.engine.load_encoder", lambda *a, **kw: engine.encoder)
    argv = ["search", "cancer", "-k", "150", "--mode", "semantic", "--json"]
    argv += ["--index", str(engine.store.index_dir)]
    assert main(argv) == 2
    assert "from 1 to 100" in capsys.readouterr().err
    monkeypatch.setenv("PAPERSCOPE_MAX_K", "500")
    assert main(argv) == 0
    page = json.loads(capsys.readouterr().out)
    # Every paper of the index (fewer than 150), where k=150 was refused before.
    assert page["k"] == 150 and len(page["hits"]) == page["total"] == engine.store.count()


def test_cli_prints_a_table_and_json(engine, capsys, monkeypatch):
    monkeypatch.setattr("search.engine.load_encoder", lambda *a, **kw: engine.encoder)
    index = str(engine.store.index_dir)
    assert (
        main(["search", "vitamin D fractures", "--index", index, "-k", "3", "--mode", "keyword"])
        == 0
    )
    table = capsys.readouterr().out
    total = search(engine, "vitamin D fractures", mode="keyword").total
    first, header = table.splitlines()[:2]
    assert first == f"{total} results, sorted by relevance" and header.startswith("rank")
    assert "[" in table and "--offset 3" in table
    argv = [
        "search",
        "stem cells",
        "--index",
        index,
        "--json",
        "--category",
        "cs",
        "--year-from",
        "2005",
    ]
    assert main(argv) == 0
    page = json.loads(capsys.readouterr().out)
    assert page["filters"] == {"category": "cs", "year_from": 2005} and page["mode"] == "hybrid"
    assert page["hits"] and all(h["paper"]["year"] >= 2005 for h in page["hits"])
    assert main(["search", "  ", "--index", index]) == 2
    assert "query is empty" in capsys.readouterr().err

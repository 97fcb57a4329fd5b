"""Query syntax, totals, facets and sorting end to end, checked against brute-force scans of the
store: real arXiv 2025 papers with their shipped MiniLM vectors, and the real model for queries;
the CLI (--json) and GET /search answer the same."""

from __future__ import annotations

import gzip
import itertools
import json
import re

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.cli import main
from api.settings import Settings
from indexer.embeddings_io import read as read_embeddings
from indexer.filters import Filters
from indexer.ingest import ingest
from indexer.paper import text_hash
from indexer.readers.base import Skip
from indexer.readers.detect import read_papers
from indexer.store import Store
from models.errors import InvalidQueryError
from search.engine import Engine
from search.retrieval import MODES, search
from tests.fakes import FakeEncoder

QUERY = '"graph neural network" -molecule year:2018..2025'
PHRASE = re.compile(r"\bgraph\W+neural\W+networks?\b", re.IGNORECASE)
EXCLUDED = re.compile(r"\bmolecules?\b", re.IGNORECASE)


def wanted(title: str, abstract: str, year: int | None) -> bool:
    """The brute-force oracle of QUERY, written apart from the implementation."""
    has_phrase = bool(PHRASE.search(title) or PHRASE.search(abstract))
    excluded = bool(EXCLUDED.search(title) or EXCLUDED.search(abstract))
    return has_phrase and not excluded and year is not None and 2018 <= year <= 2025


@pytest.fixture(scope="module")
def engine(shared_data, encoder, tmp_path_factory) -> Engine:
    """The first 2,000 arXiv 2025 papers plus every one whose text holds "graph neural"."""
    folder = shared_data / "arxiv-2025"
    papers = [
        p for p in read_papers(folder / "arxiv-2025-115k.jsonl.gz") if not isinstance(p, Skip)
    ]
    near = re.compile(r"graph\W+neural", re.IGNORECASE)
    chosen = papers[:2000] + [
        p for p in papers[2000:] if near.search(p.title) or near.search(p.abstract)
    ]
    vectors = read_embeddings(folder / "embeddings")
    store = Store.create_or_open(tmp_path_factory.mktemp("syntax") / "idx", encoder.name, 384)
    store.write_batch(chosen, [], {p.id: vectors.vector(p.id, text_hash(p)) for p in chosen})
    return Engine(store, encoder)


@pytest.fixture(scope="module")
def oracle(engine) -> set[str]:
    store = engine.store
    years = {vid: year for vid, year in store.facet_rows(store.all_vids(), "year")}
    found = {
        vid
        for vid, title, abstract in store.papers_text_in_vid_order()
        if wanted(title, abstract, years.get(vid))
    }
    ids = {p.id for p in store.papers_by_vids(found)}
    # The data must exercise every part: papers the exclusion and the years take out.
    assert len(ids) > 100
    return ids


@pytest.fixture(scope="module")
def client(engine):
    with TestClient(create_app(Settings(index_dir=engine.store.index_dir), engine=engine)) as c:
        yield c


def _all_ids(engine, query: str, mode: str) -> list[str]:
    ids: list[str] = []
    for offset in itertools.count(0, 100):
        page = search(engine, query, k=100, mode=mode, offset=offset)
        ids += [h.paper.id for h in page.hits]
        if len(page.hits) < 100:
            return ids


@pytest.mark.parametrize("mode", MODES)
def test_phrase_exclusion_and_years_return_exactly_the_brute_force_set(engine, oracle, mode):
    page = search(engine, QUERY, k=10, mode=mode)
    assert page.total == len(oracle) and page.total_exact
    assert page.constraints == ('"graph neural network"', "year:2018..2025", "NOT molecule")
    ids = _all_ids(engine, QUERY, mode)
    assert len(ids) == len(set(ids)) and set(ids) == oracle


def test_the_constraints_change_the_results(engine, oracle):
    """Without the exclusion and the years, papers outside the oracle come back."""
    plain = set(_all_ids(engine, '"graph neural network"', "keyword"))
    assert oracle < plain
    excluded = [
        p for p in engine.store.papers_by_vids(engine.store.all_vids()) if p.id in plain - oracle
    ]
    assert any(EXCLUDED.search(p.title + " " + p.abstract) for p in excluded)
    assert any(p.year and p.year > 2025 for p in excluded)


def test_cli_json_and_the_api_return_only_matching_papers(engine, oracle, client, capsys):
    main(["search", QUERY, "--json", "-k", "50", "--index", str(engine.store.index_dir), "-q"])
    cli = json.loads(capsys.readouterr().out)
    api = client.get("/search", params={"q": QUERY, "k": 50}).json()
    for answer in (cli, api):
        assert answer["total"] == len(oracle)
        assert len(answer["hits"]) == 50
        assert {h["paper"]["id"] for h in answer["hits"]} <= oracle
    assert [h["paper"]["id"] for h in cli["hits"]] == [h["paper"]["id"] for h in api["hits"]]


def test_a_malformed_query_is_a_4xx_that_says_where(client):
    answer = client.get("/search", params={"q": 'graph "neural'})
    assert answer.status_code == 422
    assert answer.json()["error"]["type"] == "invalid_query"
    assert "character 7" in answer.json()["error"]["message"]
    page = client.get("/", params={"q": "deep year:2025..2019"})
    assert page.status_code == 400 and "character 6" in page.text


def test_keyword_facets_equal_the_totals_of_each_filter(client):
    answer = client.get(
        "/search", params={"q": "neural", "mode": "keyword", "facets": "year,category"}
    )
    facets = answer.json()["facets"]
    assert answer.json()["total_exact"] and set(facets) == {"year", "category"}
    assert len(facets["category"]) >= 5
    for values in facets.values():
        for value in values:
            filtered = client.get(
                "/search", params={"q": "neural", "mode": "keyword", **value["filter"]}
            )
            assert filtered.json()["total"] == value["count"], value


def test_hybrid_counts_among_its_candidate_depth(engine):
    page = search(engine, "neural", mode="hybrid", facets=("year",))
    assert not page.total_exact and page.depth == page.total
    assert sum(v.count for v in page.facets["year"]) == page.total  # every paper is dated


def test_a_constraint_only_query_lists_newest_first(engine):
    page = search(engine, "category:cs.LG year:2026", k=20)
    allowed = engine.store.select_vids(Filters(category="cs.LG", year_from=2026, year_to=2026))
    assert page.total == len(allowed) > 20
    days = [h.paper.published for h in page.hits]
    assert days == sorted(days, reverse=True)
    assert all(h.paper.year == 2026 for h in page.hits)


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_sorting_by_date_orders_every_page_and_ties_keep_relevance_order(engine, sort):
    hits = []
    for offset in (0, 100):
        page = search(
            engine, "graph neural network", k=100, mode="keyword", sort=sort, offset=offset
        )
        hits += page.hits
    days = [h.paper.published for h in hits]
    assert days == sorted(days, reverse=sort == "newest") and len(set(days)) > 3
    tied = [(a, b) for a, b in itertools.pairwise(hits) if a.paper.published == b.paper.published]
    assert len(tied) > 50 and all(a.score >= b.score for a, b in tied)


def test_bad_sort_and_facet_names_are_refused(engine):
    with pytest.raises(InvalidQueryError, match="unknown sort"):
        search(engine, "graph", sort="best")
    with pytest.raises(InvalidQueryError, match="unknown facet"):
        search(engine, "graph", facets="colour")


@pytest.fixture(scope="module")
def venues(shared_data, tmp_path_factory) -> Engine:
    """3,000 paperlists records: real venues, authors and Google Scholar citation counts. The
    vectors come from the fake encoder: these checks are keyword and store plumbing."""
    folder = tmp_path_factory.mktemp("paperlists")
    subset = folder / "paperlists.jsonl"
    with gzip.open(shared_data / "paperlists/paperlists-ml-1987-2022.jsonl.gz", "rt") as src:
        subset.write_text("".join(itertools.islice(src, 0, 30_000, 10)))
    fake = FakeEncoder()
    store = Store.create_or_open(folder / "idx", fake.name, fake.dim)
    ingest(store, fake, [subset], progress=False)
    return Engine(store, fake)


def test_sorting_by_citations_puts_unknown_counts_last(venues):
    hits = search(venues, "learning", k=100, mode="keyword", sort="citations").hits
    counts = [h.paper.citation_count for h in hits]
    known = [c for c in counts if c is not None]
    assert known == sorted(known, reverse=True) and known[0] > 1000
    assert counts[: len(known)] == known  # unknown counts only after every known one
    best = max(
        (p.citation_count or -1, p.id)
        for p in venues.store.papers_by_vids(venues.store.all_vids())
        if "learn" in (p.title + " " + p.abstract).lower()
    )
    assert hits[0].paper.citation_count == best[0]


def test_venue_and_author_facets_and_fields_agree_with_a_scan(venues):
    page = search(venues, "reinforcement", mode="keyword", facets="venue,author")
    for name in ("venue", "author"):
        assert page.facets[name], name
        for value in page.facets[name][:5]:
            field = "venue" if name == "venue" else "author"
            term = f'{field}:"{value.value}"' if " " in value.value else f"{field}:{value.value}"
            constrained = search(venues, f"reinforcement {term}", mode="keyword")
            assert constrained.total == value.count, (name, value)
    top = page.facets["venue"][0].value
    scanned = [
        p
        for p in venues.store.papers_by_vids(venues.store.all_vids())
        if p.venue and top.lower() in p.venue.lower() and "reinforc" in p.title.lower()
    ]
    titled = search(venues, f"title:reinforc* venue:{top.split()[0]}", k=100, mode="keyword")
    assert {h.paper.id for h in titled.hits} >= {p.id for p in scanned} and scanned

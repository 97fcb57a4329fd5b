"""Author profiles with real citation counts: paperlists records (Google Scholar counts) give
each author's citations and h-index, checked by hand and against a scan of the source file.

The fake encoder stands in for the model: citations and h-index never use vectors."""

from __future__ import annotations

import gzip
import json

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.cli import main
from api.settings import Settings
from indexer.ingest import ingest
from indexer.store import Store
from search.authors import author_profile
from search.engine import Engine
from tests.fakes import FakeEncoder

AUTHORS = ("Masashi Sugiyama", "Andreas Krause")


@pytest.fixture(scope="module")
def source(shared_data) -> list[dict]:
    path = shared_data / "paperlists/paperlists-ml-1987-2022.jsonl.gz"
    with gzip.open(path, "rt") as lines:
        rows = [json.loads(line) for line in lines]
    return [row for row in rows if set(row["authors"]) & set(AUTHORS)]


@pytest.fixture(scope="module")
def engine(source, tmp_path_factory) -> Engine:
    folder = tmp_path_factory.mktemp("paperlists-authors")
    records = folder / "authors.jsonl"
    records.write_text("".join(json.dumps(row) + "\n" for row in source))
    fake = FakeEncoder()
    store = Store.create_or_open(folder / "idx", fake.name, fake.dim)
    ingest(store, fake, [records], progress=False)
    return Engine(store, fake)


def _h_index_by_scan(counts: list[int]) -> int:
    """The largest h with h papers cited at least h times, by trying every h."""
    return max((h for h in range(len(counts) + 1) if sum(c >= h for c in counts) >= h), default=0)


@pytest.mark.parametrize(
    ("name", "papers", "counted", "citations", "h", "top_id", "top_count"),
    [
        # Checked by hand in the source file: Co-teaching (NeurIPS 2018) is Sugiyama's most cited.
        ("Masashi Sugiyama", 91, 87, 11_799, 39, "nips2018-11815", 2664),
        ("Andreas Krause", 83, 81, 9_176, 47, "nips2017-8885", 1132),
    ],
)
def test_paperlists_counts_give_citations_and_h_index(
    engine, source, name, papers, counted, citations, h, top_id, top_count
):
    profile = author_profile(engine, name)
    assert (profile.paper_count, profile.citations, profile.h_index) == (papers, citations, h)
    assert f"{counted} of {papers} papers" in profile.citations_note
    assert (profile.most_cited()[0].id, profile.most_cited()[0].citation_count) == (
        top_id,
        top_count,
    )
    counts = [r["citation_count"] for r in source if name in r["authors"] and "citation_count" in r]
    assert len(counts) == counted and sum(counts) == citations
    assert _h_index_by_scan(counts) == h


def test_the_api_and_the_page_show_them(engine):
    settings = Settings(index_dir=engine.store.index_dir, background_novelty=False)
    with TestClient(create_app(settings, engine=engine)) as client:
        profile = client.get("/authors/Masashi Sugiyama").json()
        assert (profile["citations"], profile["h_index"]) == (11_799, 39)
        assert profile["most_cited_ids"][0] == "nips2018-11815"
        page = client.get("/author/Masashi Sugiyama").text
        assert "11,799" in page or "11799" in page


def test_paperscope_author_prints_them(engine, capsys):
    index = str(engine.store.index_dir)
    assert main(["author", "Andreas Krause", "--index", index, "-q"]) == 0
    table = capsys.readouterr().out
    assert "9,176" in table or "9176" in table
    assert main(["author", "Andreas Krause", "--index", index, "--json", "-q"]) == 0
    profile = json.loads(capsys.readouterr().out)
    assert (profile["citations"], profile["h_index"], profile["paper_count"]) == (9_176, 47, 83)

"""Saved searches and Atom feeds: `paperscope watch add|list|remove|run` reports exactly the
matching papers ingested since the last run, watches survive a restart and are written through
the API only with the token, and /feeds/NAME.atom and /search.atom parse as Atom 1.0. Real data:
the seed profile and 40 arXiv records, then 100 real NeurIPS papers ingested after the watch was
added, all embedded by the packaged model."""

from __future__ import annotations

import gzip
import json
import shutil
import sqlite3
import xml.etree.ElementTree as ET
from datetime import date, datetime

import bibtexparser
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.cli import main
from api.settings import Settings
from indexer.ingest import ingest, ingest_papers
from indexer.keyword_index import document_text, tokenize
from indexer.paper import Paper
from indexer.store import Store
from search.engine import Engine
from search.watches import list_watches
from tests.conftest import small_index

A = "{http://www.w3.org/2005/Atom}"
QUERY = "graph neural network"
TOKEN = "watch-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NEW_RECORDS = 100
XSS_TITLE = '<script>alert("x")</script> Graph neural networks & <b>friends</b>'


def holds_every_word(paper: Paper, query: str = QUERY) -> bool:
    """The oracle: tokenise the paper itself (no postings) and check every query term is there."""
    return set(tokenize(query)) <= set(tokenize(document_text(paper.title, paper.abstract)))


@pytest.fixture(scope="module")
def grown(shared_data, encoder, tmp_path_factory):
    """An index of the seed profile + 40 arXiv records; then `watch add` (CLI); then 100 real
    NeurIPS papers and one hostile one ingested. Returns (engine, ids of the papers added after
    the watch, index argv)."""
    folder = tmp_path_factory.mktemp("watches")
    store = small_index(shared_data, encoder, folder)
    index = ["--index", str(store.index_dir), "-q"]
    assert main(["watch", "add", "gnn", QUERY, *index]) == 0
    assert main(["watch", "add", "gnn-bib", QUERY, *index]) == 0
    assert main(["watch", "add", "gnn-2023", QUERY, "--year-from", "2023", *index]) == 0
    before = set(store.all_ids())
    neurips = folder / "neurips100.jsonl"
    with gzip.open(shared_data / "novelty-dev/neurips-2022-2023.jsonl.gz", "rt") as src:
        neurips.write_text("".join(next(src) for _ in range(NEW_RECORDS)))
    ingest(store, encoder, [neurips], progress=False)
    hostile = Paper(
        id="xss/gnn",
        title=XSS_TITLE,
        abstract="Message passing on a graph with a neural network, \x1bwith a control byte.",
        authors=("Eve <img src=x>",),
        published=date(2024, 1, 5),
        date_precision="day",
    )
    ingest_papers(store, encoder, [hostile])
    added = sorted(set(store.all_ids()) - before)
    assert len(added) == NEW_RECORDS + 1
    return Engine(store, encoder), added, index


def run_json(index: list[str], name: str, capsys) -> list[dict]:
    assert main(["watch", "run", name, *index, "--json"]) == 0
    (result,) = json.loads(capsys.readouterr().out)
    assert result["watch"]["name"] == name
    return result["new"]


def test_watch_run_lists_exactly_the_new_matching_papers(grown, capsys):
    engine, added, index = grown
    store = engine.store
    expected = {pid for pid in added if holds_every_word(store.get(pid))}
    old_matches = {
        pid for pid in store.all_ids() if pid not in added and holds_every_word(store.get(pid))
    }
    # The data has both kinds, so the test can fail either way: matching papers from before the
    # watch (seed profile) and new papers that do not match.
    assert 3 <= len(expected) < len(added) and old_matches
    new = run_json(index, "gnn", capsys)
    assert {p["id"] for p in new} == expected and len(new) == len(expected)
    published = [p["published"] or "" for p in new]
    assert published == sorted(published, reverse=True)  # newest first
    assert run_json(index, "gnn", capsys) == []  # the mark moved on
    # Filters apply: only 2023 and later (the NeurIPS 2023 papers and the hostile one).
    recent = {p["id"] for p in run_json(index, "gnn-2023", capsys)}
    assert recent == {pid for pid in expected if (store.get(pid).year or 0) >= 2023} and recent
    # The table and the BibTeX export of a run.
    assert main(["watch", "run", "gnn-bib", *index, "--format", "bibtex"]) == 0
    library = bibtexparser.parse_string(capsys.readouterr().out)
    assert not library.failed_blocks and len(library.entries) == len(expected)
    assert main(["watch", "run", *index]) == 0  # every watch, as a table
    out = capsys.readouterr().out
    assert "gnn: 0 new papers since 20" in out and "gnn-bib: 0 new papers" in out


def test_watches_survive_a_restart_and_can_be_removed(grown, capsys):
    engine, _added, index = grown
    reopened = Store.open(engine.store.index_dir)
    names = {w.name: w for w in list_watches(reopened)}
    assert set(names) >= {"gnn", "gnn-bib", "gnn-2023"}
    assert names["gnn-2023"].filters.year_from == 2023 and names["gnn"].query == QUERY
    assert main(["watch", "list", *index, "--json"]) == 0
    listed = {w["name"]: w for w in json.loads(capsys.readouterr().out)}
    assert listed["gnn-2023"]["filters"] == {"year_from": 2023}
    assert main(["watch", "add", "temp", "protein folding", *index]) == 0
    assert main(["watch", "remove", "temp", *index]) == 0
    assert "temp" not in {w.name for w in list_watches(reopened)}
    capsys.readouterr()
    assert main(["watch", "remove", "temp", *index]) == 2
    assert "no watch named 'temp'" in capsys.readouterr().err


def test_an_index_from_before_saved_searches_gets_the_table(grown, tmp_path, capsys):
    engine, _added, _index = grown
    old = tmp_path / "old"
    shutil.copytree(engine.store.index_dir, old)
    with sqlite3.connect(old / "papers.sqlite3") as conn:
        conn.execute("DROP TABLE watches")
    conn.close()
    assert main(["watch", "list", "--index", str(old), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["watch", "add", "gnn", QUERY, "--index", str(old), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["query"] == QUERY


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["add", "a b", "graph"], "watch name 'a b'"),
        (["add", "stop", "the of and"], "no searchable words"),
        (["add", "gnn", "graph"], "a watch named 'gnn' exists"),
        (["add", "noquery"], "give a QUERY with add only"),
        (["remove"], "watch remove needs a NAME"),
        (["run", "nobody"], "no watch named 'nobody'"),
        (["list", "--format", "csv"], "use it with watch run"),
    ],
)
def test_bad_watch_commands_fail_with_one_line(grown, capsys, argv, message):
    _engine, _added, index = grown
    assert main(["watch", *argv, *index]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


# ---- API and feeds --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(grown, tmp_path_factory):
    """A server with writes on, over a copy of the grown index (its watches included)."""
    engine, _added, _index = grown
    copy = tmp_path_factory.mktemp("watch-api") / "idx"
    shutil.copytree(engine.store.index_dir, copy)
    settings = Settings(index_dir=copy, api_token=TOKEN)
    with TestClient(create_app(settings, engine=Engine(Store.open(copy), engine.encoder))) as c:
        yield c


def parse_feed(response) -> ET.Element:
    """The feed, checked for what RFC 4287 requires of a feed and of each entry."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
    feed = ET.fromstring(response.content)
    assert feed.tag == f"{A}feed"
    for name in ("id", "title", "updated"):
        assert (feed.findtext(f"{A}{name}") or "").strip(), f"feed without {name}"
    datetime.fromisoformat(feed.findtext(f"{A}updated"))
    assert feed.find(f"{A}author/{A}name") is not None  # so entries need no author of their own
    assert feed.find(f"{A}link[@rel='self']") is not None
    for entry in feed.findall(f"{A}entry"):
        for name in ("id", "title", "updated"):
            assert (entry.findtext(f"{A}{name}") or "").strip(), f"entry without {name}"
        datetime.fromisoformat(entry.findtext(f"{A}updated"))
        link = entry.find(f"{A}link[@rel='alternate']")
        assert link is not None and link.get("href").startswith("http://testserver/paper/")
    return feed


def entry_ids(feed: ET.Element) -> list[str]:
    prefix = "http://testserver/paper/"
    return [e.findtext(f"{A}id").removeprefix(prefix) for e in feed.findall(f"{A}entry")]


def test_saved_search_feed_lists_every_match_newest_first(grown, client):
    engine, added, _index = grown
    feed = parse_feed(client.get("/feeds/gnn.atom"))
    matches = {pid for pid in engine.store.all_ids() if holds_every_word(engine.store.get(pid))}
    assert len(matches) < 50  # the feed's cap: all of them fit
    ids = entry_ids(feed)
    assert set(ids) == matches and len(ids) == len(matches)
    assert {pid for pid in added if pid in matches} <= set(ids)  # the new ones are in it
    published = [e.findtext(f"{A}published") or "" for e in feed.findall(f"{A}entry")]
    assert published == sorted(published, reverse=True)
    assert feed.findtext(f"{A}title") == f"gnn: {QUERY}"


def test_hostile_text_is_escaped_in_the_feed(client):
    feed = parse_feed(client.get("/search.atom", params={"q": QUERY, "year_from": 2024}))
    (entry,) = [e for e in feed.findall(f"{A}entry") if e.findtext(f"{A}title") == XSS_TITLE]
    assert entry.findtext(f"{A}author/{A}name") == "Eve <img src=x>"
    assert "\x1b" not in entry.findtext(f"{A}summary")  # not allowed in XML, even escaped
    assert entry.findtext(f"{A}summary").startswith("Message passing on a graph")
    assert all(int(e.findtext(f"{A}published")[:4]) >= 2024 for e in feed.findall(f"{A}entry"))


def test_adhoc_feed_and_errors(client, grown):
    store = grown[0].store
    query = "quantum chromodynamics"
    feed = parse_feed(client.get("/search.atom", params={"q": query}))
    expected = {pid for pid in store.all_ids() if holds_every_word(store.get(pid), query)}
    assert "0704.0001" in expected and set(entry_ids(feed)) == expected
    empty = parse_feed(client.get("/search.atom", params={"q": "zzqxv"}))
    assert empty.findall(f"{A}entry") == []
    stopwords = client.get("/search.atom", params={"q": "the of"})
    assert (
        stopwords.status_code == 422
        and "no searchable words" in stopwords.json()["error"]["message"]
    )
    missing = client.get("/feeds/nobody.atom")
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found"


def test_watches_are_written_only_with_the_token(client, grown):
    body = {"name": "dense", "query": "dense retrieval", "year_from": 2020}
    assert client.post("/watches", json=body).status_code == 401
    wrong = client.post("/watches", json=body, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["error"]["type"] == "unauthorized"
    made = client.post("/watches", json=body, headers=AUTH)
    assert made.status_code == 201, made.text
    assert made.json()["filters"] == {"year_from": 2020} and made.json()["last_run"] is None
    assert client.post("/watches", json=body, headers=AUTH).status_code == 400  # name taken
    names = [w["name"] for w in client.get("/watches").json()["watches"]]
    assert "dense" in names and "gnn" in names
    parse_feed(client.get("/feeds/dense.atom"))
    assert client.delete("/watches/dense").status_code == 401
    assert client.delete("/watches/dense", headers=AUTH).json() == {"removed": "dense"}
    assert client.delete("/watches/dense", headers=AUTH).status_code == 404
    bad = client.post("/watches", json={"name": "a/b", "query": "x"}, headers=AUTH)
    assert bad.status_code == 422


def test_writes_are_forbidden_without_a_server_token(grown):
    engine, _added, _index = grown
    with TestClient(create_app(Settings(index_dir=engine.store.index_dir), engine=engine)) as c:
        response = c.post("/watches", json={"name": "x", "query": "graph"})
        assert response.status_code == 403 and response.json()["error"]["type"] == "forbidden"
        assert c.get("/watches").status_code == 200

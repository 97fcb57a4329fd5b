"""Citation views: references and cited-by lists within the index, from the source records."""

from __future__ import annotations

import gzip
import json
from collections import defaultdict

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.cli import main
from api.settings import Settings
from indexer.ingest import ingest
from indexer.readers.cora import split_title
from indexer.store import Store
from models.errors import NotFoundError
from search.citations import citation_lists
from tests.conftest import ROOT

SELF_CITING = "18980380"  # an S2ORC sample record that lists itself among its references


def cora_records(shared_data, size: int = 40) -> list[dict]:
    """`size` Cora papers around node 1, as generic JSONL with their real citation links (the
    edges file lists each link in both directions, so a paper's references are its neighbours
    and also its citers)."""
    neighbours = defaultdict(list)
    with open(shared_data / "cora/cora_edges.tsv") as edges:
        next(edges)
        for line in edges:
            src, dst = line.split()
            neighbours[src].append(dst)
    chosen, frontier = ["1"], ["1"]
    while frontier and len(chosen) < size:
        node = frontier.pop(0)
        for other in neighbours[node]:
            if other not in chosen and len(chosen) < size:
                chosen.append(other)
                frontier.append(other)
    texts = {}
    with open(shared_data / "cora/cora_papers.jsonl") as papers:
        for line in papers:
            record = json.loads(line)
            texts[str(record["node_id"])] = record["text"]
    records = []
    for node in chosen:
        title, abstract = split_title(texts[node])
        records.append(
            {"id": node, "title": title, "abstract": abstract, "references": neighbours[node]}
        )
    return records


def s2orc_records(count: int = 24) -> list[dict]:
    """The self-citing S2ORC sample record plus the first others with an abstract."""
    with gzip.open(ROOT / "sample/s2orc-sample.jsonl.gz", "rt") as src:
        records = [json.loads(line) for line in src]
    with_text = [r for r in records if r.get("abstract")]
    chosen = [r for r in with_text if r["paper_id"] == SELF_CITING]
    return chosen + [r for r in with_text if r["paper_id"] != SELF_CITING][: count - 1]


@pytest.fixture(scope="module")
def index(shared_data, encoder, tmp_path_factory):
    folder = tmp_path_factory.mktemp("citations")
    cora = cora_records(shared_data)
    (folder / "cora.jsonl").write_text("".join(json.dumps(r) + "\n" for r in cora))
    s2orc = s2orc_records()
    (folder / "s2orc.jsonl").write_text("".join(json.dumps(r) + "\n" for r in s2orc))
    store = Store.create_or_open(folder / "idx", encoder.name, encoder.dim)
    ingest(store, encoder, [folder / "cora.jsonl", folder / "s2orc.jsonl"], progress=False)
    return store, cora, s2orc


def expected_lists(records: list[dict], ids: set[str], key: str) -> dict[str, tuple[set, set]]:
    """(references, citers) within `ids` of each record, computed from the source records."""
    refs = {r[key]: set(r.get("references") or r.get("outbound_citations") or []) for r in records}
    return {
        pid: (
            (out & ids) - {pid},
            {other for other, theirs in refs.items() if pid in theirs and other != pid},
        )
        for pid, out in refs.items()
    }


def test_cora_lists_match_the_source_links(index):
    store, cora, _ = index
    ids = {r["id"] for r in cora}
    linked = 0
    for pid, (refs, citers) in expected_lists(cora, ids, "id").items():
        lists = citation_lists(store, pid)
        source = next(r for r in cora if r["id"] == pid)
        # In the source order, each once; the count covers references outside the index too.
        order = [x for x in dict.fromkeys(source["references"]) if x in refs]
        assert [p.id for p in lists.references] == order
        assert lists.reference_count == len(set(source["references"]))
        assert {p.id for p in lists.cited_by} == citers and lists.cited_by_count == len(citers)
        linked += bool(refs)
    assert linked == len(ids)  # every chosen paper is linked to another chosen one


def test_s2orc_lists_match_the_source_and_a_paper_never_lists_itself(index):
    store, _, s2orc = index
    ids = {r["paper_id"] for r in s2orc}
    for pid, (refs, citers) in expected_lists(s2orc, ids, "paper_id").items():
        lists = citation_lists(store, pid)
        assert {p.id for p in lists.references} == refs
        assert {p.id for p in lists.cited_by} == citers
    source = next(r for r in s2orc if r["paper_id"] == SELF_CITING)
    lists = citation_lists(store, SELF_CITING)
    assert (
        SELF_CITING in source["outbound_citations"] and SELF_CITING in source["inbound_citations"]
    )
    assert lists.references == [] and lists.cited_by == [] and lists.cited_by_count == 0
    assert lists.reference_count == len(set(source["outbound_citations"])) - 1 == 20


def test_cited_by_is_ordered_and_limited(index):
    store, cora, _ = index
    pid = max(cora, key=lambda r: len(r["references"]))["id"]
    full = citation_lists(store, pid, limit=1000)
    first = citation_lists(store, pid, limit=2)
    assert full.cited_by_count >= 3 and first.cited_by_count == full.cited_by_count
    assert [p.id for p in first.cited_by] == [p.id for p in full.cited_by[:2]]
    with pytest.raises(NotFoundError):
        citation_lists(store, "no-such-paper")


def test_an_update_and_a_removal_change_the_lists(shared_data, encoder, tmp_path):
    records = cora_records(shared_data, size=6)
    path = tmp_path / "cora.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    store = Store.create_or_open(tmp_path / "idx", encoder.name, encoder.dim)
    ingest(store, encoder, [path], progress=False)
    first, second = records[0]["id"], records[1]["id"]
    assert second in {p.id for p in citation_lists(store, first).references}
    records[0]["references"] = [r for r in records[0]["references"] if r != second]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    ingest(store, encoder, [path], progress=False)
    assert second not in {p.id for p in citation_lists(store, first).references}
    assert first not in {p.id for p in citation_lists(store, second).cited_by}
    store.remove([second])
    assert second not in {p.id for p in citation_lists(store, first).cited_by}


def test_an_index_made_before_the_citations_table_is_filled_on_open(index, tmp_path):
    store, cora, _ = index
    pid = cora[0]["id"]
    before = [p.id for p in citation_lists(store, pid).references]
    with store._conn() as conn:  # what an older index looks like: refs, but no citation rows
        conn.execute("DELETE FROM citations")
        conn.execute("DELETE FROM meta WHERE key = 'citations_filled'")
    reopened = Store.open(store.index_dir)
    assert [p.id for p in citation_lists(reopened, pid).references] == before != []


def test_api_page_and_cli_show_both_lists(index, capsys):
    store, cora, _ = index
    pid = cora[0]["id"]
    lists = citation_lists(store, pid)
    app = create_app(Settings(index_dir=store.index_dir, background_novelty=False))
    with TestClient(app) as client:
        body = client.get(f"/papers/{pid}/citations", params={"limit": 2}).json()
        assert body["reference_count"] == lists.reference_count
        assert body["references_in_index"] == 2 and len(body["references"]) == 2
        assert body["cited_by_count"] == lists.cited_by_count
        assert [p["id"] for p in body["cited_by"]] == [p.id for p in lists.cited_by[:2]]
        error = client.get(f"/papers/{pid}/citations", params={"limit": 0})
        assert error.status_code == 422 and "error" in error.json()
        missing = client.get("/papers/no-such-paper/citations")
        assert missing.status_code == 404 and missing.json()["error"]["type"] == "not_found"
        page = client.get(f"/paper/{pid}").text
        assert f"({len(lists.references)} in this index of {lists.reference_count} listed)" in page
        assert f'Cited by <span class="muted">({lists.cited_by_count} in this index)' in page
        for paper in lists.references + lists.cited_by:
            assert f'href="/paper/{paper.id}"' in page
        s2 = client.get(f"/paper/{SELF_CITING}").text
        assert "(0 in this index of 20 listed)" in s2 and "(0 in this index)" in s2
    assert main(["citations", pid, "--index", str(store.index_dir), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["references_in_index"] == len(lists.references)


def test_author_page_lists_most_cited_papers(index):
    store, _, s2orc = index
    papers = [store.get(r["paper_id"]) for r in s2orc]
    paper = max((p for p in papers if p.citation_count), key=lambda p: p.citation_count)
    name = paper.authors[0]
    app = create_app(Settings(index_dir=store.index_dir, background_novelty=False))
    with TestClient(app) as client:
        body = client.get(f"/authors/{name}").json()
        page = client.get(f"/author/{name}").text
    theirs = [p for p in papers if name in p.authors and p.citation_count is not None]
    theirs.sort(key=lambda p: -p.citation_count)
    assert body["most_cited_ids"][0] == theirs[0].id == paper.id
    assert "Most cited" in page and f"{paper.citation_count:,} citations" in page

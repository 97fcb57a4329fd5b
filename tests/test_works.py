"""One record per work, end to end: the bundled arXiv sample ingested twice, once as preprints and
once as "published copies" under other ids, must be one work each in search, related papers,
recommendations, author profiles and novelty; the paper page lists both records with their
links, and `split` undoes a merge for good."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.cli import main
from api.settings import Settings
from indexer.paper import Paper
from indexer.store import Store
from indexer.work_rule import MIN_TITLE_WORDS, arxiv_base, link_reason
from search.authors import author_profile, find_authors
from search.engine import Engine
from search.novelty import novelty_of_paper
from search.recommend import recommend
from search.related import related
from search.retrieval import rank, search
from tests.fakes import FakeEncoder

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample" / "arxiv-2007-sample.json.gz"
TOKEN = "works-token"


def published_copy(i: int, paper: Paper) -> dict:
    """The journal record of an arXiv preprint, as another dump would give it: another id, a
    venue, a later date, and one of the three ways to know it is the same work."""
    record = {
        "id": f"journal/{paper.id}",
        "title": paper.title,
        "abstract": paper.abstract,
        "authors": list(paper.authors),
        "published": (paper.published + timedelta(days=150)).isoformat(),
        "venue": f"Journal of Sample Results {i % 7}",
    }
    if i % 3 == 0 and paper.doi:
        record["doi"] = paper.doi  # the preprint names its published DOI
    elif i % 3 == 1 or len(paper.title.split()) < MIN_TITLE_WORDS:
        record["arxiv_id"] = paper.id  # the published record names the preprint
    return record  # else: same title, first author and close year


@pytest.fixture(scope="module")
def engine(encoder, tmp_path_factory):
    folder = tmp_path_factory.mktemp("works")
    index = folder / "idx"
    assert main(["ingest", str(SAMPLE), "--index", str(index), "-q"]) == 0
    store = Store.open(index)
    preprints = store.papers_by_vids(store.all_vids())
    copies = folder / "published.jsonl"
    copies.write_text(
        "".join(json.dumps(published_copy(i, p)) + "\n" for i, p in enumerate(preprints))
    )
    assert main(["ingest", str(copies), "--index", str(index), "-q"]) == 0
    store = Store.open(index)
    store.flush()
    return Engine(store, encoder)


@pytest.fixture(scope="module")
def preprints(engine) -> list[Paper]:
    return [p for p in engine.store.papers_by_vids(engine.store.all_vids()) if arxiv_base(p.id)]


def mates(engine, paper_id: str) -> set[str]:
    store = engine.store
    return {p.id for p in store.papers_by_vids(store.work_mates([store.vid_of(paper_id)]))}


def test_every_preprint_and_its_published_copy_are_one_work(engine, preprints):
    assert len(preprints) == 200 and engine.store.count() == 400
    assert engine.store.merged_count() == (200, 400)
    reasons = {}
    for paper in preprints:
        assert mates(engine, paper.id) == {paper.id, f"journal/{paper.id}"}
        rows = engine.store.work_rows(engine.store.vid_of(f"journal/{paper.id}"))
        reasons[paper.id] = rows[-1][2]
    kinds = {r.split()[0] if r.startswith("same") else "names" for r in reasons.values()}
    assert kinds == {"same", "names"}
    assert any(r.startswith("same DOI") for r in reasons.values())
    assert any(r.startswith("same title and first author") for r in reasons.values())
    assert any(" names arXiv id " in r for r in reasons.values())


def test_search_lists_each_work_once_and_pages_do_not_repeat_one(engine, preprints):
    for paper in preprints[:5]:
        for mode in ("keyword", "semantic", "hybrid"):
            page = search(engine, paper.title, k=10, mode=mode)
            ids = [h.paper.id for h in page.hits]
            everything = rank(engine, paper.title, mode=mode, depth=400)
            matching = {
                frozenset(mates(engine, p.id))
                for p in engine.store.papers_by_vids(r.vid for r in everything)
            }
            assert len(ids) == min(10, len(matching)), (mode, ids)
            works = [frozenset(mates(engine, i)) for i in ids]
            assert len(set(works)) == len(ids), (mode, ids)
            assert works[0] == {paper.id, f"journal/{paper.id}"}
    first = search(engine, "quantum field theory", k=20, mode="hybrid")
    second = search(engine, "quantum field theory", k=20, mode="hybrid", offset=20)
    works = [frozenset(mates(engine, h.paper.id)) for h in first.hits + second.hits]
    assert len(works) == 40 and len(set(works)) == 40


def test_related_and_recommendations_leave_out_the_work_and_list_each_work_once(engine, preprints):
    paper = preprints[3]
    own = {paper.id, f"journal/{paper.id}"}
    for asked in own:
        hits = related(engine, asked, k=15)
        works = [frozenset(mates(engine, h.paper.id)) for h in hits]
        assert len(hits) == 15 and len(set(works)) == 15 and not own & set().union(*works)
    recs = recommend(engine, [paper.id], k=15)
    works = [frozenset(mates(engine, r.paper.id)) for r in recs]
    assert len(recs) == 15 and len(set(works)) == 15 and not own & set().union(*works)


def test_author_profile_counts_each_work_once(engine, preprints):
    by_author: dict[str, int] = {}
    for paper in preprints:
        for name in dict.fromkeys(paper.authors):
            by_author[name] = by_author.get(name, 0) + 1
    name, count = max(by_author.items(), key=lambda item: (item[1], item[0]))
    assert count >= 2
    profile = author_profile(engine, name)
    assert profile.paper_count == count == len(profile.papers)
    assert len({frozenset(mates(engine, p.id)) for p in profile.papers}) == count
    found = {a.name: a.paper_count for a in find_authors(engine, name.split()[-1], limit=50)}
    assert found[profile.name] == count


def test_novelty_scores_the_work_once_from_its_earliest_date(engine, preprints):
    paper = next(p for p in preprints if p.published and p.published.day > 10)
    journal = novelty_of_paper(engine, f"journal/{paper.id}")
    assert journal == dataclasses.replace(
        novelty_of_paper(engine, paper.id), paper_id=journal.paper_id
    )
    assert journal.published == paper.published
    assert all(e.paper.id not in {paper.id, f"journal/{paper.id}"} for e in journal.evidence)
    assert not journal.near_duplicate


def test_paper_page_api_and_cli_list_both_records_and_split_undoes_the_merge(
    engine, preprints, capsys
):
    paper = next(p for p in preprints if p.doi)
    journal = f"journal/{paper.id}"
    settings = Settings(index_dir=engine.store.index_dir, api_token=TOKEN)
    with TestClient(create_app(settings, engine=engine)) as client:
        page = client.get(f"/paper/{journal}").text
        versions = page[page.index('id="versions"') :]
        assert f'href="https://arxiv.org/abs/{paper.id}"' in versions
        assert f'href="https://arxiv.org/pdf/{paper.id}"' in versions
        assert f'href="https://doi.org/{paper.doi}"' in versions
        assert f'href="/paper/{paper.id}"' in versions and "(this record)" in versions
        answer = client.get(f"/papers/{journal}/versions").json()
        assert [v["id"] for v in answer["versions"]] == [paper.id, journal]
        assert answer["merged"] and answer["earliest"] == paper.published.isoformat()
        assert answer["versions"][1]["reason"] and answer["versions"][1]["linked_to"] == paper.id
        assert client.post(f"/papers/{journal}/split").status_code == 401
        auth = {"Authorization": f"Bearer {TOKEN}"}
        done = client.post(f"/papers/{journal}/split", headers=auth)
        assert done.status_code == 200 and done.json()["split_from"] == [paper.id]
        assert not done.json()["work"]["merged"]
        again = client.post(f"/papers/{journal}/split", headers=auth)
        assert again.status_code == 400 and "not merged" in again.json()["error"]["message"]
        assert 'id="versions"' not in client.get(f"/paper/{journal}").text
    ids = [h.paper.id for h in search(engine, paper.title, k=10, mode="keyword").hits]
    assert {paper.id, journal} <= set(ids)
    # The split holds when the record is removed and ingested again.
    record = engine.store.get(journal)
    engine.store.remove([journal])
    engine.store.write_batch(
        [record], [], {journal: engine.store.embeddings([engine.store.vid_of(paper.id)])[0]}
    )
    assert mates(engine, journal) == {journal}
    # The CLI: versions of another work, then split it.
    other = next(p for p in preprints if p.id != paper.id)
    index = str(engine.store.index_dir)
    assert main(["versions", other.id, "--index", index]) == 0
    out = capsys.readouterr().out
    assert "2 record(s)" in out and f"merged with {other.id}" in out
    assert f"https://arxiv.org/abs/{other.id}" in out
    assert main(["split", f"journal/{other.id}", "--index", index, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["split_from"] == [other.id]
    assert main(["split", f"journal/{other.id}", "--index", index]) != 0
    assert "not merged" in capsys.readouterr().err


# ---- the rule, record by record ---------------------------------------------------------------
def _paper(**fields) -> Paper:
    base = {"id": "x", "title": "A study of sparse graphs", "abstract": "", "authors": ("Ann Lee",)}
    return Paper(**{**base, **fields})


def test_the_rule_links_what_is_one_work_and_nothing_else():
    preprint = _paper(id="0704.0002v1", published=date(2007, 4, 2))
    assert link_reason(preprint, _paper(id="0704.0002v2")) == "versions of arXiv 0704.0002"
    assert "names arXiv id 0704.0002" in link_reason(
        preprint, _paper(extra={"arxiv_id": "arXiv:0704.0002"})
    )
    assert (
        link_reason(_paper(doi="10.1/ABC"), _paper(id="y", doi="10.1/abc")) == "same DOI 10.1/abc"
    )
    same = _paper(id="y", authors=("A. Lee", "Bo Chen"), published=date(2008, 1, 5))
    assert link_reason(preprint, same).startswith("same title and first author")
    # Not one work: years apart, another first author, too short a title, two DOIs, no year.
    assert link_reason(preprint, dataclasses.replace(same, published=date(2010, 1, 1))) is None
    assert link_reason(preprint, dataclasses.replace(same, authors=("Bo Chen",))) is None
    short = dict(title="Introduction", published=date(2007, 1, 1))
    assert link_reason(_paper(**short), _paper(id="y", **short)) is None
    dois = dict(published=date(2007, 1, 1))
    assert link_reason(_paper(doi="10.1/a", **dois), _paper(id="y", doi="10.1/b", **dois)) is None
    assert link_reason(preprint, _paper(id="y")) is None
    assert link_reason(preprint, _paper(id="0705.0001", published=date(2007, 5, 1))) is None


def test_a_generic_title_shared_by_many_records_links_none(tmp_path):
    enc = FakeEncoder()
    store = Store.create_or_open(tmp_path / "idx", enc.name, enc.dim)
    many = [_paper(id=f"n{i}", authors=("Ann Lee",), published=date(2007, 1, 1)) for i in range(60)]
    store.write_batch(many, [], {p.id: enc._vector(p.id) for p in many})
    assert store.merged_count() == (0, 0)
    two = [
        _paper(id=f"t{i}", title="Two records of one work", published=date(2007, 1, 1))
        for i in range(2)
    ]
    store.write_batch(two, [], {p.id: enc._vector(p.id) for p in two})
    assert store.merged_count() == (1, 2)


def test_an_index_made_before_works_gets_its_groups_when_opened(tmp_path):
    enc = FakeEncoder()
    store = Store.create_or_open(tmp_path / "idx", enc.name, enc.dim)
    papers = [_paper(id="0704.0002v1"), _paper(id="0704.0002v2"), _paper(id="other", title="B")]
    store.write_batch(papers, [], {p.id: enc._vector(p.id) for p in papers})
    conn = store._conn()
    with conn:  # what an index written before this feature holds: no keys, no groups, no flag
        conn.execute("DELETE FROM works")
        conn.execute("DELETE FROM work_keys")
        conn.execute("DELETE FROM meta WHERE key = 'works_filled'")
    assert Store.open(tmp_path / "idx").merged_count() == (1, 2)

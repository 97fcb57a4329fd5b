"""Exports read back by independent parsers (bibtexparser with pylatexenc's LaTeX decoding, rispy,
csv) from search/export.py, the API and the CLI, over a small real index that the packaged model
embedded (the seed profile + the first 40 arXiv sample records) and the real sample records."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import bibtexparser
import pytest
import rispy
from bibtexparser.middlewares import SeparateCoAuthors
from fastapi.testclient import TestClient
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

from api.app import create_app
from api.cli import main
from api.export import format_from_accept
from api.settings import Settings
from indexer.paper import Paper, normalize_space
from indexer.readers.detect import read_papers
from search.engine import Engine
from search.export import bibtex_keys, escape_bibtex, export_text, to_bibtex, to_csv, to_ris
from tests.conftest import small_index

ROOT = Path(__file__).resolve().parents[1]
QUERY = "quantum field theory and particle physics"
FIRST = "0704.0001"  # Phys. Rev. D, with a DOI: every field an arXiv record can have


def _decoder() -> LatexNodes2Text:
    """LaTeX -> text as a reader would see it; pylatexenc renders \\textasciicircum as a modifier
    letter and does not know the text-mode brace macros, so they are taught here."""
    db = get_default_latex_context_db()
    macros = [("textasciicircum", "^"), ("textbraceleft", "{"), ("textbraceright", "}")]
    db.add_context_category(
        "paperscope-test", prepend=True, macros=[MacroTextSpec(n, t) for n, t in macros]
    )
    return LatexNodes2Text(latex_context=db)


DECODE = _decoder().latex_to_text


def parse_bibtex(text: str) -> dict[str, dict]:
    """key -> {field: raw value, "author": [names, split as BibTeX splits them]}; fails on any
    block the parser could not read."""
    library = bibtexparser.parse_string(text, append_middleware=[SeparateCoAuthors()])
    assert not library.failed_blocks, [b.error for b in library.failed_blocks]
    entries = {}
    for entry in library.entries:
        assert entry.key not in entries, f"duplicate key {entry.key}"
        entries[entry.key] = {f.key.lower(): f.value for f in entry.fields} | {
            "_type": entry.entry_type
        }
    return entries


def parse_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.fixture(scope="module")
def sample_papers(shared_data) -> list[Paper]:
    """The 200 arXiv sample records and the bundled S2ORC sample, as readers give them."""
    paths = [
        shared_data / "arxiv/arxiv-metadata-oai-snapshot.sample200.json",
        ROOT / "sample/s2orc-sample.jsonl.gz",
    ]
    return [p for path in paths for p in read_papers(path) if isinstance(p, Paper)]


@pytest.fixture(scope="module")
def engine(shared_data, encoder, tmp_path_factory) -> Engine:
    folder = tmp_path_factory.mktemp("export")
    store = small_index(shared_data, encoder, folder)
    return Engine(store, encoder)


@pytest.fixture(scope="module")
def client(engine):
    with TestClient(create_app(Settings(index_dir=engine.store.index_dir), engine=engine)) as c:
        yield c


# ---- the writer on real records -----------------------------------------------------------
def test_every_sample_record_parses_and_its_text_decodes_back(sample_papers):
    assert len(sample_papers) > 600
    entries = parse_bibtex(to_bibtex(sample_papers))
    assert len(entries) == len(sample_papers)  # keys unique over every real paper
    for (key, fields), paper in zip(entries.items(), sample_papers, strict=True):
        assert DECODE(fields["title"]) == normalize_space(paper.title), key
        if paper.abstract:
            assert DECODE(fields["abstract"]) == normalize_space(paper.abstract), key
        names = [DECODE(name.removeprefix("{").removesuffix("}")) for name in fields["author"]]
        assert names == [normalize_space(a) for a in paper.authors], key
        assert fields.get("year") == (str(paper.year) if paper.year else None), key
        assert fields.get("url", "").startswith("https://") or fields.get("doi"), key


def test_special_characters_are_escaped_and_decode_to_the_original():
    nasty = r"50% of {x} & $y_1$ cost #3 ~ 2^n \ path -- ``q'' under_score"
    lone = "a } b { c"
    for text in (nasty, lone):
        escaped = escape_bibtex(text)
        assert DECODE(escaped) == text
        # BibTeX counts every brace: the field must stay balanced even for lone braces.
        assert escaped.count("{") == escaped.count("}")
        for ch in "&%$#_":
            assert f"\\{ch}" in escaped or ch not in text
    assert escape_bibtex(nasty).startswith(r"50\% of \{x\} \& \$y\_1\$ cost \#3 ")
    assert r"\textasciitilde{}" in escape_bibtex(nasty) and r"\textasciicircum{}n" in (
        escape_bibtex(nasty)
    )
    assert r"\textbackslash{}" in escape_bibtex(nasty) and "-{}-" in escape_bibtex(nasty)
    assert escape_bibtex(lone) == r"a \textbraceright{} b \textbraceleft{} c"
    paper = Paper(id="x/1", title=nasty, abstract=lone, authors=("Æsa Ørsted-Ñúñez",))
    entries = parse_bibtex(to_bibtex([paper]))
    (fields,) = entries.values()
    assert DECODE(fields["title"]) == nasty and DECODE(fields["abstract"]) == lone
    assert list(entries) == ["orstednuneznd50"]  # ASCII key; no year: "nd"


def test_keys_are_unique_and_do_not_depend_on_the_order():
    def paper(pid: str, title: str, author: str, day: date | None) -> Paper:
        return Paper(id=pid, title=title, abstract="", authors=(author,), published=day)

    papers = [
        paper("p1", "Deep learning for graphs", "Ann Smith", date(2020, 5, 1)),
        paper("p2", "Deep nets", "Bo Smith", date(2020, 1, 1)),
        paper("p3", "The deep end", "Cy Smith", date(2020, 3, 1)),
        paper("p4", "Deepa", "Di Smith", date(2020, 3, 1)),  # its own key is smith2020deepa
        paper("p5", "Deep learning", "Ed Smith", None),
        paper("p6", "On shallow nets", "Smith, Fay", date(2021, 1, 1)),
        paper("p7", "Shallow", "Gus Smith Jr.", date(2021, 1, 1)),
        paper("p8", "Anything", "", date(2021, 1, 1)),
    ]
    keys = dict(zip([p.id for p in papers], bibtex_keys(papers), strict=True))
    assert len(set(keys.values())) == len(papers)
    assert keys["p4"] == "smith2020deepa"
    # The other four "smith2020deep" / "smith...deep" get suffixes by date then id, skipping the
    # "a" that p4 owns; the undated one has a key of its own ("nd").
    assert (keys["p2"], keys["p3"], keys["p1"]) == (
        "smith2020deepb",
        "smith2020deepc",
        "smith2020deepd",
    )
    assert keys["p5"] == "smithnddeep"
    assert (keys["p6"], keys["p7"]) == ("smith2021shallowa", "smith2021shallowb")
    assert keys["p8"] == "anon2021anything"
    reordered = list(reversed(papers))
    assert dict(zip([p.id for p in reordered], bibtex_keys(reordered), strict=True)) == keys
    assert len(parse_bibtex(to_bibtex(papers))) == len(papers)


def test_an_export_lists_a_paper_once():
    paper = Paper(id="a", title="One paper", abstract="", published=date(2001, 1, 1))
    assert len(parse_bibtex(export_text([paper, paper], "bibtex"))) == 1
    assert len(rispy.loads(export_text([paper, paper], "ris"))) == 1


def test_arxiv_doi_and_venue_fields(sample_papers):
    first = next(p for p in sample_papers if p.id == FIRST)
    (fields,) = parse_bibtex(to_bibtex([first])).values()
    assert fields["_type"] == "article" and fields["journal"] == "Phys.Rev.D76:013009,2007"
    assert (fields["eprint"], fields["archiveprefix"], fields["primaryclass"]) == (
        FIRST,
        "arXiv",
        "hep-ph",
    )
    assert fields["doi"] == "10.1103/PhysRevD.76.013009"
    assert fields["url"] == "https://arxiv.org/abs/0704.0001"
    assert (fields["year"], fields["month"]) == ("2007", "apr")
    assert [DECODE(name) for name in fields["author"]] == list(first.authors)
    assert first.authors[0] == "C. Balázs"
    preprint = next(p for p in sample_papers if p.source == "arxiv" and not p.venue)
    (fields,) = parse_bibtex(to_bibtex([preprint])).values()
    assert fields["_type"] == "misc" and fields["eprint"] == preprint.id
    # S2ORC: the journal is the venue, the Semantic Scholar page the URL, fields of study are
    # not arXiv classes.
    s2 = next(p for p in sample_papers if p.source == "s2orc" and p.venue and p.categories)
    (fields,) = parse_bibtex(to_bibtex([s2])).values()
    assert fields["url"] == s2.url and "primaryclass" not in fields
    assert DECODE(fields.get("journal") or fields["booktitle"]) == normalize_space(s2.venue)


def test_ris_and_csv_of_real_records_parse(sample_papers):
    records = rispy.loads(to_ris(sample_papers))
    assert len(records) == len(sample_papers)
    for record, paper in zip(records, sample_papers, strict=True):
        assert record["id"] == paper.id and record["title"] == normalize_space(paper.title)
        assert record.get("authors", []) == [normalize_space(a) for a in paper.authors]
        assert record.get("year") == (str(paper.year) if paper.year else None)
    first = records[[p.id for p in sample_papers].index(FIRST)]
    assert first["type_of_reference"] == "JOUR" and first["doi"] == "10.1103/PhysRevD.76.013009"
    assert first["date"] == "2007/04/02/" and first["accession_number"] == "arXiv:0704.0001"
    assert first["urls"] == ["https://arxiv.org/abs/0704.0001"]
    rows = parse_csv(to_csv(sample_papers))
    assert [r["id"] for r in rows] == [p.id for p in sample_papers]
    assert rows[0]["authors"] == "; ".join(sample_papers[0].authors)
    assert parse_csv(to_csv([])) == [] and to_csv([]).startswith("id,title,abstract,")


# ---- the API ------------------------------------------------------------------------------
def test_a_ten_hit_search_exports_ten_complete_entries(client):
    # The arXiv records (2007) all have a URL; the seed profile's records have none to give.
    params = {"q": QUERY, "k": 10, "year_to": 2007}
    hits = client.get("/search", params=params).json()["hits"]
    assert len(hits) == 10
    response = client.get("/search", params=params | {"format": "bibtex"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/x-bibtex; charset=utf-8"
    assert response.headers["content-disposition"].startswith('attachment; filename="paperscope-')
    assert "accept" in response.headers["vary"].lower()
    entries = parse_bibtex(response.text)
    assert len(entries) == 10
    for fields in entries.values():
        assert fields["title"] and fields["author"] and fields["year"].isdigit()
        assert fields.get("url", "").startswith("https://") or fields.get("doi")
    titles = [DECODE(f["title"]) for f in entries.values()]
    assert titles == [normalize_space(h["paper"]["title"]) for h in hits]  # in rank order


def test_accept_header_picks_ris_and_csv(client):
    ids = [h["paper"]["id"] for h in client.get("/search", params={"q": QUERY}).json()["hits"]]
    ris = client.get(
        "/search", params={"q": QUERY}, headers={"Accept": "application/x-research-info-systems"}
    )
    assert ris.headers["content-type"] == "application/x-research-info-systems; charset=utf-8"
    assert [r["id"] for r in rispy.loads(ris.text)] == ids
    table = client.get("/search", params={"q": QUERY}, headers={"Accept": "text/csv"})
    assert table.headers["content-type"] == "text/csv; charset=utf-8"
    rows = parse_csv(table.text)
    assert [r["id"] for r in rows] == ids and [r["rank"] for r in rows] == [
        str(i) for i in range(1, 11)
    ]
    assert {"score", "keyword_score", "semantic_rank", "title", "doi", "url"} <= set(rows[0])
    # format= wins over Accept; */* and JSON clients keep JSON.
    both = client.get(
        "/search", params={"q": QUERY, "format": "json"}, headers={"Accept": "text/csv"}
    )
    assert both.headers["content-type"] == "application/json"
    assert client.get("/search", params={"q": QUERY}, headers={"Accept": "*/*"}).json()["hits"]


def test_accept_quality_values():
    assert format_from_accept("") == "json" and format_from_accept("*/*") == "json"
    assert format_from_accept("text/csv;q=0.5, application/x-bibtex;q=0.9") == "bibtex"
    assert format_from_accept("application/json, text/csv;q=0.9") == "json"
    assert format_from_accept("text/x-bibtex") == "bibtex"
    assert format_from_accept("text/csv;q=oops") == "json"


@pytest.mark.parametrize("path", ["/search?q=graph", f"/papers/{FIRST}", "/authors/Kelsey Allen"])
def test_bad_format_is_a_422_in_the_one_error_body(client, path):
    response = client.get(path, params={"format": "endnote"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "invalid_request" and "format" in error["message"]
    assert set(response.json()) == {"error"}


def test_one_paper_an_author_and_related_papers(client):
    one = client.get(f"/papers/{FIRST}", params={"format": "bibtex"})
    assert 'filename="paperscope-0704.0001.bib"' in one.headers["content-disposition"]
    assert [f["eprint"] for f in parse_bibtex(one.text).values()] == [FIRST]
    profile = client.get("/authors/kelsey allen").json()
    ris = client.get("/authors/kelsey allen", params={"format": "ris"})
    records = rispy.loads(ris.text)
    assert len(records) == profile["paper_count"] == 14
    assert [r["id"] for r in records] == [p["id"] for p in profile["papers"]]
    assert all("Kelsey Allen" in r["authors"] for r in records)
    related = client.get(f"/papers/{FIRST}/related", params={"k": 5}).json()["hits"]
    rows = parse_csv(client.get(f"/papers/{FIRST}/related", params={"k": 5, "format": "csv"}).text)
    assert [r["id"] for r in rows] == [h["paper"]["id"] for h in related]
    assert rows[0]["signal"] == related[0]["signal"]
    assert client.get("/papers/0000.0000", params={"format": "bibtex"}).status_code == 404


def test_recommendations_by_post_and_by_link_export_the_same_list(client):
    body = {"positive_ids": [FIRST], "k": 6}
    posted = client.post("/recommendations", json=body).json()["hits"]
    ids = [h["paper"]["id"] for h in posted]
    linked = client.get("/recommendations", params={"positive": FIRST, "k": 6}).json()["hits"]
    assert [h["paper"]["id"] for h in linked] == ids and len(ids) == 6
    rows = parse_csv(client.post("/recommendations", params={"format": "csv"}, json=body).text)
    assert [r["id"] for r in rows] == ids and rows[0]["closest_positive_id"] == FIRST
    bib = client.get("/recommendations", params={"positive": FIRST, "k": 6, "format": "bibtex"})
    assert len(parse_bibtex(bib.text)) == 6
    missing = client.get("/recommendations", params={"positive": "0000.0000"})
    assert missing.status_code == 404 and "0000.0000" in missing.json()["error"]["message"]
    assert client.get("/recommendations").status_code == 422


# ---- the CLI ------------------------------------------------------------------------------
def test_cli_exports_search_author_recommend_and_papers(engine, capsys, monkeypatch):
    monkeypatch.setattr("search.engine.load_encoder", lambda *a, **kw: engine.encoder)
    index = ["--index", str(engine.store.index_dir)]
    assert main(["search", QUERY, *index, "-k", "10", "--format", "bibtex"]) == 0
    entries = parse_bibtex(capsys.readouterr().out)
    assert len(entries) == 10
    assert all(f["title"] and f["author"] and f["year"] for f in entries.values())
    assert main(["author", "Kelsey Allen", *index, "--format", "csv"]) == 0
    assert len(parse_csv(capsys.readouterr().out)) == 14
    assert main(["recommend", "--positive", FIRST, "-k", "4", *index, "--format", "ris"]) == 0
    assert len(rispy.loads(capsys.readouterr().out)) == 4
    assert main(["export", FIRST, "0704.0002", *index]) == 0
    assert [f["eprint"] for f in parse_bibtex(capsys.readouterr().out).values()] == [
        FIRST,
        "0704.0002",
    ]
    assert main(["export", FIRST, *index, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["doi"] == "10.1103/PhysRevD.76.013009"
    assert main(["export", "0000.0000", *index]) == 2
    assert "no paper with id '0000.0000'" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # --json and --format are one choice
        main(["search", QUERY, *index, "--json", "--format", "csv"])


def test_csv_cells_that_a_spreadsheet_would_run_are_text():
    from indexer.paper import Paper

    paper = Paper(id="x1", title='=HYPERLINK("http://evil")', abstract="-1 + 2", authors=["@me"])
    row = parse_csv(to_csv([paper]))[0]
    assert row["title"] == '\'=HYPERLINK("http://evil")'
    assert row["abstract"] == "'-1 + 2" and row["authors"] == "'@me" and row["id"] == "x1"

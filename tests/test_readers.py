"""Readers on real records from ../shared/data, and malformed input that must become Skips."""

from __future__ import annotations

import gzip
import json
import shutil
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.paper import Paper
from indexer.readers import detect
from indexer.readers.arxiv import arxiv_paper, read_arxiv
from indexer.readers.base import Skip
from indexer.readers.beir import beir_paper, read_beir
from indexer.readers.cora import cora_paper, read_cora
from indexer.readers.dates import parse_date
from indexer.readers.detect import (
    FORMATS,
    detect_format,
    iter_input_files,
    parse_mapping,
    read_papers,
)
from indexer.readers.generic import ALIASES, generic_paper, read_csv, read_jsonl, to_result
from indexer.readers.s2orc import read_s2orc, s2orc_paper
from models.errors import BadInputError

ARXIV = "arxiv/arxiv-metadata-oai-snapshot.sample200.json"
S2ORC = "s2orc/metadata_sample.jsonl"
SCIFACT = "scifact/corpus.jsonl"
CORA = "cora/cora_papers.jsonl"
SEED = "seed_profile.jsonl"


def split(results) -> tuple[list[Paper], list[Skip]]:
    results = list(results)
    return [r for r in results if isinstance(r, Paper)], [r for r in results if isinstance(r, Skip)]


def write_lines(path, lines: list[str | bytes]):
    path.write_bytes(b"".join((x if isinstance(x, bytes) else x.encode()) + b"\n" for x in lines))
    return path


def test_arxiv_sample(shared_data):
    papers, skips = split(read_arxiv(shared_data / ARXIV))
    assert len(papers) == 200 and not skips
    first = papers[0]
    assert first.id == "0704.0001" and first.source == "arxiv"
    assert (first.published, first.date_precision) == (date(2007, 4, 2), "day")
    assert first.updated == date(2008, 11, 26)
    assert first.authors == ("C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan")
    assert first.categories == ("hep-ph",)
    assert first.venue == "Phys.Rev.D76:013009,2007" and first.doi == "10.1103/PhysRevD.76.013009"
    assert first.url == "https://arxiv.org/abs/0704.0001"
    assert first.title.endswith("at Tevatron and LHC energies")
    assert all("\n" not in p.title and "  " not in p.title and p.abstract for p in papers)


def test_arxiv_version_suffix_and_plain_authors():
    record = {
        "id": "0704.0001v2",
        "title": "T",
        "abstract": "A",
        "authors": "C. Bal\\'azs, E. L. Berger and Fran\\c{c}ois Roe",
        "versions": [{"version": "v2", "created": "Tue, 24 Jul 2007 20:10:27 GMT"},
                     {"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"}],
    }  # fmt: skip
    paper = arxiv_paper(record)
    assert paper.id == "0704.0001" and paper.published == date(2007, 4, 2)
    assert paper.authors == ("C. Balázs", "E. L. Berger", "François Roe")


def test_arxiv_sample_names_hold_no_affiliations(shared_data):
    """arXiv puts "(Universität Stuttgart)" or footnote labels "(1 and 2)" after a name."""
    papers = {p.id: p for p in split(read_arxiv(shared_data / ARXIV))[0]}
    names = [name for p in papers.values() for name in p.authors]
    assert len(papers) == 200 and len(names) > 400
    assert not [n for n in names if "(" in n or any(ch.isdigit() for ch in n)]
    assert not [n for n in names if len(n.split()) > 5 or "Univ" in n or "Institut" in n]
    assert papers["0704.0163"].authors == ("Peter Brommer", "Franz Gähler")
    assert papers["0704.0163"].affiliations == (
        "Institut für Theoretische und Angewandte Physik, Universität Stuttgart",
    )
    # Footnote labels resolve to the affiliations the authors line lists at its end.
    assert papers["0704.0025"].authors == ("A. S. Mishchenko", "N. Nagaosa")
    assert papers["0704.0025"].affiliations[0] == "CREST, Japan Science and Technology Agency"
    assert papers["0704.0025"].affiliations[2] == "The University of Tokyo"
    with_affiliations = [p for p in papers.values() if p.affiliations]
    assert len(with_affiliations) == 18


def test_et_al_marks_a_cut_author_list():
    """A list that ends in "et al." / "others" loses that entry and is marked as cut."""
    cut = generic_paper({"id": "x", "title": "T", "abstract": "A", "authors": "Ann Lee, et al."})
    assert cut.authors == ("Ann Lee",) and cut.extra["authors_truncated"] is True
    listed = generic_paper({"id": "y", "title": "T", "abstract": "A", "authors": ["Ann Lee"]})
    assert listed.authors == ("Ann Lee",) and "authors_truncated" not in listed.extra
    parsed = [["Roe", "A.", ""], ["Poe", "B.", ""], ["al", "et", ""]]
    record = {"id": "0704.9", "title": "T", "abstract": "A", "authors": "A. Roe, B. Poe, et al"}
    record["authors_parsed"] = parsed
    paper = arxiv_paper(record)
    assert paper.authors == ("A. Roe", "B. Poe") and paper.extra["authors_truncated"] is True


def test_s2orc_sample(shared_data):
    papers, skips = split(read_s2orc(shared_data / S2ORC))
    assert len(papers) == 488
    assert len(skips) == 512 and {s.reason for s in skips} == {"no abstract"}
    assert all(p.date_precision == "year" and p.published.month == 1 for p in papers if p.published)
    assert all(p.citation_count is not None and p.url.startswith("https://") for p in papers)
    assert any(p.references for p in papers)
    assert all(isinstance(ref, str) for p in papers for ref in p.references)
    assert any("arxiv_id" in p.extra for p in papers)
    assert {p.source for p in papers} == {"s2orc"} and len({p.id for p in papers}) == 488


def test_s2orc_graph_api_shapes():
    paper = s2orc_paper({
        "paper_id": 7, "title": "T", "abstract": "A", "publicationDate": "2020-05-17",
        "authors": [{"authorId": "1", "name": "Ada  Lovelace"}, "Alan Turing"],
        "citationCount": 12, "fieldsOfStudy": ["Computer Science"],
        "journal": {"name": "J. Foo", "volume": "3"}, "externalIds": {"DOI": "10.1/x"},
    })  # fmt: skip
    assert paper.id == "7" and paper.authors == ("Ada Lovelace", "Alan Turing")
    assert (paper.published, paper.date_precision) == (date(2020, 5, 17), "day")
    assert paper.citation_count == 12 and paper.categories == ("Computer Science",)
    assert paper.venue == "J. Foo" and paper.doi == "10.1/x"


def test_beir_scifact(shared_data):
    papers, skips = split(read_beir(shared_data / SCIFACT))
    assert len(papers) == 5183 and not skips
    assert papers[0].id == "4983" and papers[0].title.startswith("Microstructural development")
    assert papers[0].abstract.startswith("Alterations of the architecture")
    assert len({p.id for p in papers}) == 5183 and not papers[0].authors


def test_cora(shared_data):
    papers, skips = split(read_cora(shared_data / CORA))
    assert len(papers) == 2708 and not skips
    first = papers[0]
    assert (first.id, first.extra) == ("0", {"label": 0})
    assert first.title == "Stochastic pro-positionalization of non-determinate background knowledge"
    assert first.abstract.startswith("It is a well-known fact")
    assert all(p.title and p.abstract and " : " not in p.title[-3:] for p in papers)
    assert [p.id for p in papers[:3]] == ["0", "1", "2"]


def test_seed_profile(shared_data):
    papers, skips = split(read_papers(shared_data / SEED))
    assert len(papers) == 14 and not skips
    assert len({p.id for p in papers}) == 14 and all(p.id.startswith("t:") for p in papers)
    assert all("Kelsey Allen" in p.authors and p.published and p.abstract for p in papers)
    assert {p.categories[0] for p in papers} >= {"cs.LG", "cs.CV", "cs.AI"}
    assert sum(bool(p.has_code) for p in papers) == 3
    assert ("deepmind", "stanford") in {p.affiliations for p in papers}
    assert papers[0].published == date(2023, 3, 27) and papers[0].extra["authors_truncated"]
    # the derived id is stable: the same title gives the same id on another run
    assert papers[0].id == split(read_papers(shared_data / SEED))[0][0].id


@pytest.mark.parametrize(
    "relative, fmt",
    [(ARXIV, "arxiv"), (S2ORC, "s2orc"), (SCIFACT, "beir"), (CORA, "cora"), (SEED, "jsonl")],
)
def test_detect_format(shared_data, relative, fmt):
    assert detect_format(shared_data / relative) == fmt


def test_detect_csv_and_unreadable(tmp_path):
    assert detect_format(tmp_path / "x.tsv.gz") == "csv"
    with pytest.raises(BadInputError, match="no JSON object"):
        detect_format(write_lines(tmp_path / "bad.jsonl", ["not json", "[1, 2]"]))


def test_iter_input_files(shared_data, tmp_path):
    assert iter_input_files([shared_data / "scifact"]) == [shared_data / SCIFACT]
    assert iter_input_files([shared_data / "arxiv"]) == [shared_data / ARXIV]
    for name in ("b.jsonl.gz", "a.csv", "c.tsv", "notes.txt", ".hidden.jsonl"):
        (tmp_path / name).write_text("")
    (tmp_path / "sub").mkdir()
    found = iter_input_files([tmp_path, tmp_path / "a.csv"])
    assert [p.name for p in found] == ["a.csv", "b.jsonl.gz", "c.tsv"]
    with pytest.raises(BadInputError, match="does not exist"):
        iter_input_files([tmp_path / "missing.jsonl"])
    with pytest.raises(BadInputError, match="no data files"):
        iter_input_files([tmp_path / "sub"])


def test_gz_input(shared_data, tmp_path):
    target = tmp_path / "cora_papers.jsonl.gz"
    with (shared_data / CORA).open("rb") as src, gzip.open(target, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert detect_format(target) == "cora"
    papers, skips = split(read_papers(target))
    assert len(papers) == 2708 and not skips


def test_malformed_lines_become_skips(tmp_path):
    good = {"id": "g1", "title": "Good", "abstract": "Fine.", "published": "2020-01"}
    path = write_lines(tmp_path / "mixed.jsonl", [
        json.dumps(good),
        '{"id": "x", "title": ',
        "[1, 2]",
        json.dumps({"id": "n", "title": 42, "abstract": "A"}),
        json.dumps({"id": "a", "title": "T", "abstract": "A", "authors": 3}),
        json.dumps({"id": "d", "title": "T", "abstract": "A", "published": "2020-13-45"}),
        b'{"id": "u", "title": "caf\xe9", "abstract": "A"}',
        json.dumps({"id": "m", "title": "Only a title"}),
        "",
        json.dumps({**good, "id": "g2", "published": 2019}),
    ])  # fmt: skip
    papers, skips = split(read_jsonl(path))
    assert [p.id for p in papers] == ["g1", "g2"]
    assert (papers[0].date_precision, papers[1].date_precision) == ("month", "year")
    expected = ["bad JSON", "not a JSON object", "title is a number", "authors is a number",
                "bad date '2020-13-45'", "not UTF-8", "no abstract"]  # fmt: skip
    assert [s.line for s in skips] == [2, 3, 4, 5, 6, 7, 8]
    assert all(e in s.reason for e, s in zip(expected, skips, strict=True)), skips
    assert {s.path for s in skips} == {str(path)}


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_reader_survives_junk(tmp_path, fmt):
    junk = ["{", "[]", '"text"', "null", b"\xff\xfe{}", json.dumps({"title": 5, "text": 5})]
    path = write_lines(tmp_path / "junk.txt", junk)
    papers, skips = split(read_papers(path, fmt))
    assert not papers and len(skips) == (len(junk) - 1 if fmt == "csv" else len(junk))


# Any JSON object made of the keys the readers look at: a Paper or a reason, never an exception.
_KEYS = ["id", "_id", "node_id", "paper_id", "title", "abstract", "text", "authors", "year",
         "authors_parsed", "versions", "categories", "published", "has_code", "citation_count",
         "inbound_citations", "outbound_citations", "journal", "update_date", "label"]  # fmt: skip
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(_KEYS), inner),
    max_leaves=8,
)


@settings(max_examples=100, deadline=None, database=None)
@given(st.dictionaries(st.sampled_from(_KEYS), _JSON))
def test_readers_never_raise_on_odd_values(record):
    for to_paper in (arxiv_paper, s2orc_paper, beir_paper, cora_paper, generic_paper):
        result = to_result(record, to_paper, keep_title_only=True)
        assert isinstance(result, Paper | str)
        if isinstance(result, str):
            assert not result.startswith("bad record"), result  # every shape has a clear reason


def test_csv_default_names(tmp_path):
    path = tmp_path / "papers.csv"
    path.write_text(
        "paper_id,Title,Abstract,authors,year,category,code_url,n_citation\n"
        'p1,First,"An abstract\nover two lines","A. One, B. Two and C. Three",2019,"cs.LG, cs.AI",'
        "https://github.com/x/y,12\n"
        "p2,Second,Text,Doe, J.; Roe\n"  # 5 fields where the header has 8
        'p3,Third,Text,"Doe, J.; Roe, R.",2020-02,,,\n',
        encoding="utf-8",
    )
    papers, skips = split(read_csv(path))
    first, third = papers
    assert first.abstract == "An abstract over two lines" and first.source == "csv"
    assert first.authors == ("A. One", "B. Two", "C. Three")
    assert first.categories == ("cs.LG", "cs.AI") and first.citation_count == 12
    assert (first.published, first.date_precision) == (date(2019, 1, 1), "year")
    assert first.has_code is True and first.code_url == "https://github.com/x/y"
    assert third.authors == ("Doe, J.", "Roe, R.") and third.date_precision == "month"
    assert [(s.line, s.reason) for s in skips] == [
        (4, "wrong number of columns (5, the header has 8)")
    ]


def test_tsv_with_mapping(tmp_path):
    path = tmp_path / "papers.tsv"
    path.write_text("key\tname\tsummary\twriters\twhen\tcode\nk1\tT\tS\tAda; Alan\t2021\tyes\n")
    mapping = parse_mapping(
        ["id=key", "title=name", "authors=writers", "published=when", "has_code = code"]
    )
    (paper,) = read_papers(path, mapping=mapping)
    assert (paper.id, paper.title, paper.abstract) == ("k1", "T", "S")  # abstract via "summary"
    assert paper.authors == ("Ada", "Alan") and paper.has_code is True and paper.year == 2021
    with pytest.raises(BadInputError, match="no such column"):
        list(read_papers(path, mapping={"title": "paper_title"}))


def test_keep_title_only(shared_data, tmp_path):
    papers, skips = split(read_s2orc(shared_data / S2ORC, keep_title_only=True))
    assert len(papers) == 1000 and not skips
    assert sum(not p.abstract for p in papers) == 512
    path = write_lines(tmp_path / "t.jsonl", ['{"id": "a", "title": "T"}', '{"id": "b"}'])
    papers, skips = split(read_jsonl(path, keep_title_only=True))
    assert [p.title for p in papers] == ["T"] and skips[0].reason == "no title or abstract"


@pytest.mark.parametrize(
    "value, expected",
    [("2007", (date(2007, 1, 1), "year")), (2007, (date(2007, 1, 1), "year")),
     ("2007-04", (date(2007, 4, 1), "month")), ("2007-04-02", (date(2007, 4, 2), "day")),
     ("2007-04-02T19:18:42Z", (date(2007, 4, 2), "day")),
     ("Mon, 2 Apr 2007 19:18:42 GMT", (date(2007, 4, 2), "day"))],
)  # fmt: skip
def test_parse_date(value, expected):
    assert parse_date(value) == expected


@pytest.mark.parametrize("value", ["2007-13", "2007-02-30", "0000", 0, 3000, "yesterday", "", None])
def test_parse_date_rejects(value):
    with pytest.raises(ValueError, match="bad date"):
        parse_date(value)


def test_argument_errors(shared_data):
    with pytest.raises(BadInputError, match="FIELD=COLUMN"):
        parse_mapping(["title"])
    with pytest.raises(BadInputError, match="unknown field 'titel'"):
        parse_mapping(["titel=x"])
    with pytest.raises(BadInputError, match="choose one of arxiv, s2orc"):
        read_papers(shared_data / SEED, "pdf")
    with pytest.raises(BadInputError, match="jsonl and csv formats only"):
        read_papers(shared_data / ARXIV, mapping={"title": "x"})


def test_docs_list_every_column_alias():
    rows = [line.split("|") for line in detect.__doc__.splitlines() if line.startswith("| ")]
    for field, columns in ALIASES.items():
        row = next(cells for cells in rows if field in cells[1].replace(",", " ").split())
        assert all(column in row[2] for column in columns), field

"""Related papers on a small real index: exclusions, direction, filters, citation blend, errors."""

from __future__ import annotations

import dataclasses
import json

import pytest

from api.cli import main
from indexer.filters import Filters
from models.errors import InvalidQueryError, NotFoundError
from search import periods
from search.citations import CitationGraph
from search.related import related
from tests.discovery_index import add_papers, discovery_engine, seed_id, undated_copy

DUAL = "Improving Dual-Encoder Training"
SCALING = "Scaling 4D Representations"


@pytest.fixture(scope="module")
def engine(shared_data, encoder, tmp_path_factory):
    """The discovery index plus two records of the same work as SCALING (another version of an
    arXiv-style id, and a copy under another id with the same title) and a versioned pair."""
    engine = discovery_engine(shared_data, encoder, tmp_path_factory.mktemp("related"))
    original = engine.store.get(seed_id(engine, SCALING))
    add_papers(
        engine,
        [
            dataclasses.replace(original, id="copy-of-scaling", abstract=original.abstract[:400]),
            dataclasses.replace(
                engine.store.get("0704.0002"), id="0704.0002v2", title="Sparsity certifying graphs"
            ),
        ],
    )
    return engine


def test_related_ranks_same_field_papers_and_excludes_the_paper_and_its_duplicates(engine):
    pid = seed_id(engine, SCALING)
    hits = related(engine, pid, k=10)
    ids = [h.paper.id for h in hits]
    assert len(hits) == 10 and [h.rank for h in hits] == list(range(1, 11))
    assert pid not in ids and "copy-of-scaling" not in ids
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    # A vision paper's nearest papers are the ML seed papers, not 2007 physics or medicine.
    assert all(h.paper.source == "jsonl" for h in hits[:3])
    assert all(h.signal == "text" and h.citation_score is None for h in hits)
    # The duplicate's own related list leaves out the original in turn.
    assert pid not in [h.paper.id for h in related(engine, "copy-of-scaling", k=20)]


def test_another_version_of_an_arxiv_id_is_a_duplicate(engine):
    assert "0704.0002v2" not in [h.paper.id for h in related(engine, "0704.0002", k=30)]
    assert "0704.0002" not in [h.paper.id for h in related(engine, "0704.0002v2", k=30)]


def test_direction_keeps_only_papers_certainly_earlier_or_later(engine):
    pid = seed_id(engine, DUAL)  # 2023-03-27
    paper = engine.store.get(pid)
    earlier = related(engine, pid, k=30, direction="earlier")
    later = related(engine, pid, k=30, direction="later")
    assert earlier and later
    assert all(periods.paper_bounds(h.paper)[1] < paper.published for h in earlier)
    assert all(periods.paper_bounds(h.paper)[0] > paper.published for h in later)
    # Year-only S2ORC papers from 2023 or later would be neither; from before, they are earlier.
    assert any(h.paper.date_precision == "year" for h in earlier)
    assert {h.paper.id for h in earlier}.isdisjoint(h.paper.id for h in later)


def test_year_only_paper_is_not_earlier_than_a_paper_of_the_same_year(engine):
    # 0704.0001 is dated 2007-04-02; S2ORC's 66482199 says only "2007".
    earlier = related(engine, "0704.0001", k=100, direction="earlier")
    assert "66482199" not in [h.paper.id for h in earlier]
    later = related(engine, seed_id(engine, DUAL), k=100, direction="earlier")
    assert "66482199" in [h.paper.id for h in later]


def test_filters_apply(engine):
    hits = related(engine, "0704.0001", k=5, filters=Filters(category="math"))
    assert hits and all(any(c.startswith("math.") for c in h.paper.categories) for h in hits)
    hits = related(engine, seed_id(engine, SCALING), k=5, filters=Filters(year_from=2025))
    assert hits and all(h.paper.year >= 2025 for h in hits)


def test_citation_blend_names_its_signal(engine, shared_data, tmp_path):
    """Two papers that cite the same two papers are coupled: with citations they rise to the
    top and say so; text-only ranking ignores the links."""
    copy = discovery_engine(shared_data, engine.encoder, tmp_path)
    store = copy.store
    a, b = "0704.0004", "0704.0010"  # two math.CO papers
    refs = ("0704.0001", "0704.0016")  # two hep-ph papers, far from combinatorics
    updates = [
        (store.vid_of(pid), dataclasses.replace(store.get(pid), references=refs)) for pid in (a, b)
    ]
    store.write_batch([], updates, {})
    store.sync_derived()
    graph = CitationGraph.from_store(store)
    assert graph.neighbours(a) == set(refs) and graph.degree("0704.0001") == 2

    blended = related(copy, a, k=5)
    assert blended[0].paper.id == b and blended[0].signal == "text+citations"
    assert blended[0].citation_score == pytest.approx(2 / 3)  # N[a] & N[b] = refs, 2/sqrt(3*3)
    only_cites = related(copy, a, k=5, signals="citations")
    assert {h.paper.id for h in only_cites} == {b, *refs}
    assert all(h.signal == "citations" for h in only_cites)
    text_only = related(copy, a, k=5, signals="text")
    assert all(h.citation_score is None for h in text_only)
    # Without links, "auto" is text only and "citations" finds nothing.
    assert related(copy, "0704.0013", k=3)[0].citation_score is None
    assert related(copy, "0704.0013", k=3, signals="citations") == []


def test_overlap_scores_on_a_toy_graph():
    graph = CitationGraph.from_edges([("q", "m"), ("c", "m"), ("q", "d"), ("x", "x")])
    scores = graph.overlap_scores("q")
    # N[q] = {q, m, d}; N[c] = {c, m}: 1 shared; N[m] = {m, q, c}: 2 shared; N[d] = {d, q}: 2.
    assert scores["c"] == pytest.approx(1 / (3 * 2) ** 0.5)
    assert scores["m"] == pytest.approx(2 / (3 * 3) ** 0.5)
    assert scores["d"] == pytest.approx(2 / (3 * 2) ** 0.5)
    assert "q" not in scores and graph.degree("x") == 0 and len(graph) == 3


def test_bad_requests_say_what_to_do(engine):
    pid = seed_id(engine, DUAL)
    for kwargs in ({"k": 0}, {"k": 101}, {"direction": "sideways"}, {"signals": "votes"}):
        with pytest.raises(InvalidQueryError):
            related(engine, pid, **kwargs)
    with pytest.raises(NotFoundError, match="no paper with id"):
        related(engine, "no-such-paper")


def test_direction_needs_a_dated_paper(engine, shared_data, tmp_path):
    copy = discovery_engine(shared_data, engine.encoder, tmp_path)
    undated = undated_copy(copy.store.get("0704.0001"))
    add_papers(copy, [undated])
    with pytest.raises(InvalidQueryError, match="no date"):
        related(copy, "undated", direction="earlier")
    assert len(related(copy, "undated", k=3)) == 3  # without a direction it is fine


def test_related_and_recommend_commands(engine, capsys):
    pid, index = seed_id(engine, SCALING), str(engine.store.index_dir)
    assert main(["related", pid, "--index", index, "-k", "3", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert len(hits) == 3 and hits[0]["signal"] == "text" and hits[0]["paper"]["id"] != pid
    assert main(["related", pid, "--index", index, "-k", "2", "--direction", "later"]) == 0
    assert "related to" in capsys.readouterr().out
    args = ["recommend", "--positive", pid, "--negative", "0704.0001", "--index", index]
    assert main([*args, "-k", "2", "--json"]) == 0
    recs = json.loads(capsys.readouterr().out)["recommendations"]
    assert len(recs) == 2 and recs[0]["closest_positive_id"] == pid
    assert main(["related", pid, "--index", index, "-k", "500"]) == 2
    assert "out of range" in capsys.readouterr().err

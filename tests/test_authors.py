"""Author profiles (the seed profile's Kelsey Allen among other papers) and author lookup."""

from __future__ import annotations

import dataclasses
import json
import statistics
from datetime import date

import pytest

from api.cli import main
from api.schemas import AuthorProfileOut, AuthorSummaryOut, dump
from models.errors import InvalidQueryError, NotFoundError
from search.authors import MIN_SCORED, SHRINK, author_profile, find_authors, h_index
from search.categories import AI_CATEGORIES, ai_label
from tests.discovery_index import add_papers, cohort_engine, discovery_engine


@pytest.fixture(scope="module")
def engine(shared_data, encoder, tmp_path_factory):
    """With 120 arXiv 2025 papers, so that her 2025 papers have a cohort to be ranked in."""
    return cohort_engine(shared_data, encoder, tmp_path_factory.mktemp("authors"))


def test_novelty_percent_is_withheld_where_no_cohort_is_big_enough(shared_data, encoder, tmp_path):
    """On the small index her 8 papers of 2025 would be ranked against each other: withheld."""
    small = discovery_engine(shared_data, encoder, tmp_path)
    profile = author_profile(small, "Kelsey Allen")
    assert profile.novelty_percent is None
    assert all(p.percentile is None for p in profile.paper_novelty)
    assert "withheld: 0 of 14 papers have a percentile" in profile.novelty_note
    assert "at least 50 other scored papers from its year" in profile.novelty_note


def test_kelsey_allen_profile(engine):
    profile = author_profile(engine, "Kelsey Allen")
    assert profile.name == "Kelsey Allen" and profile.paper_count == 14 == len(profile.papers)
    dates = [p.published for p in profile.papers]
    assert dates == sorted(dates, reverse=True) and dates[0] == date(2026, 1, 20)
    # The seed profile carries no citation counts: unknown, not 0, and the note says why.
    assert profile.citations is None and profile.h_index is None
    assert "none of the 14 papers carries a citation count" in profile.citations_note
    # Novelty %: median of the scored papers' percentiles, shrunk toward 50.
    scored = [p.percentile for p in profile.paper_novelty if p.percentile is not None]
    assert len(scored) >= MIN_SCORED
    n, median = len(scored), statistics.median(scored)
    assert profile.novelty_percent == pytest.approx((n * median + SHRINK * 50) / (n + SHRINK), 0.01)
    assert f"over {n} scored papers" in profile.novelty_note
    # AI score: 13 of 14 papers are in AI/ML categories; cs.CY (computers and society) is not.
    assert profile.ai_score == round(100 * 13 / 14)
    assert "cs.LG" in profile.ai_score_definition and "14 of 14" in profile.ai_score_definition
    assert profile.top_categories[0] == ("cs.CV", 5)
    assert profile.papers_with_code == 3 == len(profile.code_paper_ids)
    assert profile.coauthors[0] == ("Eliza Kosoy", 2)
    assert {y for y, _m, _n in profile.novelty_by_year} <= {2018, 2023, 2024, 2025, 2026}
    data = dump(AuthorProfileOut, profile)
    assert data["citations"] is None and len(data["papers"]) == 14
    assert data["top_categories"][0] == {"category": "cs.CV", "papers": 5}
    assert data["coauthors"][0] == {"name": "Eliza Kosoy", "papers": 2}


def test_names_match_case_and_accent_insensitively(engine):
    assert author_profile(engine, "kelsey ALLEN").paper_count == 14
    assert author_profile(engine, "Tatiana Lopez-Guevara").name == "Tatiana López-Guevara"
    assert author_profile(engine, "joao carreira").name == "João Carreira"


def test_find_authors_by_prefix_of_the_name_or_of_any_word(engine):
    assert dump(AuthorSummaryOut, find_authors(engine, "KEL")[0]) == {
        "name": "Kelsey Allen",
        "paper_count": 14,
    }
    assert "Kelsey Allen" in [a.name for a in find_authors(engine, "allen")]
    assert [a.name for a in find_authors(engine, "guévara")] == ["Tatiana López-Guevara"]
    assert [a.name for a in find_authors(engine, "lopez")] == ["Tatiana López-Guevara"]
    found = find_authors(engine, "d", limit=3)
    assert len(found) == 3 and found[0].paper_count >= found[-1].paper_count
    assert find_authors(engine, "zzzz") == []
    with pytest.raises(InvalidQueryError):
        find_authors(engine, "  ")


def test_unknown_author_is_not_found_with_similar_names(engine):
    with pytest.raises(NotFoundError, match="Kelsey Allen"):
        author_profile(engine, "Kelsey Allan-Smith Allen")
    with pytest.raises(NotFoundError, match="paperscope authors"):
        author_profile(engine, "Nobody Here")


def test_citation_counts_give_h_index_and_partial_counts_say_so(engine, shared_data, tmp_path):
    copy = discovery_engine(shared_data, engine.encoder, tmp_path)
    base = copy.store.get("0704.0002")
    papers = [
        dataclasses.replace(
            base,
            id=f"cited-{i}",
            title=f"Cited paper {i}",
            authors=("Ann Example",),
            doi=None,  # six works, not six records of 0704.0002's
            url=None,
            citation_count=count,
        )
        for i, count in enumerate([10, 8, 5, 4, 3, None])
    ]
    add_papers(copy, papers)
    profile = author_profile(copy, "Ann Example")
    assert profile.citations == 30 and profile.h_index == 4
    assert "5 of 6 papers" in profile.citations_note and "lower bounds" in profile.citations_note
    assert h_index([]) == 0 and h_index([0, 0]) == 0 and h_index([100]) == 1


def test_novelty_is_withheld_under_three_scored_papers(engine):
    # Ileana Streinu has one paper here (2007): too few to say anything.
    profile = author_profile(engine, "Ileana Streinu")
    assert profile.paper_count == 1 and profile.novelty_percent is None
    assert profile.novelty_note.startswith("withheld")


def test_ai_score_of_uncategorised_papers_comes_from_their_categorised_neighbours(
    engine, shared_data, tmp_path
):
    copy = discovery_engine(shared_data, engine.encoder, tmp_path)
    ml = copy.store.get([p.id for p in author_profile(copy, "Kelsey Allen").papers][-1])
    physics = copy.store.get("0704.0016")
    add_papers(
        copy,
        [
            dataclasses.replace(
                ml,
                id="ml-uncat",
                title=ml.title + " revisited",
                categories=(),
                authors=("Una Categorised",),
            ),
            dataclasses.replace(
                physics,
                id="phys-uncat",
                title=physics.title + " revisited",
                categories=("Physics",),
                authors=("Una Categorised",),
            ),
        ],
    )
    profile = author_profile(copy, "Una Categorised")
    is_ai = {p.paper_id: p.is_ai for p in profile.paper_novelty}
    assert is_ai["ml-uncat"] > 0.5 > is_ai["phys-uncat"]
    assert "2 of 2 papers could be judged" in profile.ai_score_definition


def test_ai_labels_from_arxiv_categories():
    assert ai_label(("cs.LG",)) == 1.0 and ai_label(("math.CO", "cs.CV")) == 1.0
    assert ai_label(("hep-ph",)) == 0.0 and ai_label(("cs.CY",)) == 0.0
    assert ai_label(()) is None and ai_label(("Computer Science",)) is None
    assert "stat.ML" in AI_CATEGORIES


def test_author_and_authors_commands(engine, capsys):
    index = str(engine.store.index_dir)
    assert main(["author", "kelsey allen", "--index", index]) == 0
    out = capsys.readouterr().out
    assert "papers: 14" in out and "citations: unknown" in out and "AI score: 93" in out
    assert main(["author", "Kelsey Allen", "--index", index, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["paper_count"] == 14
    assert main(["authors", "allen", "--index", index, "--json"]) == 0
    assert {"name": "Kelsey Allen", "paper_count": 14} in json.loads(capsys.readouterr().out)
    assert main(["author", "Nobody Here", "--index", index]) == 2
    assert "no author named" in capsys.readouterr().err

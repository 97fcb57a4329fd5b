"""The query syntax parser: plain queries unchanged, every operator, and errors that say where."""

from __future__ import annotations

import pytest

from models.errors import InvalidQueryError
from search.constraints import TextMatcher
from search.query_syntax import Term, parse_query


@pytest.mark.parametrize(
    "query",
    [
        "contrastive learning for dense retrieval",
        "What causes bone loss in the elderly?",
        "ratio 3:1 of e.g: x-ray and covid-19 at -5 degrees",
        "We study AND-OR graphs. The model (a GNN) reaches 95% accuracy; see arXiv:2101.00001.",
    ],
)
def test_a_plain_query_is_kept_exactly_as_given(query):
    parsed = parse_query(query)
    assert parsed.text == query
    assert not parsed.constrained


def test_phrase_exclusion_and_year_range():
    parsed = parse_query('"graph neural network" -molecule year:2018..2025')
    assert parsed.text == "graph neural network"
    assert parsed.must == (
        (Term("text", ("graph", "neural", "network")),),
        (Term("year", years=(2018, 2025)),),
    )
    assert parsed.must_not == (Term("text", ("molecule",)),)
    assert parsed.describe() == ['"graph neural network"', "year:2018..2025", "NOT molecule"]


def test_fields_prefix_or_and_not():
    parsed = parse_query(
        "title:diffusion abstract:\"error bound\" author:'LeCun' venue:NeurIPS category:cs.LG "
        "contrast* transformer OR attention NOT survey AND year:2021"
    )
    assert parsed.must == (
        (Term("title", ("diffusion",)),),
        (Term("abstract", ("error", "bound")),),
        (Term("author", value="'LeCun'"),),
        (Term("venue", value="NeurIPS"),),
        (Term("category", value="cs.LG"),),
        (Term("text", ("contrast",), prefix=True),),
        (Term("text", ("transformer",)), Term("text", ("attention",))),
        (Term("year", years=(2021, 2021)),),
    )
    assert parsed.must_not == (Term("text", ("survey",)),)
    assert "diffusion" in parsed.text and "survey" not in parsed.text


@pytest.mark.parametrize(
    ("query", "where"),
    [
        ('"graph neural', "character 1"),
        ("deep year:20x1", "character 6"),
        ("deep year:2023..2019", "character 6"),
        ("a OR", "character 3"),
        ("OR b", "character 1"),
        ("a NOT", "character 3"),
        ("x* y", "character 1"),
        ("-a OR b", "character 1"),
        ('title:"..."', "character 1"),
    ],
)
def test_a_malformed_query_says_where(query, where):
    with pytest.raises(InvalidQueryError, match=where):
        parse_query(query)


def test_the_text_matcher_compares_stems_in_order_and_prefixes_as_written():
    phrase = TextMatcher(Term("text", ("graph", "neural", "network")))
    assert phrase("Graph-Neural Networks for traffic", "")
    assert phrase("", "we train graph neural networks.")
    assert not phrase("neural graph networks", "")
    assert not phrase("graph neural", "network")  # never across the title and abstract
    title_only = TextMatcher(Term("title", ("diffusion",)))
    assert title_only("Diffusion models", "") and not title_only("Models", "diffusion")
    prefix = TextMatcher(Term("text", ("deep", "lear"), prefix=True))
    assert prefix("", "Deep learning works") and not prefix("", "deep neural learning")

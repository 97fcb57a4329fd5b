"""Snippets: window choice, term matching as the keyword index matches, spans and marking."""

from __future__ import annotations

import json

from api.schemas import SnippetOut, dump
from indexer.keyword_index import tokenize
from search.results import Snippet
from search.snippets import SNIPPET_CHARS, make_snippet

FILLER = "Unrelated background sentence about methods and cohorts. " * 8


def _marked_words(snippet: Snippet) -> list[str]:
    return [snippet.text[s:e] for s, e in snippet.spans]


def test_short_abstract_is_whole_with_stemmed_case_insensitive_matches():
    s = make_snippet("fracture risk", "T", "Fractures were rare; the RISK of a fracture fell.")
    assert s.text == "Fractures were rare; the RISK of a fracture fell."
    assert _marked_words(s) == ["Fractures", "RISK", "fracture"]
    assert s.marked() == "[Fractures] were rare; the [RISK] of a [fracture] fell."
    assert s.marked("<mark>", "</mark>").startswith("<mark>Fractures</mark> were")


def test_window_covers_the_most_distinct_terms_and_is_bounded():
    abstract = (
        FILLER
        + "Vitamin D alone was studied. "
        + FILLER
        + "In older adults vitamin D supplementation reduced hip fractures. "
        + FILLER
    )
    s = make_snippet("vitamin D fractures in older adults", "T", abstract)
    assert s.text.startswith("…") and s.text.endswith("…")
    assert len(s.text) <= SNIPPET_CHARS + 2
    words = {w.lower() for w in _marked_words(s)}
    assert {"older", "adults", "vitamin", "fractures"} <= words
    assert "hip fractures" in s.text


def test_spans_are_sorted_disjoint_and_point_at_query_terms():
    abstract = FILLER + "IL-6 and COVID-19 outcomes in covid patients; il 6 levels. " + FILLER
    s = make_snippet("covid il-6", "T", abstract)
    assert list(s.spans) == sorted(s.spans)
    assert all(a[1] <= b[0] for a, b in zip(s.spans, s.spans[1:], strict=False))
    # "il-6" also gives its parts to the index, so "il 6" matches too, as it does in BM25.
    assert _marked_words(s) == ["IL-6", "COVID-19", "covid", "il", "6"]


def test_no_match_gives_the_start_of_the_abstract_unmarked():
    s = make_snippet("quantum chromodynamics", "T", FILLER)
    assert s.spans == () and s.text.startswith("Unrelated background") and s.text.endswith("…")
    assert s.marked() == s.text


def test_stopwords_are_not_marked_and_title_is_used_without_abstract():
    s = make_snippet("the role of the gut", "The gut microbiome", "")
    assert s.text == "The gut microbiome" and _marked_words(s) == ["gut"]


def test_real_abstracts_mark_only_query_terms(shared_data):
    with (shared_data / "scifact" / "corpus.jsonl").open(encoding="utf-8") as handle:
        docs = [json.loads(next(handle)) for _ in range(40)]
    query = "treatment of patients increased the risk in cells"
    wanted = set(tokenize(query))
    marked_any = 0
    for doc in docs:
        s = make_snippet(query, doc["title"], doc["text"])
        assert len(s.text) <= SNIPPET_CHARS + 2
        for word in _marked_words(s):
            assert set(tokenize(word)) & wanted, word
        marked_any += bool(s.spans)
    assert marked_any >= 10
    assert dump(SnippetOut, Snippet("ab", ((0, 1),))) == {"text": "ab", "spans": [[0, 1]]}

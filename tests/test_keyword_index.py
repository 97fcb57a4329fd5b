"""KeywordIndex: scientific tokenisation, stable tie order, exact allowed sets, empty index."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer.keyword_index import KeywordIndex, matching_spans, tokenize


def test_tokenize_keeps_scientific_tokens_and_their_parts():
    assert tokenize("COVID-19 and IL-6 in p53 mice, 1.5 mg") == [
        "covid-19", "covid", "19", "il-6", "il", "6", "p53", "mice", "1.5", "mg"
    ]  # fmt: skip
    assert tokenize("Fractures fracturing") == ["fractur", "fractur"]


def test_matching_spans_give_offsets_into_the_original_text():
    text = "The IL-6 Levels rose; levels of il-6 and IL fell."
    spans = matching_spans(text, frozenset(tokenize("il-6 level")))
    assert [text[s:e] for _, s, e in spans] == ["IL-6", "Levels", "levels", "il-6", "IL"]
    assert spans[0][0] == frozenset(tokenize("il-6")) and spans[4][0] == {"il"}
    assert spans[1][0] == frozenset(tokenize("level"))
    assert matching_spans(text, frozenset()) == [] and matching_spans("", frozenset({"x"})) == []


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="aAbB1-. ", max_size=40), st.sampled_from(["a", "b", "1", "a-b", "1.1"]))
def test_word_search_finds_exactly_the_tokens_a_scan_finds(text, word):
    from indexer.keyword_index import _spans_by_scanning, _spans_by_search

    hits = {word: frozenset({word}), "b": frozenset({"b"})}
    assert _spans_by_search(text.lower(), hits) == _spans_by_scanning(text, hits)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ab1-. \t\n(),/", max_size=60))
def test_ascii_words_are_the_tokens(text):
    from indexer.keyword_index import _TOKEN, _ascii_words

    assert _ascii_words(text) == set(_TOKEN.findall(text))


def test_ties_are_ordered_by_vid_whatever_k():
    vids = np.array([5, 9, 12, 20, 31])
    index = KeywordIndex.build(vids, ["same title"] * 5, ["same words"] * 5)
    for k in range(1, 6):
        assert index.search("same", k)[1].tolist() == vids[:k].tolist()


def test_allowed_is_exact_for_sorted_and_unsorted_vids():
    titles = ["graph neural network", "neural network", "molecule graph", "protein"]
    for vids in (np.array([1, 2, 3, 4]), np.array([40, 3, 17, 8])):
        index = KeywordIndex.build(vids, titles, [""] * 4)
        allowed = np.array([vids[1], vids[2], vids[3], 999])
        _, found = index.search("graph network", 10, allowed)
        assert set(found.tolist()) == {int(vids[1]), int(vids[2])}
        assert index.scores_of(index.scores("graph"), np.array([vids[0], 999]))[1] == 0.0


def test_empty_index_answers_nothing():
    index = KeywordIndex.build(np.zeros(0, dtype=np.int64), [], [])
    scores, vids = index.search("anything", 10, np.array([1, 2]))
    assert len(scores) == len(vids) == 0
    assert index.scores_of(index.scores("x"), np.array([1])).tolist() == [0.0]

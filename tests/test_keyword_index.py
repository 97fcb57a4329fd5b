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


def test_kept_term_scores_equal_recomputed_ones(shared_data, monkeypatch):
    """The per-corpus store of common terms' BM25 terms (forced on for every term here, and
    small enough to evict) gives the same scores as computing them afresh."""
    import gzip
    import json

    import indexer.bm25 as bm25

    path = shared_data / "arxiv-2025" / "arxiv-2025-115k.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        records = [json.loads(next(lines)) for _ in range(1500)]
    vids = np.arange(1500, dtype=np.int64)
    titles, abstracts = [r["title"] for r in records], [r["abstract"] for r in records]
    queries = [r["title"] for r in records[:40]] + ["model data model", "galaxy"]
    fresh = [KeywordIndex.build(vids, titles, abstracts).scores(q) for q in queries]
    monkeypatch.setattr(bm25, "CACHED_MIN_POSTINGS", 1)
    monkeypatch.setattr(bm25, "CACHED_POSTINGS", 3000)
    index = KeywordIndex.build(vids, titles, abstracts)
    for _ in range(2):  # filling, then answering from (and evicting) the kept terms
        for query, expected in zip(queries, fresh, strict=True):
            assert np.array_equal(index.scores(query), expected), query
    assert 0 < index.corpus._cached <= 3000


def test_top_k_cut_from_a_sample_is_exact():
    """Large score arrays are cut at a level placed from a sample; the answer equals a full
    sort, also when the sample misleads (few positive scores, all equal, k past the matches)."""
    from indexer.slots import SlotTable

    rng = np.random.default_rng(5)
    n = 1_200_000
    table = SlotTable.of(np.arange(n, dtype=np.int64))
    index = KeywordIndex.__new__(KeywordIndex)
    index.table = table
    cases = {
        "spread": rng.gamma(2.0, 1.0, n) * (rng.random(n) < 0.7),
        "few": np.where(rng.random(n) < 0.0005, rng.random(n), 0.0),
        "equal": np.ones(n),
        "one spike": np.where(np.arange(n) == 77, 5.0, rng.random(n) * 1e-3),
        # 200 high scores exactly where the sample looks: its cut lets only those through.
        "sample misleads": np.where(
            np.isin(np.arange(n), np.arange(0, 200 * (n // 65_536), n // 65_536)), 10.0, 0.5
        ),
    }
    for name, scores in cases.items():
        scores = scores.astype(np.float32)
        for k in (1, 10, 1100, 5000):
            got_s, got_v = index.top(scores, k)
            rows = np.flatnonzero(scores > 0)
            order = np.lexsort((rows, -scores[rows]))[:k]
            assert got_v.tolist() == rows[order].tolist(), (name, k)
            assert np.array_equal(got_s, scores[rows[order]])

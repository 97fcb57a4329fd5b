"""Snippets: the stretch of an abstract that holds the most query terms, with the terms marked."""

from __future__ import annotations

from functools import lru_cache

from indexer.keyword_index import matching_spans, tokenize
from indexer.paper import normalize_space
from search.results import Snippet

SNIPPET_CHARS = 240
# How far back from the first matched term the snippet may start, to show some context.
LEAD_CHARS = 40
ELLIPSIS = "…"


def make_snippet(query: str, title: str, abstract: str, *, width: int = SNIPPET_CHARS) -> Snippet:
    """About `width` characters of the abstract (the title when there is none) around the query
    terms, matched the way the keyword index matches them (case, stemming, hyphen parts).

    With no query term in the text (a purely semantic hit) it is the start of the abstract.
    """
    text = normalize_space(abstract) or normalize_space(title)
    matches = matching_spans(text, _query_terms(query))
    if len(text) <= width:
        return Snippet(text, tuple((start, end) for _, start, end in matches))
    begin = _best_start(text, matches, width)
    end = _cut_end(text, begin + width)
    prefix = ELLIPSIS if begin > 0 else ""
    suffix = ELLIPSIS if end < len(text) else ""
    shift = len(prefix) - begin
    spans = tuple(
        (start + shift, stop + shift)
        for _, start, stop in matches
        if start >= begin and stop <= end
    )
    return Snippet(prefix + text[begin:end] + suffix, spans)


@lru_cache(maxsize=64)
def _query_terms(query: str) -> frozenset[str]:
    """The query's index terms; cached because one search makes a snippet for every hit."""
    return frozenset(tokenize(query))


def _best_start(text: str, matches: list, width: int) -> int:
    """Start of the window that covers the most distinct query terms (then the most matches);
    the earliest such window wins, so the choice is deterministic."""
    best, best_key = 0, (-1, -1)
    for i, (_, start, _) in enumerate(matches):
        begin = max(0, start - LEAD_CHARS)
        inside = [m for m in matches[i:] if m[2] <= begin + width]
        distinct = len(frozenset().union(*(terms for terms, _, _ in inside)))
        key = (distinct, len(inside))
        if key > best_key:
            best, best_key = begin, key
    return _word_start(text, best)


def _word_start(text: str, pos: int) -> int:
    """Move `pos` forward to the start of a word (or a sentence, when one starts close by)."""
    if pos <= 0:
        return 0
    sentence = text.find(". ", pos, pos + LEAD_CHARS)
    if sentence != -1:
        return sentence + 2
    space = text.find(" ", pos)
    return space + 1 if space != -1 else pos


def _cut_end(text: str, pos: int) -> int:
    """Move `pos` back to the end of a word so that the snippet does not end mid-word."""
    if pos >= len(text):
        return len(text)
    space = text.rfind(" ", 0, pos)
    return space if space > 0 else pos

"""BM25 keyword index (bm25s, plain-file format) over title and abstract, keyed by paper vid."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np

# Scientific tokens keep inner hyphens, dots and digits: "covid-19", "il-6", "p53", "1.5".
_TOKEN = re.compile(r"[a-z0-9]+(?:[-.][a-z0-9]+)*")
# The same tokens found in the original text, for character offsets (ASCII-only classes, so
# IGNORECASE cannot widen them to other scripts).
_TOKEN_SPAN = re.compile(_TOKEN.pattern, re.IGNORECASE | re.ASCII)
# The title is counted this many times: a term in the title says more about the paper.
TITLE_WEIGHT = 2
BM25_K1 = 1.2
BM25_B = 0.75


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def tokenize(text: str) -> list[str]:
    """Lowercase, split into scientific tokens, drop stopwords, stem; hyphenated words also give
    their parts ("covid-19" -> covid-19, covid, 19) so either spelling matches."""
    stop = _stopwords()
    words: list[str] = []
    for token in _TOKEN.findall(text.casefold()):
        if token in stop:
            continue
        words.append(token)
        if "-" in token:
            words.extend(part for part in token.split("-") if part and part not in stop)
    return _stemmer().stemWords(words)


def matching_spans(text: str, wanted: frozenset[str]) -> list[tuple[frozenset[str], int, int]]:
    """Tokens of `text` that give any of the index terms `wanted` (from `tokenize`), as (the
    wanted terms they give, start, end); offsets are characters in `text` (for highlighting)."""
    if not wanted:
        return []
    # Each distinct word once, then locate only the words that matched: an abstract repeats its
    # words and a query wants few terms (this runs for every hit on every search).
    ascii_only = text.isascii()  # then lower() is casefold() and keeps every offset
    if ascii_only:
        lowered = text.lower()
        words = _ascii_words(lowered)
    else:
        words = {t.casefold() for t in _TOKEN_SPAN.findall(text)}
    terms_of = _word_terms(words)
    hits = {}
    for word in words:
        terms = terms_of.get(word)
        if terms and not wanted.isdisjoint(terms):
            hits[word] = wanted & terms
    if not hits:
        return []
    if ascii_only:  # find the few matched words directly
        return _spans_by_search(lowered, hits)
    return _spans_by_scanning(text, hits)


def _ascii_words(lowered: str) -> set[str]:
    """set(_TOKEN.findall(lowered)) for lowercase ASCII text, faster: tokens never cross
    whitespace, and most whitespace-separated words are already one token."""
    words: set[str] = set()
    for word in set(lowered.split()):
        if word.isalnum():
            words.add(word)
        else:
            words.update(_TOKEN.findall(word))
    return words


_TERMS_CACHE: dict[str, frozenset[str]] = {}
_TERMS_CACHE_SIZE = 500_000


def _word_terms(words: set[str]) -> dict[str, frozenset[str]]:
    """The index terms of each (casefolded) word, as `tokenize` gives them; stopwords map to
    nothing. Memoised: the vocabulary of abstracts repeats, stemming each time does not pay.
    The answer is a new dict, so another thread clearing the cache cannot take words from it."""
    found: dict[str, frozenset[str]] = {}
    missing = []
    for word in words:
        terms = _TERMS_CACHE.get(word)
        if terms is None:
            missing.append(word)
        else:
            found[word] = terms
    if missing:
        if len(_TERMS_CACHE) + len(missing) > _TERMS_CACHE_SIZE:
            _TERMS_CACHE.clear()
        stop = _stopwords()
        parts = [
            [w] + ([p for p in w.split("-") if p and p not in stop] if "-" in w else [])
            for w in missing
        ]
        stems = iter(_stemmer().stemWords([p for group in parts for p in group]))
        for word, group in zip(missing, parts, strict=True):
            terms = frozenset(next(stems) for _ in group)
            found[word] = _TERMS_CACHE[word] = frozenset() if word in stop else terms
    return found


def _spans_by_scanning(text: str, hits: dict[str, frozenset[str]]) -> list:
    """(terms, start, end) of every token of `text` whose casefolded form is in `hits`."""
    spans = []
    for match in _TOKEN_SPAN.finditer(text):
        terms = hits.get(match.group().casefold())
        if terms:
            spans.append((terms, match.start(), match.end()))
    return spans


def _spans_by_search(lowered: str, hits: dict[str, frozenset[str]]) -> list:
    """As _spans_by_scanning for ASCII text, by str.find of each word, keeping only places where
    _TOKEN would cut exactly that word (not a piece of "il-6", "oil" or "1.5")."""
    spans = []
    size = len(lowered)
    for word, terms in hits.items():
        start = lowered.find(word)
        while start != -1:
            end = start + len(word)
            joined_before = start > 0 and (
                lowered[start - 1].isalnum()
                or (lowered[start - 1] in "-." and start > 1 and lowered[start - 2].isalnum())
            )
            joined_after = end < size and (
                lowered[end].isalnum()
                or (lowered[end] in "-." and end + 1 < size and lowered[end + 1].isalnum())
            )
            if not joined_before and not joined_after:
                spans.append((terms, start, end))
            start = lowered.find(word, start + 1)
    spans.sort(key=lambda span: span[1])
    return spans


def document_text(title: str, abstract: str) -> str:
    return " ".join([title] * TITLE_WEIGHT + [abstract])


class KeywordIndex:
    """BM25 over tokenised title+abstract. Scores are >= 0; 0 means no query term matched."""

    def __init__(self, retriever: bm25s.BM25, vids: np.ndarray) -> None:
        self._retriever = retriever
        self.vids = vids
        self._vocab = retriever.vocab_dict
        # Store builds in vid order; searchsorted then maps vids to rows without a dict.
        in_order = bool(np.all(vids[1:] > vids[:-1]))
        self._row_of = None if in_order else {int(v): i for i, v in enumerate(vids)}

    @classmethod
    def build(cls, vids: np.ndarray, titles: list[str], abstracts: list[str]) -> KeywordIndex:
        corpus = [tokenize(document_text(t, a)) for t, a in zip(titles, abstracts, strict=True)]
        retriever = bm25s.BM25(k1=BM25_K1, b=BM25_B)
        if corpus:
            retriever.index(corpus, show_progress=False)
        else:
            retriever.vocab_dict = {}
        return cls(retriever, np.asarray(vids, dtype=np.int64))

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        vids = np.load(folder / "vids.npy")
        if len(vids) == 0:
            retriever = bm25s.BM25()
            retriever.vocab_dict = {}
        else:
            retriever = bm25s.BM25.load(folder, show_progress=False)
        return cls(retriever, vids)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if len(self.vids):
            self._retriever.save(folder, show_progress=False)
        np.save(folder / "vids.npy", self.vids)
        (folder / "tokenizer.json").write_text(
            json.dumps({"title_weight": TITLE_WEIGHT, "k1": BM25_K1, "b": BM25_B})
        )

    def __len__(self) -> int:
        return len(self.vids)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every indexed paper for the query, aligned with `self.vids`."""
        tokens = [t for t in tokenize(query) if t in self._vocab]
        if not tokens or not len(self.vids):
            return np.zeros(len(self.vids), dtype=np.float32)
        return np.asarray(self._retriever.get_scores(tokens), dtype=np.float32)

    def rows(self, vids: np.ndarray) -> np.ndarray:
        """Row of each vid in `self.vids` (aligned with `scores`); -1 for a vid not indexed."""
        vids = np.asarray(vids, dtype=np.int64)
        if self._row_of is not None:
            return np.array([self._row_of.get(int(v), -1) for v in vids], dtype=np.int64)
        rows = np.searchsorted(self.vids, vids).clip(max=max(len(self.vids) - 1, 0))
        found = (self.vids[rows] == vids) if len(self.vids) else np.zeros(len(vids), bool)
        return np.where(found, rows, -1)

    def scores_of(self, scores: np.ndarray, vids: np.ndarray) -> np.ndarray:
        """Pick the scores of `vids` out of a `scores(query)` array (0 for unknown vids)."""
        rows = self.rows(vids)
        if not len(scores):
            return np.zeros(len(rows), dtype=np.float32)
        return np.where(rows >= 0, scores[rows.clip(min=0)], 0.0).astype(np.float32)

    def search(
        self, query: str, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, vids) with score > 0, best first; ties broken by vid (stable order)."""
        return self.top(self.scores(query), k, allowed)

    def top(
        self, scores: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k of a `scores(query)` array, as `search` returns them."""
        if allowed is not None:
            rows = self.rows(allowed)
            hits = rows[rows >= 0]
            hits = hits[scores[hits] > 0]
        else:
            hits = np.flatnonzero(scores > 0)
        if k <= 0:
            hits = hits[:0]
        elif len(hits) > k:
            # Keep every paper tied with the k-th score so that the vid tie-break below decides,
            # not argpartition's arbitrary choice: pages of different depths then agree.
            kth = -np.partition(-scores[hits], k - 1)[k - 1]
            hits = hits[scores[hits] >= kth]
        order = np.lexsort((self.vids[hits], -scores[hits]))[: max(k, 0)]
        hits = hits[order]
        return scores[hits], self.vids[hits]

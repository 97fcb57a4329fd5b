"""Keyword search: the tokenizer, snippet spans, and BM25 over the slots of the derived indexes."""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np

from indexer.bm25 import Corpus, Segment
from indexer.slots import SlotTable

# Scientific tokens keep inner hyphens, dots and digits: "covid-19", "il-6", "p53", "1.5".
_TOKEN = re.compile(r"[a-z0-9]+(?:[-.][a-z0-9]+)*")
# The same tokens found in the original text, for character offsets (ASCII-only classes, so
# IGNORECASE cannot widen them to other scripts).
_TOKEN_SPAN = re.compile(_TOKEN.pattern, re.IGNORECASE | re.ASCII)
# The title is counted this many times: a term in the title says more about the paper.
TITLE_WEIGHT = 2


@lru_cache(maxsize=1)
def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=1)
def _stopwords() -> frozenset[str]:
    from bm25s.stopwords import STOPWORDS_EN

    return frozenset(STOPWORDS_EN)


def stem_words(words: list[str]) -> list[str]:
    """The index's stem of each word (already lowercase)."""
    return _stemmer().stemWords(words)


def is_stopword(word: str) -> bool:
    return word in _stopwords()


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
    """BM25 over tokenised title+abstract, one document per slot. Scores are >= 0; 0 means no
    query term matched. `scores` arrays are aligned with the slots."""

    def __init__(self, corpus: Corpus, table: SlotTable) -> None:
        if corpus.size != table.size:
            raise ValueError(f"{corpus.size} keyword documents for {table.size} slots")
        self.corpus = corpus
        self.table = table

    @classmethod
    def build(cls, vids: np.ndarray, titles: list[str], abstracts: list[str]) -> KeywordIndex:
        """An index held in memory, one slot per paper in the given order (tests, benchmarks)."""
        table = SlotTable.of(np.asarray(vids, dtype=np.int64))
        segment = Segment.build(cls.tokenize_documents(titles, abstracts))
        return cls(Corpus([segment], table.alive), table)

    @staticmethod
    def tokenize_documents(titles: list[str], abstracts: list[str]) -> list[list[str]]:
        return [tokenize(document_text(t, a)) for t, a in zip(titles, abstracts, strict=True)]

    @property
    def vids(self) -> np.ndarray:
        """Vids of the indexed papers, sorted."""
        return self.table.live_vids

    def __len__(self) -> int:
        return self.table.live

    def evolve(self, table: SlotTable, killed: np.ndarray, added: Segment | None) -> KeywordIndex:
        """The next version over `table`: the `killed` slots die and `added` holds the
        documents of the new slots in order."""
        return KeywordIndex(self.corpus.evolve(killed, added), table)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every slot for the query (0 for dead slots)."""
        tokens = [t for t in tokenize(query) if self.corpus.has_term(t)]
        return self.corpus.scores(tokens)

    def matches_any(self, query: str) -> bool:
        """Whether some live paper holds a query term: `scores(query)` has a positive entry,
        found from document frequencies instead of scoring every slot."""
        return any(self.corpus.document_frequency(t) > 0 for t in dict.fromkeys(tokenize(query)))

    def containing_all(self, query: str) -> np.ndarray:
        """Sorted vids of the live papers whose title or abstract holds every query term (as
        tokenised for BM25: stemmed, without stopwords); empty for a query without terms."""
        rows = None
        for term in dict.fromkeys(tokenize(query)):
            found = self.corpus.rows_with(term)
            rows = found if rows is None else np.intersect1d(rows, found, assume_unique=True)
            if not len(rows):
                break
        if rows is None:
            return np.zeros(0, dtype=np.int64)
        return np.sort(self.table.slot_vids[rows]).astype(np.int64)

    def containing_prefix(self, prefix: str, limit: int) -> np.ndarray | None:
        """Sorted vids of the live papers with an index term that starts with `prefix`; None
        when more than `limit` terms do (a prefix too broad to expand)."""
        terms = self.corpus.terms_with_prefix(prefix)
        if len(terms) > limit:
            return None
        rows = [self.corpus.rows_with(t) for t in terms]
        if not rows:
            return np.zeros(0, dtype=np.int64)
        return np.sort(self.table.slot_vids[np.unique(np.concatenate(rows))]).astype(np.int64)

    def rows(self, vids: np.ndarray) -> np.ndarray:
        """Slot of each vid (the index into `scores`); -1 for a vid not indexed."""
        return self.table.slots_of(vids)

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

    def matching(self, scores: np.ndarray, allowed: np.ndarray | None = None) -> int:
        """How many (allowed) papers match at least one query term."""
        if allowed is None:
            return int((scores > 0).sum())
        rows = self.rows(allowed)
        rows = rows[rows >= 0]
        return int((scores[rows] > 0).sum())

    def top(
        self, scores: np.ndarray, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k of a `scores(query)` array, as `search` returns them."""
        slot_vids = self.table.slot_vids
        if allowed is not None:
            rows = self.rows(allowed)
            hits = rows[rows >= 0]
            hits = hits[scores[hits] > 0]
        else:
            hits = _positive_at_least_kth(scores, k)
        if k <= 0:
            hits = hits[:0]
        elif len(hits) > k:
            # Keep every paper tied with the k-th score so that the vid tie-break below decides,
            # not argpartition's arbitrary choice: pages of different depths then agree.
            kth = -np.partition(-scores[hits], k - 1)[k - 1]
            hits = hits[scores[hits] >= kth]
        order = np.lexsort((slot_vids[hits], -scores[hits]))[: max(k, 0)]
        hits = hits[order]
        return scores[hits], slot_vids[hits]


def _positive_at_least_kth(scores: np.ndarray, k: int) -> np.ndarray:
    """Slots with a positive score that can be among the k best, in slot order.

    A scan for score > 0 keeps most of a large index for common words, and partitioning that
    many costs more than the scoring. An evenly spaced sample of m scores places a cut that about
    2k + 8N/m slots reach; when fewer than k do (the sample misled), every positive slot is
    taken, so the answer is exact either way.
    """
    if len(scores) < 16 * _SAMPLE or k <= 0:
        return np.flatnonzero(scores > 0)
    sample = scores[:: len(scores) // _SAMPLE]
    rank = min(len(sample), 2 * k * len(sample) // len(scores) + 8)
    cut = float(-np.partition(-sample, rank - 1)[rank - 1])
    if cut <= 0:
        return np.flatnonzero(scores > 0)
    hits = np.flatnonzero(scores >= cut)
    return hits if len(hits) >= k else np.flatnonzero(scores > 0)


_SAMPLE = 65_536

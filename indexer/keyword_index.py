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


def term_spans(text: str) -> list[tuple[frozenset[str], int, int]]:
    """Every non-stopword token of `text` as (its index terms, start, end): the terms are what
    `tokenize` makes of the token, the offsets are characters in `text` (for highlighting)."""
    stop = _stopwords()
    found = [(m.group().casefold(), m.start(), m.end()) for m in _TOKEN_SPAN.finditer(text)]
    found = [item for item in found if item[0] not in stop]
    if not found:
        return []
    parts = [
        [word] + ([p for p in word.split("-") if p and p not in stop] if "-" in word else [])
        for word, _, _ in found
    ]
    stems = iter(_stemmer().stemWords([p for group in parts for p in group]))
    return [
        (frozenset(next(stems) for _ in group), start, end)
        for group, (_, start, end) in zip(parts, found, strict=True)
    ]


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

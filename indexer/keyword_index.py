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


def document_text(title: str, abstract: str) -> str:
    return " ".join([title] * TITLE_WEIGHT + [abstract])


class KeywordIndex:
    """BM25 over tokenised title+abstract. Scores are >= 0; 0 means no query term matched."""

    def __init__(self, retriever: bm25s.BM25, vids: np.ndarray) -> None:
        self._retriever = retriever
        self.vids = vids
        self._vocab = retriever.vocab_dict
        self._row_of = {int(v): i for i, v in enumerate(vids)}

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

    def search(
        self, query: str, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, vids) with score > 0, best first; ties broken by vid (stable order)."""
        scores = self.scores(query)
        if allowed is not None:
            mask = np.zeros(len(self.vids), dtype=bool)
            rows = [self._row_of[int(v)] for v in allowed if int(v) in self._row_of]
            mask[rows] = True
            scores = np.where(mask, scores, 0.0)
        hits = np.flatnonzero(scores > 0)
        if len(hits) > k:
            hits = hits[np.argpartition(-scores[hits], k - 1)[:k]]
        order = np.lexsort((self.vids[hits], -scores[hits]))
        hits = hits[order]
        return scores[hits], self.vids[hits]

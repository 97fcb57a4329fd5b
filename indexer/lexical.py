"""TF-IDF rows of the papers, read from the BM25 segments: the lexical half of related papers.

The keyword index already holds every paper's stemmed terms and their frequencies, by term and
by document. Reading the TF-IDF vectors from there costs one pass for the document norms, where
a separate TF-IDF model would tokenise the corpus again and keep a second copy of it (about
8 GB and 13 minutes at 1M papers on 2 cores). Weights: sublinear tf (1 + ln tf) times smoothed
idf (ln((1 + N) / (1 + df)) + 1) over the live papers, rows L2-normalised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexer.files import read_rows
from indexer.keyword_index import KeywordIndex, document_text, tokenize

# Rows read per step when the norms are computed (bounds the temporary arrays).
_NORM_ROWS = 200_000


@dataclass(frozen=True)
class Row:
    """One sparse TF-IDF vector: global term ids (sorted) and unit-norm weights."""

    terms: np.ndarray
    weights: np.ndarray

    def dot(self, other: Row) -> float:
        _, mine, theirs = np.intersect1d(
            self.terms, other.terms, assume_unique=True, return_indices=True
        )
        return float(np.dot(self.weights[mine], other.weights[theirs]))


_EMPTY = Row(np.zeros(0, np.int64), np.zeros(0, np.float32))


class LexicalRows:
    """The TF-IDF rows of every slot of one version of the keyword index."""

    def __init__(self, index: KeywordIndex) -> None:
        self.index = index
        corpus = index.corpus
        self.segments = corpus.segments
        self.offsets = corpus.offsets
        # Global term ids: the first segment's own ids, then terms only later segments hold.
        first = self.segments[0].vocab if self.segments else {}
        self.extra: dict[str, int] = {}
        self.global_ids: list[np.ndarray] = []
        self.local_ids: list[dict[int, int] | None] = []  # None: global id == local id
        for i, seg in enumerate(self.segments):
            if i == 0:
                self.global_ids.append(np.arange(len(seg.vocab), dtype=np.int64))
                self.local_ids.append(None)
                continue
            ids = np.empty(len(seg.vocab), dtype=np.int64)
            for term, tid in seg.vocab.items():
                gid = first.get(term)
                if gid is None:
                    gid = self.extra.setdefault(term, len(first) + len(self.extra))
                ids[tid] = gid
            self.global_ids.append(ids)
            self.local_ids.append({int(g): t for t, g in enumerate(ids.tolist())})
        self._first = first
        terms = len(first) + len(self.extra)
        df = np.zeros(terms, dtype=np.float64)
        for i, seg in enumerate(self.segments):
            live = np.diff(seg.term_ptr).astype(np.float64)
            for tid, dead in corpus.dead_counts(i).items():
                live[tid] -= dead
            np.add.at(df, self.global_ids[i], live)
        self.idf = (np.log((1 + corpus.live) / (1 + df)) + 1).astype(np.float32)
        self.norms = self._norms()

    @property
    def table(self):
        return self.index.table

    def _norms(self) -> np.ndarray:
        out = np.zeros(self.table.size, dtype=np.float32)
        for i, seg in enumerate(self.segments):
            tf_all = seg.row_tf()
            for start in range(0, seg.size, _NORM_ROWS):
                stop = min(seg.size, start + _NORM_ROWS)
                lo, hi = int(seg.doc_ptr[start]), int(seg.doc_ptr[stop])
                # Read from the files, not the mappings: one pass over every document must not
                # leave the whole keyword index resident in this process.
                terms = self.global_ids[i][read_rows(seg.doc_terms, lo, hi)]
                weights = (1 + np.log(read_rows(tf_all, lo, hi))) * self.idf[terms]
                rows = np.repeat(np.arange(stop - start), np.diff(seg.doc_ptr[start : stop + 1]))
                squares = np.bincount(rows, weights=weights.astype(np.float64) ** 2)
                out[self.offsets[i] + start : self.offsets[i] + start + len(squares)] = np.sqrt(
                    squares
                )
        return out

    def row(self, slot: int) -> Row:
        """The TF-IDF row of a slot (an empty row for a dead one)."""
        if self.table.slot_vids[slot] < 0 or self.norms[slot] <= 0:
            return _EMPTY
        i = int(np.searchsorted(self.offsets, slot, side="right")) - 1
        seg, local = self.segments[i], slot - int(self.offsets[i])
        lo, hi = int(seg.doc_ptr[local]), int(seg.doc_ptr[local + 1])
        terms = self.global_ids[i][np.asarray(seg.doc_terms[lo:hi])]
        weights = (1 + np.log(np.asarray(seg.row_tf()[lo:hi]))) * self.idf[terms]
        order = np.argsort(terms)
        return Row(terms[order], (weights / self.norms[slot])[order].astype(np.float32))

    def vectorize(self, title: str, abstract: str) -> Row:
        """The row of a text that this version does not hold (terms it lacks are dropped)."""
        counts: dict[int, int] = {}
        for token in tokenize(document_text(title, abstract)):
            gid = self._first.get(token, self.extra.get(token))
            if gid is not None:
                counts[gid] = counts.get(gid, 0) + 1
        if not counts:
            return _EMPTY
        terms = np.array(sorted(counts), dtype=np.int64)
        tf = np.array([counts[t] for t in terms.tolist()], dtype=np.float32)
        weights = (1 + np.log(tf)) * self.idf[terms]
        return Row(terms, (weights / max(float(np.linalg.norm(weights)), 1e-12)).astype(np.float32))

    def similarities(self, row: Row) -> np.ndarray:
        """Cosine of `row` to every slot (0 for dead slots), through the postings of its terms."""
        out = np.zeros(self.table.size, dtype=np.float32)
        for gid, weight in zip(row.terms.tolist(), row.weights.tolist(), strict=True):
            scale = np.float32(weight * self.idf[gid])
            for i, seg in enumerate(self.segments):
                local = gid if self.local_ids[i] is None else self.local_ids[i].get(gid)
                if local is None or local >= len(seg.vocab):
                    continue
                lo, hi = int(seg.term_ptr[local]), int(seg.term_ptr[local + 1])
                rows = np.asarray(seg.post_rows[lo:hi], dtype=np.int64) + int(self.offsets[i])
                tf = np.asarray(seg.post_tf[lo:hi])
                out[rows] += scale * (1 + np.log(tf)) / np.maximum(self.norms[rows], 1e-12)
        out[self.table.slot_vids < 0] = 0.0
        return out

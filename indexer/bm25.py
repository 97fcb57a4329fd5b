"""BM25 over immutable segments, scored at query time from term frequencies.

bm25s (which paperscope used before) bakes every score with the corpus statistics of build
time, so one added paper means rescoring the corpus. Here a segment keeps raw term frequencies
and document lengths, and a query takes N, document frequencies and the average length of
every live document of every segment at that moment. Adding papers is then a new small segment
and removing one is a dead row, and the scores equal those of a single index built from
scratch. The formula is Lucene's (as bm25s's default "lucene" method):
idf = ln(1 + (N - df + 0.5) / (df + 0.5)), tf' = tf / (tf + k1 (1 - b + b dl / avgdl)).
"""

from __future__ import annotations

import bisect
import json
import threading
from collections import Counter, OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from indexer.files import load_array, read_rows, save_array

K1 = 1.2
B = 0.75
# The BM25 terms of common words are kept per corpus (12 bytes a posting): terms with at least
# CACHED_MIN_POSTINGS postings in a segment, up to CACHED_POSTINGS postings in all (about 400 MB),
# least recently used first out.
CACHED_MIN_POSTINGS = 20_000
CACHED_POSTINGS = 32_000_000


@dataclass(frozen=True)
class Segment:
    """Postings of some documents (rows 0..n-1): by term (CSC) for scoring and by document (CSR)
    for the statistics a dead row takes away."""

    vocab: dict[str, int]
    term_ptr: np.ndarray  # (terms + 1,) int64: postings of term t are [term_ptr[t], term_ptr[t+1])
    post_rows: np.ndarray  # int32 document row of each posting
    post_tf: np.ndarray  # float32 term frequency of each posting
    doc_ptr: np.ndarray  # (n + 1,) int64: terms of row r are doc_terms[doc_ptr[r]:doc_ptr[r+1]]
    doc_terms: np.ndarray  # int32 term ids
    doc_len: np.ndarray  # float32 tokens per document
    # float32 term frequency of each doc_terms entry; None for a segment saved before it was kept
    # (then found from the postings on first use, see row_tf).
    doc_tf: np.ndarray | None = None
    _found: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def size(self) -> int:
        return len(self.doc_len)

    @property
    def df(self) -> np.ndarray:
        """Documents containing each term (dead rows included)."""
        return np.diff(self.term_ptr)

    @classmethod
    def build(cls, documents: Sequence[list[str]]) -> Segment:
        """A segment of already tokenised documents, in row order."""
        vocab: dict[str, int] = {}
        rows: list[int] = []
        terms: list[int] = []
        tfs: list[int] = []
        doc_len = np.zeros(len(documents), dtype=np.float32)
        for row, tokens in enumerate(documents):
            doc_len[row] = len(tokens)
            for token, count in Counter(tokens).items():
                rows.append(row)
                terms.append(vocab.setdefault(token, len(vocab)))
                tfs.append(count)
        return cls._from_postings(
            vocab,
            np.asarray(rows, dtype=np.int64),
            np.asarray(terms, dtype=np.int32),
            np.asarray(tfs, dtype=np.float32),
            doc_len,
        )

    @classmethod
    def concat(cls, segments: Sequence[Segment]) -> Segment:
        """One segment holding the rows of `segments` in order (their term ids remapped)."""
        if len(segments) == 1:
            return segments[0]
        vocab: dict[str, int] = {}
        rows, terms, tfs, lengths = [], [], [], []
        offset = 0
        for seg in segments:
            remap = np.empty(len(seg.vocab), dtype=np.int32)
            for term, tid in seg.vocab.items():
                remap[tid] = vocab.setdefault(term, len(vocab))
            df = np.diff(seg.term_ptr)
            rows.append(np.asarray(seg.post_rows, dtype=np.int64) + offset)
            terms.append(np.repeat(remap, df))
            tfs.append(np.asarray(seg.post_tf))
            lengths.append(np.asarray(seg.doc_len))
            offset += seg.size
        return cls._from_postings(
            vocab,
            np.concatenate(rows) if rows else np.zeros(0, np.int64),
            np.concatenate(terms) if terms else np.zeros(0, np.int32),
            np.concatenate(tfs) if tfs else np.zeros(0, np.float32),
            np.concatenate(lengths) if lengths else np.zeros(0, np.float32),
        )

    @classmethod
    def _from_postings(
        cls,
        vocab: dict[str, int],
        rows: np.ndarray,
        terms: np.ndarray,
        tfs: np.ndarray,
        doc_len: np.ndarray,
    ) -> Segment:
        """Both orders of (row, term, tf) triples, each term once per row."""
        rows = np.asarray(rows, dtype=np.int64)
        terms = np.asarray(terms, dtype=np.int32)
        by_term = np.lexsort((rows, terms))
        by_row = np.lexsort((terms, rows))
        term_ptr = np.zeros(len(vocab) + 1, dtype=np.int64)
        np.cumsum(np.bincount(terms, minlength=len(vocab)), out=term_ptr[1:])
        doc_ptr = np.zeros(len(doc_len) + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=len(doc_len)), out=doc_ptr[1:])
        return cls(
            vocab=vocab,
            term_ptr=term_ptr,
            post_rows=rows[by_term].astype(np.int32),
            post_tf=np.asarray(tfs, dtype=np.float32)[by_term],
            doc_ptr=doc_ptr,
            doc_terms=terms[by_row],
            doc_len=np.asarray(doc_len, dtype=np.float32),
            doc_tf=np.asarray(tfs, dtype=np.float32)[by_row],
        )

    def save(self, folder: Path) -> None:
        """Write the segment into a new folder (the caller renames it into place)."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("term_ptr", "post_rows", "post_tf", "doc_ptr", "doc_terms", "doc_len"):
            save_array(folder / f"{name}.npy", getattr(self, name))
        save_array(folder / "doc_tf.npy", self.row_tf())
        (folder / "vocab.json").write_text(json.dumps(self.vocab), encoding="utf-8")

    @classmethod
    def load(cls, folder: Path) -> Segment:
        """Open a saved segment; the arrays are memory-mapped, so processes share the pages."""
        arrays = {
            name: load_array(folder / f"{name}.npy")
            for name in ("term_ptr", "post_rows", "post_tf", "doc_ptr", "doc_terms", "doc_len")
        }
        if (folder / "doc_tf.npy").is_file():
            arrays["doc_tf"] = load_array(folder / "doc_tf.npy")
        vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        return cls(vocab=vocab, **arrays, _found={"folder": folder})

    def row_tf(self) -> np.ndarray:
        """Term frequencies in document order (aligned with doc_terms)."""
        if self.doc_tf is not None:
            return self.doc_tf
        found = self._found.get("doc_tf")
        if found is None:
            # Postings are term-major with rows ascending inside a term, and a document's terms
            # are in term order: a stable sort by row gives document order.
            n = len(self.post_rows)
            rows, tf = read_rows(self.post_rows, 0, n), read_rows(self.post_tf, 0, n)
            found = tf[np.argsort(rows, kind="stable")]
            del rows, tf
            folder = self._found.get("folder")
            if folder is not None:
                # Kept beside the segment (derived data, written atomically) and mapped, so the
                # sort is paid once and the pages are shared instead of held by each process.
                try:
                    save_array(folder / "doc_tf.npy", found)
                    found = load_array(folder / "doc_tf.npy")
                except OSError:
                    pass  # a read-only or since-removed folder: keep it in memory
            self._found["doc_tf"] = found
        return found

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(rows, term frequencies) of a term; empty when the segment does not have it."""
        tid = self.vocab.get(term)
        if tid is None:
            return _NO_ROWS, _NO_TF
        lo, hi = int(self.term_ptr[tid]), int(self.term_ptr[tid + 1])
        return self.post_rows[lo:hi], self.post_tf[lo:hi]

    def terms_with_prefix(self, prefix: str) -> list[str]:
        """The segment's terms that start with `prefix` (a sorted vocabulary, made once)."""
        terms = self._found.get("sorted_terms")
        if terms is None:
            terms = self._found["sorted_terms"] = sorted(self.vocab)
        lo = bisect.bisect_left(terms, prefix)
        hi = bisect.bisect_left(terms, prefix + "\uffff")
        return terms[lo:hi]

    def term_counts(self, rows: np.ndarray) -> Counter:
        """How many of `rows` contain each term id: what dead rows take away from df."""
        counts: Counter = Counter()
        for row in np.asarray(rows, dtype=np.int64).tolist():
            lo, hi = int(self.doc_ptr[row]), int(self.doc_ptr[row + 1])
            counts.update(self.doc_terms[lo:hi].tolist())
        return counts


_NO_ROWS = np.zeros(0, dtype=np.int32)
_NO_TF = np.zeros(0, dtype=np.float32)


class Corpus:
    """Segments laid end to end (segment i's rows start at offsets[i]) and the live rows, with
    the statistics of the live documents (kept up to date as rows die and segments are added)."""

    def __init__(
        self,
        segments: list[Segment],
        alive: np.ndarray,
        *,
        dead_df: list[Counter] | None = None,
        total_len: float | None = None,
    ) -> None:
        self.segments = segments
        sizes = [s.size for s in segments]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        if len(alive) != self.offsets[-1]:
            raise ValueError(f"{len(alive)} alive flags for {self.offsets[-1]} rows")
        self.alive = alive
        self.live = int(alive.sum())
        if dead_df is None or total_len is None:
            dead_df, total_len = [], 0.0
            for i, seg in enumerate(segments):
                mask = alive[self.offsets[i] : self.offsets[i + 1]]
                total_len += float(seg.doc_len[mask].sum(dtype=np.float64))
                dead_df.append(seg.term_counts(np.flatnonzero(~mask)))
        self._dead_df = dead_df
        self._total_len = total_len
        self._cache: OrderedDict[tuple[int, str], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._cached = 0  # postings held in _cache
        self._cache_lock = threading.Lock()
        self.avgdl = total_len / self.live if self.live else 0.0

    def evolve(self, dead_rows: np.ndarray, added: Segment | None) -> Corpus:
        """A new corpus with `dead_rows` (global rows, live now) dead and `added` appended; the
        work is proportional to the change, not to the corpus."""
        dead_rows = np.unique(np.asarray(dead_rows, dtype=np.int64))
        dead_rows = dead_rows[self.alive[dead_rows]] if len(dead_rows) else dead_rows
        alive = self.alive.copy()
        alive[dead_rows] = False
        dead_df = [Counter(c) for c in self._dead_df]
        total_len = self._total_len
        which = np.searchsorted(self.offsets, dead_rows, side="right") - 1
        for i in np.unique(which).tolist():
            local = dead_rows[which == i] - self.offsets[i]
            dead_df[i].update(self.segments[i].term_counts(local))
            total_len -= float(self.segments[i].doc_len[local].sum(dtype=np.float64))
        segments = list(self.segments)
        if added is not None and added.size:
            segments.append(added)
            alive = np.concatenate([alive, np.ones(added.size, dtype=bool)])
            dead_df.append(Counter())
            total_len += float(added.doc_len.sum(dtype=np.float64))
        return Corpus(segments, alive, dead_df=dead_df, total_len=total_len)

    @property
    def size(self) -> int:
        return int(self.offsets[-1])

    def dead_counts(self, i: int) -> Counter:
        """Dead rows of segment i holding each of its term ids."""
        return self._dead_df[i]

    def has_term(self, term: str) -> bool:
        return any(term in seg.vocab for seg in self.segments)

    def document_frequency(self, term: str) -> int:
        """Live documents containing the term."""
        df = 0
        for seg, dead in zip(self.segments, self._dead_df, strict=True):
            tid = seg.vocab.get(term)
            if tid is not None:
                df += int(seg.term_ptr[tid + 1] - seg.term_ptr[tid]) - dead.get(tid, 0)
        return df

    def terms_with_prefix(self, prefix: str) -> set[str]:
        """Terms of any segment that start with `prefix`."""
        return {t for seg in self.segments for t in seg.terms_with_prefix(prefix)}

    def rows_with(self, term: str) -> np.ndarray:
        """Live global rows whose document holds the term, sorted: read from the postings, so
        the cost is the term's document frequency, not the corpus size."""
        parts = [
            seg.postings(term)[0].astype(np.int64) + self.offsets[i]
            for i, seg in enumerate(self.segments)
        ]
        rows = np.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)
        return rows[self.alive[rows]]

    def scores(self, terms: list[str]) -> np.ndarray:
        """BM25 of every row for the query terms (repeats count again); dead rows score 0."""
        out = np.zeros(self.size, dtype=np.float32)
        if not self.live or not terms:
            return out
        for term in terms:
            df = self.document_frequency(term)
            if df <= 0:
                continue
            idf = np.float32(np.log(1.0 + (self.live - df + 0.5) / (df + 0.5)))
            for i in range(len(self.segments)):
                rows, contributions = self._term_part(i, term, idf)
                if len(rows):
                    out[rows] += contributions
        out[~self.alive] = 0.0
        return out

    def _term_part(self, i: int, term: str, idf: np.float32) -> tuple[np.ndarray, np.ndarray]:
        """(global rows, BM25 terms) of one term in segment i. A common term's are kept: the
        statistics of a corpus never change (a write makes a new one), and recomputing them
        costs about three times adding them."""
        key = (i, term)
        with self._cache_lock:
            found = self._cache.get(key)
            if found is not None:
                self._cache.move_to_end(key)
                return found
        seg, offset = self.segments[i], int(self.offsets[i])
        rows, tf = seg.postings(term)
        if not len(rows):
            return _NO_ROWS, _NO_TF
        norm = np.float32(K1) * (np.float32(1 - B) + np.float32(B / self.avgdl) * seg.doc_len[rows])
        part = (rows.astype(np.intp) + offset, idf * tf / (tf + norm))
        if len(rows) >= CACHED_MIN_POSTINGS:
            with self._cache_lock:
                self._cache[key] = part
                self._cached += len(rows)
                while self._cached > CACHED_POSTINGS:
                    _, (old, _) = self._cache.popitem(last=False)
                    self._cached -= len(old)
        return part

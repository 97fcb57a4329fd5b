"""TF-IDF rows read from the BM25 segments equal TF-IDF computed from the texts afresh: several
segments, dead rows (removed and replaced papers), a segment saved before document-order term
frequencies were kept, and texts the index does not hold."""

from __future__ import annotations

import gzip
import json
from collections import Counter

import numpy as np

from indexer.bm25 import Corpus, Segment
from indexer.keyword_index import KeywordIndex, document_text, tokenize
from indexer.lexical import LexicalRows
from indexer.slots import SlotTable


def _records(shared_data, n: int) -> list[dict]:
    path = shared_data / "arxiv-2025" / "arxiv-2025-115k.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(next(lines)) for _ in range(n)]


def _oracle(texts: list[str], live: np.ndarray) -> tuple[list[dict[str, float]], dict]:
    """Unit TF-IDF rows of the live texts, computed from their tokens."""
    counts = [Counter(tokenize(t)) for t in texts]
    df = Counter(term for c, alive in zip(counts, live, strict=True) if alive for term in c)
    n = int(live.sum())
    idf = {t: np.log((1 + n) / (1 + d)) + 1 for t, d in df.items()}
    rows = []
    for c, alive in zip(counts, live, strict=True):
        weights = {t: (1 + np.log(f)) * idf[t] for t, f in c.items()} if alive else {}
        norm = np.sqrt(sum(w * w for w in weights.values())) or 1.0
        rows.append({t: w / norm for t, w in weights.items()})
    return rows, idf


def test_rows_and_similarities_equal_tfidf_from_the_texts(shared_data):
    records = _records(shared_data, 900)
    texts = [document_text(r["title"], r["abstract"]) for r in records]
    docs = [tokenize(t) for t in texts]
    segments = [Segment.build(docs[a:b]) for a, b in ((0, 500), (500, 800), (800, 900))]
    # The first as saved before doc_tf existed: its term frequencies come from the postings.
    segments[0] = Segment(**{**segments[0].__dict__, "doc_tf": None, "_found": {}})
    alive = np.ones(900, dtype=bool)
    alive[::9] = False
    table = SlotTable.of(np.where(alive, np.arange(900) * 3 + 1, -1))
    rows = LexicalRows(KeywordIndex(Corpus(segments, alive), table))
    expected, _ = _oracle(texts, alive)
    names = {**segments[0].vocab, **rows.extra}

    def as_dict(row) -> dict[str, float]:
        inverse = {g: t for t, g in names.items()}
        return {inverse[int(g)]: float(w) for g, w in zip(row.terms, row.weights, strict=True)}

    for slot in (1, 250, 499, 500, 640, 899, 9):
        got = as_dict(rows.row(slot))
        assert got.keys() == expected[slot].keys(), slot
        assert all(abs(got[t] - expected[slot][t]) < 1e-5 for t in got)
    for slot in (3, 555, 850):
        sims = rows.similarities(rows.row(slot))
        want = [
            sum(w * expected[o].get(t, 0.0) for t, w in expected[slot].items()) for o in range(900)
        ]
        assert np.allclose(sims, want, atol=1e-5)
        assert sims[~alive].max() == 0.0
        assert abs(rows.row(slot).dot(rows.row(slot + 1)) - want[slot + 1]) < 1e-5
    # A text outside the index: its known terms, weighted with the index's idf.
    outside = rows.vectorize(records[4]["title"], records[4]["abstract"])
    assert np.allclose(rows.similarities(outside), rows.similarities(rows.row(4)), atol=1e-5)
    assert rows.vectorize("qqqzz", "").terms.size == 0


def test_a_segment_saved_without_document_order_tf_gets_it_once(shared_data, tmp_path):
    records = _records(shared_data, 300)
    docs = [tokenize(document_text(r["title"], r["abstract"])) for r in records]
    built = Segment.build(docs)
    built.save(tmp_path / "seg")
    (tmp_path / "seg" / "doc_tf.npy").unlink()  # as an index written before it was kept
    loaded = Segment.load(tmp_path / "seg")
    assert loaded.doc_tf is None
    assert np.array_equal(loaded.row_tf(), built.doc_tf)
    assert (tmp_path / "seg" / "doc_tf.npy").is_file()  # written beside it for the next process
    assert np.array_equal(Segment.load(tmp_path / "seg").doc_tf, built.doc_tf)

"""The `qdrant` backend's keyword side: BM25 as Qdrant sparse vectors, with KeywordIndex's
methods, so that search/ runs unchanged on either backend.

One point per paper (point id = vid) in a keyword collection beside the vector one. A paper's
sparse vector holds, for each of its terms (paperscope's own tokenizer, title counted twice,
term id = CRC-32 of the term), the BM25 term weight tf / (tf + k1 (1 - b + b dl / avgdl)) with
the average length fixed when the collection is built; Qdrant applies the IDF (its `idf`
modifier: ln(1 + (N - df + 0.5) / (df + 0.5)), Lucene's, as the embedded BM25), so scores
equal the embedded ones up to the drift of the average length until the next `reindex`. The
payload holds the paper's distinct terms, for exact "contains every word" and match counts.
The BM25 segments are still built in the index folder on this backend: related papers read
their TF-IDF rows from them (search.similarity).

Keyed by vid, every process writes the same content for the same paper, so a write is applied
at once by whichever process reads it from the change log (no write-out step); a view drops
hits for papers it does not hold.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from indexer.bm25 import K1, B
from indexer.keyword_index import document_text, tokenize
from indexer.qdrant_vectors import POINT_BATCH, Connection, qdrant_models, recreate_collection
from indexer.slots import SlotTable

SPARSE = "bm25"
# Hits fetched past k, so that papers a view does not hold (written by a newer one) and ties at
# the cut can be dropped and ordered here.
MARGIN = 16


def term_id(term: str) -> int:
    return zlib.crc32(term.encode("utf-8"))


@dataclass(frozen=True)
class QueryTerms:
    """What `scores(query)` gives on this backend: the query's terms with their counts (a
    repeated word counts again, as in the embedded BM25)."""

    counts: Counter

    def sparse(self):
        by_id: Counter = Counter()
        for term, count in self.counts.items():  # colliding terms share an id (summed)
            by_id[term_id(term)] += count
        return qdrant_models().SparseVector(
            indices=list(by_id), values=[float(c) for c in by_id.values()]
        )

    def __bool__(self) -> bool:
        return bool(self.counts)


def create_collection(connection: Connection, name: str) -> None:
    models = qdrant_models()
    recreate_collection(
        connection,
        name,
        {"terms": models.PayloadSchemaType.KEYWORD},
        vectors_config={},
        sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
    )


def write(
    connection: Connection,
    name: str,
    vids: np.ndarray,
    titles: list[str],
    abstracts: list[str],
    avgdl: float,
) -> None:
    """Upsert the papers' sparse vectors (their current text)."""
    models = qdrant_models()
    vids = np.asarray(vids, dtype=np.int64)
    for a in range(0, len(vids), POINT_BATCH):
        points = []
        for vid, title, abstract in zip(
            vids[a : a + POINT_BATCH].tolist(),
            titles[a : a + POINT_BATCH],
            abstracts[a : a + POINT_BATCH],
            strict=True,
        ):
            tf = Counter(tokenize(document_text(title, abstract)))
            length = sum(tf.values())
            norm = K1 * (1 - B + B * length / avgdl) if avgdl else K1
            weights: Counter = Counter()
            for t, n in tf.items():  # two terms with one CRC-32 share it (summed)
                weights[term_id(t)] += n / (n + norm)
            points.append(
                models.PointStruct(
                    id=vid,
                    vector={
                        SPARSE: models.SparseVector(
                            indices=list(weights), values=list(weights.values())
                        )
                    },
                    payload={"terms": sorted(tf)},
                )
            )
        if points:
            with connection.guarded():
                connection.client.upsert(name, points=points, wait=True)


def delete(connection: Connection, name: str, vids: Iterable[int]) -> None:
    models = qdrant_models()
    vids = [int(v) for v in vids]
    for a in range(0, len(vids), POINT_BATCH):
        with connection.guarded():
            connection.client.delete(
                name, points_selector=models.PointIdsList(points=vids[a : a + POINT_BATCH])
            )


class QdrantKeywords:
    """KeywordIndex's interface over a keyword collection; `table` is the view's slot table (the
    papers it holds)."""

    def __init__(self, connection: Connection, collection: str, table: SlotTable) -> None:
        self.connection = connection
        self.collection = collection
        self.table = table

    # ---- shape and writes ----------------------------------------------------------------
    @property
    def vids(self) -> np.ndarray:
        return self.table.live_vids

    def __len__(self) -> int:
        return self.table.live

    def updated(
        self,
        table: SlotTable,
        changed: np.ndarray,
        vids: np.ndarray,
        titles: list[str],
        abstracts: list[str],
        avgdl: float,
    ) -> QdrantKeywords:
        """Apply a change-log step (the `changed` vids: `vids` hold their current text, the rest
        were removed) and return the view over the next table."""
        gone = np.setdiff1d(np.asarray(changed, dtype=np.int64), vids)
        if len(gone):
            delete(self.connection, self.collection, gone.tolist())
        if len(vids):
            write(self.connection, self.collection, vids, titles, abstracts, avgdl)
        return QdrantKeywords(self.connection, self.collection, table)

    # ---- queries -------------------------------------------------------------------------
    def scores(self, query: str) -> QueryTerms:
        return QueryTerms(Counter(tokenize(query)))

    def _held(self, vids: np.ndarray) -> np.ndarray:
        return self.table.slots_of(vids) >= 0

    def _query(
        self,
        terms: QueryTerms,
        limit: int,
        ids: np.ndarray | None,
        threshold: float | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(scores, vids) of the best `limit` papers, held by this view, best first, ties by
        vid; `ids` restricts them (exactly, inside the engine)."""
        models = qdrant_models()
        if not terms or limit <= 0:
            return np.zeros(0, np.float32), np.zeros(0, np.int64)
        condition = None
        if ids is not None:
            condition = models.Filter(must=[models.HasIdCondition(has_id=ids.tolist())])
        with self.connection.guarded():
            answer = self.connection.client.query_points(
                self.collection,
                query=terms.sparse(),
                using=SPARSE,
                limit=limit,
                query_filter=condition,
                score_threshold=threshold,
            )
        scores = np.array([p.score for p in answer.points], dtype=np.float32)
        vids = np.array([int(p.id) for p in answer.points], dtype=np.int64)
        keep = (scores > 0) & self._held(vids) if len(vids) else np.zeros(0, bool)
        scores, vids = scores[keep], vids[keep]
        order = np.lexsort((vids, -scores))
        return scores[order], vids[order]

    def top(
        self, scores: QueryTerms, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, vids) with score > 0, best first, ties by vid."""
        if allowed is not None:
            allowed = np.asarray(allowed, dtype=np.int64)
            allowed = allowed[self._held(allowed)]
            if not len(allowed):
                return np.zeros(0, np.float32), np.zeros(0, np.int64)
        found_s, found_v = self._query(scores, k + MARGIN, allowed)
        if k > 0 and len(found_v) > k and found_s[k - 1] == found_s[-1]:
            # Papers tied with the k-th may go on past what was fetched; which of them make the
            # cut is decided by vid, as in the embedded index, so fetch every one of them.
            kth = float(found_s[k - 1])
            limit = 4 * (k + MARGIN)
            while True:
                found_s, found_v = self._query(scores, limit, allowed, np.nextafter(kth, -1))
                if len(found_v) < limit or found_s[-1] < kth:
                    break
                limit *= 4
        return found_s[:k], found_v[:k]

    def search(
        self, query: str, k: int, allowed: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        return self.top(self.scores(query), k, allowed)

    def scores_of(self, scores: QueryTerms, vids: np.ndarray) -> np.ndarray:
        """The BM25 score of each of `vids` (0 where it holds no query term)."""
        vids = np.asarray(vids, dtype=np.int64)
        out = np.zeros(len(vids), dtype=np.float32)
        held = vids[self._held(vids)]
        found_s, found_v = self._query(scores, len(held), held)
        at = {int(v): float(s) for s, v in zip(found_s, found_v, strict=True)}
        for i, v in enumerate(vids.tolist()):
            out[i] = at.get(v, 0.0)
        return out

    def _count(self, must: list, should: list | None = None) -> int:
        models = qdrant_models()
        with self.connection.guarded():
            return self.connection.client.count(
                self.collection, count_filter=models.Filter(must=must, should=should), exact=True
            ).count

    def matching(self, scores: QueryTerms, allowed: np.ndarray | None = None) -> int:
        """How many (allowed) papers hold at least one query term."""
        models = qdrant_models()
        if not scores:
            return 0
        must = [models.FieldCondition(key="terms", match=models.MatchAny(any=list(scores.counts)))]
        if allowed is not None:
            allowed = np.asarray(allowed, dtype=np.int64)
            allowed = allowed[self._held(allowed)]
            if not len(allowed):
                return 0
            must.append(models.HasIdCondition(has_id=allowed.tolist()))
        return self._count(must)

    def matches_any(self, query: str) -> bool:
        # One best hit costs less than counting every match (4x less in local mode).
        return len(self._query(self.scores(query), 1, None)[1]) > 0

    def containing_all(self, query: str) -> np.ndarray:
        """Sorted vids of the papers this view holds whose text has every query term."""
        models = qdrant_models()
        terms = list(dict.fromkeys(tokenize(query)))
        if not terms:
            return np.zeros(0, dtype=np.int64)
        must = [models.FieldCondition(key="terms", match=models.MatchValue(value=t)) for t in terms]
        found, offset = [], None
        while True:
            with self.connection.guarded():
                points, offset = self.connection.client.scroll(
                    self.collection,
                    scroll_filter=models.Filter(must=must),
                    limit=POINT_BATCH * 4,
                    offset=offset,
                    with_payload=False,
                )
            found += [int(p.id) for p in points]
            if offset is None:
                break
        vids = np.unique(np.array(found, dtype=np.int64))
        return vids[self._held(vids)]

    def containing_prefix(self, prefix: str, limit: int) -> np.ndarray:
        """Every paper: Qdrant keeps no term dictionary to expand a prefix with, so the caller's
        exact check over the candidates (search.constraints) does the narrowing; it refuses a
        candidate set too large to check."""
        return self.table.live_vids

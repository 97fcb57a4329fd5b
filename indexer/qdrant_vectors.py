"""The `qdrant` backend's vectors: the same slots, searches and exact filters as
indexer.vector_index, with the stored rows in a Qdrant collection instead of the index folder.

One point per slot (point id = slot, payload `slot` and `vid`). Slots only grow and a written one
never changes, so a collection is appended to like the embedded matrix file: a view reads the
points below its own `rows` (a range condition on the payload), rows written since stay in
memory and are scored exactly here. A dead slot's point is marked `dead` when the rows are
written out, not deleted: a search that still holds an older view may read its vector (as the
embedded matrix keeps dead rows until `reindex`). Slots that died after the view's entry was
written are over-fetched and dropped. Filters are id conditions, exact inside the engine.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from indexer.backend import BackendConfig
from indexer.vector_index import VectorIndex, _empty
from models.errors import BadInputError, IndexBusyError, NotFoundError

# Points sent or fetched per request.
POINT_BATCH = 1_024
_connections: dict[str, Connection] = {}
_connections_lock = threading.Lock()


def qdrant_models():
    try:
        from qdrant_client import models
    except ImportError as exc:  # the `qdrant` extra
        raise BadInputError(
            "this index is served by Qdrant: install the extra with "
            "`pip install 'paperscope[qdrant]'`"
        ) from exc
    return models


@dataclass
class Connection:
    """A client and, in local mode, the lock its in-process engine needs (it is not safe for
    concurrent writes and reads; a server is)."""

    client: object
    local: bool
    lock: object

    def guarded(self):
        return self.lock if self.local else nullcontext()


def connect(config: BackendConfig, index_dir: Path) -> Connection:
    """One client per server or local folder per process: local mode locks its folder, so a
    second client on it in the same process would be refused."""
    qdrant_models()
    from qdrant_client import QdrantClient

    key = config.url or str(config.folder(index_dir).resolve())
    with _connections_lock:
        if key not in _connections:
            if config.url:
                # The ping below says what is wrong; the version check would only warn first.
                client = QdrantClient(url=config.url, timeout=60, check_compatibility=False)
                try:
                    client.get_collections()  # fail now, not after a whole ingest has embedded
                except Exception as exc:  # the client raises several transport errors
                    raise BadInputError(f"cannot reach Qdrant at {config.url}: {exc}") from None
            else:
                folder = config.folder(index_dir)
                folder.mkdir(parents=True, exist_ok=True)
                try:
                    client = QdrantClient(path=str(folder))
                except RuntimeError as exc:  # its folder lock: one process at a time
                    if "already accessed" not in str(exc):
                        raise
                    raise IndexBusyError(
                        f"another process has this index's Qdrant local storage ({folder}) "
                        "open; local mode serves one process at a time: stop it, or run a "
                        "Qdrant server and move the index there with `paperscope reindex "
                        "--backend qdrant --qdrant-url URL`"
                    ) from None
            _connections[key] = Connection(client, not config.url, threading.RLock())
        return _connections[key]


@atexit.register
def _close_all() -> None:
    """Close clients before the interpreter tears modules down (local mode's own finaliser
    then fails noisily)."""
    with _connections_lock:
        for connection in _connections.values():
            with connection.guarded():  # a background write-out finishes its request first
                connection.client.close()
        _connections.clear()


def recreate_collection(
    connection: Connection, name: str, payload_indexes: dict[str, object], **config
) -> None:
    """A new empty collection `name` (one left by a build that died is replaced), with payload
    indexes on the given fields (field -> schema type)."""
    with connection.guarded():
        if connection.client.collection_exists(name):
            connection.client.delete_collection(name)
        connection.client.create_collection(name, **config)
        if not connection.local:  # local mode scans every point and keeps no payload index
            for field_name, schema in payload_indexes.items():
                connection.client.create_payload_index(name, field_name, field_schema=schema)


def create_collection(connection: Connection, name: str, dim: int) -> None:
    models = qdrant_models()
    recreate_collection(
        connection,
        name,
        {"slot": models.PayloadSchemaType.INTEGER, "dead": models.PayloadSchemaType.BOOL},
        vectors_config=models.VectorParams(size=dim, distance=models.Distance.DOT),
    )


def append(
    connection: Connection,
    name: str,
    rows: Iterable[tuple[np.ndarray, np.ndarray]],
    start: int,
) -> np.ndarray:
    """Write (vids, vectors) chunks as the slots from `start` on; returns the vids in slot order.
    A dead slot (vid -1) is written too, marked dead: a write-out that died may have left a live
    point under its number, and every point below a view's rows must be what the view says."""
    models = qdrant_models()
    out, slot = [], start
    for vids, vectors in rows:
        vids = np.asarray(vids, dtype=np.int64)
        vectors = np.asarray(vectors, dtype=np.float32)
        slots = np.arange(slot, slot + len(vids))
        for a in range(0, len(vids), POINT_BATCH):
            ids, owners = slots[a : a + POINT_BATCH].tolist(), vids[a : a + POINT_BATCH].tolist()
            points = models.Batch(
                ids=ids,
                vectors=vectors[a : a + POINT_BATCH].tolist(),
                payloads=[
                    {"slot": s, "vid": v, **({"dead": True} if v < 0 else {})}
                    for s, v in zip(ids, owners, strict=True)
                ],
            )
            with connection.guarded():
                connection.client.upsert(name, points=points, wait=True)
        out.append(vids)
        slot += len(vids)
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def mark_dead(connection: Connection, name: str, slots: np.ndarray) -> None:
    """Leave the given slots out of every later search (their vectors stay readable)."""
    slots = np.asarray(slots, dtype=np.int64)
    for a in range(0, len(slots), POINT_BATCH):
        chunk = slots[a : a + POINT_BATCH].tolist()
        with connection.guarded():
            connection.client.set_payload(name, payload={"dead": True}, points=chunk, wait=True)


def drop_collections(connection: Connection, prefix: str, keep: set[str]) -> None:
    """Delete this index's collections that no manifest entry in use names."""
    with connection.guarded():
        names = [c.name for c in connection.client.get_collections().collections]
        for name in names:
            if name.startswith(prefix) and name not in keep:
                connection.client.delete_collection(name)


@dataclass(frozen=True)
class QdrantVectors(VectorIndex):
    """A VectorIndex whose stored slots [0, ann_rows) are the collection's points."""

    connection: Connection | None = None
    collection: str = ""
    # Slots below ann_rows that were dead when the view's entry was written: marked in the
    # collection. Slots that died since are not, and are over-fetched and dropped here.
    marked: np.ndarray | None = None

    @property
    def stored_rows(self) -> int:
        return self.ann_rows

    def _indexed_rows(self, exact: bool) -> int:
        return self.ann_rows

    @cached_property
    def unmarked(self) -> np.ndarray:
        """Slots of the collection part that died after the entry was written."""
        dead = np.flatnonzero(self.slot_vids[: self.ann_rows] < 0)
        return dead if self.marked is None else np.setdiff1d(dead, self.marked)

    def _stored(self, slots: np.ndarray) -> np.ndarray:
        slots = np.asarray(slots, dtype=np.int64)
        out = np.empty((len(slots), self.dim), dtype=np.float32)
        for a in range(0, len(slots), POINT_BATCH):
            chunk = slots[a : a + POINT_BATCH]
            with self.connection.guarded():
                points = self.connection.client.retrieve(
                    self.collection, ids=chunk.tolist(), with_vectors=True
                )
            # One batch of Python floats at a time (a whole index of them is 30x its size).
            found = {int(p.id): p.vector for p in points}
            missing = [int(s) for s in chunk.tolist() if s not in found]
            if missing:  # the collection was replaced by a rebuild since this view was taken
                raise NotFoundError(f"papers no longer in the index (slots {missing[:5]})")
            out[a : a + len(chunk)] = [found[s] for s in chunk.tolist()]
        return out

    def _stored_range(self, lo: int, hi: int) -> np.ndarray:
        return self._stored(np.arange(lo, hi))

    def _ann_part(
        self,
        queries: np.ndarray,
        k: int,
        pool: np.ndarray | None,
        ann_rows: int,
        ef_search: int | None,
        exact: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        models = qdrant_models()
        # Points past this view's rows were written by a later view (maybe with other slots).
        must = [models.FieldCondition(key="slot", range=models.Range(lt=ann_rows))]
        must_not = [models.FieldCondition(key="dead", match=models.MatchValue(value=True))]
        limit = k
        if pool is None:
            limit += len(self.unmarked)
        else:
            part = pool[pool < ann_rows]
            if not len(part):
                return _empty(len(queries))
            must.append(models.HasIdCondition(has_id=part.tolist()))
        params = None
        if not self.connection.local:  # local mode is always exact and warns about params
            params = models.SearchParams(hnsw_ef=max(ef_search or 0, limit, 128), exact=exact)
        requests = [
            models.QueryRequest(
                query=q.tolist(),
                limit=limit,
                filter=models.Filter(must=must, must_not=must_not),
                params=params,
            )
            for q in queries
        ]
        with self.connection.guarded():
            answers = self.connection.client.query_batch_points(self.collection, requests)
        scores = np.full((len(queries), limit), -np.inf, dtype=np.float32)
        slots = np.full((len(queries), limit), -1, dtype=np.int64)
        for i, answer in enumerate(answers):
            for j, point in enumerate(answer.points):
                scores[i, j], slots[i, j] = point.score, int(point.id)
        return scores, slots


def searchable_slots(connection: Connection, name: str) -> Iterator[int]:
    """The slots a search of the collection can return (not marked dead)."""
    models = qdrant_models()
    dead = models.FieldCondition(key="dead", match=models.MatchValue(value=True))
    offset = None
    while True:
        with connection.guarded():
            points, offset = connection.client.scroll(
                name,
                scroll_filter=models.Filter(must_not=[dead]),
                limit=POINT_BATCH,
                offset=offset,
                with_payload=False,
            )
        yield from (int(p.id) for p in points)
        if offset is None:
            return

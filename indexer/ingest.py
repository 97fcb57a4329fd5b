"""Ingest: stream records from files, embed what is new or changed, commit in batches."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from indexer.embeddings_io import Embeddings
from indexer.paper import Paper, content_hash, embedding_text, merge_papers, text_hash
from indexer.readers.base import Skip
from indexer.readers.detect import detect_format, iter_input_files, read_papers
from indexer.store import Store
from models.encoder import Encoder
from models.errors import BadInputError

log = logging.getLogger(__name__)

# Records per transaction: large enough to amortise commits and fill encoder batches sorted by
# length, small enough that a killed run loses little work.
COMMIT_BATCH = 512
MAX_SKIP_EXAMPLES = 10


@dataclass
class IngestReport:
    """What one ingest run did."""

    files: list[str] = field(default_factory=list)
    read: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    embedded: int = 0
    imported: int = 0
    skipped: Counter = field(default_factory=Counter)
    skip_examples: list[Skip] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def skip(self, item: Skip) -> None:
        # Count by the reason's first words so "bad JSON (...)" variants group together.
        self.skipped[item.reason.split(":")[0].split(" (")[0]] += 1
        if len(self.skip_examples) < MAX_SKIP_EXAMPLES:
            self.skip_examples.append(item)

    def to_dict(self) -> dict:
        return {
            "files": self.files,
            "read": self.read,
            "added": self.added,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "embedded": self.embedded,
            "imported_vectors": self.imported,
            "skipped": self.skipped_total,
            "skipped_by_reason": dict(self.skipped),
            "skip_examples": [f"{s.path}:{s.line}: {s.reason}" for s in self.skip_examples],
            "seconds": round(self.seconds, 2),
        }


def ingest(
    store: Store,
    encoder: Encoder,
    paths: Sequence[Path],
    *,
    fmt: str | None = None,
    mapping: dict[str, str] | None = None,
    keep_title_only: bool = False,
    batch_size: int = COMMIT_BATCH,
    progress: bool = True,
    embeddings: Embeddings | None = None,
) -> IngestReport:
    """Add or update every readable record of `paths`; then bring the derived indexes up to date.
    `embeddings` supplies vectors made elsewhere: only records without one are embedded."""
    if embeddings is not None:
        embeddings.check(store.model_name, store.dim, store.manifest.max_windows)
    started = time.perf_counter()
    report = IngestReport()
    files = iter_input_files(paths)
    report.files = [str(f) for f in files]
    bar = tqdm(
        desc="ingest", unit=" papers", disable=True if not progress else None, dynamic_ncols=True
    )

    def advance(count: int) -> None:
        bar.update(count)
        bar.set_postfix(
            added=report.added, updated=report.updated, skipped=report.skipped_total, refresh=False
        )

    try:
        records = read_records(files, fmt, mapping, keep_title_only, report)
        _pipeline(store, encoder, batched(records, batch_size), report, advance, embeddings)
    finally:
        bar.close()
    store.flush()
    report.seconds = time.perf_counter() - started
    log.info("ingest: %s", report.to_dict())
    return report


def ingest_papers(
    store: Store, encoder: Encoder, papers: Sequence[Paper], *, batch_size: int = COMMIT_BATCH
) -> IngestReport:
    """Add or update Paper records built elsewhere (the HTTP API) through the same path as files."""
    started = time.perf_counter()
    report = IngestReport(read=len(papers))
    _pipeline(store, encoder, batched(papers, batch_size), report, lambda count: None)
    store.sync_derived()  # seen by searches now; written out in the background later
    report.seconds = time.perf_counter() - started
    log.info("ingest_papers: %s", report.to_dict())
    return report


def read_records(
    files: list[Path], fmt: str | None, mapping, keep_title_only: bool, report: IngestReport
) -> Iterator[Paper]:
    """The readable records of `files`, in order; skips (and unreadable files) are counted in
    `report`. The one skip-and-count rule of ingest and embed."""
    for path in files:
        try:
            items = read_papers(
                path, fmt or detect_format(path), mapping=mapping, keep_title_only=keep_title_only
            )
        except BadInputError as exc:
            # One unreadable file among several is reported, not fatal to the others.
            report.skip(Skip(str(path), 0, f"unreadable file: {exc}"))
            continue
        for item in items:
            if isinstance(item, Skip):
                report.skip(item)
            else:
                report.read += 1
                yield item


def batched(records: Iterable[Paper], size: int) -> Iterator[list[Paper]]:
    """Group records; records sharing an id inside a batch are merged into one."""
    batch: dict[str, Paper] = {}
    for paper in records:
        batch[paper.id] = merge_papers(batch[paper.id], paper) if paper.id in batch else paper
        if len(batch) >= size:
            yield list(batch.values())
            batch = {}
    if batch:
        yield list(batch.values())


@dataclass
class _Plan:
    """One batch classified against the committed store: rows to insert, update and embed."""

    new: list[Paper]
    updated: list[tuple[int, Paper]]
    to_embed: list[Paper]
    unchanged: int
    vectors: Future | None = None
    given: dict = field(default_factory=dict)  # id -> vector supplied by --embeddings
    to_encode: list[Paper] = field(default_factory=list)

    @property
    def ids(self) -> set[str]:
        return {p.id for p in self.new} | {p.id for _, p in self.updated}

    @property
    def size(self) -> int:
        return len(self.new) + len(self.updated) + self.unchanged


def _pipeline(
    store: Store,
    encoder: Encoder,
    batches: Iterable[list[Paper]],
    report: IngestReport,
    advance: Callable[[int], None],
    embeddings: Embeddings | None = None,
) -> None:
    """Embed batch i on a worker thread while this thread commits batch i-1 and reads and plans
    batch i+1. At most two batches are in flight, so memory stays flat; each commit is still one
    transaction, so a killed run leaves the store at a batch boundary. A record whose id is in the
    batch not yet committed waits for the next batch, so that it is compared with the stored
    version (as a sequential run would)."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
    pending: _Plan | None = None
    held: list[Paper] = []
    try:
        for batch in batches:
            batch = _merge_ids(held + batch)
            busy = pending.ids if pending else set()
            held = [p for p in batch if p.id in busy]
            plan = _plan(store, [p for p in batch if p.id not in busy])
            _submit(pool, encoder, plan, embeddings)
            if pending:
                _commit(store, pending, report)
                advance(pending.size)
            pending = plan
        if pending:
            _commit(store, pending, report)
            advance(pending.size)
        if held:
            plan = _plan(store, held)
            _submit(pool, encoder, plan, embeddings)
            _commit(store, plan, report)
            advance(plan.size)
    finally:
        # On an error nothing queued is embedded; the batch being embedded is waited for.
        pool.shutdown(wait=True, cancel_futures=True)


def _merge_ids(papers: list[Paper]) -> list[Paper]:
    """Records sharing an id merged into one, in order of first appearance."""
    merged: dict[str, Paper] = {}
    for paper in papers:
        merged[paper.id] = merge_papers(merged[paper.id], paper) if paper.id in merged else paper
    return list(merged.values())


def _plan(store: Store, batch: list[Paper]) -> _Plan:
    stored = store.stored([p.id for p in batch])
    plan = _Plan(new=[], updated=[], to_embed=[], unchanged=0)
    for paper in batch:
        old = stored.get(paper.id)
        if old is None:
            plan.new.append(paper)
            plan.to_embed.append(paper)
            continue
        merged = merge_papers(old.paper, paper)
        if content_hash(merged) == old.content_hash:
            plan.unchanged += 1
            continue
        plan.updated.append((old.vid, merged))
        if text_hash(merged) != old.text_hash:
            plan.to_embed.append(merged)
    return plan


def _submit(
    pool: ThreadPoolExecutor, encoder: Encoder, plan: _Plan, embeddings: Embeddings | None
) -> None:
    plan.to_encode = plan.to_embed
    if embeddings is not None:
        plan.to_encode = []
        for paper in plan.to_embed:
            vector = embeddings.vector(paper.id, text_hash(paper))
            if vector is None:
                plan.to_encode.append(paper)
            else:
                plan.given[paper.id] = vector
    if plan.to_encode:
        texts = [embedding_text(p.title, p.abstract) for p in plan.to_encode]
        plan.vectors = pool.submit(encoder.encode_documents, texts)


def _commit(store: Store, plan: _Plan, report: IngestReport) -> None:
    vectors = dict(plan.given)
    if plan.vectors is not None:
        matrix = plan.vectors.result()
        vectors.update({p.id: matrix[i] for i, p in enumerate(plan.to_encode)})
    if plan.new or plan.updated:
        store.write_batch(plan.new, plan.updated, vectors)
    report.added += len(plan.new)
    report.updated += len(plan.updated)
    report.unchanged += plan.unchanged
    report.embedded += len(plan.to_encode)
    report.imported += len(plan.given)

"""Ingest: stream records from files, embed what is new or changed, commit in batches."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

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
) -> IngestReport:
    """Add or update every readable record of `paths`; then bring the derived indexes up to date."""
    started = time.perf_counter()
    report = IngestReport()
    files = iter_input_files(paths)
    report.files = [str(f) for f in files]
    bar = tqdm(
        desc="ingest", unit=" papers", disable=True if not progress else None, dynamic_ncols=True
    )
    try:
        for batch in _batches(_records(files, fmt, mapping, keep_title_only, report), batch_size):
            _write(store, encoder, batch, report)
            bar.update(len(batch))
            bar.set_postfix(
                added=report.added,
                updated=report.updated,
                skipped=report.skipped_total,
                refresh=False,
            )
    finally:
        bar.close()
    store.sync_derived()
    report.seconds = time.perf_counter() - started
    log.info("ingest: %s", report.to_dict())
    return report


def ingest_papers(
    store: Store, encoder: Encoder, papers: Sequence[Paper], *, batch_size: int = COMMIT_BATCH
) -> IngestReport:
    """Add or update Paper records built elsewhere (the HTTP API) through the same path as files."""
    started = time.perf_counter()
    report = IngestReport(read=len(papers))
    for batch in _batches(papers, batch_size):
        _write(store, encoder, batch, report)
    store.sync_derived()
    report.seconds = time.perf_counter() - started
    log.info("ingest_papers: %s", report.to_dict())
    return report


def _records(
    files: list[Path], fmt: str | None, mapping, keep_title_only: bool, report: IngestReport
) -> Iterator[Paper]:
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


def _batches(records: Iterable[Paper], size: int) -> Iterator[list[Paper]]:
    """Group records; records sharing an id inside a batch are merged into one."""
    batch: dict[str, Paper] = {}
    for paper in records:
        batch[paper.id] = merge_papers(batch[paper.id], paper) if paper.id in batch else paper
        if len(batch) >= size:
            yield list(batch.values())
            batch = {}
    if batch:
        yield list(batch.values())


def _write(store: Store, encoder: Encoder, batch: list[Paper], report: IngestReport) -> None:
    stored = store.stored([p.id for p in batch])
    new: list[Paper] = []
    updated: list[tuple[int, Paper]] = []
    to_embed: list[Paper] = []
    for paper in batch:
        old = stored.get(paper.id)
        if old is None:
            new.append(paper)
            to_embed.append(paper)
            continue
        merged = merge_papers(old.paper, paper)
        if content_hash(merged) == old.content_hash:
            report.unchanged += 1
            continue
        updated.append((old.vid, merged))
        if text_hash(merged) != old.text_hash:
            to_embed.append(merged)
    vectors = {}
    if to_embed:
        texts = [embedding_text(p.title, p.abstract) for p in to_embed]
        matrix = encoder.encode_documents(texts)
        vectors = {p.id: matrix[i] for i, p in enumerate(to_embed)}
    if new or updated:
        store.write_batch(new, updated, vectors)
    report.added += len(new)
    report.updated += len(updated)
    report.embedded += len(to_embed)

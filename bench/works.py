"""One record per work on real dumps: how many records merge, by which rule, and what linking
costs a write.

    python bench/works.py ../shared/data/paperlists/paperlists-ml-1987-2022.jsonl.gz \\
        ../shared/data/arxiv-2025/arxiv-2025-115k.jsonl.gz

Each file goes into a fresh store (vectors from a fake encoder: the rule reads metadata only),
in batches of 1,000 as ingest writes them, once with work linking and once with it switched off;
the ratio of the two write times is the cost of linking. Then prints the merges by reason and a
few examples to read by eye.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from indexer.readers.base import Skip  # noqa: E402
from indexer.readers.detect import read_papers  # noqa: E402
from indexer.store import Store  # noqa: E402
from tests.fakes import FakeEncoder  # noqa: E402

BATCH = 1000


def write_all(papers: list, *, link: bool) -> tuple[Store, float]:
    enc = FakeEncoder()
    store = Store.create_or_open(Path(tempfile.mkdtemp()) / "idx", enc.name, enc.dim)
    if not link:
        store._relink = lambda conn, seeds: set()  # the same writes without linking
    vectors = {p.id: enc._vector(p.id) for p in papers}
    started = time.perf_counter()
    for start in range(0, len(papers), BATCH):
        batch = papers[start : start + BATCH]
        store.write_batch(batch, [], {p.id: vectors[p.id] for p in batch})
    return store, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", type=Path)
    args = parser.parse_args()
    for path in args.paths:
        unique = {}
        for item in read_papers(path):
            if not isinstance(item, Skip):
                unique.setdefault(item.id, item)
        papers = list(unique.values())
        _, plain = write_all(papers, link=False)
        store, linked = write_all(papers, link=True)
        works, records = store.merged_count()
        print(f"{path.name}: {len(papers):,} records; {records:,} of them in {works:,} works of 2+")
        ratio = linked / plain
        print(f"  write time {plain:.1f}s without linking, {linked:.1f}s with: x{ratio:.2f}")
        conn = store._conn()
        reasons = Counter(
            r[0].split(" ")[0] if not r[0].startswith("same") else " ".join(r[0].split()[:2])
            for r in conn.execute("SELECT reason FROM works WHERE reason IS NOT NULL")
        )
        print("  by reason:", dict(reasons))
        examples = conn.execute(
            "SELECT a.id, a.title, a.year, b.id, b.title, b.year, w.reason FROM works w "
            "JOIN papers a ON a.vid = w.vid JOIN papers b ON b.vid = w.linked_to "
            "ORDER BY w.vid LIMIT 5"
        ).fetchall()
        for row in examples:
            print(f"  {row[3]} ({row[5]}) <- {row[0]} ({row[2]}): {row[6]} | {row[1][:60]}")


if __name__ == "__main__":
    main()

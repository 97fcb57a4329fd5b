"""Ingest throughput on SciFact: `paperscope ingest` against plain SentenceTransformer.encode.

    python bench/ingest.py                 # the whole corpus, 5,183 abstracts
    python bench/ingest.py --limit 500     # a quick check

Both sides run in this process, one after the other, on the same texts (title + abstract) and
the same local model files; model loading is not timed. The plain side only embeds
(SentenceTransformer.encode, batch 32, fp32 as loaded, truncating at 256 tokens). The paperscope
side is the whole ingest: read and parse the file, embed (every window of a long abstract, not
only the first; with --windows 1 only the first, as plain does), write SQLite, build the FAISS
and BM25 indexes. Each precision in --precisions and cap in --windows is a fresh index.
--repeat alternates the sides to even out a noisy machine; the best run of each side is reported.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

from benchlib import (
    DEFAULT_SCIFACT,
    machine,
    model_path,
    plain_text,
    print_table,
    read_corpus,
    write_corpus,
)


def plain_encode(texts: list[str], batch_size: int) -> float:
    """Seconds for SentenceTransformer.encode of all texts (the model loaded and warmed first)."""
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_path(), device="cuda" if torch.cuda.is_available() else "cpu")
    model.encode(texts[:16], batch_size=batch_size)
    started = time.perf_counter()
    model.encode(texts, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)
    return time.perf_counter() - started


def paperscope_ingest(
    corpus: Path, precision: str, max_windows: int, workdir: Path, texts: list[str]
) -> float:
    """Seconds for ingest() of the corpus file into a fresh index (encoder loaded and warmed)."""
    from indexer.ingest import ingest
    from indexer.store import Store
    from models.encoder import load_encoder

    encoder = load_encoder(precision=precision, max_windows=max_windows)
    encoder.encode_documents(texts[:16])
    index = Path(tempfile.mkdtemp(prefix=f"ingest-{precision}-", dir=workdir))
    store = Store.create_or_open(index, encoder.name, encoder.dim, max_windows=max_windows)
    started = time.perf_counter()
    report = ingest(store, encoder, [corpus], progress=False)
    seconds = time.perf_counter() - started
    assert report.added == len(texts), report.to_dict()
    return seconds


def token_counts(texts: list[str], window: int = 254) -> tuple[int, int]:
    """Tokens through the model: plain truncates at one window; paperscope (by default) embeds
    them all."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_path())
    lengths = [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    plain = sum(min(n, window) + 2 for n in lengths)
    ours = sum(n + 2 * max(1, math.ceil(n / window)) for n in lengths)
    return plain, ours


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_SCIFACT, help="BEIR folder")
    parser.add_argument("--limit", type=int, default=None, help="first N abstracts only")
    parser.add_argument("--precisions", default="auto", help="comma list: auto,fp32,bf16")
    parser.add_argument("--windows", default="0", help="comma list of max_windows: 0 (all),1")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each side, alternated")
    parser.add_argument("--batch-size", type=int, default=32, help="plain encode batch size")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args()

    records = read_corpus(args.data, args.limit)
    texts = [plain_text(r) for r in records]
    precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]
    print(f"machine: {machine()}")
    print(f"corpus: {len(texts)} abstracts from {args.data}")
    with tempfile.TemporaryDirectory(prefix="paperscope-bench-") as tmp:
        workdir = Path(tmp)
        corpus = write_corpus(records, workdir / "scifact")
        best: dict[str, float] = {}
        for _ in range(args.repeat):
            name = "plain SentenceTransformer.encode (embed only)"
            best[name] = min(best.get(name, math.inf), plain_encode(texts, args.batch_size))
            for precision in precisions:
                for windows in [int(w) for w in args.windows.split(",") if w.strip()]:
                    name = f"paperscope ingest, precision {precision}, " + (
                        "every window" if windows == 0 else f"max {windows} window(s)"
                    )
                    seconds = paperscope_ingest(corpus, precision, windows, workdir, texts)
                    best[name] = min(best.get(name, math.inf), seconds)
    plain_tokens, our_tokens = token_counts(texts)
    baseline = best["plain SentenceTransformer.encode (embed only)"]
    rows = []
    for name, seconds in best.items():
        tokens = our_tokens if name.endswith("every window") else plain_tokens
        rows.append(
            [name, len(texts), seconds, len(texts) / seconds, tokens / seconds, baseline / seconds]
        )
    print_table(["system", "papers", "seconds", "papers/s", "tokens/s", "x plain"], rows)
    print(
        f"tokens through the model: plain {plain_tokens:,} (cut at 256), paperscope "
        f"{our_tokens:,} (every window: {our_tokens / plain_tokens:.2f}x as many)"
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": machine(), "seconds": best}, indent=2))


if __name__ == "__main__":
    main()

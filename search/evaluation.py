"""Search quality on a BEIR-layout data set: queries and qrels loading, metrics, the eval run."""

from __future__ import annotations

import csv
import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from models.errors import BadInputError

log = logging.getLogger(__name__)

CUTOFFS = {"ndcg@10": 10, "recall@100": 100, "mrr@10": 10}
# Enough results for the deepest metric (Recall@100); search() allows at most 100 per page.
EVAL_DEPTH = 100

Qrels = dict[str, dict[str, int]]


@dataclass(frozen=True)
class BeirSet:
    """Queries that have judgements in one split, and those judgements (query -> doc -> grade)."""

    queries: dict[str, str]
    qrels: Qrels


@dataclass
class ModeResult:
    """Mean metrics of one mode over the judged queries, and its per-query latency in ms."""

    mode: str
    metrics: dict[str, float]
    queries: int
    mean_ms: float
    per_query: dict[str, dict[str, float]] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict:
        return {
            "mode": self.mode,
            "queries": self.queries,
            "mean_ms": round(self.mean_ms, 2),
            **{name: round(value, 4) for name, value in self.metrics.items()},
        }


def load_beir(folder: Path, split: str = "test") -> BeirSet:
    """Read queries.jsonl and qrels/<split>.tsv of a BEIR folder; keep the judged queries."""
    folder = Path(folder)
    qrels_path = folder / "qrels" / f"{split}.tsv"
    queries_path = folder / "queries.jsonl"
    for path in (queries_path, qrels_path, folder / "corpus.jsonl"):
        if not path.is_file():
            splits = sorted(p.stem for p in (folder / "qrels").glob("*.tsv"))
            raise BadInputError(
                f"{path} is missing: a BEIR folder holds corpus.jsonl, queries.jsonl and "
                f"qrels/<split>.tsv (splits found: {', '.join(splits) or 'none'})"
            )
    qrels = read_qrels(qrels_path)
    queries: dict[str, str] = {}
    with queries_path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                record = json.loads(line)
                qid = str(record["_id"])
                if qid in qrels:
                    queries[qid] = record["text"]
    missing = set(qrels) - set(queries)
    if missing:
        log.warning("%d judged queries have no text in %s", len(missing), queries_path)
    return BeirSet(queries=queries, qrels={q: qrels[q] for q in queries})


def read_qrels(path: Path) -> Qrels:
    """query-id, corpus-id, score rows (a header row is allowed); grades <= 0 are not relevant."""
    qrels: Qrels = {}
    with Path(path).open(encoding="utf-8", newline="") as handle:
        for row in csv.reader(handle, delimiter="\t"):
            if len(row) < 3 or row[0] == "query-id":
                continue
            grade = int(float(row[2]))
            if grade > 0:
                qrels.setdefault(row[0], {})[row[1]] = grade
    return qrels


def ndcg_at(ranked: Sequence[str], relevant: dict[str, int], k: int) -> float:
    """nDCG@k with linear gains (trec_eval / BEIR convention)."""
    dcg = sum(relevant.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(grade / math.log2(i + 2) for i, grade in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: Sequence[str], relevant: dict[str, int], k: int) -> float:
    return len(set(ranked[:k]) & relevant.keys()) / len(relevant) if relevant else 0.0


def mrr_at(ranked: Sequence[str], relevant: dict[str, int], k: int) -> float:
    for i, doc in enumerate(ranked[:k]):
        if doc in relevant:
            return 1.0 / (i + 1)
    return 0.0


def score_run(ranked: Sequence[str], relevant: dict[str, int]) -> dict[str, float]:
    """The three reported metrics of one ranked list of doc ids."""
    return {
        "ndcg@10": ndcg_at(ranked, relevant, 10),
        "recall@100": recall_at(ranked, relevant, 100),
        "mrr@10": mrr_at(ranked, relevant, 10),
    }


def evaluate(
    run: Callable[[str], list[str]], data: BeirSet, mode: str = "", *, progress: bool = False
) -> ModeResult:
    """Mean metrics of `run` (query text -> ranked doc ids) over the judged queries."""
    from tqdm import tqdm

    per_query: dict[str, dict[str, float]] = {}
    started = time.perf_counter()
    for qid, text in tqdm(
        data.queries.items(), desc=mode or "eval", disable=True if not progress else None
    ):
        per_query[qid] = score_run(run(text), data.qrels[qid])
    seconds = time.perf_counter() - started
    return ModeResult(
        mode=mode,
        metrics=mean_metrics(per_query.values()),
        queries=len(per_query),
        mean_ms=1000 * seconds / max(len(per_query), 1),
        per_query=per_query,
    )


def mean_metrics(rows: Iterable[dict[str, float]]) -> dict[str, float]:
    rows = list(rows)
    return {name: sum(r[name] for r in rows) / max(len(rows), 1) for name in CUTOFFS}


# The plain baseline reported beside the search modes: hybrid's candidates, plain RRF.
BASELINE_MODE = "rrf"
RRF_K = 60


def run_eval(
    engine, data: BeirSet, modes: Sequence[str], *, progress: bool = False
) -> list[ModeResult]:
    """Run every judged query through `search()` in each mode (top 100) and score it. Mode
    "rrf" is the baseline hybrid is measured against: the same two candidate lists fused by
    plain reciprocal rank fusion (k = 60)."""
    from search.fusion import FusionParams
    from search.retrieval import search

    results = []
    for mode in modes:
        fusion = {"fusion": FusionParams("rrf", rrf_k=RRF_K)} if mode == BASELINE_MODE else {}
        searched = "hybrid" if mode == BASELINE_MODE else mode

        def ranked_ids(text: str, searched: str = searched, fusion: dict = fusion) -> list[str]:
            page = search(engine, text, k=EVAL_DEPTH, mode=searched, **fusion)
            return [hit.paper.id for hit in page.hits]

        results.append(evaluate(ranked_ids, data, mode, progress=progress))
        log.info("eval %s: %s", mode, results[-1].to_dict())
    return results


def open_beir_index(folder: Path, index_dir: Path, model: str | None, *, progress: bool = False):
    """Ingest the BEIR corpus into `index_dir` (a no-op for papers already there) and return an
    Engine over it: (engine, ingest report). Title-only documents are kept, as BEIR counts them
    (a document is its title plus its text, either of which may be empty)."""
    from indexer.ingest import ingest
    from indexer.store import Store
    from models.encoder import load_encoder
    from search.engine import Engine

    encoder = load_encoder(model)
    store = Store.create_or_open(Path(index_dir), encoder.name, encoder.dim)
    corpus = [Path(folder) / "corpus.jsonl"]
    report = ingest(store, encoder, corpus, fmt="beir", keep_title_only=True, progress=progress)
    return Engine(store, encoder), report

"""Related-paper quality on a citation graph: recall@k and nDCG@k of each paper's neighbours.

Two protocols, in one run, each with a TF-IDF cosine baseline computed on the same papers (and,
for the first, plain MiniLM cosine):
- "all edges": no references known; every citation neighbour of a paper is relevant.
- "hidden edges": a random `holdout` share of the links is hidden, the rest is given to the
  citation blend as references; only hidden neighbours are relevant, and the known neighbours are
  left out of every method's ranking (they are already known to be related), so text-only,
  blended and TF-IDF rankings are scored on exactly the same targets.
"""

from __future__ import annotations

import csv
import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from indexer.paper import embedding_text
from models.errors import BadInputError
from search.citations import CitationGraph
from search.engine import Engine
from search.related import rank_related
from search.tfidf import TfidfIndex

Edge = tuple[str, str]


def recall_at_k(ranked: Sequence[str], relevant: set[str], k: int = 10) -> float:
    """Share of the relevant papers found in the top k (0 when nothing is relevant)."""
    if not relevant:
        return 0.0
    return len(set(ranked[:k]) & relevant) / len(relevant)


def ndcg_at_k(ranked: Sequence[str], relevant: set[str], k: int = 10) -> float:
    """Binary-gain nDCG@k: DCG of the ranking over DCG of a perfect one."""
    dcg = sum(1 / math.log2(i + 2) for i, pid in enumerate(ranked[:k]) if pid in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg / ideal if ideal else 0.0


def read_edges(path: Path) -> list[Edge]:
    """Undirected (a, b) pairs with a < b from a two-column TSV (a header line is skipped)."""
    pairs: set[Edge] = set()
    with open(path, encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.reader(handle, delimiter="\t"), 1):
            if len(row) < 2 or not row[0].strip():
                continue
            a, b = row[0].strip(), row[1].strip()
            if line == 1 and not (a.isdigit() and b.isdigit()) and (a, b) == ("src", "dst"):
                continue
            if a != b:
                pairs.add((min(a, b), max(a, b)))
    if not pairs:
        raise BadInputError(f"{path} holds no edges: expected two tab-separated ids per line")
    return sorted(pairs)


def split_edges(edges: Sequence[Edge], holdout: float, seed: int) -> tuple[list[Edge], list[Edge]]:
    """(known, hidden): a seeded random `holdout` share of the edges is hidden."""
    if not 0 < holdout < 1:
        raise BadInputError(f"holdout={holdout} must be between 0 and 1, e.g. 0.2")
    shuffled = list(edges)
    random.Random(seed).shuffle(shuffled)
    cut = round(len(shuffled) * holdout)
    return shuffled[cut:], shuffled[:cut]


@dataclass(frozen=True)
class MethodScore:
    """Mean recall@k and nDCG@k of one method under one protocol."""

    protocol: str
    method: str
    recall: float
    ndcg: float
    queries: int

    def to_dict(self) -> dict:
        return {
            "protocol": self.protocol,
            "method": self.method,
            "recall": round(self.recall, 4),
            "ndcg": round(self.ndcg, 4),
            "queries": self.queries,
        }


@dataclass(frozen=True)
class RelatedEvalReport:
    """All scores of one evaluation run, with what was evaluated."""

    scores: list[MethodScore]
    k: int
    papers: int
    edges: int
    hidden_edges: int
    holdout: float
    seed: int
    seconds: float

    def to_dict(self) -> dict:
        return {
            "k": self.k,
            "papers": self.papers,
            "edges": self.edges,
            "hidden_edges": self.hidden_edges,
            "holdout": self.holdout,
            "seed": self.seed,
            "seconds": round(self.seconds, 1),
            "scores": [s.to_dict() for s in self.scores],
        }


def evaluate_related(
    engine: Engine,
    paper_ids: Iterable[str],
    edges: Sequence[Edge],
    *,
    k: int = 10,
    holdout: float = 0.2,
    seed: int = 0,
    progress: bool = True,
) -> RelatedEvalReport:
    """Score text-only related, the citation blend and TF-IDF on the given indexed papers."""
    started = time.perf_counter()
    store = engine.store
    ids = list(dict.fromkeys(paper_ids))
    vid_of = {pid: vid for pid, vid in _vids(engine, ids)}
    missing = [pid for pid in ids if pid not in vid_of]
    if missing:
        raise BadInputError(
            f"{len(missing)} papers are not in the index (e.g. {missing[0]!r}): "
            "ingest the papers file into this index first"
        )
    allowed = np.array(sorted(vid_of.values()), dtype=np.int64)
    papers = {p.id: p for p in store.papers_by_vids(allowed)}
    edges = [e for e in edges if e[0] in vid_of and e[1] in vid_of]
    known, hidden = split_edges(edges, holdout, seed)
    full_graph = CitationGraph.from_edges(edges)
    known_graph = CitationGraph.from_edges(known)
    hidden_graph = CitationGraph.from_edges(hidden)
    # The baseline: plain unigram TF-IDF cosine over the same papers.
    tfidf = TfidfIndex.build(
        ids, [embedding_text(papers[p].title, papers[p].abstract) for p in ids]
    )

    def text(pid: str, graph: CitationGraph | None, skip: set[str]) -> list[str]:
        skip_vids = frozenset(vid_of[s] for s in skip)
        rows = rank_related(
            store, vid_of[pid], papers[pid], allowed=allowed, graph=graph, k=k, skip=skip_vids
        )
        return [papers_by_vid[r[0]].id for r in rows]

    def dense(pid: str) -> list[str]:
        """Plain MiniLM cosine, the paper itself left out: the other reference point."""
        vector = store.embeddings([vid_of[pid]])
        _scores, found = store.vectors.search(vector, k + 1, allowed)
        return [papers_by_vid[v].id for v in found[0].tolist() if v >= 0 and v != vid_of[pid]][:k]

    papers_by_vid = {vid_of[pid]: papers[pid] for pid in ids}
    methods: dict[str, tuple[str, Callable[[str], list[str]], CitationGraph]] = {
        "all edges / tfidf": ("all", lambda p: tfidf.rank(p, k), full_graph),
        "all edges / dense": ("all", lambda p: dense(p), full_graph),
        "all edges / text": ("all", lambda p: text(p, None, set()), full_graph),
        "hidden edges / tfidf": (
            "hidden",
            lambda p: tfidf.rank(p, k, skip=known_graph.neighbours(p)),
            hidden_graph,
        ),
        "hidden edges / text": (
            "hidden",
            lambda p: text(p, None, known_graph.neighbours(p)),
            hidden_graph,
        ),
        "hidden edges / text+citations": (
            "hidden",
            lambda p: text(
                p, known_graph if known_graph.degree(p) else None, known_graph.neighbours(p)
            ),
            hidden_graph,
        ),
    }
    scores = []
    for label, (protocol, rank, truth) in methods.items():
        queries = [pid for pid in ids if truth.degree(pid)]
        recalls, ndcgs = [], []
        for pid in tqdm(queries, desc=label, disable=True if not progress else None):
            ranked = rank(pid)
            recalls.append(recall_at_k(ranked, truth.neighbours(pid), k))
            ndcgs.append(ndcg_at_k(ranked, truth.neighbours(pid), k))
        scores.append(
            MethodScore(
                protocol,
                label.split(" / ")[1],
                float(np.mean(recalls)),
                float(np.mean(ndcgs)),
                len(queries),
            )
        )
    return RelatedEvalReport(
        scores, k, len(ids), len(edges), len(hidden), holdout, seed, time.perf_counter() - started
    )


def _vids(engine: Engine, ids: list[str]) -> list[tuple[str, int]]:
    return engine.store.ids_to_vids(ids)

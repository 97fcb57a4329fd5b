"""The search() entry point: keyword, semantic and hybrid retrieval with exact filters."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from indexer.derived import DerivedView
from indexer.filters import Filters
from indexer.vector_index import VectorIndex
from models.errors import InvalidQueryError
from models.hardware import physical_cores
from search.engine import Engine
from search.fusion import FusionParams, fuse
from search.limits import Limits
from search.results import Hit, SearchPage
from search.snippets import make_snippet
from search.works import WORK_DEPTH, one_per_work

log = logging.getLogger(__name__)

MODES = ("keyword", "semantic", "hybrid")
# The HNSW beam of every semantic and hybrid search: deep enough for the last page reachable
# under the default limits (deeper when a server raises them, see dense_top).
PAGING_BEAM = Limits().max_offset + Limits().max_k + 8
# Candidates each side hands to hybrid fusion: enough for Recall@100, and a few hundred keeps a
# query at a few milliseconds. Pages past that use the deep tier (every reachable rank). The
# depth is a fixed tier, not offset + k, so that all pages inside a tier rank one candidate set
# and concatenate to the same list.
HYBRID_CANDIDATES = 200
# The deep tier: candidates for every rank a page can reach.
DEEP_CANDIDATES = Limits().max_offset + Limits().max_k
# Tuned on SciFact train qrels only (bench/tune_hybrid.py); test was not looked at.
DEFAULT_FUSION = FusionParams()
_SIDES = ThreadPoolExecutor(max_workers=physical_cores(), thread_name_prefix="keyword-side")


@dataclass(frozen=True)
class Ranked:
    """One paper in a ranking, before its record is loaded (vids are store ids)."""

    vid: int
    score: float
    keyword_score: float | None = None
    keyword_rank: int | None = None
    semantic_score: float | None = None
    semantic_rank: int | None = None


def search(
    engine: Engine,
    query: str,
    *,
    k: int = 10,
    mode: str = "hybrid",
    filters: Filters | None = None,
    offset: int = 0,
    fusion: FusionParams = DEFAULT_FUSION,
) -> SearchPage:
    """One page of results: ranks offset+1 .. offset+k of `mode` over the papers passing
    `filters`. Raises InvalidQueryError for an empty query, unknown mode or k/offset out of
    range. Ties are broken by store order, so pages of the same query never overlap."""
    query = validate_query(query, k=k, mode=mode, offset=offset, limits=engine.limits)
    filters = (filters or Filters()).validate()
    ranked = _rank_works(engine, query, mode, offset + k, filters, fusion)
    page = ranked[offset : offset + k]
    # A paper removed since the ranking was taken is left out rather than failing the page.
    papers = {p_vid: p for p_vid, p in engine.store.papers_with_vids([r.vid for r in page])}
    hits = [
        Hit(
            paper=papers[r.vid],
            score=r.score,
            rank=offset + i + 1,
            snippet=make_snippet(query, papers[r.vid].title, papers[r.vid].abstract),
            keyword_score=r.keyword_score,
            keyword_rank=r.keyword_rank,
            semantic_score=r.semantic_score,
            semantic_rank=r.semantic_rank,
        )
        for i, r in enumerate(page)
        if r.vid in papers
    ]
    return SearchPage(query=query, mode=mode, hits=hits, offset=offset, k=k, filters=filters)


def _rank_works(
    engine: Engine, query: str, mode: str, need: int, filters: Filters, fusion: FusionParams
) -> list[Ranked]:
    """The best `need` works, each as its best-ranked record. The ranking is read WORK_DEPTH
    times deeper (inside the candidate tier every page already ranks, so it costs a longer cut,
    not another search), so that other records of works already listed can be left out."""
    depth = min(WORK_DEPTH * need, max(need, DEEP_CANDIDATES))
    ranked = rank(engine, query, mode=mode, depth=depth, filters=filters, fusion=fusion)
    return one_per_work(engine.store, ranked, lambda r: r.vid)


def validate_query(
    query: str, *, k: int, mode: str, offset: int, limits: Limits | None = None
) -> str:
    """The query with outer whitespace removed; raises InvalidQueryError on bad arguments."""
    limits = limits or Limits()
    if not isinstance(query, str) or not query.strip():
        raise InvalidQueryError("the query is empty: give some words, a question or an abstract")
    if len(query) > limits.max_query_chars:
        raise InvalidQueryError(
            f"the query has {len(query)} characters, more than the maximum of "
            f"{limits.max_query_chars}"
        )
    if mode not in MODES:
        raise InvalidQueryError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= limits.max_k:
        raise InvalidQueryError(f"k={k} is out of range: give 1 <= k <= {limits.max_k}")
    if (
        isinstance(offset, bool)
        or not isinstance(offset, int)
        or not 0 <= offset <= limits.max_offset
    ):
        raise InvalidQueryError(
            f"offset={offset} is out of range: give 0 <= offset <= {limits.max_offset}"
        )
    return query.strip()


def rank(
    engine: Engine,
    query: str,
    *,
    mode: str,
    depth: int,
    filters: Filters | None = None,
    fusion: FusionParams = DEFAULT_FUSION,
) -> list[Ranked]:
    """The best `depth` papers for the query (validated by the caller), best first."""
    store = engine.store
    view = store.view()  # one consistent state of both indexes for the whole ranking
    allowed = store.select_vids(filters)
    if allowed is not None and len(allowed) == 0:
        return []
    if mode == "keyword":
        return keyword_ranking(view, query, depth, allowed)
    # Hybrid's keyword side runs on a worker thread while this one encodes the query and
    # searches the vectors: BM25, ONNX Runtime and FAISS release the GIL, so a lone query
    # keeps both cores busy.
    deep = max(DEEP_CANDIDATES, depth)
    side = _SIDES.submit(keyword_side, view, query, allowed, deep) if mode == "hybrid" else None
    vector = engine.encoder.encode_query(query)
    if side is None:
        return semantic_ranking(view, vector, depth, allowed)
    return hybrid_ranking(view, vector, depth, allowed, fusion, side.result())


def keyword_ranking(
    view: DerivedView, query: str, depth: int, allowed: np.ndarray | None
) -> list[Ranked]:
    """BM25 ranking; only papers that match at least one query term are returned."""
    scores, vids = view.keywords.search(query, depth, allowed)
    return [
        Ranked(int(v), float(s), keyword_score=float(s), keyword_rank=i + 1)
        for i, (s, v) in enumerate(zip(scores, vids, strict=True))
    ]


def semantic_ranking(
    view: DerivedView, vector: np.ndarray, depth: int, allowed: np.ndarray | None
) -> list[Ranked]:
    """Cosine ranking over every allowed paper."""
    scores, vids = dense_top(view.vectors, vector, depth, allowed)
    return [
        Ranked(int(v), float(s), semantic_score=float(s), semantic_rank=i + 1)
        for i, (s, v) in enumerate(zip(scores, vids, strict=True))
    ]


def keyword_side(
    view: DerivedView, query: str, allowed: np.ndarray | None, deep: int = DEEP_CANDIDATES
) -> tuple[np.ndarray, np.ndarray]:
    """What hybrid takes from BM25: every slot's score and the deep tier's vids, best first."""
    scores = view.keywords.scores(query)
    return scores, view.keywords.top(scores, deep, allowed)[1]


def hybrid_ranking(
    view: DerivedView,
    vector: np.ndarray,
    depth: int,
    allowed: np.ndarray | None,
    fusion: FusionParams,
    keyword: tuple[np.ndarray, np.ndarray],
) -> list[Ranked]:
    """Fuse the union of both candidate lists, with exact keyword and cosine scores for every
    candidate (a paper found by one side is scored by the other as well).

    Every depth ranks the same candidates the same way, so pages concatenate to one ranking:
    both lists are fetched as deep as the last reachable page (DEEP_CANDIDATES; the dense list
    comes with the search anyway, see dense_top), and each side is normalised with the
    statistics of the first HYBRID_CANDIDATES of each list, the set the weights were tuned on.
    (A bound that stops at the first tier holds only for exact search: an HNSW list can miss a
    paper that scores above its last place, and at 1M papers page 1 then disagreed.)
    """
    cands = Candidates.collect(view, keyword, vector, max(DEEP_CANDIDATES, depth), allowed)
    base = (cands.kw_rank >= 1) & (cands.kw_rank <= HYBRID_CANDIDATES)
    base |= (cands.sem_rank >= 1) & (cands.sem_rank <= HYBRID_CANDIDATES)
    reference = (cands.keyword[base], cands.semantic[base])
    fused = fuse(cands.keyword, cands.semantic, cands.kw_rank, cands.sem_rank, fusion, reference)
    order = np.lexsort((cands.vids, -fused))[:depth]
    return [
        Ranked(
            int(cands.vids[i]),
            float(fused[i]),
            keyword_score=float(cands.keyword[i]),
            keyword_rank=int(cands.kw_rank[i]) or None,
            semantic_score=float(cands.semantic[i]),
            semantic_rank=int(cands.sem_rank[i]) or None,
        )
        for i in order
    ]


@dataclass(frozen=True)
class Candidates:
    """The union of both sides' top lists: vids, exact scores, and 1-based ranks (0: absent)."""

    vids: np.ndarray
    keyword: np.ndarray
    semantic: np.ndarray
    kw_rank: np.ndarray
    sem_rank: np.ndarray

    @classmethod
    def collect(
        cls,
        view: DerivedView,
        keyword: tuple[np.ndarray, np.ndarray],
        vector: np.ndarray,
        depth: int,
        allowed: np.ndarray | None,
    ) -> Candidates:
        """`keyword`: (every slot's BM25 score, the keyword side's vids best first)."""
        index = view.keywords
        all_scores, kw_vids = keyword
        kw_vids = kw_vids[:depth]
        _, sem_vids = dense_top(view.vectors, vector, depth, allowed)
        vids = np.union1d(kw_vids, sem_vids).astype(np.int64)
        # Exact cosines for every candidate, whichever list found it: an 8-bit index scores its
        # own hits from codes, and a paper's fused score must not depend on the tier.
        semantic = (view.vectors.vectors(vids) @ vector).astype(np.float64)
        return cls(
            vids=vids,
            keyword=index.scores_of(all_scores, vids).astype(np.float64),
            semantic=semantic,
            kw_rank=_ranks_of(vids, kw_vids),
            sem_rank=_ranks_of(vids, sem_vids),
        )


def _ranks_of(vids: np.ndarray, ranked: np.ndarray) -> np.ndarray:
    """1-based position of each of `vids` in `ranked`, 0 where absent."""
    ranks = np.zeros(len(vids), dtype=np.int64)
    ranks[np.searchsorted(vids, ranked)] = np.arange(1, len(ranked) + 1)
    return ranks


def dense_top(
    vectors: VectorIndex, vector: np.ndarray, depth: int, allowed: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Top `depth` (cosines, vids) best first, ties by vid."""
    # A few extra so that papers tied at the cut (duplicates) are ordered by vid, not by chance.
    # One HNSW search for every depth a page can reach, cut afterwards: FAISS's HNSW search
    # depends on k as well as on the beam, so a shallow and a deep search can disagree; the same
    # k and beam make every page a slice of one ranking.
    beam = max(PAGING_BEAM, depth + 8)
    scores, vids = vectors.search(vector[None, :], beam, allowed, ef_search=beam)
    scores, vids = scores[0], vids[0]
    keep = vids >= 0
    scores, vids = scores[keep], vids[keep]
    order = np.lexsort((vids, -scores))[:depth]
    return scores[order].astype(np.float64), vids[order].astype(np.int64)

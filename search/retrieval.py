"""The search() entry point: keyword, semantic and hybrid retrieval with exact filters."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

import numpy as np

from indexer.derived import DerivedView
from indexer.filters import Filters
from indexer.store import Store
from indexer.vector_index import VectorIndex
from models.errors import InvalidQueryError
from models.hardware import physical_cores
from search.constraints import allowed_vids
from search.engine import Engine
from search.facets import facet_counts, parse_facets
from search.fusion import FusionParams, fuse
from search.limits import Limits
from search.query_syntax import parse_query
from search.results import Hit, SearchPage
from search.semantic_floor import semantic_floor
from search.snippets import make_snippet
from search.sorting import check_sort, sort_items
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
# Most keyword matches one query reads to sort them or count facets; past it both count "among
# the top MAX_POOL" (the total stays exact).
MAX_POOL = 50_000
# Tuned on SciFact train qrels only (bench/tune_hybrid.py); test was not looked at.
DEFAULT_FUSION = FusionParams()
_SIDES = ThreadPoolExecutor(max_workers=physical_cores(), thread_name_prefix="keyword-side")


def search(
    engine: Engine,
    query: str,
    *,
    k: int = 10,
    mode: str = "hybrid",
    filters: Filters | None = None,
    offset: int = 0,
    fusion: FusionParams = DEFAULT_FUSION,
    sort: str = "relevance",
    facets: str | tuple[str, ...] | None = None,
) -> SearchPage:
    """One page of results: ranks offset+1 .. offset+k of `mode` over the papers passing
    `filters` and the query's own constraints (search/query_syntax.py), in `sort` order, with
    the total and `facets` counted over what the query matches. Raises InvalidQueryError for a
    malformed query or arguments out of range. Ties are broken by store order, so pages of the
    same query never overlap."""
    query = validate_query(query, k=k, mode=mode, offset=offset, limits=engine.limits)
    sort, facet_names = check_sort(sort), parse_facets(facets)
    filters = (filters or Filters()).validate()
    parsed = parse_query(query)
    text = parsed.text.strip()
    if not text and not parsed.constrained:
        raise InvalidQueryError("the query has only operators (AND, OR, NOT): give words to find")
    store = engine.store
    view = store.view()
    if parsed.constrained:
        allowed = allowed_vids(store, view, parsed, filters)
    else:
        allowed = store.select_vids(filters)
    found = _matches(engine, view, text, mode, offset + k, allowed, fusion, sort, facet_names)
    page = sort_items(store, _works(store, found.ranked, offset + k, sort), _vid, sort)
    page = page[offset : offset + k]
    # A paper removed since the ranking was taken is left out rather than failing the page.
    papers = {p_vid: p for p_vid, p in store.papers_with_vids([r.vid for r in page])}
    snippet_text = text or query
    hits = [
        replace(
            r,
            paper=papers[r.vid],
            rank=offset + i + 1,
            snippet=make_snippet(snippet_text, papers[r.vid].title, papers[r.vid].abstract),
        )
        for i, r in enumerate(page)
        if r.vid in papers
    ]
    counted = [r.vid for r in found.ranked]
    return SearchPage(
        query=query,
        mode=mode,
        hits=hits,
        offset=offset,
        k=k,
        filters=filters,
        total=found.total,
        total_exact=found.exact,
        depth=None if found.exact else found.depth,
        sort=sort,
        constraints=tuple(parsed.describe()),
        facets=facet_counts(store, counted, facet_names) if facet_names else {},
        message=found.message,
    )


def _vid(ranked: Hit) -> int:
    return ranked.vid


def _works(store: Store, ranked: list[Hit], need: int, sort: str) -> list[Hit]:
    """One record per work. In relevance order only the first `need` works are listed, so a
    prefix WORK_DEPTH times longer is collapsed first (a keyword query with facets may hold
    50,000 matches); the whole list only when that prefix holds too few works."""
    if sort == "relevance" and len(ranked) > WORK_DEPTH * need:
        works = one_per_work(store, ranked[: WORK_DEPTH * need], _vid)
        if len(works) >= need:
            return works
    return one_per_work(store, ranked, _vid)


@dataclass(frozen=True)
class Matches:
    """What a query matches, best first, before works are collapsed: `total` papers (exactly, or
    among the first `depth` candidates), and `message` when it matches nothing worth showing."""

    ranked: list[Hit]
    total: int
    exact: bool
    depth: int
    message: str | None = None


def _matches(
    engine: Engine,
    view: DerivedView,
    text: str,
    mode: str,
    need: int,
    allowed: np.ndarray | None,
    fusion: FusionParams,
    sort: str,
    facets: tuple[str, ...],
) -> Matches:
    """The ranking, read as deep as the page, the total, the facets and the sort need. It is
    read WORK_DEPTH times deeper than the page (inside the candidate tier every page already
    ranks, so it costs a longer cut, not another search), so that other records of works
    already listed can be left out."""
    if allowed is not None and len(allowed) == 0:
        return Matches([], 0, True, 0)
    if not text:  # constraints alone: every allowed paper, newest first unless sorted otherwise
        vids = view.keywords.vids if allowed is None else allowed
        ranked = sort_items(engine.store, [Hit(int(v), 0.0) for v in vids], _vid, "newest")
        return Matches(ranked, len(ranked), True, len(ranked))
    keywords = view.keywords
    if mode == "keyword":
        scores = keywords.scores(text)
        total = keywords.matching(scores, allowed)
        full = bool(facets) or sort != "relevance"
        depth = MAX_POOL if full else min(WORK_DEPTH * need, max(need, DEEP_CANDIDATES))
        ranked = keyword_ranking(view, scores, min(depth, total), allowed)
        return Matches(ranked, total, True, depth)
    depth = max(need, DEEP_CANDIDATES)
    ranked = _rank_allowed(engine, view, text, mode, depth, allowed, fusion)
    if ranked and not any(r.keyword_rank for r in ranked):
        # Unfiltered, the ranking already holds the index's best cosine; a filtered one may not.
        best = max(r.semantic_score or 0.0 for r in ranked) if allowed is None else None
        message = _nonsense(engine, view, text, best)
        if message:
            return Matches([], 0, True, depth, message)
    return Matches(ranked, len(ranked), len(ranked) < depth, depth)


def _nonsense(engine: Engine, view: DerivedView, text: str, best: float | None) -> str | None:
    """Why a query matches nothing worth showing, or None. Judged on the whole index, not the
    filtered papers: a real query keeps its nearest papers under a narrow filter, however far.
    `best`: the query's best cosine over the whole index, when the caller has it."""
    if view.keywords.matches_any(text):
        return None
    if best is None:
        vector = engine.encoder.encode_query(text)
        best = float(view.vectors.search(vector[None, :], 1)[0][0, 0])
    floor = semantic_floor(engine.store, engine.encoder.encode_query)
    if best >= floor:
        return None
    return (
        "Nothing matches: no paper holds these words, and none is closer in meaning "
        f"(best similarity {best:.2f}) than nonsense queries come to this index ({floor:.2f})."
    )


def validate_query(
    query: str, *, k: int, mode: str, offset: int, limits: Limits | None = None
) -> str:
    """The query with outer whitespace removed; raises InvalidQueryError on bad arguments."""
    limits = limits or Limits()
    query = limits.check_text(query)
    if mode not in MODES:
        raise InvalidQueryError(f"unknown mode {mode!r}: choose one of {', '.join(MODES)}")
    limits.check_k(k)
    limits.check_offset(offset)
    return query.strip()


def rank(
    engine: Engine,
    query: str,
    *,
    mode: str,
    depth: int,
    filters: Filters | None = None,
    fusion: FusionParams = DEFAULT_FUSION,
) -> list[Hit]:
    """The best `depth` papers for the query (validated by the caller), best first."""
    store = engine.store
    view = store.view()  # one consistent state of both indexes for the whole ranking
    return _rank_allowed(engine, view, query, mode, depth, store.select_vids(filters), fusion)


def _rank_allowed(
    engine: Engine,
    view: DerivedView,
    query: str,
    mode: str,
    depth: int,
    allowed: np.ndarray | None,
    fusion: FusionParams,
) -> list[Hit]:
    """rank() over the papers `allowed` (None: all)."""
    if allowed is not None and len(allowed) == 0:
        return []
    if mode == "keyword":
        return keyword_ranking(view, view.keywords.scores(query), depth, allowed)
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
    view: DerivedView, scores: np.ndarray, depth: int, allowed: np.ndarray | None
) -> list[Hit]:
    """BM25 ranking from a `scores(query)` array; only papers that match at least one query
    term are returned."""
    scores, vids = view.keywords.top(scores, depth, allowed)
    return [
        Hit(int(v), float(s), keyword_score=float(s), keyword_rank=i + 1)
        for i, (s, v) in enumerate(zip(scores, vids, strict=True))
    ]


def semantic_ranking(
    view: DerivedView, vector: np.ndarray, depth: int, allowed: np.ndarray | None
) -> list[Hit]:
    """Cosine ranking over every allowed paper."""
    scores, vids = dense_top(view.vectors, vector, depth, allowed)
    return [
        Hit(int(v), float(s), semantic_score=float(s), semantic_rank=i + 1)
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
) -> list[Hit]:
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
        Hit(
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

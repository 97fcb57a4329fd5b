"""Request and response models of the HTTP API, with the examples shown at /docs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

from api import examples as ex
from indexer.filters import Filters
from search.results import DECIMALS

# Requests are strict: unknown fields and wrong JSON types are a 422, never silently coerced.
STRICT = ConfigDict(extra="forbid", strict=True)


def examples(*payloads: dict) -> ConfigDict:
    """A model config that shows `payloads` as the model's examples at /docs."""
    return ConfigDict(json_schema_extra={"examples": list(payloads)})


# ---- the one serialisation path ------------------------------------------------------------
# Results are dataclasses of search/ and indexer/; the response models below read them by
# attribute, and both the API and every `--json` of the CLI print them through `dump`. Every
# score, similarity and percentile is rounded here, and only here.
Number = Annotated[float, PlainSerializer(lambda value: round(value, DECIMALS), return_type=float)]


class OutModel(BaseModel):
    """A response model built from a result object's attributes."""

    model_config = ConfigDict(from_attributes=True)


class _With:
    """`result`'s attributes, with `extra` ones added or replaced (a route's paper_id, say)."""

    def __init__(self, result: object, extra: dict[str, Any]) -> None:
        self._result, self._extra = result, extra

    def __getattr__(self, name: str) -> Any:
        if name in self._extra:
            return self._extra[name]
        return getattr(self._result, name)


def dump(model: type[OutModel], result: object = None, **extra: Any) -> dict:
    """`result` (and `extra` fields) as `model` writes it in JSON: the body of a route and the
    output of a command's --json."""
    source = extra if result is None else _With(result, extra) if extra else result
    return model.model_validate(source).model_dump(mode="json")


def dump_list(model: type[OutModel], results: list) -> list[dict]:
    return [dump(model, result) for result in results]


def _filters_dict(value: Any) -> Any:
    return value.to_dict() if isinstance(value, Filters) else value


def _pairs(*names: str) -> Callable[[Any], Any]:
    """Tuples (or a method that returns them) read as objects with these field names."""

    def convert(value: Any) -> Any:
        value = value() if callable(value) else value
        return [
            dict(zip(names, item, strict=True)) if isinstance(item, tuple) else item
            for item in value
        ]

    return BeforeValidator(convert)


FiltersDict = Annotated[dict[str, Any], BeforeValidator(_filters_dict)]


class ErrorDetail(BaseModel):
    type: str = Field(description="machine-readable kind, e.g. not_found, invalid_query")
    message: str = Field(description="what went wrong and what to do about it")


class ErrorBody(BaseModel):
    """The body of every error response."""

    model_config = examples(
        {"error": {"type": "not_found", "message": "no paper with id 'x' in this index"}}
    )
    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the given error statuses, all with the one error body."""
    text = {
        400: "Malformed request (e.g. a body that is not JSON)",
        401: "Missing or wrong API token",
        403: "Writes are disabled on this server",
        404: "Unknown paper, author or route",
        409: "The index does not match the request",
        413: "Request body over 16 MiB",
        422: "Invalid parameters (empty or over-long query, k out of range, wrong types...)",
    }
    return {s: {"model": ErrorBody, "description": text[s]} for s in statuses}


# ---- papers ------------------------------------------------------------------------------
class PaperOut(OutModel):
    """One stored paper; dates are ISO 8601, `year` is derived from `published`."""

    model_config = examples(ex.PAPER)
    id: str
    title: str
    abstract: str
    authors: list[str]
    categories: list[str]
    published: dt.date | None
    date_precision: str | None = Field(description='"day", "month" or "year"')
    updated: dt.date | None
    venue: str | None
    doi: str | None
    url: str | None
    code_url: str | None
    has_code: bool | None
    citation_count: int | None
    references: list[str]
    affiliations: list[str]
    source: str
    year: int | None


class PaperIn(BaseModel):
    """A paper to add or update, in the generic field names of `paperscope ingest` JSONL files.

    Without an id, one is derived from the title. Authors and categories may be a list or one
    string ("A; B", "cs.LG stat.ML"); dates may be "2007", "2007-04" or "2007-04-02".
    """

    model_config = STRICT | examples(
        {
            "id": "2401.00001",
            "title": "A tiny test paper",
            "abstract": "We study nearest-neighbour search over sentence embeddings.",
            "authors": ["Ada Lovelace"],
            "categories": ["cs.IR"],
            "published": "2024-01-02",
        }
    )
    id: str | None = Field(None, min_length=1, max_length=300)
    title: str = Field(max_length=2000)
    abstract: str = Field(min_length=1, max_length=100_000)
    authors: list[str] | str | None = None
    categories: list[str] | str | None = None
    published: str | None = Field(None, max_length=40)
    updated: str | None = Field(None, max_length=40)
    venue: str | None = None
    doi: str | None = None
    url: str | None = None
    code_url: str | None = None
    has_code: bool | None = None
    citation_count: int | None = Field(None, ge=0, le=10**9)
    references: list[str] | None = None
    affiliations: list[str] | None = None


class WriteReport(BaseModel):
    """What one POST /papers did."""

    model_config = examples({"received": 1, "added": 1, "updated": 0, "unchanged": 0, "total": 115})
    received: int
    added: int
    updated: int
    unchanged: int
    total: int = Field(description="papers in the index after the write")


class RemoveReport(BaseModel):
    model_config = examples({"removed": "0704.0001", "total": 114})
    removed: str
    total: int = Field(description="papers in the index after the removal")


# ---- system ------------------------------------------------------------------------------
class HealthOut(BaseModel):
    model_config = examples(
        {"status": "ok", "papers": 114, "model": "all-MiniLM-L6-v2", "writes_enabled": False}
    )
    status: str
    papers: int
    model: str
    writes_enabled: bool = False


class StatsOut(BaseModel):
    """What the index holds (the same as `paperscope stats --json`)."""

    model_config = examples(ex.STATS)
    index: str
    model: str
    dim: int
    format_version: int
    max_windows: int = Field(description="256-token windows embedded per paper; 0: all")
    papers: int
    embeddings: int
    authors: int
    categories: int
    with_date: int
    with_citation_count: int
    novelty_scored: int
    year_range: list[int] | None
    sources: dict[str, int]
    generation: int
    derived: dict[str, dict[str, Any]]
    derived_up_to_date: bool


# ---- search ------------------------------------------------------------------------------
class SnippetOut(OutModel):
    text: str
    spans: list[list[int]] = Field(description="[start, end) character offsets of matched terms")


class HitOut(OutModel):
    """One search result; component scores say where each retriever put the paper."""

    rank: int = Field(description="1-based, counting the offset")
    score: Number
    paper: PaperOut
    snippet: SnippetOut
    keyword_score: Number | None
    keyword_rank: int | None
    semantic_score: Number | None
    semantic_rank: int | None


class FacetValueOut(OutModel):
    value: str
    count: int = Field(description="results with this value: what its filter returns")
    filter: dict[str, Any] = Field(description="the filter parameters that select these results")


class SearchPageOut(OutModel):
    model_config = examples(ex.SEARCH_PAGE)
    query: str
    mode: str
    offset: int
    k: int
    sort: str = Field(description="relevance, newest, oldest or citations")
    filters: FiltersDict = Field(description="the filters that were applied")
    constraints: list[str] = Field(
        description="the query's own phrases, exclusions and field terms, as applied"
    )
    total: int = Field(description="papers the query matches (see total_exact)")
    total_exact: bool = Field(
        description="true: `total` is exact (keyword search, filters and constraints); false: "
        "semantic or hybrid, counted among the first `depth` candidates"
    )
    depth: int | None = Field(description="the candidate depth when total is not exact")
    facets: dict[str, list[FacetValueOut]] = Field(
        description="per requested facet, the most frequent values among the matches"
    )
    message: str | None = Field(description="why nothing is shown, when nothing matches")
    hits: list[HitOut]


# ---- discovery ---------------------------------------------------------------------------
class RelatedOut(OutModel):
    """A related paper; `signal` says what put it here: text, citations or text+citations."""

    rank: int
    score: Number
    signal: str
    text_score: Number | None = Field(description="z-scored dense + lexical similarity")
    citation_score: Number | None = Field(description="citation-neighbourhood overlap, 0..1")
    paper: PaperOut


class RelatedListOut(OutModel):
    model_config = examples(ex.RELATED)
    paper_id: str
    hits: list[RelatedOut]


class CitationsOut(OutModel):
    """A paper's references and citing papers within this index, with their counts."""

    paper_id: str
    reference_count: int = Field(description="entries in the paper's reference list")
    references_in_index: int = Field(description="of those, papers held by this index")
    references: list[PaperOut] = Field(description="the indexed references, in the list's order")
    cited_by_count: int = Field(description="indexed papers that list this one as a reference")
    cited_by: list[PaperOut] = Field(description="citing papers (up to limit): most cited first")


class LinkOut(OutModel):
    label: str
    url: str


class VersionOut(OutModel):
    """One record of a work and why it was merged with the others."""

    id: str
    title: str
    published: dt.date | None
    venue: str | None
    doi: str | None
    source: str
    linked_to: str | None = Field(description="the record it was matched with (None: the first)")
    reason: str | None = Field(description="why the two are one work, in words")
    links: Annotated[list[LinkOut], _pairs("label", "url")] = Field(
        description="arXiv abstract and PDF, DOI, source URL"
    )


class WorkOut(OutModel):
    """The records of one work (arXiv versions, preprint and journal version, the same paper
    from two dumps), earliest first; a paper alone is a work of one version."""

    paper_id: str
    merged: bool
    earliest: dt.date | None
    versions: list[VersionOut]


class SplitOut(OutModel):
    """What `split` separated: the paper and the records it is no longer merged with."""

    paper_id: str
    split_from: list[str]
    work: WorkOut


class RecommendationRequest(BaseModel):
    """Papers you like (and optionally dislike); returns the index's papers most like them."""

    model_config = STRICT | examples({"positive_ids": ["0704.0001"], "negative_ids": [], "k": 5})
    positive_ids: list[str] = Field(min_length=1, description="liked paper ids (max_positives)")
    negative_ids: list[str] = Field(default_factory=list, description="disliked paper ids")
    k: int = Field(10, description="how many to return, 1 to max_k (checked with the limits)")
    year_from: int | None = Field(None, ge=1, le=9999)
    year_to: int | None = Field(None, ge=1, le=9999)
    category: str | None = Field(None, max_length=100)


class RecommendationOut(OutModel):
    rank: int
    score: Number = Field(description="the per-request classifier's decision value")
    closest_positive_id: str = Field(description="the liked paper this one is most similar to")
    closest_similarity: Number
    paper: PaperOut


class RecommendationListOut(OutModel):
    model_config = examples(ex.RECOMMENDATIONS)
    hits: list[RecommendationOut]


class EvidenceOut(OutModel):
    similarity: Number = Field(description="cosine similarity to the scored paper or draft")
    paper: PaperOut


class NoveltyOut(OutModel):
    """Novelty against earlier papers only; raw and percentile are null when it cannot be
    scored (no date, or nothing before it), and `explanation` says why."""

    model_config = examples(ex.NOVELTY)
    paper_id: str | None
    raw: Number | None = Field(
        description="the novelty score: 1 - mean over the 20 nearest earlier papers of cosine x "
        "age weight (0.25 + 0.75 x 0.8^years: recent work counts fully)"
    )
    distance: Number | None = Field(
        description="plain kNN distance: 1 - mean cosine to the k nearest earlier papers"
    )
    max_similarity: Number | None
    percentile: Number | None = Field(description="0..100 among papers of the same year")
    year: int | None
    published: dt.date | None
    prior_count: int
    too_few_prior: bool
    near_duplicate: bool
    k: int
    cohort_year: int | None
    cohort_size: int
    evidence: list[EvidenceOut]
    explanation: str
    notes: list[str]


class NoveltyRequest(BaseModel):
    """A draft to score as if published on `date` (default: today)."""

    model_config = STRICT | examples(
        {
            "title": "Dynamic indexes for hard-negative mining",
            "abstract": "We keep a tree index of targets up to date during training.",
            "date": "2024-05-01",
        }
    )
    title: str = Field("", description="may be empty")
    abstract: str = Field(min_length=1, description="the draft's abstract (max_query_chars)")
    # Not strict: the body is validated after json.loads, and a JSON date is ISO text.
    date: dt.date | None = Field(None, strict=False, description="ISO date, e.g. 2024-05-01")
    k: int = Field(
        10, description="nearest earlier papers of the plain distance and the evidence, 1 to max_k"
    )


# ---- authors -----------------------------------------------------------------------------
class CategoryCount(OutModel):
    category: str
    papers: int


class CoauthorCount(OutModel):
    name: str
    papers: int


class PaperNoveltyOut(OutModel):
    paper_id: str
    year: int | None
    percentile: Number | None
    raw: Number | None
    is_ai: Number | None


class YearNovelty(OutModel):
    year: int
    median_percentile: Number
    papers: int


class AuthorProfileOut(OutModel):
    """An author's papers (newest first) and the figures of the profile page; a figure that
    cannot be computed is null and its note says why."""

    model_config = examples(ex.AUTHOR_PROFILE)
    name: str
    paper_count: int
    citations: int | None
    h_index: int | None
    citations_note: str
    novelty_percent: Number | None
    novelty_note: str
    ai_score: int | None
    ai_score_definition: str
    top_categories: Annotated[list[CategoryCount], _pairs("category", "papers")]
    coauthors: Annotated[list[CoauthorCount], _pairs("name", "papers")]
    papers_with_code: int
    code_paper_ids: list[str]
    paper_novelty: list[PaperNoveltyOut]
    novelty_by_year: Annotated[list[YearNovelty], _pairs("year", "median_percentile", "papers")]
    name_variants: list[str]
    most_cited_ids: list[str] = Field(
        description="up to 5 papers with a citation count, most cited first; empty without counts"
    )
    papers: list[PaperOut]


class AuthorSummaryOut(OutModel):
    name: str
    paper_count: int


class AuthorListOut(OutModel):
    model_config = examples(
        {"query": "kel", "authors": [{"name": "Kelsey Allen", "paper_count": 14}]}
    )
    query: str
    authors: list[AuthorSummaryOut]


# ---- saved searches ----------------------------------------------------------------------
class WatchIn(BaseModel):
    """A saved search: new papers that hold every word of `query` (stemmed) and pass the
    filters are reported by `paperscope watch run` and listed by /feeds/{name}.atom."""

    model_config = STRICT | examples({"name": "gnn", "query": "graph neural network"})
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", description="URL-safe name")
    query: str = Field(min_length=1, max_length=1000)
    year_from: int | None = Field(None, ge=1, le=9999)
    year_to: int | None = Field(None, ge=1, le=9999)
    category: str | None = Field(None, max_length=100)
    author: str | None = Field(None, max_length=300)
    venue: str | None = Field(None, max_length=300)


WATCH_EXAMPLE = {
    "name": "gnn",
    "query": "graph neural network",
    "filters": {"year_from": 2024},
    "created": "2026-12-02T04:00:00+00:00",
    "last_run": None,
}


class WatchOut(OutModel):
    model_config = examples(WATCH_EXAMPLE)
    name: str
    query: str
    filters: FiltersDict
    created: str = Field(description="UTC, ISO 8601")
    last_run: str | None = Field(description="UTC, ISO 8601; null before the first run")


class WatchListOut(OutModel):
    model_config = examples({"watches": [WATCH_EXAMPLE]})
    watches: list[WatchOut]


class WatchRemoved(BaseModel):
    model_config = examples({"removed": "gnn"})
    removed: str

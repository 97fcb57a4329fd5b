"""Author profiles (papers, citations, h-index, novelty %, AI score) and author lookup by name."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import date

from indexer.paper import Paper, normalize_name
from models.errors import InvalidQueryError, NotFoundError
from search.categories import AI_SCORE_DEFINITION, ai_label, ai_probabilities
from search.engine import Engine
from search.novelty import stored_percentiles
from search.novelty_cohorts import MIN_COHORT
from search.works import one_record_per_work

# Novelty % is withheld below this many scored papers, and shrunk toward 50 as if this many
# papers at exactly 50 were added to the median: (n * median + SHRINK * 50) / (n + SHRINK).
MIN_SCORED = 3
SHRINK = 3
TOP_CATEGORIES = 5
TOP_COAUTHORS = 10
MOST_CITED = 5  # papers in the "most cited" list of a profile

NOVELTY_DEFINITION = (
    "Novelty % = median of the percentiles of the author's papers (each paper's novelty against "
    f"earlier work, ranked among papers of its year), shrunk toward 50: (n x median + {SHRINK} x "
    f"50) / (n + {SHRINK}) for n scored papers; withheld under {MIN_SCORED} scored papers."
)


@dataclass(frozen=True)
class PaperNovelty:
    """One paper's novelty, for a per-paper chart: percentile within its year and raw score."""

    paper_id: str
    year: int | None
    percentile: float | None
    raw: float | None
    is_ai: float | None


@dataclass(frozen=True)
class AuthorProfile:
    """Everything the profile page shows; unknown figures are None with a note saying why."""

    name: str
    papers: list[Paper]
    paper_count: int
    citations: int | None
    h_index: int | None
    citations_note: str
    novelty_percent: float | None
    novelty_note: str
    ai_score: int | None
    ai_score_definition: str
    top_categories: list[tuple[str, int]]
    coauthors: list[tuple[str, int]]
    papers_with_code: int
    code_paper_ids: list[str]
    paper_novelty: list[PaperNovelty]
    novelty_by_year: list[tuple[int, float, int]]
    name_variants: list[str]

    @property
    def most_cited_ids(self) -> list[str]:
        return [p.id for p in self.most_cited()]

    def most_cited(self, n: int = MOST_CITED) -> list[Paper]:
        """Up to `n` papers with a known citation count, most cited first (ties: newest first,
        then by id); empty where the sources give no counts."""
        counted = [p for p in self.papers if p.citation_count is not None]
        counted.sort(key=lambda p: p.id)
        counted.sort(key=lambda p: p.published or date.min, reverse=True)
        counted.sort(key=lambda p: p.citation_count, reverse=True)
        return counted[:n]


@dataclass(frozen=True)
class AuthorSummary:
    """One author found by name: the most common spelling and the number of papers."""

    name: str
    paper_count: int


def find_authors(engine: Engine, prefix: str, *, limit: int = 20) -> list[AuthorSummary]:
    """Authors whose name, or any word of it, starts with `prefix` (case- and accent-blind),
    most papers first."""
    key = normalize_name(prefix or "")
    if not key:
        raise InvalidQueryError("give the start of an author's name, e.g. 'kelsey' or 'allen'")
    if not 1 <= limit <= 1000:
        raise InvalidQueryError(f"limit={limit} is out of range: give 1 to 1000")
    spellings: dict[str, Counter] = {}
    for name_key, name, count in engine.store.author_spellings(key):
        spellings.setdefault(name_key, Counter())[name] += count
    papers = engine.store.author_paper_counts(spellings)
    found = [AuthorSummary(_display(spellings[key]), papers[key]) for key in spellings]
    found.sort(key=lambda a: (-a.paper_count, normalize_name(a.name)))
    return found[:limit]


def author_profile(engine: Engine, name: str) -> AuthorProfile:
    """The profile of the author whose normalised name equals `name`'s."""
    key = normalize_name(name or "")
    if not key:
        raise InvalidQueryError("give an author's name, e.g. 'Kelsey Allen'")
    store = engine.store
    rows = store.authorships(key)
    if not rows:
        hint = ", ".join(a.name for a in find_authors(engine, key.split()[-1], limit=5))
        raise NotFoundError(
            f"no author named {name!r} in this index"
            + (f"; similar names: {hint}" if hint else "")
            + " (find names with `paperscope authors PREFIX`)"
        )
    pairs = one_record_per_work(store, store.papers_with_vids(sorted({vid for vid, _ in rows})))
    pairs.sort(key=lambda pair: _newest_first(pair[1]))
    vids, papers = [v for v, _ in pairs], [p for _, p in pairs]
    citations, h_index, citations_note = _citations(papers)
    novelty = stored_percentiles(engine, vids)
    ai = ai_probabilities(store, vids, [ai_label(p.categories) for p in papers])
    per_paper = [
        PaperNovelty(p.id, p.year, *(novelty.get(v, (None, None))), ai[i])
        for i, (p, v) in enumerate(zip(papers, vids, strict=True))
    ]
    novelty_percent, novelty_note = _novelty_percent(per_paper)
    known_ai = [a for a in ai if a is not None]
    return AuthorProfile(
        name=_display(Counter(n for _, n in rows)),
        papers=papers,
        paper_count=len(papers),
        citations=citations,
        h_index=h_index,
        citations_note=citations_note,
        novelty_percent=novelty_percent,
        novelty_note=novelty_note,
        ai_score=round(100 * sum(known_ai) / len(known_ai)) if known_ai else None,
        ai_score_definition=AI_SCORE_DEFINITION
        + f" Here {len(known_ai)} of {len(papers)} papers could be judged.",
        top_categories=Counter(c for p in papers for c in p.categories).most_common(TOP_CATEGORIES),
        coauthors=_coauthors(papers, key),
        papers_with_code=sum(1 for p in papers if p.has_code or p.code_url),
        code_paper_ids=[p.id for p in papers if p.has_code or p.code_url],
        paper_novelty=per_paper,
        novelty_by_year=_by_year(per_paper),
        name_variants=sorted(set(n for _, n in rows)),
    )


def h_index(citation_counts: list[int]) -> int:
    """Largest h such that h papers have at least h citations each."""
    counts = sorted(citation_counts, reverse=True)
    return sum(1 for i, c in enumerate(counts, 1) if c >= i)


def _citations(papers: list[Paper]) -> tuple[int | None, int | None, str]:
    known = [p.citation_count for p in papers if p.citation_count is not None]
    if not known:
        return (
            None,
            None,
            (
                f"unknown: none of the {len(papers)} papers carries a citation count in the "
                "indexed sources (arXiv metadata and the profile data have none); ingest "
                "Semantic Scholar / S2ORC records of these papers to get citations and h-index"
            ),
        )
    if len(known) < len(papers):
        return (
            sum(known),
            h_index(known),
            (
                f"from the {len(known)} of {len(papers)} papers whose source gives a citation "
                "count; the others are not counted, so both figures are lower bounds"
            ),
        )
    return sum(known), h_index(known), f"from citation counts of all {len(papers)} papers"


def _novelty_percent(per_paper: list[PaperNovelty]) -> tuple[float | None, str]:
    scored = [p.percentile for p in per_paper if p.percentile is not None]
    n = len(scored)
    if n < MIN_SCORED:
        return None, (
            f"withheld: {n} of {len(per_paper)} papers have a percentile (a paper needs a date, "
            f"enough earlier papers in the index, and at least {MIN_COHORT} other scored papers "
            f"from its year to be ranked among); at least {MIN_SCORED} are needed. "
            + NOVELTY_DEFINITION
        )
    median = statistics.median(scored)
    value = round((n * median + SHRINK * 50.0) / (n + SHRINK), 1)
    return value, (
        f"median percentile {median:.1f} over {n} scored papers, shrunk toward 50. "
        + NOVELTY_DEFINITION
    )


def _by_year(per_paper: list[PaperNovelty]) -> list[tuple[int, float, int]]:
    years: dict[int, list[float]] = {}
    for p in per_paper:
        if p.percentile is not None and p.year is not None:
            years.setdefault(p.year, []).append(p.percentile)
    return [(y, statistics.median(v), len(v)) for y, v in sorted(years.items())]


def _coauthors(papers: list[Paper], own_key: str) -> list[tuple[str, int]]:
    by_key: dict[str, Counter] = {}
    for paper in papers:
        seen = {own_key}
        for name in paper.authors:
            key = normalize_name(name)
            if key and key not in seen:  # a name listed twice on one paper counts once
                seen.add(key)
                by_key.setdefault(key, Counter())[name] += 1
    ranked = sorted(by_key.values(), key=lambda c: (-sum(c.values()), _display(c)))
    return [(_display(c), sum(c.values())) for c in ranked[:TOP_COAUTHORS]]


def _display(spellings: Counter) -> str:
    """The most frequent spelling; ties go to the longest (it carries accents and full names)."""
    return max(spellings.items(), key=lambda item: (item[1], len(item[0]), item[0]))[0]


def _newest_first(paper: Paper) -> tuple:
    return (paper.published is None, -(paper.published or date.min).toordinal(), paper.id)

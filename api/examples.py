"""Example payloads shown at /docs for the API's responses (see api/schemas.py)."""

from __future__ import annotations

PAPER = {
    "id": "0704.0001",
    "title": "Calculation of prompt diphoton production cross sections at Tevatron and LHC "
    "energies",
    "abstract": "A fully differential calculation in perturbative quantum chromodynamics is "
    "presented for the production of massive photon pairs at hadron colliders.",
    "authors": ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C.-P. Yuan"],
    "categories": ["hep-ph"],
    "published": "2007-04-02",
    "date_precision": "day",
    "updated": "2008-11-13",
    "venue": "Phys.Rev.D76:013009,2007",
    "doi": "10.1103/PhysRevD.76.013009",
    "url": None,
    "code_url": None,
    "has_code": None,
    "citation_count": None,
    "references": [],
    "affiliations": [],
    "source": "arxiv",
    "year": 2007,
}

STATS = [
    {
        "index": "paperscope-index",
        "model": "all-MiniLM-L6-v2",
        "dim": 384,
        "format_version": 1,
        "max_windows": 0,
        "papers": 114,
        "embeddings": 114,
        "authors": 430,
        "categories": 40,
        "with_date": 114,
        "with_citation_count": 0,
        "novelty_scored": 0,
        "year_range": [2007, 2026],
        "sources": {"arxiv": 100, "jsonl": 14},
        "generation": 1,
        "derived": {"vectors": {"file": "vectors-1.faiss", "kind": "flat", "generation": 1}},
        "derived_up_to_date": True,
    }
][0]

SEARCH_PAGE = [
    {
        "query": "hard negatives for dual encoders",
        "mode": "hybrid",
        "offset": 0,
        "k": 1,
        "sort": "relevance",
        "filters": {"category": "cs"},
        "constraints": [],
        "total": 1100,
        "total_exact": False,
        "depth": 1100,
        "facets": {
            "year": [
                {"value": "2024", "count": 412, "filter": {"year_from": 2024, "year_to": 2024}}
            ]
        },
        "message": None,
        "hits": [
            {
                "rank": 1,
                "score": 0.032,
                "paper": PAPER,
                "snippet": {"text": "... hard negatives ...", "spans": [[4, 8]]},
                "keyword_score": 7.1,
                "keyword_rank": 1,
                "semantic_score": 0.61,
                "semantic_rank": 1,
            }
        ],
    }
][0]

RELATED = [
    {
        "paper_id": "0704.0001",
        "hits": [
            {
                "rank": 1,
                "score": 5.2,
                "signal": "text",
                "text_score": 5.2,
                "citation_score": None,
                "paper": PAPER,
            }
        ],
    }
][0]

RECOMMENDATIONS = [
    {
        "hits": [
            {
                "rank": 1,
                "score": 0.42,
                "closest_positive_id": "0704.0002",
                "closest_similarity": 0.61,
                "paper": PAPER,
            }
        ]
    }
][0]

NOVELTY = [
    {
        "paper_id": "0704.0001",
        "raw": 0.58,
        "distance": 0.41,
        "max_similarity": 0.72,
        "percentile": 53.0,
        "year": 2007,
        "published": "2007-04-02",
        "prior_count": 120,
        "too_few_prior": False,
        "near_duplicate": False,
        "k": 10,
        "cohort_year": 2007,
        "cohort_size": 80,
        "evidence": [{"similarity": 0.72, "paper": PAPER}],
        "explanation": "more novel than 53% of the 2007 papers in this index",
        "notes": [],
    }
][0]

AUTHOR_PROFILE = [
    {
        "name": "Kelsey Allen",
        "paper_count": 14,
        "citations": None,
        "h_index": None,
        "citations_note": "no citation counts in this index",
        "novelty_percent": 53.0,
        "novelty_note": "",
        "ai_score": 56,
        "ai_score_definition": "share of papers in AI categories",
        "top_categories": [{"category": "cs.LG", "papers": 9}],
        "coauthors": [{"name": "Manzil Zaheer", "papers": 2}],
        "papers_with_code": 3,
        "code_paper_ids": ["t:0123456789abcdef"],
        "paper_novelty": [],
        "novelty_by_year": [{"year": 2023, "median_percentile": 61.0, "papers": 4}],
        "name_variants": ["Kelsey Allen", "Kelsey R. Allen"],
        "most_cited_ids": [],
        "papers": [PAPER],
    }
][0]

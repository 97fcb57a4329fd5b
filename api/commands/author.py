"""`paperscope author NAME`: an author's profile, or their papers as BibTeX, RIS or CSV."""

from __future__ import annotations

import argparse

from api.commands.common import add_output_flags, output_format, print_export, shorten
from api.schemas import AuthorProfileOut, dump
from api.settings import Settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help='full name, any case or accents, e.g. "Kelsey Allen"')
    add_output_flags(parser)


def run(args: argparse.Namespace, settings: Settings) -> int:
    from api.commands.authors import open_without_model
    from search.authors import author_profile
    from search.novelty_cohorts import refresh

    engine = open_without_model(settings)
    fmt = output_format(args)
    if fmt in (None, "json"):  # a one-shot command: stored novelty up to date (not for a .bib)
        refresh(engine, progress=not settings.quiet)
    profile = author_profile(engine, args.name)
    if fmt:
        print_export(fmt, profile.papers, dump(AuthorProfileOut, profile))
        return 0
    unknown = "unknown"
    print(profile.name)
    print(f"  papers: {profile.paper_count}   with code: {profile.papers_with_code}")
    print(
        f"  citations: {unknown if profile.citations is None else profile.citations}   "
        f"h-index: {unknown if profile.h_index is None else profile.h_index}"
    )
    print(f"    ({profile.citations_note})")
    novelty = "withheld" if profile.novelty_percent is None else f"{profile.novelty_percent:.0f}%"
    print(f"  novelty: {novelty}   ({profile.novelty_note.split('. Novelty %')[0]})")
    ai = unknown if profile.ai_score is None else str(profile.ai_score)
    print(f"  AI score: {ai}   (share of AI/ML papers; see --json for the full definition)")
    if profile.top_categories:
        cats = ", ".join(f"{c} ({n})" for c, n in profile.top_categories)
        print(f"  top categories: {cats}")
    if profile.coauthors:
        print("  frequent co-authors: " + ", ".join(f"{c} ({n})" for c, n in profile.coauthors))
    print("  papers (newest first):")
    novelty_of = {p.paper_id: p for p in profile.paper_novelty}
    for paper in profile.papers:
        pct = novelty_of[paper.id].percentile
        pct_text = "  --" if pct is None else f"{pct:3.0f}%"
        code = "code" if paper.has_code or paper.code_url else "    "
        cats = ",".join(paper.categories[:2])
        print(
            f"    {paper.published or '----------'}  {pct_text}  {code}  {cats:<12} "
            f"{shorten(paper.title, 70)}"
        )
    return 0

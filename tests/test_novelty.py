"""Novelty: blind to later papers, exact against brute force, duplicates named, thin priors."""

from __future__ import annotations

import dataclasses
import json
from datetime import date

import numpy as np
import pytest

from api.cli import main
from models.errors import InvalidQueryError
from search import periods
from search.novelty import novelty_of_draft, novelty_of_paper, score_all
from search.novelty_cohorts import METHOD, MIN_COHORT, MIN_PRIOR, NEIGHBOURS, refresh
from tests.discovery_index import add_papers, cohort_engine, discovery_engine, seed_id, undated_copy

CUTOFF = date(2023, 6, 30)
SCALING = "Scaling 4D Representations"


@pytest.fixture
def engine(shared_data, encoder, tmp_path):
    return discovery_engine(shared_data, encoder, tmp_path)


def _dated(engine) -> list:
    vids, *_ = periods.all_bounds(engine.store)
    return engine.store.papers_by_vids(vids)


def _stored(engine) -> dict[str, tuple]:
    return engine.store.novelty_rows()


def _summary(result) -> tuple:
    return (
        result.raw,
        result.distance,
        result.max_similarity,
        result.prior_count,
        [e.paper.id for e in result.evidence],
    )


def test_adding_later_papers_changes_nothing_dated_before(engine):
    """Copies of every paper up to CUTOFF, dated after it, would be everyone's nearest neighbour
    (cosine 1, and the youngest, so the heaviest age weight) if the future leaked in; the
    age-weighted scores, distances and evidence of papers up to CUTOFF must not move."""
    score_all(engine, progress=False)
    early = [p for p in _dated(engine) if periods.paper_bounds(p)[1] <= CUTOFF]
    assert len(early) > 30
    before = {p.id: _summary(novelty_of_paper(engine, p.id)) for p in early}
    stored_before = _stored(engine)
    late_copies = [
        dataclasses.replace(p, id=f"later-{p.id}", published=date(2023, 7, 1), date_precision="day")
        for p in early
    ] + [dataclasses.replace(early[0], id="later-2030", published=date(2030, 1, 1))]
    add_papers(engine, late_copies)
    score_all(engine, progress=False)
    stored_after = _stored(engine)
    for p in early:
        assert _summary(novelty_of_paper(engine, p.id)) == before[p.id], p.id
        raw, top, prior, pct, distance = stored_after[p.id]
        assert (raw, top, prior, distance) == (*stored_before[p.id][:3], stored_before[p.id][4])
        if p.year < CUTOFF.year:  # later years never move an earlier year's percentile
            assert pct == stored_before[p.id][3], p.id
    # A copy dated years later is another work, and sees its original; a copy within a year
    # (same title and first author) is the same work, scored as it (indexer/work_rule.py).
    old = next(p for p in early if p.authors and p.year <= 2021)
    copy = novelty_of_paper(engine, f"later-{old.id}")
    assert copy.near_duplicate and copy.evidence[0].paper.id == old.id
    recent = next(p for p in early if p.authors and p.year >= 2022)
    assert engine.store.work_mates([engine.store.vid_of(f"later-{recent.id}")]) == {
        engine.store.vid_of(recent.id),
        engine.store.vid_of(f"later-{recent.id}"),
    }
    assert _summary(novelty_of_paper(engine, f"later-{recent.id}")) == before[recent.id]


@pytest.fixture
def cohort(shared_data, encoder, tmp_path):
    """The discovery index with 120 arXiv 2025 papers: a 2025 cohort big enough to rank in."""
    return cohort_engine(shared_data, encoder, tmp_path)


def test_near_duplicate_of_earlier_paper_gets_low_novelty_and_names_the_original(cohort):
    engine = cohort
    original = engine.store.get(seed_id(engine, SCALING))  # 2024-12-19
    own = novelty_of_paper(engine, original.id)
    copy = dataclasses.replace(
        original, id="resubmitted", title=original.title + " (extended)", published=date(2025, 6, 1)
    )
    add_papers(engine, [copy])
    result = novelty_of_paper(engine, "resubmitted")
    assert result.near_duplicate and result.max_similarity > 0.95
    assert result.evidence[0].paper.id == original.id
    assert result.raw < own.raw
    assert result.percentile is not None and result.percentile < 20
    assert "near-duplicate" in result.explanation.lower() and original.id in result.explanation
    # The same text as a draft is caught the same way; only earlier papers are evidence.
    draft = novelty_of_draft(engine, original.title, original.abstract, date(2025, 1, 10))
    assert draft.near_duplicate and draft.evidence[0].paper.id == original.id
    assert all(periods.paper_bounds(e.paper)[1] < date(2025, 1, 10) for e in draft.evidence)


def test_scores_match_brute_force_over_prior_papers(engine):
    """The blocked scan and the live FAISS path agree with a plain loop over the time rule:
    the novelty score weighs the 20 nearest earlier papers by age, 0.25 + 0.75 x 0.8^years."""
    score_all(engine, progress=False)
    stored = _stored(engine)
    papers = _dated(engine)
    store = engine.store
    vectors = store.embeddings([store.vid_of(p.id) for p in papers])
    spans = [periods.paper_bounds(p) for p in papers]
    weighed_old_work = 0
    for i, paper in enumerate(papers):
        prior = [j for j, span in enumerate(spans) if span[1] < spans[i][0]]
        raw, top, count, _pct, distance = stored[paper.id]
        assert count == len(prior)
        if not prior:
            assert raw is None and top is None and distance is None
            continue
        sims = vectors[prior] @ vectors[i]
        nearest = np.argsort(-sims, kind="stable")[:20]
        years = np.array([(spans[i][0] - spans[prior[j]][1]).days / 365.25 for j in nearest])
        weights = 0.25 + 0.75 * 0.8**years
        assert raw == pytest.approx(1 - (sims[nearest] * weights).mean(), abs=1e-5)
        assert distance == pytest.approx(1 - sims[nearest[:10]].mean(), abs=1e-5)
        assert top == pytest.approx(sims[nearest[0]], abs=1e-5)
        weighed_old_work += bool(weights.min() < 0.5)
        live = novelty_of_paper(engine, paper.id)
        assert live.raw == pytest.approx(raw, abs=1e-5) and live.prior_count == count
        assert live.distance == pytest.approx(distance, abs=1e-5)
    assert weighed_old_work > 20  # the age weights were put to the test, not all near 1


def test_percentiles_rank_within_the_year(cohort):
    engine = cohort
    score_all(engine, progress=False)
    # A paper of 2007-03-31 has six earlier papers here: too few for a percentile.
    thin = novelty_of_paper(engine, "0704.0002")
    assert thin.prior_count == 6 and thin.too_few_prior and thin.percentile is None
    rows = [(p, novelty_of_paper(engine, p.id)) for p in _dated(engine) if p.year == 2025]
    scored = [(p, n) for p, n in rows if n.percentile is not None]
    assert len(scored) >= 100
    assert all(n.cohort_year == 2025 and n.cohort_size >= MIN_COHORT for _, n in scored)
    ordered = sorted(scored, key=lambda item: item[1].raw)
    percentiles = [n.percentile for _, n in ordered]
    assert percentiles == sorted(percentiles) and 0 <= percentiles[0] < 5 < 95 < percentiles[-1]
    assert f"of the {scored[0][1].cohort_size} other scored 2025 papers" in scored[0][1].explanation


def test_a_small_cohort_gets_no_percentile_and_says_how_small(engine):
    """Without the arXiv 2025 papers the seed author's 2025 papers are 8: they are not ranked
    against each other, and the answer says how many there are and how many it needs."""
    score_all(engine, progress=False)
    results = [novelty_of_paper(engine, p.id) for p in _dated(engine) if p.year == 2025]
    assert len(results) == 8 and all(r.raw is not None for r in results)
    for result in results:
        assert result.percentile is None and result.cohort_size < MIN_COHORT
        assert f"only {result.cohort_size} other scored papers from 2025" in result.explanation
        assert f"needs at least {MIN_COHORT}" in result.explanation
    stored = _stored(engine)
    assert all(stored[r.paper_id][3] is None for r in results), "stored percentiles gated too"


def test_too_few_prior_papers_is_flagged_and_nothing_prior_is_unscored(engine):
    earliest = min(_dated(engine), key=lambda p: p.published)  # 1968, year-only
    result = novelty_of_paper(engine, earliest.id)
    assert result.raw is None and result.prior_count == 0 and result.too_few_prior
    assert "no paper in the index is dated before" in result.explanation
    thin = novelty_of_draft(engine, "A draft", "Gold nanoparticles in water.", date(2005, 6, 1))
    assert 0 < thin.prior_count < MIN_PRIOR and thin.too_few_prior and thin.raw is not None
    assert thin.percentile is None and "not meaningful" in thin.explanation
    rich = novelty_of_draft(engine, "A draft", "Graph networks for physics.", date(2026, 6, 1))
    assert not rich.too_few_prior and rich.prior_count == len(_dated(engine))


def test_drafts_default_to_today_and_bad_input_says_what_to_do(engine):
    draft = novelty_of_draft(engine, "", "Relational inductive biases for graph networks.")
    assert draft.published == date.today() and draft.paper_id is None
    with pytest.raises(InvalidQueryError, match="abstract is empty"):
        novelty_of_draft(engine, "Title only", "   ")
    with pytest.raises(InvalidQueryError, match="out of range"):
        novelty_of_paper(engine, "0704.0001", k=0)


def test_undated_paper_is_not_scored_and_never_prior(engine):
    undated = undated_copy(engine.store.get("0704.0001"))
    add_papers(engine, [undated])
    result = novelty_of_paper(engine, "undated")
    assert result.raw is None and "no publication date" in result.explanation
    # Given the DOI of a dated record, it is a record of that work and takes the work's date.
    store, vid = engine.store, engine.store.vid_of("undated")
    with_doi = dataclasses.replace(undated, doi=store.get("0704.0001").doi)
    store.write_batch([], [(vid, with_doi)], {})  # same text: the stored vector stays
    assert novelty_of_paper(engine, "undated") == dataclasses.replace(
        novelty_of_paper(engine, "0704.0001"), paper_id="undated"
    )
    store.write_batch([], [(vid, undated)], {})
    later = novelty_of_draft(engine, "x", engine.store.get("0704.0001").abstract, date(2030, 1, 1))
    assert all(e.paper.id != "undated" for e in later.evidence)
    assert later.evidence[0].paper.id == "0704.0001"


def test_novelty_command_scores_all_one_paper_and_a_draft(engine, capsys):
    index = str(engine.store.index_dir)
    assert main(["novelty", "--all", "--index", index, "-q", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["scored"] == len(_dated(engine)) - 1  # 1968: none
    pid = seed_id(engine, SCALING)
    assert main(["novelty", pid, "--index", index]) == 0
    out = capsys.readouterr().out
    assert "novelty percentile" in out and "nearest earlier papers" in out
    draft = ["--title", "T", "--abstract", "Graph networks.", "--date", "2020-01-01", "--json"]
    assert main(["novelty", *draft, "--index", index]) == 0
    assert json.loads(capsys.readouterr().out)["published"] == "2020-01-01"
    assert main(["novelty", pid, "--all", "--index", index]) == 2
    assert "exactly one of" in capsys.readouterr().err
    assert main(["novelty", "--abstract", "x", "--date", "May 1", "--index", index]) == 2
    assert "YYYY-MM-DD" in capsys.readouterr().err


def test_scores_stored_under_the_old_rule_are_redone_on_the_next_refresh(engine):
    """An index scored when 5 papers made a cohort: its stored percentiles are recomputed from
    the stored raws (no scan), and the small 2025 cohort loses them. Scores of the earlier
    method (plain kNN, no distance column) are rescored from scratch."""
    store = engine.store
    refresh(engine)
    before = _stored(engine)
    old_method = [
        (vid, 0.5, top, prior, 50.0, kth, nb, None)
        for vid, (_raw, top, prior, kth, nb, _distance) in store.novelty_state(10).items()
    ]
    store.save_novelty(old_method, generation=store.novelty_generation(), rule="same year")
    refresh(engine)
    assert _stored(engine) == before
    state = store.novelty_state(NEIGHBOURS)
    old = [
        (vid, raw, top, prior, 50.0, kth, nb, distance)
        for vid, (raw, top, prior, kth, nb, distance) in state.items()
    ]
    store.save_novelty(old, generation=store.novelty_generation(), rule=f"{METHOD}; any year")
    assert all(row[3] == 50.0 for row in _stored(engine).values())
    refresh(engine)
    after = _stored(engine)
    assert after == before  # raws as they were, and the percentiles of the rule in force
    seeds_2025 = [p.id for p in _dated(engine) if p.year == 2025]
    assert len(seeds_2025) == 8 and all(after[pid][3] is None for pid in seeds_2025)

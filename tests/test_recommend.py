"""Recommendations: the per-request classifier uses negatives, never returns its inputs."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from indexer.filters import Filters
from models.errors import InvalidQueryError, NotFoundError
from search.recommend import fit_classifier, recommend
from tests.discovery_index import add_papers, discovery_engine, seed_id
from tests.fakes import FakeEncoder

SCALING = "Scaling 4D Representations"
MOTION = "Direct Motion Models"
ROBOT = "RoboBallet"
RESIDUAL = "Residual Policy Learning"


@pytest.fixture(scope="module")
def engine(shared_data, encoder, tmp_path_factory):
    engine = discovery_engine(shared_data, encoder, tmp_path_factory.mktemp("recommend"))
    # A second record of a liked paper (same title, other id): it is the input, not a find.
    liked = engine.store.get(seed_id(engine, SCALING))
    add_papers(engine, [dataclasses.replace(liked, id="scaling-again")])
    return engine


def _cosines(engine, ids: list[str], to: str) -> np.ndarray:
    store = engine.store
    vectors = store.embeddings([store.vid_of(i) for i in ids])
    return vectors @ store.embeddings([store.vid_of(to)])[0]


def test_inputs_and_their_duplicates_are_never_returned(engine):
    positives = [seed_id(engine, SCALING), seed_id(engine, MOTION)]
    negatives = [seed_id(engine, ROBOT)]
    recs = recommend(engine, positives, negatives, k=20)
    ids = [r.paper.id for r in recs]
    assert len(recs) == 20 and len(set(ids)) == 20
    assert not set(ids) & {*positives, *negatives, "scaling-again"}
    assert [r.rank for r in recs] == list(range(1, 21))
    assert [r.score for r in recs] == sorted((r.score for r in recs), reverse=True)


def test_each_hit_names_the_positive_it_is_closest_to(engine):
    positives = [seed_id(engine, SCALING), "0704.0001"]  # a vision paper and a physics paper
    recs = recommend(engine, positives, k=8)
    for rec in recs:
        sims = [_cosines(engine, [rec.paper.id], p)[0] for p in positives]
        assert rec.closest_positive_id == positives[int(np.argmax(sims))]
        assert rec.closest_similarity == pytest.approx(max(sims), abs=1e-5)
    # Both interests are served, not only the one closest to the index's centre.
    assert {r.closest_positive_id for r in recs} == set(positives)


def test_negatives_measurably_change_the_results(engine):
    """Disliking the robotics paper pushes robotics-like papers down the list."""
    positives = [seed_id(engine, SCALING), seed_id(engine, MOTION), seed_id(engine, RESIDUAL)]
    negative = seed_id(engine, ROBOT)
    plain = recommend(engine, positives, k=8)
    disliked = recommend(engine, positives, [negative], k=8)
    plain_ids = [r.paper.id for r in plain]
    disliked_ids = [r.paper.id for r in disliked]
    assert plain_ids != disliked_ids
    assert negative in plain_ids  # without the dislike, the robotics paper is a recommendation
    # Mean similarity of the recommendations to the disliked paper drops.
    assert (
        _cosines(engine, disliked_ids, negative).mean()
        < _cosines(engine, plain_ids, negative).mean()
    )
    # The papers most like the negative lose rank or leave the list.
    closest = max(
        plain_ids, key=lambda i: _cosines(engine, [i], negative)[0] if i != negative else -1
    )
    new_rank = disliked_ids.index(closest) if closest in disliked_ids else len(disliked_ids)
    assert new_rank > plain_ids.index(closest)


def test_filters_restrict_the_recommendations(engine):
    recs = recommend(engine, [seed_id(engine, SCALING)], k=5, filters=Filters(category="math"))
    assert len(recs) == 5
    assert all(any(c.startswith("math.") for c in r.paper.categories) for r in recs)


def test_bad_requests_say_what_to_do(engine):
    pid = seed_id(engine, SCALING)
    with pytest.raises(InvalidQueryError, match="at least one positive"):
        recommend(engine, [])
    with pytest.raises(InvalidQueryError, match="both positive and negative"):
        recommend(engine, [pid], [pid])
    for k in (0, 101):
        with pytest.raises(InvalidQueryError, match="out of range"):
            recommend(engine, [pid], k=k)
    with pytest.raises(NotFoundError):
        recommend(engine, [pid], ["no-such-paper"])


def test_classifier_separates_positives_from_negatives_and_background():
    """Plumbing: the ridge classifier ranks texts like the positives above texts like the
    negatives, and a negative flips the decision on a text between the two."""
    fake = FakeEncoder(dim=64)
    pos = fake.encode_documents(["graph neural network message passing", "graph networks nodes"])
    neg = fake.encode_documents(["protein folding structure", "protein binding sites"])
    background = fake.encode_documents([f"topic{i} words{i} misc{i}" for i in range(50)])
    weights, bias = fit_classifier(pos, neg, background)
    like = fake.encode_query("message passing on graph nodes") @ weights
    unlike = fake.encode_query("protein structure binding") @ weights
    assert like > unlike
    between = fake.encode_query("graph of protein binding sites")
    without, _ = fit_classifier(pos, neg[:0], background)
    assert between @ weights < between @ without

"""The semantic floor: how close in meaning a paper must be for a query without keyword matches.

Calibrated on each index: nonsense queries (random letter strings, the same ones every time) are
run against it, and the floor is the highest cosine any of them reaches. A query that matches no
paper's words and comes no closer than nonsense does gets "no results" instead of noise.
"""

from __future__ import annotations

import random

import numpy as np

from indexer.store import Store

CALIBRATION_QUERIES = 24
_SEED = 20261204
_LETTERS = "bcdfghjklmnpqrstvwxz" + "aeiouy"


def nonsense_queries(n: int = CALIBRATION_QUERIES) -> list[str]:
    """`n` queries of two or three made-up words (seeded, so every index gets the same ones)."""
    rng = random.Random(_SEED)
    queries = []
    for _ in range(n):
        words = [
            "".join(rng.choices(_LETTERS, k=rng.randint(4, 8))) for _ in range(rng.randint(2, 3))
        ]
        queries.append(" ".join(words))
    return queries


def semantic_floor(store: Store, encode) -> float:
    """The index's floor: the best cosine any nonsense query reaches (kept per index state)."""

    def calibrate() -> float:
        vectors = store.view().vectors
        if len(vectors) == 0:
            return 1.0
        queries = np.stack([encode(query) for query in nonsense_queries()])
        scores, _ = vectors.search(queries, 1)
        return float(scores[:, 0].max())

    return store.latest("semantic_floor", calibrate)

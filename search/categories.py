"""Which papers are about AI/ML: arXiv categories, else a nearest-neighbour vote over embeddings."""

from __future__ import annotations

import re

import numpy as np

from indexer.store import Store

# arXiv categories counted as AI/ML work.
AI_CATEGORIES = frozenset(
    {"cs.AI", "cs.LG", "cs.CL", "cs.CV", "cs.NE", "cs.IR", "cs.RO", "cs.MA", "stat.ML"}
)
# arXiv-style category names ("cs.LG", "hep-ph", "math.CO"); S2ORC's fields of study
# ("Computer Science") are not labels for this purpose.
_ARXIV_STYLE = re.compile(r"^[a-z][a-z-]*(\.[A-Za-z-]+)?$")
VOTERS = 10
MIN_LABELLED = 20

AI_SCORE_DEFINITION = (
    "AI score = round(100 x the share of the author's papers that are about AI/ML). A paper with "
    "arXiv-style categories counts as AI/ML when any of them is one of "
    + ", ".join(sorted(AI_CATEGORIES))
    + ". A paper without arXiv-style categories counts as the fraction of AI/ML papers among "
    f"its {VOTERS} nearest arXiv-categorised papers in the index (by embedding cosine); when the "
    f"index holds fewer than {MIN_LABELLED} categorised papers such papers are left out."
)


def is_arxiv_style(category: str) -> bool:
    return bool(_ARXIV_STYLE.match(category))


def ai_label(categories: tuple[str, ...]) -> float | None:
    """1.0 / 0.0 from arXiv-style categories; None when the paper has none."""
    labelled = [c for c in categories if is_arxiv_style(c)]
    if not labelled:
        return None
    return 1.0 if any(c in AI_CATEGORIES for c in labelled) else 0.0


def ai_probabilities(
    store: Store, vids: list[int], labels: list[float | None]
) -> list[float | None]:
    """Labels where known; for the others, the AI share among their nearest labelled papers."""
    missing = [i for i, label in enumerate(labels) if label is None]
    if not missing:
        return list(labels)
    labelled_vids, labelled_ai = _labelled(store)
    if len(labelled_vids) < MIN_LABELLED:
        return list(labels)
    queries = store.embeddings([vids[i] for i in missing])
    _sims, found = store.vectors.search(queries, VOTERS, labelled_vids)
    lookup = dict(zip(labelled_vids.tolist(), labelled_ai.tolist(), strict=True))
    out = list(labels)
    for row, i in enumerate(missing):
        votes = [lookup[v] for v in found[row].tolist() if v in lookup]
        out[i] = float(np.mean(votes)) if votes else None
    return out


def _labelled(store: Store) -> tuple[np.ndarray, np.ndarray]:
    """Sorted vids of papers with arXiv-style categories and whether each is AI/ML (0/1)."""
    labels: dict[int, float] = {}
    for vid, category in store.vid_categories():
        if is_arxiv_style(category):
            labels[vid] = max(labels.get(vid, 0.0), 1.0 if category in AI_CATEGORIES else 0.0)
    vids = np.array(sorted(labels), dtype=np.int64)
    return vids, np.array([labels[v] for v in vids.tolist()])

"""Novelty checked against people: rank correlation of stored novelty with a human label.

The labelled papers and their prior work are ingested into one index; every dated paper is then
scored by the product's own path (search.novelty_cohorts.refresh: exact, strictly earlier work
only), and the labelled papers' scores are compared with the label. The same run reports the
plain baseline, 1 - mean cosine of the 10 nearest earlier papers, from the same scan.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau, spearmanr

from indexer.readers.base import Skip
from indexer.readers.detect import read_papers
from models.errors import BadInputError
from search.engine import Engine
from search.novelty_cohorts import MIN_PRIOR, NEIGHBOURS, refresh


@dataclass(frozen=True)
class Labels:
    """The label of each readable record that has one, and why the others have none."""

    values: dict[str, float]
    read: int
    missing: Counter = field(default_factory=Counter)


@dataclass(frozen=True)
class Correlation:
    """Spearman's rho and Kendall's tau-b of a score with the label, over n papers."""

    spearman: float
    kendall: float
    n: int

    def to_dict(self) -> dict:
        return {"spearman": round(self.spearman, 4), "kendall": round(self.kendall, 4), "n": self.n}


@dataclass
class NoveltyEvalReport:
    """Both scores' correlations with the label, overall and per publication year."""

    label: str
    method: Correlation
    baseline: Correlation
    labelled: int
    unscored: int
    by_year: dict[int, tuple[Correlation, Correlation]]
    seconds: float

    def to_dict(self) -> dict:
        return {
            "label": self.label,
            "method": self.method.to_dict(),
            "baseline": self.baseline.to_dict(),
            "labelled": self.labelled,
            "unscored": self.unscored,
            "by_year": {
                str(year): {"method": m.to_dict(), "baseline": b.to_dict()}
                for year, (m, b) in sorted(self.by_year.items())
            },
            "seconds": round(self.seconds, 1),
        }


def read_labels(paths: Sequence[Path], label: str) -> Labels:
    """`label` of every record of `paths` (read by the ingest readers: JSONL or CSV columns that
    no paper field takes); records without a numeric label are counted by reason."""
    values: dict[str, float] = {}
    missing: Counter = Counter()
    read = 0
    for path in paths:
        for item in read_papers(Path(path)):
            if isinstance(item, Skip):
                continue
            read += 1
            value = item.extra.get(label)
            if value is None or value == "":
                missing["no label"] += 1
                continue
            try:
                number = float(value)
            except (TypeError, ValueError):
                missing["label not a number"] += 1
                continue
            if not math.isfinite(number):
                missing["label not a number"] += 1
                continue
            values[item.id] = number
    if not values:
        raise BadInputError(
            f"no record of {', '.join(map(str, paths))} has a numeric {label!r} field"
        )
    return Labels(values, read, missing)


def correlation(score: np.ndarray, label: np.ndarray) -> Correlation:
    """Rank correlations of two equal-length arrays (NaN when either is constant)."""
    if len(score) < 3:
        return Correlation(math.nan, math.nan, len(score))
    return Correlation(
        float(spearmanr(score, label)[0]), float(kendalltau(score, label)[0]), len(score)
    )


def evaluate_novelty(
    engine: Engine,
    labels: Labels,
    label: str,
    *,
    years: Sequence[int] | None = None,
    progress: bool = True,
) -> NoveltyEvalReport:
    """Score the index (strictly earlier work only) and correlate the labelled papers' novelty
    and the kNN baseline with the label; `years` keeps the labelled papers of those years."""
    started = time.perf_counter()
    refresh(engine, progress=progress)
    store = engine.store
    vids = {stored.vid: pid for pid, stored in store.stored(list(labels.values)).items()}
    rows = store.novelty_scores(list(vids), max(NEIGHBOURS, MIN_PRIOR))
    kept = [r for r in rows if years is None or r[1] in years]
    scored = [r for r in kept if r[2] is not None and r[3] is not None]
    by_year: dict[int, tuple[Correlation, Correlation]] = {}
    for year in sorted({r[1] for r in scored}):
        subset = [r for r in scored if r[1] == year]
        by_year[year] = _pair(subset, vids, labels)
    method, baseline = _pair(scored, vids, labels)
    return NoveltyEvalReport(
        label=label,
        method=method,
        baseline=baseline,
        labelled=len(kept),
        unscored=len(kept) - len(scored),
        by_year=by_year,
        seconds=time.perf_counter() - started,
    )


def _pair(
    rows: list[tuple], vids: dict[int, str], labels: Labels
) -> tuple[Correlation, Correlation]:
    truth = np.array([labels.values[vids[r[0]]] for r in rows])
    method = np.array([r[2] for r in rows], dtype=np.float64)
    baseline = np.array([r[3] for r in rows], dtype=np.float64)
    return correlation(method, truth), correlation(baseline, truth)

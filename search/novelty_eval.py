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
    not_in_index: int
    by_year: dict[int, tuple[Correlation, Correlation]]
    seconds: float

    def to_dict(self) -> dict:
        return {
            "label": self.label,
            "method": self.method.to_dict(),
            "baseline": self.baseline.to_dict(),
            "labelled": self.labelled,
            "unscored": self.unscored,
            "not_in_index": self.not_in_index,
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
    for path in paths:
        for item in read_papers(Path(path)):
            if isinstance(item, Skip):
                continue
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
    return Labels(values, missing)


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
    found = store.stored(list(labels.values))
    kept = {pid: p for pid, p in found.items() if years is None or p.paper.year in years}
    # A record merged into a work is scored as the work, under the work's first record.
    first = store.works_of([p.vid for p in kept.values()])
    work = {pid: first.get(p.vid, p.vid) for pid, p in kept.items()}
    stored = {r[0]: r for r in store.novelty_scores(set(work.values()), max(NEIGHBOURS, MIN_PRIOR))}
    rows = [
        (pid, kept[pid].paper.year, stored[w][2], stored[w][3])
        for pid, w in work.items()
        if w in stored and stored[w][3] is not None
    ]
    by_year: dict[int, tuple[Correlation, Correlation]] = {}
    for year in sorted({r[1] for r in rows}):
        by_year[year] = _pair([r for r in rows if r[1] == year], labels)
    method, baseline = _pair(rows, labels)
    return NoveltyEvalReport(
        label=label,
        method=method,
        baseline=baseline,
        labelled=len(kept),
        unscored=len(kept) - len(rows),
        not_in_index=len(labels.values) - len(found),
        by_year=by_year,
        seconds=time.perf_counter() - started,
    )


def _pair(rows: list[tuple], labels: Labels) -> tuple[Correlation, Correlation]:
    """(method, baseline) correlations of rows (id, year, raw, distance) with the label."""
    truth = np.array([labels.values[r[0]] for r in rows])
    method = np.array([r[2] for r in rows], dtype=np.float64)
    baseline = np.array([r[3] for r in rows], dtype=np.float64)
    return correlation(method, truth), correlation(baseline, truth)

"""Small server-rendered SVG charts for the web pages: values over time, no JavaScript."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

from indexer.paper import Paper

# Drawing area in SVG user units; the SVG scales to the width of its container (phones too).
WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 52, 28, 14, 40
YEAR_STEPS = (1, 2, 5, 10, 20, 25, 50, 100)
MAX_X_TICKS = 7


@dataclass(frozen=True)
class Point:
    """One dot: x in fractional years, y in the chart's unit, a tooltip and an optional link."""

    x: float
    y: float
    label: str
    href: str | None = None


def fractional_year(day: date) -> float:
    """2024-07-01 -> about 2024.5, so that papers of one year spread across it."""
    length = (date(day.year + 1, 1, 1) - date(day.year, 1, 1)).days
    return day.year + (day.toordinal() - date(day.year, 1, 1).toordinal()) / length


def prior_similarity_chart(
    evidence: Sequence[tuple[Paper, float]], published: date | None, paper_url
) -> Markup:
    """Cosine similarity (y) of the nearest earlier papers against their publication date (x);
    a dashed vertical line marks the scored paper's own date. `paper_url(paper)` gives links."""
    points = [
        Point(
            fractional_year(p.published),
            s,
            f"{p.title} ({p.published}): similarity {s:.3f}",
            paper_url(p),
        )
        for p, s in evidence
        if p.published is not None
    ]
    if not points:
        return Markup("")
    low = min(p.y for p in points)
    high = max(p.y for p in points)
    # Round outwards to tenths, at least 0.2 tall, inside the cosine range.
    y_min = max(-1.0, math.floor(low * 10 - 1) / 10)
    y_max = min(1.0, max(math.ceil(high * 10) / 10, y_min + 0.2))
    marker = fractional_year(published) if published else None
    return scatter_svg(
        points,
        y_range=(y_min, y_max),
        y_ticks=_ticks(y_min, y_max, 0.1 if y_max - y_min <= 0.6 else 0.2),
        y_label="cosine similarity",
        title="Similarity of the nearest earlier papers over time",
        marker=(marker, "this paper") if marker is not None else None,
        y_format="{:.1f}",
    )


def author_novelty_chart(
    points: Sequence[tuple[Paper, float]], by_year: Sequence[tuple[int, float, int]], paper_url
) -> Markup:
    """Novelty percentile (0-100, y) of each of an author's papers against its date (x), with
    the yearly median as a line and 50 (the typical paper of its year) as a dashed reference."""
    dots = [
        Point(
            fractional_year(p.published),
            pct,
            f"{p.title} ({p.published}): more novel than {pct:.0f}% of its year",
            paper_url(p),
        )
        for p, pct in points
        if p.published is not None
    ]
    if not dots:
        return Markup("")
    line = [(year + 0.5, median) for year, median, _ in by_year]
    return scatter_svg(
        dots,
        y_range=(0.0, 100.0),
        y_ticks=[0, 25, 50, 75, 100],
        y_label="novelty percentile",
        title="Novelty of the author's papers over time",
        line=line,
        reference=50.0,
        y_format="{:.0f}",
    )


def scatter_svg(
    points: Sequence[Point],
    *,
    y_range: tuple[float, float],
    y_ticks: Sequence[float],
    y_label: str,
    title: str,
    line: Sequence[tuple[float, float]] = (),
    reference: float | None = None,
    marker: tuple[float, str] | None = None,
    y_format: str = "{:g}",
) -> Markup:
    """A dot chart with a year axis; every text is escaped. Dots carry <title> tooltips."""
    xs = [p.x for p in points] + [x for x, _ in line] + ([marker[0]] if marker else [])
    x_min, x_max = math.floor(min(xs)), math.floor(max(xs)) + 1
    step = next((s for s in YEAR_STEPS if (x_max - x_min) / s <= MAX_X_TICKS), YEAR_STEPS[-1])
    x_min = x_min - x_min % step
    x_max = x_max + (-x_max) % step
    y_min, y_max = y_range

    def sx(x: float) -> float:
        return LEFT + (x - x_min) / (x_max - x_min) * (WIDTH - LEFT - RIGHT)

    def sy(y: float) -> float:
        y = min(max(y, y_min), y_max)
        return HEIGHT - BOTTOM - (y - y_min) / (y_max - y_min) * (HEIGHT - TOP - BOTTOM)

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(title)}</title>",
    ]
    for y in y_ticks:
        level, right = sy(y), WIDTH - RIGHT
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{right}" y1="{level:.1f}" y2="{level:.1f}"/>'
            f'<text class="tick" x="{LEFT - 6}" y="{level + 4:.1f}" text-anchor="end">'
            f"{escape(y_format.format(y))}</text>"
        )
    for year in range(x_min, x_max + 1, step):
        parts.append(
            f'<text class="tick" x="{sx(year):.1f}" y="{HEIGHT - BOTTOM + 16}" '
            f'text-anchor="middle">{year}</text>'
        )
    parts.append(
        f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{HEIGHT - BOTTOM}" '
        f'y2="{HEIGHT - BOTTOM}"/>'
        f'<text class="label" x="14" y="{TOP + (HEIGHT - TOP - BOTTOM) / 2:.1f}" '
        f'transform="rotate(-90 14 {TOP + (HEIGHT - TOP - BOTTOM) / 2:.1f})" '
        f'text-anchor="middle">{escape(y_label)}</text>'
    )
    if reference is not None:
        parts.append(
            f'<line class="ref" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{sy(reference):.1f}" '
            f'y2="{sy(reference):.1f}"/>'
        )
    if marker is not None:
        mx = sx(marker[0])
        parts.append(
            f'<line class="ref" x1="{mx:.1f}" x2="{mx:.1f}" y1="{TOP}" y2="{HEIGHT - BOTTOM}"/>'
            f'<text class="tick" x="{mx - 4:.1f}" y="{TOP + 10}" text-anchor="end">'
            f"{escape(marker[1])}</text>"
        )
    if len(line) > 1:
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in line)
        parts.append(f'<polyline class="line" points="{path}"/>')
    for point in points:
        dot = (
            f'<circle class="pt" cx="{sx(point.x):.1f}" cy="{sy(point.y):.1f}" r="5">'
            f"<title>{escape(point.label)}</title></circle>"
        )
        if point.href:
            dot = f'<a href="{escape(point.href)}">{dot}</a>'
        parts.append(dot)
    parts.append("</svg>")
    return Markup("".join(parts))


def _ticks(low: float, high: float, step: float) -> list[float]:
    count = int(round((high - low) / step))
    return [round(low + i * step, 6) for i in range(count + 1)]

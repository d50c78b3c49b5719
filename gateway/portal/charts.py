"""Geometry of the dashboard's bar chart, drawn as inline SVG by the template (no script, no external asset).

Bars stack accepted (bottom) and rejected (top) invoices per day, week or month; the
y axis gets round ticks.  The template adds the labels, a <title> per bar for pointers
and screen readers, and the same figures as a table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

WIDTH, HEIGHT = 760, 210
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 12, 28
MAX_X_LABELS = 12


@dataclass(frozen=True)
class Bar:
    start: date
    accepted: int
    rejected: int
    x: float
    width: float
    y_accepted: float
    h_accepted: float
    y_rejected: float
    h_rejected: float
    labelled: bool  # whether its date is written under the axis


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    ticks: list[tuple[float, int]]  # (y, value)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    right: int = WIDTH - RIGHT
    baseline: int = HEIGHT - BOTTOM


def _nice_step(peak: int, count: int = 4) -> int:
    """A 1, 2 or 5 × 10^n step giving about `count` ticks up to `peak`."""
    raw = max(1, peak / count)
    magnitude = 10 ** (len(str(int(raw))) - 1)
    return next(step * magnitude for step in (1, 2, 5, 10) if step * magnitude >= raw)


def bar_chart(buckets: list[tuple[date, int, int]]) -> Chart:
    """The chart of (first day, accepted, rejected) buckets."""
    peak = max((accepted + rejected for _, accepted, rejected in buckets), default=0)
    step = _nice_step(peak)
    top_value = max(step, -(-peak // step) * step)
    plot_height = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(1, len(buckets))
    every = -(-len(buckets) // MAX_X_LABELS)
    scale = plot_height / top_value
    bars = []
    for i, (start, accepted, rejected) in enumerate(buckets):
        h_acc, h_rej = accepted * scale, rejected * scale
        base = HEIGHT - BOTTOM
        bars.append(
            Bar(
                start, accepted, rejected,
                x=round(LEFT + i * slot + slot * 0.15, 1), width=round(max(1.0, slot * 0.7), 1),
                y_accepted=round(base - h_acc, 1), h_accepted=round(h_acc, 1),
                y_rejected=round(base - h_acc - h_rej, 1), h_rejected=round(h_rej, 1),
                labelled=i % every == 0,
            )
        )  # fmt: skip
    ticks = [(round(HEIGHT - BOTTOM - value * scale, 1), value) for value in range(0, top_value + 1, step)]
    return Chart(bars, ticks)

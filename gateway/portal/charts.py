"""Geometry of the portal's bar charts, drawn as inline SVG by the templates (no script, no external asset): the
dashboard's invoices per period, and the receivables' amounts (aging buckets, the forecast's weeks with their interval).

Bars stack accepted (bottom) and rejected (top) invoices per day, week or month; the
y axis gets round ticks.  The template adds the labels, a <title> per bar for pointers
and screen readers, and the same figures as a table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

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


@dataclass(frozen=True)
class Column:
    """One bar of a chart of amounts: its value and, when it has one, its interval (drawn as a whisker)."""

    label: str
    value: Decimal
    x: float
    width: float
    y: float
    height: float
    low: Decimal | None = None
    high: Decimal | None = None
    y_low: float = 0.0
    y_high: float = 0.0
    tone: str = ""  # a CSS class suffix (the aging buckets' colours)


@dataclass(frozen=True)
class AmountChart:
    columns: list[Column]
    ticks: list[tuple[float, int]]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT + 24  # amounts need a wider axis
    top: int = TOP
    right: int = WIDTH - RIGHT
    baseline: int = HEIGHT - BOTTOM


def amount_chart(values: list[tuple[str, Decimal, Decimal | None, Decimal | None, str]]) -> AmountChart:
    """The chart of (label, value, low, high, tone) columns; geometry in floats, the amounts themselves stay Decimal."""
    left = LEFT + 24
    peak = max((float(high if high is not None else value) for _, value, _, high, _ in values), default=0.0)
    step = _nice_step(math.ceil(peak))
    top_value = max(step, -(-math.ceil(peak) // step) * step)
    base, scale = HEIGHT - BOTTOM, (HEIGHT - TOP - BOTTOM) / top_value
    slot = (WIDTH - left - RIGHT) / max(1, len(values))
    columns = []
    for i, (label, value, low, high, tone) in enumerate(values):
        h = float(value) * scale
        columns.append(
            Column(
                label, value, x=round(left + i * slot + slot * 0.18, 1), width=round(max(1.0, slot * 0.64), 1),
                y=round(base - h, 1), height=round(h, 1),
                low=low, high=high, y_low=round(base - float(low or 0) * scale, 1), y_high=round(base - float(high or 0) * scale, 1), tone=tone,
            )
        )  # fmt: skip
    return AmountChart(columns, [(round(base - value * scale, 1), value) for value in range(0, top_value + 1, step)])

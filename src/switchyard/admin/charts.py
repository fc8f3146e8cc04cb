"""SVG charts drawn on the server: stacked bars and lines over time buckets.

No chart library and no script: the page arrives with its charts drawn, works without JavaScript and
prints. The drawing stretches to its box (`preserveAspectRatio="none"`, strokes that do not scale),
so it fills a phone as well as a desktop; the text around it (axis labels, legend) is HTML, which
stays readable at any width. Each bar and point has a `<title>`, the browser's own tooltip.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime

from markupsafe import Markup

WIDTH = 600
HEIGHT = 160
PALETTE = ("#4f6bed", "#2ea58a", "#e0a03a", "#d9534f", "#8a63d2", "#3aa6d0", "#c2569b", "#7a8699")


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


@dataclass
class Chart:
    """A drawn chart plus what the HTML around it shows."""

    svg: Markup
    peak: float
    """The value at the top of the drawing (for the axis label)."""
    empty: bool


def bucket_label(start: float, bucket_s: int, index: int) -> str:
    moment = datetime.fromtimestamp(start + index * bucket_s, UTC)
    return moment.strftime("%a %H:%M" if bucket_s >= 3600 else "%H:%M")


def _svg(body: str, label: str) -> Markup:
    return Markup(  # noqa: S704 - every interpolated text is escaped with html.escape
        f'<svg class="chart-svg" viewBox="0 0 {WIDTH} {HEIGHT}" preserveAspectRatio="none" role="img" '
        f'aria-label="{html.escape(label)}">'
        f'<line class="axis" x1="0" y1="{HEIGHT - 0.5}" x2="{WIDTH}" y2="{HEIGHT - 0.5}" '
        f'vector-effect="non-scaling-stroke"/>{body}</svg>'
    )


def stacked_bars(
    series: dict[str, list[int]], groups: list[str], start: float, bucket_s: int, unit: str, label: str
) -> Chart:
    """One bar per bucket, one coloured segment per group, bottom to top in legend order."""
    buckets = len(next(iter(series.values()), []))
    totals = [sum(series[g][i] for g in groups) for i in range(buckets)]
    peak = max(totals, default=0)
    if not buckets or peak <= 0:
        return Chart(_svg("", label), 0, True)
    slot = WIDTH / buckets
    gap = min(2.0, slot * 0.2)
    parts: list[str] = []
    for index in range(buckets):
        base = float(HEIGHT)
        when = bucket_label(start, bucket_s, index)
        for number, group in enumerate(groups):
            value = series[group][index]
            if value <= 0:
                continue
            height = value / peak * (HEIGHT - 4)
            base -= height
            tip = html.escape(f"{when} · {group}: {value:,} {unit}")
            parts.append(
                f'<rect class="seg" data-group="{html.escape(group)}" data-value="{value}" '
                f'x="{index * slot + gap / 2:.2f}" y="{base:.2f}" width="{slot - gap:.2f}" '
                f'height="{height:.2f}" fill="{colour(number)}"><title>{tip}</title></rect>'
            )
    return Chart(_svg("".join(parts), label), peak, False)


def lines(
    series: dict[str, list[float | None]],
    groups: list[str],
    start: float,
    bucket_s: int,
    unit: str,
    label: str,
) -> Chart:
    """One line per group through the buckets that have a value; a gap where none was measured."""
    values = [v for g in groups for v in series.get(g, []) if v is not None]
    peak = max(values, default=0.0)
    if peak <= 0:
        return Chart(_svg("", label), 0, True)
    buckets = len(next(iter(series.values()), []))
    slot = WIDTH / max(buckets, 1)
    parts: list[str] = []
    for number, group in enumerate(groups):
        points: list[str] = []
        runs: list[list[str]] = [points]
        for index, value in enumerate(series.get(group, [])):
            if value is None:
                points = []
                runs.append(points)
                continue
            x = index * slot + slot / 2
            y = HEIGHT - value / peak * (HEIGHT - 6) - 3
            points.append(f"{x:.2f},{y:.2f}")
            tip = html.escape(f"{bucket_label(start, bucket_s, index)} · {group}: {value:,.0f} {unit}")
            parts.append(
                f'<circle class="point" data-group="{html.escape(group)}" cx="{x:.2f}" cy="{y:.2f}" r="2.5" '
                f'fill="{colour(number)}" vector-effect="non-scaling-stroke"><title>{tip}</title></circle>'
            )
        for run in runs:
            if len(run) > 1:
                parts.insert(
                    0,
                    f'<polyline fill="none" stroke="{colour(number)}" stroke-width="2" '
                    f'vector-effect="non-scaling-stroke" points="{" ".join(run)}"/>',
                )
    return Chart(_svg("".join(parts), label), peak, False)


def axis_labels(start: float, bucket_s: int, buckets: int) -> list[str]:
    """Three time labels under a chart: the start, the middle and the end of the range (UTC)."""
    return [bucket_label(start, bucket_s, i) for i in (0, buckets // 2, buckets)]

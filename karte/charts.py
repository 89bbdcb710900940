"""Small line charts as self-contained SVG strings, drawn server-side like the population pyramid
(:mod:`karte.pyramid`), so the district page and the printed karte show the same figure and it
prints without JavaScript.

Pure: no Django, no database. Input is a few series of (year, value) points; each series has its
observed part (solid line) and its projected part (dashed, continuing from the last observed point).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

# Colour-blind safe (ColorBrewer Dark2) and told apart by line width and labels as well as colour.
SERIES_STYLES = (
    {"colour": "#045a8d", "width": 2.6},  # the district
    {"colour": "#d95f02", "width": 1.6},  # its ward
    {"colour": "#666666", "width": 1.6},  # the city
)


@dataclass
class Series:
    """One line: ``observed`` and ``projected`` (year, value) points, in the chart's unit."""

    name: str
    observed: Sequence[tuple[int, float]] = field(default_factory=list)
    projected: Sequence[tuple[int, float]] = field(default_factory=list)


def _nice_range(low: float, high: float, ticks: int = 4) -> tuple[float, float, float]:
    """A round (lower, upper, step) covering ``low``–``high`` with about ``ticks`` steps."""
    if not math.isfinite(low) or not math.isfinite(high):
        return 0.0, 1.0, 0.25
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    raw = (high - low) / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(f * magnitude for f in (1, 2, 2.5, 5, 10) if f * magnitude >= raw)
    return math.floor(low / step) * step, math.ceil(high / step) * step, step


def _attr(text: str) -> str:
    return escape(text, {'"': "&quot;"})


def trend_chart_svg(series: Sequence[Series], *, unit: str = "%", title: str = "", projected_label: str = "推計",
                    width: int = 380, height: int = 210) -> str:
    """A line chart of ``series`` over their years: observed points joined by solid lines, projected
    ones by a dashed line from the last observed point, each point with a tooltip and the line's
    name at its end. Returns inline SVG markup ("" when no series has two points)."""
    points = [p for s in series for p in (*s.observed, *s.projected) if p[1] is not None and math.isfinite(p[1])]
    if len(points) < 2:
        return ""
    years = sorted({year for year, _ in points})
    low, high, step = _nice_range(min(v for _, v in points), max(v for _, v in points))
    left, right, top, bottom = 40, 96, 28 if title else 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    first, last = years[0], years[-1]

    def x(year: float) -> float:
        return left + (plot_w * (year - first) / (last - first) if last > first else plot_w / 2)

    def y(value: float) -> float:
        return top + plot_h * (1 - (value - low) / (high - low))

    description = "; ".join(
        f"{s.name}: " + ", ".join(f"{year} {value:.1f}{unit}" for year, value in (*s.observed, *s.projected))
        for s in series)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="trend-chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_attr((title + ": " if title else "") + description)}" '
        f'font-family="IPAexGothic, \'IPAexゴシック\', sans-serif" font-size="10">',
        f"<title>{escape(description)}</title>",
    ]
    if title:
        parts.append(f'<text x="{width / 2:.1f}" y="16" text-anchor="middle" font-size="12" font-weight="bold">'
                     f"{escape(title)}</text>")
    tick = low
    while tick <= high + step / 2:
        parts.append(f'<line x1="{left}" y1="{y(tick):.1f}" x2="{left + plot_w}" y2="{y(tick):.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 4}" y="{y(tick) + 3:.1f}" text-anchor="end">{tick:g}</text>')
        tick += step
    parts.append(f'<text x="{left - 4}" y="{top - 4}" text-anchor="end" fill="#555">{escape(unit)}</text>')
    for year in years:
        parts.append(f'<line x1="{x(year):.1f}" y1="{top + plot_h}" x2="{x(year):.1f}" y2="{top + plot_h + 4}" stroke="#555"/>')
        parts.append(f'<text x="{x(year):.1f}" y="{top + plot_h + 15}" text-anchor="middle">{year}</text>')
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#555"/>')
    projected_years = sorted({year for s in series for year, _ in s.projected})
    if projected_years:
        start = x(min(projected_years))
        parts.append(f'<text x="{(start + left + plot_w) / 2:.1f}" y="{top + plot_h + 28}" text-anchor="middle" '
                     f'fill="#555" class="trend-projected-key">- - - {escape(projected_label)}</text>')
    label_ys: list[float] = []
    for index, line in enumerate(series):
        style = SERIES_STYLES[min(index, len(SERIES_STYLES) - 1)]
        observed = [(yr, v) for yr, v in line.observed if v is not None and math.isfinite(v)]
        projected = [(yr, v) for yr, v in line.projected if v is not None and math.isfinite(v)]
        stroke = f'stroke="{style["colour"]}" stroke-width="{style["width"]}" fill="none"'
        if len(observed) > 1:
            path = " ".join(f"{x(yr):.1f},{y(v):.1f}" for yr, v in observed)
            parts.append(f'<polyline class="trend-observed" points="{path}" {stroke}/>')
        if projected:
            chain = observed[-1:] + projected
            path = " ".join(f"{x(yr):.1f},{y(v):.1f}" for yr, v in chain)
            parts.append(f'<polyline class="trend-projected" points="{path}" {stroke} stroke-dasharray="5 3"/>')
        for yr, v in observed + projected:
            kind = f" ({projected_label})" if (yr, v) in projected else ""
            parts.append(f'<circle cx="{x(yr):.1f}" cy="{y(v):.1f}" r="2.6" fill="{style["colour"]}">'
                         f"<title>{escape(line.name)} {yr}: {v:.1f}{escape(unit)}{escape(kind)}</title></circle>")
        end = (observed + projected)[-1:] if observed or projected else []
        if end:
            label_y = y(end[0][1]) + 3
            while any(abs(label_y - taken) < 11 for taken in label_ys):  # keep end labels apart
                label_y += 11
            label_ys.append(label_y)
            parts.append(f'<text x="{left + plot_w + 5}" y="{label_y:.1f}" fill="{style["colour"]}">'
                         f"{escape(line.name)} {end[0][1]:.1f}</text>")
    parts.append("</svg>")
    return "".join(parts)


def ageing_trend_svg(trend, *, title: str = "", projected_label: str = "推計", **kwargs) -> str:
    """The ageing-rate chart of a karte: ``trend`` is a :class:`karte.layers.report.AgeingTrend`
    (series with ``name``, ``census`` and ``projected`` points, %); "" when there is none."""
    if trend is None:
        return ""
    return trend_chart_svg([Series(s.name, s.census, s.projected) for s in trend.series], unit="%", title=title,
                           projected_label=projected_label, **kwargs)

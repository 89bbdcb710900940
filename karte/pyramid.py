"""Population pyramid as a self-contained SVG string (server-side, so the district page and the
printed karte show the same drawing without JavaScript).

Pure: no Django, no database; input is persons per 5-year age band and sex, with the band names of
the census variables in docs/architecture.md (``0_4``, ``5_9``, … ``95_99``, ``100_plus``).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from xml.sax.saxutils import escape

AGE_BANDS: tuple[str, ...] = tuple(f"{lo}_{lo + 4}" for lo in range(0, 100, 5)) + ("100_plus",)

# ColorBrewer PuOr (diverging, colour-blind safe) end colours: purple for men, orange for women.
MALE_COLOUR = "#5e3c99"
FEMALE_COLOUR = "#e66101"


def band_label(band: str) -> str:
    """``"65_69"`` → ``"65–69"``, ``"100_plus"`` → ``"100+"``, ``"75_plus"`` → ``"75+"``."""
    if band.endswith("_plus"):
        return band.split("_")[0] + "+"
    lo, hi = band.split("_")
    return f"{lo}–{hi}"


def _nice_step(maximum: float, ticks: int = 3) -> float:
    """A round tick step (1, 2 or 5 × 10^n) so that ``ticks`` steps cover ``maximum``."""
    if maximum <= 0:
        return 1.0
    raw = maximum / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude


def _format_count(value: float) -> str:
    return f"{value:,.0f}"


def bands_for(*counts: Mapping[str, float | None]) -> tuple[str, ...]:
    """The bands to draw. Census small-area tables stop at an open band (``75_plus``: 75歳以上);
    where the finer bands above it are absent, that open band is drawn as one bar on top instead
    of leaving everyone aged 75 and over out of the picture."""
    given = {band for mapping in counts for band in mapping}
    open_tops = sorted(
        (int(band.split("_")[0]) for band in given if band.endswith("_plus") and band != "100_plus"),
    )
    for lo in open_tops:
        if f"{lo}_{lo + 4}" not in given:
            return tuple(b for b in AGE_BANDS if int(b.split("_")[0]) < lo) + (f"{lo}_plus",)
    return AGE_BANDS


def _checked(counts: Mapping[str, float | None], sex: str, bands: tuple[str, ...] = AGE_BANDS) -> dict[str, float]:
    unknown = sorted(set(counts) - set(bands) - {b for b in counts if b.endswith("_plus")})
    if unknown:
        raise ValueError(
            f"population_pyramid_svg: unknown age band(s) for {sex}: {unknown}; expected names like "
            f"'0_4', '65_69' or '100_plus'"
        )
    checked: dict[str, float] = {}
    for band in bands:
        value = counts.get(band)
        value = 0.0 if value is None else float(value)
        if value < 0 or math.isnan(value):
            raise ValueError(f"population_pyramid_svg: {sex} band {band} has invalid count {value!r}")
        checked[band] = value
    return checked


def population_pyramid_svg(
    male: Mapping[str, float | None],
    female: Mapping[str, float | None],
    *,
    title: str = "",
    male_label: str = "男",
    female_label: str = "女",
    missing_label: str = "灰色の年齢階級はデータなし",
    width: int = 380,
    earlier_male: Mapping[str, float | None] | None = None,
    earlier_female: Mapping[str, float | None] | None = None,
    earlier_label: str = "",
) -> str:
    """An SVG population pyramid: men to the left, women to the right, youngest band at the bottom.

    ``male``/``female`` map age bands (``AGE_BANDS``) to persons; ``None`` draws no bar (a
    suppressed cell is not guessed). A band absent from both mappings (a census table without
    that band) has its label greyed, with ``missing_label`` as a note under the axis, so that
    "no data" never reads as "nobody". Both sides share one scale so
    the two sexes compare directly. ``earlier_male``/``earlier_female`` (an earlier census, same
    bands) are drawn as an outline over the bars on the same scale, with ``earlier_label`` as its
    key under the axis. Raises ``ValueError`` on an unknown band or a negative count.
    Returns markup for inline use (no XML declaration); text is escaped.
    """
    with_earlier = bool(earlier_male or earlier_female)
    earlier_male, earlier_female = earlier_male or {}, earlier_female or {}
    bands = bands_for(male, female, earlier_male, earlier_female) if with_earlier else bands_for(male, female)
    men = _checked(male, "male", bands)
    women = _checked(female, "female", bands)
    old_men = _checked(earlier_male, "earlier male", bands) if with_earlier else {}
    old_women = _checked(earlier_female, "earlier female", bands) if with_earlier else {}
    missing = {band for band in bands if band not in male and band not in female}
    maximum = max([*men.values(), *women.values(), *old_men.values(), *old_women.values(), 0.0])
    step = _nice_step(maximum)
    scale_max = step * max(1, math.ceil(maximum / step)) if maximum > 0 else 1.0

    row_height = 12
    top = 30 if title else 12
    header = 16  # the 男 / 女 labels above the bars
    label_column = 44  # age labels in the middle
    side_margin = 18  # room for the outermost tick label
    axis_height = 30
    half = (width - label_column - 2 * side_margin) / 2
    centre_left = side_margin + half  # where men's bars end
    centre_right = centre_left + label_column  # where women's bars start
    bars_top = top + header
    height = bars_top + row_height * len(bands) + axis_height + (14 if missing else 0) + (14 if with_earlier else 0)

    total_men = sum(men.values())
    total_women = sum(women.values())
    description = (
        f"{title + ': ' if title else ''}{male_label} {_format_count(total_men)}, "
        f"{female_label} {_format_count(total_women)}"
    )
    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="population-pyramid" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(description, {chr(34): "&quot;"})}" '
        f'font-family="IPAexGothic, \'IPAexゴシック\', sans-serif" font-size="10">',
        f"<title>{escape(description)}</title>",
    ]
    if title:
        parts.append(f'<text x="{width / 2:.1f}" y="16" text-anchor="middle" font-size="12" font-weight="bold">{escape(title)}</text>')
    parts.append(
        f'<text x="{centre_left - 4:.1f}" y="{top + 11}" text-anchor="end" fill="{MALE_COLOUR}" font-weight="bold">'
        f"{escape(male_label)} {_format_count(total_men)}</text>"
    )
    parts.append(
        f'<text x="{centre_right + 4:.1f}" y="{top + 11}" fill="{FEMALE_COLOUR}" font-weight="bold">'
        f"{escape(female_label)} {_format_count(total_women)}</text>"
    )

    for index, band in enumerate(reversed(bands)):  # oldest at the top
        y = bars_top + index * row_height
        male_width = half * men[band] / scale_max
        female_width = half * women[band] / scale_max
        parts.append(
            f'<rect x="{centre_left - male_width:.2f}" y="{y + 1}" width="{male_width:.2f}" height="{row_height - 2}" '
            f'fill="{MALE_COLOUR}"><title>{escape(male_label)} {band_label(band)}: {_format_count(men[band])}</title></rect>'
        )
        parts.append(
            f'<rect x="{centre_right:.2f}" y="{y + 1}" width="{female_width:.2f}" height="{row_height - 2}" '
            f'fill="{FEMALE_COLOUR}"><title>{escape(female_label)} {band_label(band)}: {_format_count(women[band])}</title></rect>'
        )
        if with_earlier:
            # The earlier census as an outline on the same scale: where it sticks out, the band shrank.
            for value, x_of in ((old_men[band], lambda w: centre_left - w), (old_women[band], lambda w: centre_right)):
                outline = half * value / scale_max
                parts.append(
                    f'<rect class="pyramid-earlier" x="{x_of(outline):.2f}" y="{y + 1}" width="{outline:.2f}" '
                    f'height="{row_height - 2}" fill="none" stroke="#111" stroke-width="1" stroke-dasharray="3 1.5">'
                    f"<title>{escape(earlier_label)} {band_label(band)}: {_format_count(value)}</title></rect>"
                )
        label_style = ' fill="#aaa" font-style="italic"' if band in missing else ""
        parts.append(
            f'<text x="{centre_left + label_column / 2:.1f}" y="{y + row_height - 3}" text-anchor="middle"{label_style}>'
            f"{band_label(band)}</text>"
        )

    axis_y = bars_top + row_height * len(bands) + 2
    parts.append(f'<line x1="{side_margin}" y1="{axis_y}" x2="{centre_left:.1f}" y2="{axis_y}" stroke="#555"/>')
    parts.append(f'<line x1="{centre_right:.1f}" y1="{axis_y}" x2="{width - side_margin}" y2="{axis_y}" stroke="#555"/>')
    tick = 0.0
    while tick <= scale_max + step / 2:
        offset = half * tick / scale_max
        for x, anchor in ((centre_left - offset, "middle"), (centre_right + offset, "middle")):
            parts.append(f'<line x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{axis_y + 4}" stroke="#555"/>')
            parts.append(f'<text x="{x:.1f}" y="{axis_y + 15}" text-anchor="{anchor}">{_format_count(tick)}</text>')
        tick += step
    if with_earlier:
        key_y = axis_y + 30
        parts.append(f'<rect x="{width / 2 - 60:.1f}" y="{key_y - 8}" width="14" height="8" fill="none" stroke="#111" '
                     f'stroke-dasharray="3 1.5"/>')
        parts.append(f'<text x="{width / 2 - 42:.1f}" y="{key_y}" class="pyramid-earlier-key">{escape(earlier_label)}</text>')
    if missing:
        parts.append(
            f'<text x="{width / 2:.1f}" y="{height - 4}" text-anchor="middle" fill="#777" class="pyramid-missing">'
            f"{escape(missing_label)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)

"""The indicator catalogue as the read side serves it: labels, units, years stored, class breaks.

The registry itself lives in the spatial core (``spatial.indicators.INDICATORS``); this module adds
what the database knows (codes stored without a registry entry, the years each has) and the class
breaks of one indicator over the districts, computed by the one classifier,
:func:`spatial.compare.class_breaks` (mapclassify).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict

from django.db.models import Max

from karte.models import City, IndicatorValue
from spatial.compare import SCHEMES
from spatial.compare import class_breaks as classify
from spatial.indicators import INDICATORS

from .encoding import clean_number
from .errors import ParameterError

# Census counts interpolated to districts share the IndicatorValue table with the derived
# indicators; they are left out of the default column set (there are ~70 of them).
_CENSUS_VARIABLE = re.compile(r"^(pop_|households_|dwelling_households_|movers_5y$)")
_SPEC_FIELDS = ("code", "label_ja", "label_en", "unit", "kind", "higher_is", "description_ja")

# The indicators offered on the map, in the order a facilitator thinks about them; others that
# the database holds follow (census counts are left out: they are inputs, not indicators).
MAP_INDICATOR_ORDER = (
    "ageing_rate", "old_old_share", "elderly_alone_share", "isolation_index", "walk_coverage",
    "walk_coverage_alone", "resources_per_1000_elderly", "vacant_house_density",
    "vacant_houses_per_100_households", "child_share", "dependency_ratio", "apartment_share",
    "park_area_per_capita", "hazard_area_share", "ageing_rate_2028", "ageing_rate_2040",
    # Change since the census before (percentage points): drawn with a diverging legend.
    "ageing_rate_change", "elderly_alone_share_change",
)
CLASS_SCHEMES: tuple[str, ...] = tuple(SCHEMES)
YEAR_RANGE = (1900, 2100)


def indicator_catalogue() -> dict[str, dict]:
    """Catalogue entries by code: every registered indicator, then codes found only in the database
    (label = code, unit from the stored values, ``in_catalogue`` false)."""
    catalogue: dict[str, dict] = {}
    for code, spec in INDICATORS.items():
        raw = asdict(spec)
        entry = {name: raw.get(name) for name in _SPEC_FIELDS}
        entry["in_catalogue"] = True
        catalogue[code] = entry
    for code, unit in IndicatorValue.objects.values_list("indicator", "unit").distinct():
        if code in catalogue:
            if not catalogue[code].get("unit") and unit:
                catalogue[code]["unit"] = unit
            continue
        catalogue[code] = {
            "code": code, "label_ja": code, "label_en": code, "unit": unit or None, "kind": None,
            "higher_is": None, "description_ja": None, "in_catalogue": False,
        }
    return catalogue


def indicator_label(spec: dict | None, code: str, *, english: bool = False) -> str:
    """An indicator's label in Japanese, or in English where asked and known."""
    if not spec:
        return code
    if english and spec.get("label_en"):
        return spec["label_en"]
    return spec.get("label_ja") or code


def is_census_count(code: str) -> bool:
    """True for the census counts stored beside the indicators (``pop_*``, ``households_*``…)."""
    return bool(_CENSUS_VARIABLE.match(code))


def is_change(code: str, catalogue: dict[str, dict]) -> bool:
    """True for a change between two censuses (``<rate>_change``, in percentage points)."""
    return code.endswith("_change") and (catalogue.get(code) or {}).get("unit") == "pt"


def change_periods(codes: Sequence[str]) -> dict[str, str]:
    """``{code: "2015→2020"}`` for change indicators: the latest year stored for districts and the
    census five years before it, which ``karte.compute`` compares it with."""
    latest = (IndicatorValue.objects.filter(tier=IndicatorValue.Tier.DISTRICT, indicator__in=list(codes))
              .values_list("indicator").annotate(year=Max("year")).values_list("indicator", "year"))
    return {code: f"{year - 5}→{year}" for code, year in latest}


def default_indicator_codes(present: Iterable[str], catalogue: dict[str, dict]) -> list[str]:
    """The derived indicators among ``present`` (census counts left out unless asked for)."""
    present = set(present)
    in_catalogue = [c for c in catalogue if catalogue[c].get("in_catalogue") and c in present]
    chosen = in_catalogue or [c for c in present if not is_census_count(c)]
    return sorted(c for c in chosen if not is_census_count(c)) or sorted(chosen)


def validate_indicator_codes(codes: Sequence[str], catalogue: dict[str, dict], parameter: str = "indicators") -> None:
    """Refuse codes the catalogue does not know, naming them."""
    unknown = [c for c in codes if c not in catalogue]
    if unknown:
        raise ParameterError(
            f"unknown indicator code(s): {', '.join(unknown)}; see /api/indicators/ for the catalogue", parameter
        )


def stored_indicator_codes(area_codes: Sequence[str] | None = None) -> list[str]:
    """Every indicator code stored for districts (of ``area_codes`` if given), sorted."""
    queryset = IndicatorValue.objects.filter(tier=IndicatorValue.Tier.DISTRICT)
    if area_codes is not None:
        queryset = queryset.filter(area_code__in=list(area_codes))
    return sorted(set(queryset.values_list("indicator", flat=True)))


def map_indicators(*, english: bool = False) -> list[dict]:
    """Indicators offered on the map: those with district values stored, headline ones first in
    :data:`MAP_INDICATOR_ORDER`; each ``{code, label, unit, higher_is, headline, diverging}``
    (``diverging``: a change in points, coloured away from 0 both ways)."""
    catalogue = indicator_catalogue()
    stored = set(stored_indicator_codes())
    derived = set(default_indicator_codes(stored, catalogue))
    ordered = [c for c in MAP_INDICATOR_ORDER if c in stored] + sorted(derived - set(MAP_INDICATOR_ORDER))
    periods = change_periods([c for c in ordered if is_change(c, catalogue)])
    return [
        {
            "code": code,
            "label": indicator_label(catalogue.get(code), code, english=english) + (
                f" ({periods[code]})" if code in periods else ""),
            "unit": (catalogue.get(code) or {}).get("unit") or "",
            "higher_is": (catalogue.get(code) or {}).get("higher_is") or "neutral",
            "headline": code in MAP_INDICATOR_ORDER,
            "diverging": is_change(code, catalogue),
        }
        for code in ordered
    ]


def catalogue_payload(city: City | None = None) -> dict:
    """The whole catalogue with the years each indicator has district values for (``/api/indicators/``)."""
    catalogue = indicator_catalogue()
    stored = IndicatorValue.objects.filter(tier=IndicatorValue.Tier.DISTRICT)
    if city is not None:
        stored = stored.filter(city=city)
    years: dict[str, set[int]] = {}
    for indicator, year in stored.values_list("indicator", "year").distinct():
        years.setdefault(indicator, set()).add(year)
    entries = []
    for code in sorted(catalogue):
        entry = dict(catalogue[code])
        entry["years"] = sorted(years.get(code, ()))
        entries.append(entry)
    return {"indicators": entries, "count": len(entries)}


def indicator_breaks(code: str, *, scheme: str = "quantiles", k: int = 5, year: int | None = None,
                 city: City | None = None) -> dict:
    """Class breaks of one indicator over the districts (of ``city``; ``year`` default the latest),
    with the ward and city values of that year, for a map legend."""
    catalogue = indicator_catalogue()
    if code not in catalogue:
        raise ParameterError(f"unknown indicator {code!r}; GET /api/indicators/ lists the catalogue", "indicator")
    if scheme not in SCHEMES:
        raise ParameterError(f"scheme must be one of {', '.join(SCHEMES)}, not {scheme!r}", "scheme")
    values = IndicatorValue.objects.filter(indicator=code)
    if city is not None:
        values = values.filter(city=city)
    district_values = values.filter(tier=IndicatorValue.Tier.DISTRICT)
    if year is None:
        year = max(district_values.values_list("year", flat=True), default=None)
    numbers = [clean_number(v) for v in district_values.filter(year=year).values_list("value", flat=True)]
    known = [v for v in numbers if v is not None]
    if not known:
        raise ParameterError(f"no district values of {code} for year {year}", "year" if year else "indicator")
    breaks = classify(known, scheme=scheme, k=k)
    upper = breaks["bins"]
    lowers = [breaks["lower"]] + upper[:-1]
    classes = [
        {"class": i + 1, "lower": lowers[i], "upper": upper[i], "count": breaks["counts"][i]}
        for i in range(len(upper))
    ]
    upper_tiers = values.filter(year=year, tier__in=[IndicatorValue.Tier.WARD, IndicatorValue.Tier.CITY])
    ward_values = {iv.area_code: clean_number(iv.value) for iv in upper_tiers if iv.tier == IndicatorValue.Tier.WARD}
    city_values = {iv.area_code: clean_number(iv.value) for iv in upper_tiers if iv.tier == IndicatorValue.Tier.CITY}
    return {
        "indicator": catalogue[code],
        "year": year,
        "scheme": scheme,
        "k_requested": k,
        "k": len(classes),
        "breaks": [breaks["lower"]] + upper,
        "classes": classes,
        "min": min(known),
        "max": max(known),
        "district_count": len(known),
        "missing_count": len(numbers) - len(known),
        "ward_values": dict(sorted(ward_values.items())),
        "city_values": dict(sorted(city_values.items())),
    }

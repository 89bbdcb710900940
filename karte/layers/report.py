"""What a karte shows, gathered from the database: indicator rows with district / ward / city values
and rank, the population pyramid, resources by kind, the best candidate sites and the sources of every
figure; and a ward's districts side by side.

One report for the district page and the printed karte (``karte.printing``), so both show the same
figures. Labels default to the registry's Japanese; pages pass a ``label`` for their language.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.db.models import Q

from karte.models import CandidateSite, City, Dataset, District, IndicatorValue, Resource, ResourceKind, Ward
from spatial.indicators import BANDS, INDICATORS

from . import lookups
from .encoding import clean_number
from .provenance import dataset_ids_from_inputs, datasets

# The headline indicators of a karte, in the order a facilitator reads them.
KARTE_INDICATORS = (
    "pop_total", "pop_65_plus", "ageing_rate", "old_old_share", "child_share", "dependency_ratio",
    "ageing_rate_2040", "households_elderly_alone", "elderly_alone_share", "apartment_share",
    "isolation_index", "walk_coverage", "walk_coverage_alone", "resources_per_1000_elderly",
    "park_area_per_capita", "vacant_house_density", "vacant_houses_per_100_households", "hazard_area_share",
)
COUNT_UNITS = {"人", "世帯", "件", "count", "persons", "households"}


def display_digits(unit: str, *values: float | None) -> int:
    """Decimals to show for an indicator row: none for counts of people, households or things
    (interpolated counts are estimates, a tenth of a person reads as false precision); two for
    small rates and densities so that 0.04 does not print as 0.0; one otherwise."""
    if unit in COUNT_UNITS:
        return 0
    present = [abs(v) for v in values if v is not None]
    return 2 if present and max(present) < 10 else 1


@dataclass
class IndicatorRow:
    code: str
    label: str
    unit: str
    district: float | None
    ward: float | None
    city: float | None
    rank: int | None
    rank_of: int
    year: int
    method: str
    uncertain_share: float | None
    dataset_ids: list[int] = field(default_factory=list)
    source_numbers: list[int] = field(default_factory=list)  # positions in the report's sources (1-based)

    @property
    def uncertain(self) -> bool:
        """More than 5 % of the value rests on suppressed or imputed census cells."""
        return bool(self.uncertain_share and self.uncertain_share > 0.05)

    @property
    def digits(self) -> int:
        return display_digits(self.unit, self.district, self.ward, self.city)


@dataclass
class Pyramid:
    """Population by 5-year band and sex, as interpolated to the district (persons)."""

    year: int
    male: dict[str, float]
    female: dict[str, float]


@dataclass
class DistrictReport:
    district: District
    rows: list[IndicatorRow]
    resource_groups: list[tuple[str, list[Resource]]]  # (kind code, resources), in vocabulary order
    candidates: list[CandidateSite]
    sources: list[Dataset] = field(default_factory=list)
    years: list[int] = field(default_factory=list)
    pyramid: Pyramid | None = None
    walk_distance_m: int | None = None

    @property
    def resources_by_kind(self) -> list[tuple[str, list[Resource]]]:
        """(kind label in the active language, resources) per kind."""
        return [(ResourceKind(kind).label, items) for kind, items in self.resource_groups]

    @property
    def resources(self) -> list[Resource]:
        return [resource for _, items in self.resource_groups for resource in items]


def district_pyramid(district: District) -> Pyramid | None:
    """The district's latest population by band and sex (``pop_m_<band>``/``pop_f_<band>``), or None."""
    values = IndicatorValue.objects.filter(
        Q(indicator__startswith="pop_m_") | Q(indicator__startswith="pop_f_"),
        tier=IndicatorValue.Tier.DISTRICT, area_code=district.code,
    )
    years = sorted(set(values.values_list("year", flat=True)))
    if not years:
        return None
    male: dict[str, float] = {}
    female: dict[str, float] = {}
    for indicator, value in values.filter(year=years[-1]).values_list("indicator", "value"):
        sex, band = indicator[4], indicator[6:]
        if band in BANDS or band.endswith("_plus"):  # the pyramid draws an open top band (75_plus)
            (male if sex == "m" else female)[band] = value
    return Pyramid(year=years[-1], male=male, female=female)


def _label_and_unit(code: str, fallback_unit: str) -> tuple[str, str]:
    spec = INDICATORS.get(code)
    if spec is None:
        return code, fallback_unit
    return spec.label_ja, spec.unit or fallback_unit


def indicator_rows(
    district: District, *, label: Callable[[str], str] | None = None
) -> tuple[list[IndicatorRow], list[int]]:
    """The karte's headline indicators for ``district`` with its ward's and city's values (latest
    year of each), rank and provenance. ``label`` names an indicator (default: the registry's
    Japanese label)."""
    values = IndicatorValue.objects.filter(
        Q(tier=IndicatorValue.Tier.DISTRICT, area_code=district.code)
        | Q(tier=IndicatorValue.Tier.WARD, area_code=district.ward.code if district.ward else "-")
        | Q(tier=IndicatorValue.Tier.CITY, area_code=district.city.code),
        indicator__in=KARTE_INDICATORS,
    ).defer("inputs")
    # The latest year for each (tier, indicator).
    latest: dict[tuple[str, str], IndicatorValue] = {}
    for value in values.order_by("year"):
        latest[(value.tier, value.indicator)] = value
    district_count = District.objects.filter(city=district.city).count()
    rows: list[IndicatorRow] = []
    years: set[int] = set()
    shown: list[int] = []
    for code in KARTE_INDICATORS:
        own = latest.get(("district", code))
        if own is None:
            continue
        label_ja, unit = _label_and_unit(code, own.unit)
        ward = latest.get(("ward", code))
        city = latest.get(("city", code))
        rows.append(IndicatorRow(
            code=code, label=label(code) if label else label_ja, unit=unit, district=own.value,
            ward=ward.value if ward else None, city=city.value if city else None,
            rank=own.rank, rank_of=district_count, year=own.year, method=own.method,
            uncertain_share=own.uncertain_share,
        ))
        years.add(own.year)
        shown.append(own.pk)
    # Provenance of the district's own figures only: one query, not every tier's JSON.
    inputs_of = dict(IndicatorValue.objects.filter(pk__in=shown).values_list("pk", "inputs"))
    for row, pk in zip(rows, shown):
        row.dataset_ids = sorted(dataset_ids_from_inputs(inputs_of.get(pk)))
    return rows, sorted(years)


def district_report(
    district: District,
    *,
    top_candidates: int = 5,
    walk_distance_m: int | None = None,
    label: Callable[[str], str] | None = None,
) -> DistrictReport:
    """Everything one district's karte shows — the printed karte and the district page alike.

    Resources are those assigned to the district and unassigned ones lying inside it. Candidates are
    the best of one walking distance (default: :func:`lookups.default_walk_distance`), so no place is
    listed twice. Sources are numbered in the order listed; each row's ``source_numbers`` cite them.
    """
    rows, years = indicator_rows(district, label=label)
    dataset_ids: set[int] = {i for row in rows for i in row.dataset_ids}

    resources = lookups.resources_of_district(district)
    grouped: dict[str, list[Resource]] = defaultdict(list)
    for resource in resources.select_related("dataset", "district").order_by("kind", "name", "pk"):
        grouped[resource.kind].append(resource)
        if resource.dataset_id:
            dataset_ids.add(resource.dataset_id)
    kind_order = [kind for kind in ResourceKind.values if kind in grouped]
    if walk_distance_m is None:
        walk_distance_m = lookups.default_walk_distance()
    candidates = list(lookups.candidates(walk_distance_m=walk_distance_m, resources_in=resources)[:top_candidates])
    if district.dataset_id:
        dataset_ids.add(district.dataset_id)
    sources = datasets(dataset_ids)
    number_of = {dataset.pk: number for number, dataset in enumerate(sources, start=1)}
    for row in rows:
        row.source_numbers = sorted(number_of[i] for i in row.dataset_ids if i in number_of)
    return DistrictReport(
        district=district,
        rows=rows,
        resource_groups=[(kind, grouped[kind]) for kind in kind_order],
        candidates=candidates,
        sources=sources,
        years=sorted(years),
        pyramid=district_pyramid(district),
        walk_distance_m=walk_distance_m,
    )


def report_record(report: DistrictReport) -> dict:
    """What ``report`` shows as JSON-safe data (labels as shown, values, ranks, resources, candidates,
    sources), to keep beside a frozen edition of the karte."""
    district = report.district
    return {
        "district": {"code": district.code, "name_ja": district.name_ja,
                     "ward_code": district.ward.code if district.ward else None, "city_code": district.city.code},
        "years": list(report.years),
        "rows": [{"code": row.code, "label": str(row.label), "unit": row.unit, "district": clean_number(row.district),
                  "ward": clean_number(row.ward), "city": clean_number(row.city), "rank": row.rank,
                  "rank_of": row.rank_of, "year": row.year, "method": row.method,
                  "source_numbers": list(row.source_numbers)} for row in report.rows],
        "resources": [{"id": r.pk, "kind": r.kind, "name": r.name, "address": r.address, "dataset_id": r.dataset_id}
                      for r in report.resources],
        "candidates": [{"resource_id": c.resource_id, "name": c.resource.name, "kind": c.resource.kind,
                        "score": clean_number(c.score), "walk_distance_m": c.walk_distance_m} for c in report.candidates],
        "sources": [{"id": d.pk, "source_name": d.source_name, "vintage": d.vintage, "licence": d.licence}
                    for d in report.sources],
    }


@dataclass
class WardOverview:
    """A ward's (or a whole city's) districts side by side: one row per district, one cell
    (IndicatorValue or None) per indicator code, plus the ward's (None for a city) and the city's
    values of the same indicators."""

    ward: Ward | None
    codes: list[str]
    table: list[dict]
    ward_row: list[float | None] | None
    city_row: list[float | None]
    district_total: int
    city: City | None = None


def ward_overview(ward: Ward, codes: Sequence[str]) -> WardOverview:
    """The latest district values of ``codes`` for each district of ``ward``, with ward and city rows."""
    return _overview(list(lookups.districts(ward=ward)), codes, ward.city, ward)


def city_overview(city: City, codes: Sequence[str]) -> WardOverview:
    """Every district of ``city`` side by side with the city's row: the 市域 tier, and the one
    overview of a 市 without wards."""
    return _overview(list(lookups.districts(city=city).order_by("ward__code", "code")), codes, city, None)


def _overview(districts: list[District], codes: Sequence[str], city: City, ward: Ward | None) -> WardOverview:
    values = IndicatorValue.objects.filter(
        tier=IndicatorValue.Tier.DISTRICT, area_code__in=[d.code for d in districts], indicator__in=list(codes)
    ).order_by("year")
    by_district: dict[str, dict[str, IndicatorValue]] = defaultdict(dict)
    for iv in values:  # the latest year wins
        by_district[iv.area_code][iv.indicator] = iv
    upper = IndicatorValue.objects.filter(indicator__in=list(codes)).filter(
        tier__in=[IndicatorValue.Tier.WARD, IndicatorValue.Tier.CITY],
        area_code__in=[code for code in (ward.code if ward else None, city.code) if code],
    ).order_by("year")
    ward_values: dict[str, float | None] = {}
    city_values: dict[str, float | None] = {}
    for iv in upper:
        (ward_values if iv.tier == IndicatorValue.Tier.WARD else city_values)[iv.indicator] = iv.value
    return WardOverview(
        ward=ward,
        codes=list(codes),
        table=[{"district": d, "cells": [by_district[d.code].get(code) for code in codes]} for d in districts],
        ward_row=[ward_values.get(code) for code in codes] if ward else None,
        city_row=[city_values.get(code) for code in codes],
        district_total=District.objects.filter(city=city).count(),
        city=city,
    )

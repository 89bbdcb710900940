"""What a karte shows, gathered from the database: indicator rows with district / ward / city values
and rank, the population pyramid, resources by kind, the best candidate sites and the sources of every
figure; and a ward's districts side by side.

One report for the district page and the printed karte (``karte.printing``), so both show the same
figures. Labels default to the registry's Japanese; pages pass a ``label`` for their language.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from django.db.models import Q

from karte.models import CandidateSite, City, Dataset, District, IndicatorValue, Resource, ResourceKind, Ward
from spatial.indicators import BANDS, INDICATORS, Change, change_between, has_change

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
    # The same figure one census earlier (2015 beside 2020) and the change since, where it means
    # something (spatial.indicators.has_change); None when there is no earlier census.
    earlier_year: int | None = None
    earlier: float | None = None
    change: Change | None = None
    ward_change: Change | None = None
    city_change: Change | None = None

    def set_earlier(self, year: int, district: float | None, *, ward: float | None = None,
                    city: float | None = None, dataset_ids: Iterable[int] = ()) -> None:
        """Put the value of an earlier census beside this row's and work out the changes (district,
        and ward and city where their earlier values are given). Any karte can call it with its own
        values, e.g. a karte of a drawn area with the area's 2015 figure; ``dataset_ids`` are the
        earlier value's sources, added to the row's."""
        self.earlier_year = year
        self.earlier = district
        self.change = change_between(self.district, district, self.unit)
        self.ward_change = change_between(self.ward, ward, self.unit) if ward is not None else None
        self.city_change = change_between(self.city, city, self.unit) if city is not None else None
        self.dataset_ids = sorted(set(self.dataset_ids) | set(dataset_ids))

    @property
    def uncertain(self) -> bool:
        """More than 5 % of the value rests on suppressed or imputed census cells."""
        return bool(self.uncertain_share and self.uncertain_share > 0.05)

    @property
    def digits(self) -> int:
        return display_digits(self.unit, self.district, self.ward, self.city)

    @property
    def change_digits(self) -> int:
        """Decimals of the change: a count's change like the count, a rate's change in points to one
        decimal (two when it is below 1 pt, so that 0.04 pt does not print as 0.0)."""
        if self.change is None or self.change.difference is None:
            return self.digits
        if self.change.unit in COUNT_UNITS:
            return 0
        return 2 if abs(self.change.difference) < 1 else 1


@dataclass
class Pyramid:
    """Population by 5-year band and sex, as interpolated to the district (persons)."""

    year: int
    male: dict[str, float]
    female: dict[str, float]
    # The census before, drawn as an outline over the bars (None when only one census is loaded).
    earlier_year: int | None = None
    earlier_male: dict[str, float] = field(default_factory=dict)
    earlier_female: dict[str, float] = field(default_factory=dict)


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
    trend: AgeingTrend | None = None

    @property
    def earlier_year(self) -> int | None:
        """The earlier census the rows compare with (None when no row has one)."""
        return max((row.earlier_year for row in self.rows if row.earlier_year), default=None)

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

    def bands_of(year: int) -> tuple[dict[str, float], dict[str, float]]:
        male: dict[str, float] = {}
        female: dict[str, float] = {}
        for indicator, value in values.filter(year=year).values_list("indicator", "value"):
            sex, band = indicator[4], indicator[6:]
            if band in BANDS or band.endswith("_plus"):  # the pyramid draws an open top band (75_plus)
                (male if sex == "m" else female)[band] = value
        return male, female

    male, female = bands_of(years[-1])
    pyramid = Pyramid(year=years[-1], male=male, female=female)
    if len(years) > 1:
        pyramid.earlier_year = years[-2]
        pyramid.earlier_male, pyramid.earlier_female = bands_of(years[-2])
    return pyramid


@dataclass
class TrendSeries:
    """One area's ageing rate over time: census years, then the projections (%)."""

    tier: str  # "district", "ward" or "city"
    name: str
    census: list[tuple[int, float]]
    projected: list[tuple[int, float]]


@dataclass
class AgeingTrend:
    """The ageing rate of a district, its ward and its city: the censuses loaded and the 2028 / 2040
    projections (cohort change ratios, ``spatial.projection``), for a small line chart."""

    series: list[TrendSeries]
    projection_method: str
    launch_year: int | None
    dataset_ids: list[int] = field(default_factory=list)


PROJECTION_CODES = {"ageing_rate_2028": 2028, "ageing_rate_2040": 2040}


def ageing_trend(district: District) -> AgeingTrend | None:
    """The ageing rate of ``district``, its ward and city in every census year stored, with the
    projections computed from the latest two (None without at least one projection)."""
    areas = [("district", district.code, district.name_ja)]
    if district.ward:
        areas.append(("ward", district.ward.code, district.ward.name_ja))
    areas.append(("city", district.city.code, district.city.name_ja))
    condition = Q()
    for tier, code, _name in areas:
        condition |= Q(tier=tier, area_code=code)
    values = list(IndicatorValue.objects.filter(condition, indicator__in=["ageing_rate", *PROJECTION_CODES])
                  .order_by("year").values_list("tier", "area_code", "indicator", "year", "value", "method", "inputs"))
    series: list[TrendSeries] = []
    method, launch, dataset_ids = "", None, set()
    for tier, code, name in areas:
        own = [v for v in values if v[0] == tier and v[1] == code]
        census = [(year, value) for _t, _c, indicator, year, value, _m, _i in own
                  if indicator == "ageing_rate" and value is not None]
        projected_rows = [v for v in own if v[2] in PROJECTION_CODES and v[4] is not None]
        if projected_rows:
            launch = max(v[3] for v in projected_rows)
            projected_rows = [v for v in projected_rows if v[3] == launch]
        projected = sorted((PROJECTION_CODES[v[2]], v[4]) for v in projected_rows)
        if tier == "district":
            if not projected:
                return None
            method = projected_rows[0][5]
            for row in own:
                dataset_ids |= dataset_ids_from_inputs(row[6])
        series.append(TrendSeries(tier=tier, name=name, census=census, projected=projected))
    return AgeingTrend(series=series, projection_method=method, launch_year=launch, dataset_ids=sorted(dataset_ids))


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
    # The latest year for each (tier, indicator), and the one before it (an earlier census).
    latest: dict[tuple[str, str], IndicatorValue] = {}
    earlier: dict[tuple[str, str], IndicatorValue] = {}
    for value in values.order_by("year"):
        key = (value.tier, value.indicator)
        if key in latest:
            earlier[key] = latest[key]
        latest[key] = value
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
    before = {code: earlier[("district", code)] for code in KARTE_INDICATORS
              if ("district", code) in earlier and has_change(code)}
    inputs_of = dict(IndicatorValue.objects.filter(pk__in=shown + [iv.pk for iv in before.values()])
                     .values_list("pk", "inputs"))
    for row, pk in zip(rows, shown):
        row.dataset_ids = sorted(dataset_ids_from_inputs(inputs_of.get(pk)))
        previous = before.get(row.code)
        if previous is None or previous.year >= row.year:
            continue
        ward = earlier.get(("ward", row.code))
        city = earlier.get(("city", row.code))
        row.set_earlier(
            previous.year, previous.value,
            ward=ward.value if ward is not None and ward.year == previous.year else None,
            city=city.value if city is not None and city.year == previous.year else None,
            dataset_ids=dataset_ids_from_inputs(inputs_of.get(previous.pk)),
        )
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
    trend = ageing_trend(district)
    if trend is not None:
        dataset_ids |= set(trend.dataset_ids)
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
        trend=trend,
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
                  "earlier_year": row.earlier_year, "earlier": clean_number(row.earlier),
                  "change": clean_number(row.change.difference) if row.change else None,
                  "change_unit": row.change.unit if row.change else None,
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

"""How far to trust a city's figures: per district, the population it covers, the suppressed and
merged census cells behind it and the share of its figures resting on imputed input, the small
areas it shares with other districts and how they were apportioned; then the resources in no
district and the sources loaded, with their dates.

:func:`data_report` returns plain dataclasses (``dataclasses.asdict`` gives JSON-ready dicts);
``manage.py data_report`` prints them; the page ``/cities/<code>/data/`` (linked from each karte's sources) shows
the same structure.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from karte.layers import frames
from .lookups import resolve_city
from karte.models import City, Dataset, IndicatorValue, Resource

# Shares of a small area below this (0.5 %) are boundary slivers, not a real split.
SPLIT_MIN_SHARE = 0.005
UNCERTAIN_INDICATORS = ("pop_total", "pop_65_plus", "ageing_rate", "elderly_alone_share")


@dataclass
class SplitArea:
    """A small area cut by district boundaries: the share of its land in each district."""

    key_code: str
    name: str
    shares: dict[str, float]


@dataclass
class DistrictTrust:
    code: str
    name: str
    population: float | None
    population_share: float | None  # of the city's, 0–1
    small_areas: int  # small areas with land in the district
    area_codes: list[str]  # their KEY_CODEs
    suppressed_cells: int  # 秘匿 (X) cells of those areas, imputed when computing
    merged_areas: int  # areas whose figures another area carries (HTKSYORI)
    uncertain_share: dict[str, float | None]  # indicator → share resting on suppressed/imputed input
    split_areas: list[tuple[str, str, float]]  # (key_code, name, share of the area in this district)


@dataclass
class DataReport:
    city_code: str
    city_name: str
    year: int | None
    apportioned_by: str  # how split small areas were shared out ("area", "mesh 2020 (9-digit)", …)
    population_total: float | None
    population_in_districts: float
    districts: list[DistrictTrust] = field(default_factory=list)
    split_areas: list[SplitArea] = field(default_factory=list)
    resources_without_district: list[dict] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)


def data_report(city: City | str | None = None, year: int | None = None) -> DataReport:
    """The data report of ``city`` (JIS code or City; the only city when None) for census ``year``
    (the latest with indicators when None). An unknown code raises ``ParameterError``."""
    city = resolve_city(city, default_first=True)
    values = IndicatorValue.objects.filter(city=city)
    if year is None:
        year = values.filter(tier=IndicatorValue.Tier.DISTRICT, indicator="pop_total").order_by(
            "-year").values_list("year", flat=True).first()
    crs = city.projected_srid
    districts = frames.districts_frame(city).to_crs(crs)
    areas = frames.census_areas_frame(city, year).to_crs(crs) if year else gpd.GeoDataFrame()
    figures = frames.census_figures_frame(city, year) if year else pd.DataFrame()
    pieces = _pieces(areas, districts)
    shares = pieces.pivot_table(index="key_code", columns="code", values="share", aggfunc="sum", fill_value=0.0) \
        if len(pieces) else pd.DataFrame()
    names = dict(zip(areas.get("key_code", []), areas.get("name_ja", [])))
    split = [SplitArea(key, names.get(key, ""), {c: round(float(s), 4) for c, s in row.items() if s > 0})
             for key, row in shares.iterrows() if (row > 0).sum() > 1]

    district_values = {(r["area_code"], r["indicator"]): r for r in values.filter(
        tier=IndicatorValue.Tier.DISTRICT, year=year, indicator__in=UNCERTAIN_INDICATORS).values(
        "area_code", "indicator", "value", "uncertain_share", "inputs")}
    city_total = values.filter(tier=IndicatorValue.Tier.CITY, year=year, indicator="pop_total").values_list(
        "value", flat=True).first()
    status = figures.groupby("key_code")["status"] if len(figures) else None
    suppressed = status.apply(lambda s: int((s == "suppressed").sum())).to_dict() if status is not None else {}
    merged = set(figures.loc[figures["status"] == "merged", "key_code"]) if len(figures) else set()
    report = DataReport(city.code, city.name_ja, year, _apportioned_by(district_values), city_total, 0.0,
                        split_areas=split)
    for district in districts.itertuples():
        inside = shares[district.code] if district.code in shares.columns else pd.Series(dtype=float)
        keys = list(inside[inside > 0].index)
        population = district_values.get((district.code, "pop_total"), {}).get("value")
        report.population_in_districts += population or 0.0
        report.districts.append(DistrictTrust(
            code=district.code, name=district.name_ja, population=population,
            population_share=(population / city_total) if population is not None and city_total else None,
            small_areas=len(keys), area_codes=keys, suppressed_cells=sum(suppressed.get(k, 0) for k in keys),
            merged_areas=sum(k in merged for k in keys),
            uncertain_share={i: district_values.get((district.code, i), {}).get("uncertain_share")
                             for i in UNCERTAIN_INDICATORS},
            split_areas=[(a.key_code, a.name, a.shares[district.code]) for a in split if district.code in a.shares]))
    report.resources_without_district = [
        {"kind": r.kind, "name": r.name, "source_key": r.source_key, "dataset": r.dataset.source_name if r.dataset else ""}
        for r in Resource.objects.filter(city=city, district__isnull=True).select_related("dataset").order_by("kind", "name")]
    report.sources = _sources(city, values, year)
    return report


def _pieces(areas: gpd.GeoDataFrame, districts: gpd.GeoDataFrame) -> pd.DataFrame:
    """Each small area's share of land in each district (its pieces cut by district boundaries)."""
    if areas.empty or districts.empty:
        return pd.DataFrame(columns=["key_code", "code", "share"])
    areas = areas[["key_code", "geometry"]].assign(total=areas.geometry.area)
    pieces = gpd.overlay(areas, districts[["code", "geometry"]], how="intersection", keep_geom_type=True)
    pieces["share"] = pieces.geometry.area / pieces["total"]
    return pieces.loc[pieces["share"] >= SPLIT_MIN_SHARE, ["key_code", "code", "share"]]


def _apportioned_by(district_values: dict) -> str:
    for row in district_values.values():
        weights = ((row.get("inputs") or {}).get("parameters") or {}).get("weights")
        if weights:
            return "land area" if weights == "area" else f"where people live ({weights})"
    return "not computed yet"


def _sources(city: City, values, year) -> list[dict]:
    """Every dataset behind the city's indicators of ``year``, and the layers loaded for it."""
    ids = set()
    for inputs in values.filter(year=year).values_list("inputs", flat=True).distinct()[:500]:
        ids |= {d["id"] for d in (inputs or {}).get("datasets", [])}
    ids |= set(Resource.objects.filter(city=city).values_list("dataset_id", flat=True))
    ids |= set(city.districts.values_list("dataset_id", flat=True))
    return [{"source_name": d.source_name, "vintage": d.vintage, "file_name": d.file_name,
             "loaded_at": d.loaded_at.isoformat(timespec="seconds"), "licence": d.licence, "url": d.url,
             "sha256": d.checksum[:12], "rows": d.row_count}
            for d in Dataset.objects.filter(pk__in=[i for i in ids if i]).order_by("kind", "source_name")]

"""Compute every indicator of a city and store it as IndicatorValue rows (district, ward, city tiers).

Reads the database through :mod:`karte.layers.frames`, does the spatial work in :mod:`spatial`, and writes
in one transaction per city (old values of the recomputed indicators and years are replaced, so
running twice gives the same rows). Tiers:

* district (小学校区): census counts are areally interpolated from small areas
  (:func:`spatial.interpolation.area_interpolate`, suppressed cells imputed from the ward's share),
  dasymetrically — by where people live — when a population raster or 地域メッシュ population is
  loaded (:func:`karte.layers.frames.population_weights`), else by land area;
* ward (区): small areas nest in wards, so ward counts are exact sums of the small areas (with the
  same imputation); resource counts use the ward polygons;
* city (市): sums over all small areas / districts.

A city without wards (an ordinary 市: N03 gives no 区) has two tiers, district and city: the ward
tier is skipped, not filled with the city under another name.

Ratios at every tier are recomputed from the summed counts (:mod:`spatial.compare`). Every value
carries ``method`` (human text), ``inputs`` (datasets with id, source, vintage, licence; year;
method id; parameters) and ``uncertain_share``.
"""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from django.conf import settings
from django.db import transaction

from karte.layers import frames
from karte.layers.lookups import resolve_city
from karte.models import (
    GATHERING_PLACE_KINDS,
    City,
    Dataset,
    IndicatorValue,
    RasterLayer,
    bump_data_version,
)
from spatial import compare, isolation
from spatial.demand import WATER_HCODE
from spatial.indicators import INDICATORS, RATE_CODES, changes, derived_indicators, derived_uncertainty
from spatial.interpolation import area_interpolate, dissolve_merged_areas
from spatial.projection import project
from spatial.resources import resource_counts

logger = logging.getLogger(__name__)

METHOD_ID = "karte.compute/1"
PROJECTION_YEARS = (2028, 2040)
DISTRICT, WARD, CITY = IndicatorValue.Tier.DISTRICT, IndicatorValue.Tier.WARD, IndicatorValue.Tier.CITY


@dataclass
class TierFigures:
    """Counts (and ratios) per area for one tier and year, with the uncertain share of each."""

    values: pd.DataFrame
    uncertain: pd.DataFrame


@dataclass
class CensusYear:
    year: int
    tiers: dict[str, TierFigures]
    dataset_ids: set[int]
    method: str
    imputed_cells: int
    small_areas: int
    weights: str = "area"


@dataclass
class CitySummary:
    city: str
    years: list[int] = field(default_factory=list)
    districts: int = 0
    values_stored: int = 0
    indicators: int = 0
    candidate_sites: int = 0
    imputed_cells: dict[int, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


def compute_all(city: City | str | None = None, year: int | None = None, walk_distance_m: float = 500) -> dict:
    """Compute and store the indicators of ``city`` (JIS code or City; all cities when None) for
    census ``year`` (all loaded years when None). Returns a summary dict per city code."""
    cities = [resolve_city(city)] if city is not None else list(City.objects.order_by("code"))
    summaries = {}
    for one in cities:
        # One transaction per city: the candidate sites and the indicator values of a city change
        # together, so a reader sees all of the old figures or all of the new (never a mix).
        with transaction.atomic():
            summaries[one.code] = compute_city(one, year=year, walk_distance_m=walk_distance_m).__dict__
            bump_data_version()
    return {"cities": summaries, "values_stored": sum(s["values_stored"] for s in summaries.values())}


def summary_lines(summary: dict) -> list[str]:
    """One line per city of a :func:`compute_all` summary (and its warnings), as commands print them."""
    lines = []
    for code, part in summary["cities"].items():
        years = ", ".join(str(y) for y in part["years"]) or "none"
        lines.append(
            f"compute_indicators {code}: {part['values_stored']} values of {part['indicators']} indicators, "
            f"{part['districts']} districts, census years {years}, {part['candidate_sites']} candidate sites, "
            f"imputed cells {part['imputed_cells']}, {part['seconds']} s")
        lines += [f"  warning: {warning}" for warning in part["warnings"]]
    return lines


# ------------------------------------------------------------------------------------------------
# Census tiers
# ------------------------------------------------------------------------------------------------

def _census_year(city: City, year: int, districts_metric: gpd.GeoDataFrame, crs_metric: int,
                 has_wards: bool = True) -> CensusYear | None:
    areas = frames.census_areas_frame(city, year)
    figures = frames.census_figures_frame(city, year)
    if areas.empty or figures.empty:
        return None
    merged = (
        figures.loc[(figures["status"] == "merged") & (figures["merged_into"] != ""), ["key_code", "merged_into"]]
        .drop_duplicates("key_code").set_index("key_code")["merged_into"].to_dict()
    )
    merged = {k: v for k, v in merged.items() if v in set(areas["key_code"])}
    areas = dissolve_merged_areas(areas.to_crs(crs_metric), merged)
    wide = figures[~figures["key_code"].isin(merged)].pivot(index="key_code", columns="variable", values="value")
    variables = sorted(wide.columns)
    source = areas.set_index("key_code").join(wide, how="left")
    no_figures = source[variables].isna().all(axis=1)
    water = pd.to_numeric(source["hcode"], errors="coerce").eq(WATER_HCODE)
    # Water surfaces (hcode 8154) without any figure have nobody living there: a true 0.
    source.loc[no_figures & water, variables] = 0.0
    source = source.reset_index()

    # Dasymetric where a population layer is loaded (raster, else 地域メッシュ cells): a small area's
    # count goes to the districts by where its people live, not by land area.
    population = frames.population_weights(year, crs_metric, city)
    if population.raster is not None:
        dasymetric = {"weight_raster": population.raster, "weight_name": population.label}
    elif population.mesh is not None:
        dasymetric = {"weight_cells": population.mesh, "weight_cells_value": "population",
                      "weight_name": population.label}
    else:
        dasymetric = {}
    result = area_interpolate(
        source, districts_metric, variables, impute_group="city_code", suppressed="impute", **dasymetric,
    )
    district_values = pd.DataFrame(result.frame[variables].to_numpy(), index=districts_metric["code"], columns=variables)
    district_uncertain = pd.DataFrame(
        result.uncertain_share[variables].to_numpy(), index=districts_metric["code"], columns=variables
    )
    # Wards and the city add up the same imputed small-area counts the districts were built from.
    filled, imputed = result.source_counts, result.source_imputed
    with np.errstate(divide="ignore", invalid="ignore"):
        share = (imputed / filled.where(filled != 0)).fillna(0.0)
    ward_values = compare.aggregate_counts(filled, source["city_code"])
    ward_uncertain = compare.aggregate_uncertain(share, filled, source["city_code"])
    ward_values = ward_values.loc[[c for c in ward_values.index if c != city.code]]
    ward_uncertain = ward_uncertain.reindex(ward_values.index)
    city_values = compare.aggregate_counts(filled, [city.code] * len(filled))
    city_uncertain = compare.aggregate_uncertain(share, filled, [city.code] * len(filled))
    dataset_ids = {int(d) for d in figures["dataset_id"].dropna().unique()}
    dataset_ids |= {int(d) for d in areas["dataset_id"].dropna().unique()}
    if dasymetric:
        dataset_ids |= set(population.dataset_ids)
    tiers = {DISTRICT: TierFigures(district_values, district_uncertain)}
    if has_wards:
        tiers[WARD] = TierFigures(ward_values, ward_uncertain)
    tiers[CITY] = TierFigures(city_values, city_uncertain)
    return CensusYear(
        year=year,
        tiers=tiers,
        dataset_ids=dataset_ids,
        method=result.method,
        imputed_cells=int((imputed.to_numpy() != 0).sum()),
        small_areas=len(source),
        weights=population.label if dasymetric else "area",
    )


# ------------------------------------------------------------------------------------------------
# Resources, hazard, walk coverage
# ------------------------------------------------------------------------------------------------

def _resource_tiers(
    city: City, districts_metric: gpd.GeoDataFrame, crs_metric: int, summary: CitySummary
) -> tuple[dict[str, pd.DataFrame], set[int], dict]:
    resources = frames.resources_frame(city)
    hazard = frames.raster_layer(RasterLayer.Kind.HAZARD, city)
    hazard_path = frames.raster_path(hazard) if hazard is not None else None
    parameters: dict = {}
    dataset_ids = {int(d) for d in resources["dataset_id"].dropna().unique()} if len(resources) else set()
    if hazard is not None and hazard_path is None:
        summary.warnings.append(f"hazard raster {hazard.path!r} not found: hazard_area_share left out")
    threshold = hazard.threshold if hazard is not None and hazard.threshold is not None else 0.5
    if hazard_path is not None:
        parameters.update({"hazard_raster": hazard.name, "hazard_threshold": threshold})
        if hazard.dataset_id:
            dataset_ids.add(hazard.dataset_id)
    kwargs = dict(crs_metric=crs_metric, hazard_raster=hazard_path, hazard_threshold=threshold if hazard_path else None)
    district = resource_counts(districts_metric, resources, **kwargs)
    district.index = districts_metric["code"].to_numpy()
    wards = frames.wards_frame(city)
    if len(wards) and wards.geometry.notna().all():
        ward = resource_counts(wards.to_crs(crs_metric), resources, **kwargs)
        ward.index = wards["code"].to_numpy()
    else:
        ward = compare.aggregate_counts(district, districts_metric["ward_code"].fillna("").to_numpy())
        ward = ward.loc[[c for c in ward.index if c]]
    city_counts = compare.aggregate_counts(district, [city.code] * len(district))
    tiers = {DISTRICT: district, CITY: city_counts}
    if len(ward):
        tiers[WARD] = ward
    return tiers, dataset_ids, parameters


def _walk_coverage(
    city: City, year: int, walk_distance_m: float, crs_metric: int, summary: CitySummary,
) -> tuple[dict[str, pd.DataFrame], int, str]:
    """walk_coverage / walk_coverage_alone per tier (spatial.accessibility) and the CandidateSite rows
    (karte.candidates.score_all_candidates). Returns ({tier: frame}, rows stored, demand placement)."""
    from karte.candidates import score_all_candidates
    from karte.siting import SitingInputError, load_inputs
    from spatial.accessibility import coverage_shares, walk_coverage

    try:
        # The demand points the siting uses (placed by the population layer when one is loaded), so
        # walk coverage and the candidates' "not yet reached" elderly count the same people.
        inputs = load_inputs(city, year)
    except SitingInputError as error:
        summary.warnings.append(f"walk coverage skipped: {error}")
        return {}, 0, "centroid"
    demand = inputs.demand
    flags = walk_coverage(demand, inputs.existing, walk_distance_m, crs_metric)
    demand["city_code"] = city.code
    tiers = {
        DISTRICT: coverage_shares(demand, flags["covered"], by="district_code"),
        CITY: coverage_shares(demand, flags["covered"], by="city_code"),
    }
    if frames.ward_codes(city):
        tiers[WARD] = coverage_shares(demand, flags["covered"], by="ward_code")
    stored = score_all_candidates(city, walk_distance_m=walk_distance_m, year=year, inputs=inputs)
    return tiers, stored, inputs.placement


# ------------------------------------------------------------------------------------------------
# Assembly and storage
# ------------------------------------------------------------------------------------------------

def _datasets_json(ids: Iterable[int]) -> list[dict]:
    return [
        {"id": d.id, "source_name": d.source_name, "vintage": d.vintage, "licence": d.licence}
        for d in Dataset.objects.filter(pk__in=set(ids)).order_by("id")
    ]


def _number(value) -> float | None:
    if value is None or value is pd.NA:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class _Rows:
    """Collects IndicatorValue rows; one natural key (tier, area, indicator, year) appears once."""

    def __init__(self, city: City):
        self.city = city
        self.rows: dict[tuple, IndicatorValue] = {}
        self._datasets: dict[frozenset, list[dict]] = {}

    def datasets(self, ids: set[int]) -> list[dict]:
        key = frozenset(ids)
        if key not in self._datasets:
            self._datasets[key] = _datasets_json(ids)
        return self._datasets[key]

    def add_frame(
        self, tier: str, year: int, values: pd.DataFrame, uncertain: pd.DataFrame | None, *,
        method_of: dict[str, str] | str, dataset_ids: set[int], parameters: dict, codes: Iterable[str] | None = None,
    ) -> None:
        codes = [c for c in (values.columns if codes is None else codes) if c in values.columns]
        datasets = self.datasets(dataset_ids)
        for code in codes:
            spec = INDICATORS.get(code)
            column = values[code]
            ranks = compare.rank_descending(column.astype(float)) if tier == DISTRICT else None
            method = method_of if isinstance(method_of, str) else method_of.get(code, "")
            if spec is not None and spec.method_ja:
                method = f"{spec.method_ja}; {method}" if method else spec.method_ja
            for area_code, value in column.items():
                share = None
                if uncertain is not None and code in uncertain.columns and area_code in uncertain.index:
                    share = _number(uncertain.at[area_code, code])
                rank = None
                if ranks is not None:
                    r = ranks.get(area_code)
                    rank = None if r is None or r is pd.NA else int(r)
                self.rows[(tier, str(area_code), code, year)] = IndicatorValue(
                    tier=tier, area_code=str(area_code), city=self.city, indicator=code, year=year,
                    value=_number(value), unit=spec.unit if spec else "", rank=rank, uncertain_share=share,
                    method=method[:300],
                    inputs={"datasets": datasets, "year": year, "method_id": METHOD_ID, "parameters": parameters},
                )


def compute_city(city: City, *, year: int | None = None, walk_distance_m: float = 500) -> CitySummary:
    """Compute and store every indicator of one city (see the module docstring)."""
    started = time.perf_counter()
    summary = CitySummary(city=city.code)
    crs_metric = city.projected_srid or settings.KARTE_DEFAULT_PROJECTED_SRID
    districts = frames.districts_frame(city)
    if districts.empty:
        summary.warnings.append("no school districts loaded: nothing computed")
        return summary
    districts_metric = districts.to_crs(crs_metric)
    district_dataset_ids = {int(d) for d in districts["dataset_id"].dropna().unique()}
    summary.districts = len(districts)

    has_wards = bool(frames.ward_codes(city))
    loaded_years = frames.census_years(city)
    if year is not None and year not in loaded_years:
        summary.warnings.append(f"census year {year} not loaded (loaded: {loaded_years})")
    wanted = [y for y in loaded_years if year is None or y in (year, year - 5)]
    census: dict[int, CensusYear] = {}
    for y in wanted:
        figures = _census_year(city, y, districts_metric, crs_metric, has_wards)
        if figures is not None:
            census[y] = figures
            summary.imputed_cells[y] = figures.imputed_cells
    store_years = [y for y in census if year is None or y == year]
    summary.years = store_years

    resources, resource_dataset_ids, resource_parameters = _resource_tiers(city, districts_metric, crs_metric, summary)
    rows = _Rows(city)
    base_parameters = {"crs_metric": crs_metric, "allocate_total": True,
                       "suppressed": "impute", "impute_group": "ward (city_code)" if has_wards else "city (city_code)"}

    for y in store_years:
        this = census[y]
        interpolation_parameters = dict(base_parameters, weights=this.weights)
        census_ids = this.dataset_ids | district_dataset_ids
        isolation_frame = isolation_uncertain = None
        for tier, figures in this.tiers.items():
            tier_resources = (resources[tier] if tier in resources else pd.DataFrame()).reindex(figures.values.index)
            counts = pd.concat([figures.values, tier_resources], axis=1)
            uncertain = pd.concat(
                [figures.uncertain, pd.DataFrame(0.0, index=tier_resources.index, columns=tier_resources.columns)],
                axis=1,
            )
            ratios = derived_indicators(counts)
            ratio_uncertain = derived_uncertainty(uncertain, counts)
            tier_method = this.method if tier == DISTRICT else (
                "小地域の値を区・市で合計(秘匿値は区の比率で補完)" if has_wards else "小地域の値を市で合計(秘匿値は市の比率で補完)")
            rows.add_frame(tier, y, figures.values, figures.uncertain, method_of=tier_method,
                           dataset_ids=census_ids, parameters=interpolation_parameters)
            rows.add_frame(tier, y, tier_resources, None, method_of="資源の地点を地域に割当て",
                           dataset_ids=resource_dataset_ids | district_dataset_ids, parameters=resource_parameters)
            census_ratio_codes = [c for c in ratios.columns if all(
                m in figures.values.columns for m in INDICATORS[c].numerator + INDICATORS[c].denominator)]
            rows.add_frame(tier, y, ratios, ratio_uncertain, method_of=tier_method, dataset_ids=census_ids,
                           parameters=interpolation_parameters, codes=census_ratio_codes)
            rows.add_frame(tier, y, ratios, ratio_uncertain, method_of="資源の数・面積 ÷ 国勢調査の値",
                           dataset_ids=census_ids | resource_dataset_ids, parameters=resource_parameters,
                           codes=[c for c in ratios.columns if c not in census_ratio_codes])
            previous = census.get(y - 5)
            if previous is not None:
                previous_counts = previous.tiers[tier].values
                delta = changes(ratios, derived_indicators(previous_counts), RATE_CODES)
                rows.add_frame(tier, y, delta, None, method_of=f"{y - 5}年→{y}年", parameters=interpolation_parameters,
                               dataset_ids=census_ids | previous.dataset_ids)
                try:
                    projection = project(previous_counts, figures.values, launch_year=y, horizon=max(PROJECTION_YEARS),
                                         extra_years=PROJECTION_YEARS)
                except KeyError as error:
                    summary.warnings.append(f"projection skipped ({tier}): {error}")
                else:
                    projected = pd.DataFrame(
                        {f"ageing_rate_{target}": projection.ageing_rate(target) for target in PROJECTION_YEARS}
                    )
                    spread = ratio_uncertain.get("ageing_rate", pd.Series(0.0, index=projected.index))
                    projected_uncertain = pd.DataFrame({c: spread for c in projected.columns})
                    rows.add_frame(tier, y, projected, projected_uncertain, method_of=projection.method[:200],
                                   dataset_ids=census_ids | previous.dataset_ids,
                                   parameters={"base_year": y - 5, "launch_year": y, "min_base": 20})
            if tier == DISTRICT:
                isolation_frame, isolation_uncertain = ratios, ratio_uncertain

        if isolation_frame is not None:
            weights = isolation.used_weights(isolation_frame)
            index = isolation.isolation_index(isolation_frame)
            components = [c for c in weights]
            # The index is as uncertain as its most uncertain component (all census ratios).
            spread = isolation_uncertain[[c for c in components if c in isolation_uncertain]].max(axis=1) \
                if components else pd.Series(0.0, index=index.index)
            rows.add_frame(DISTRICT, y, index.to_frame(), spread.rename("isolation_index").to_frame(),
                           method_of="zスコア加重: " + ", ".join(f"{c}×{w:.2f}" for c, w in weights.items()),
                           dataset_ids=census_ids, parameters={"weights": weights})

    if store_years:
        latest = max(store_years)
        coverage, summary.candidate_sites, placement = _walk_coverage(
            city, latest, walk_distance_m, crs_metric, summary
        )
        for tier, shares in coverage.items():
            shares = shares.loc[[i for i in shares.index if isinstance(i, str) and i]]
            rows.add_frame(
                tier, latest, shares[["walk_coverage", "walk_coverage_alone"]],
                pd.DataFrame({"walk_coverage": shares["uncertain_share"], "walk_coverage_alone": shares["uncertain_share"]}),
                method_of=f"集いの場から直線{walk_distance_m:g}m以内に住む割合(需要点: {placement})",
                dataset_ids=census[latest].dataset_ids | resource_dataset_ids | district_dataset_ids,
                parameters={"walk_distance_m": walk_distance_m, "distance": "straight line", "demand": placement,
                            "gathering_kinds": sorted(str(k) for k in GATHERING_PLACE_KINDS)},
            )

    values = list(rows.rows.values())
    codes = sorted({v.indicator for v in values})
    with transaction.atomic():
        IndicatorValue.objects.filter(city=city, year__in=store_years, indicator__in=codes).delete()
        IndicatorValue.objects.bulk_create(values, batch_size=2000)
    summary.values_stored = len(values)
    summary.indicators = len(codes)
    summary.seconds = round(time.perf_counter() - started, 2)
    logger.info("compute_all %s: %s values, %s indicators", city.code, len(values), len(codes))
    return summary

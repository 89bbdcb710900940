"""ひろば siting as a service: read the database into GeoDataFrames, call :mod:`spatial.siting`, and
persist a :class:`~karte.models.SitingRun`.

Demand is the latest census year's 65+ and 65+ living alone per small area (or the year asked for),
placed by :func:`spatial.demand.demand_points`, dasymetrically where a population layer exists: at
population-raster cells (a ``RasterLayer`` of kind population); else over the pieces of each small area
cut by the 地域メッシュ統計 cells (``AreaStatistic`` ``pop_total`` by mesh code), each piece weighted
by the cell's population density × the piece's area; else at each area's representative point, split
by school district where an area straddles two. An area with no populated piece falls back to its
representative point. Suppressed counts are unknown and
weigh nothing in the optimisation; the run's ``method`` says how many areas that concerns.
Existing gathering places (``GATHERING_PLACE_KINDS``) anywhere in the city count, also across a
ward boundary: people near the boundary walk to the neighbouring ward.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
from django.db import transaction
from django.utils.translation import gettext_noop

from karte.layers import frames
from karte.layers import ParameterError, lookups
from karte.models import (
    GATHERING_PLACE_KINDS, CensusArea, CensusFigure, City, Resource, ResourceKind, SitingRun, Ward,
)
from spatial.demand import ELDERLY_ALONE_VARIABLE, ELDERLY_VARIABLE, POPULATION_VARIABLE, demand_points
from spatial.siting import ALONE_WEIGHT, choose_sites


# Resources that could become a new ひろば: every kind not already a gathering place, except "other".
DEFAULT_CANDIDATE_KINDS: tuple[str, ...] = tuple(
    kind.value for kind in ResourceKind if kind not in GATHERING_PLACE_KINDS and kind != ResourceKind.OTHER
)
WEB_SRID = 4326


class SitingInputError(ParameterError):
    """The database lacks what a siting run needs (census year, small areas), or a parameter is off."""


@dataclass
class Inputs:
    """What a siting run reads from the database, as frames in EPSG:6668 (storage CRS)."""

    city: City
    year: int
    demand: gpd.GeoDataFrame
    existing: gpd.GeoDataFrame
    placement: str
    unknown_areas: int


def validate_kinds(kinds: Iterable[str] | None) -> list[str]:
    """The candidate kinds asked for (checked), or every kind that could become a new ひろば."""
    return lookups.validate_kinds(kinds, parameter="kinds") or list(DEFAULT_CANDIDATE_KINDS)


def latest_census_year(city: City) -> int:
    year = (CensusFigure.objects.filter(variable=ELDERLY_VARIABLE,
                                        key_code__in=CensusArea.objects.filter(city_code__in=frames.census_area_codes(city))
                                        .values("key_code"))
            .order_by("-census_year").values_list("census_year", flat=True).first())
    if year is None:
        raise SitingInputError(f"no census figures ({ELDERLY_VARIABLE}) for the small areas of {city.code} {city.name_ja}")
    return int(year)


def load_inputs(city: City | str, year: int | None = None, with_districts: bool = True) -> Inputs:
    """Demand points and existing gathering places of ``city`` for census ``year`` (latest if None).

    With ``with_districts`` (default) every point carries its school district, and without a
    population layer areas straddling districts are split by area share, as ``karte.compute`` does
    for the walk_coverage indicators.
    """
    city = lookups.resolve_city(city, default_first=True)
    year = year or latest_census_year(city)
    areas = frames.census_areas_frame(city, year)
    if len(areas) == 0:
        raise SitingInputError(f"no census small areas of {year} for {city.code} {city.name_ja}")
    figures = frames.census_figures_frame(
        city, year, variables=[ELDERLY_VARIABLE, ELDERLY_ALONE_VARIABLE, POPULATION_VARIABLE])
    weights = frames.population_weights(year, city.projected_srid, city)
    raster, mesh, placement = weights.raster, weights.mesh, weights.label
    districts = frames.districts_frame(city) if with_districts else None
    demand = demand_points(areas, figures, districts=districts if districts is not None and len(districts) else None,
                           population_raster=raster, residential=mesh,
                           residential_weight_column="density" if mesh is not None else None,
                           crs_metric=city.projected_srid)
    unknown_areas = int(demand.loc[~demand["elderly_known"], "key_code"].nunique())
    existing = frames.resources_frame(city, sorted(GATHERING_PLACE_KINDS))
    # Keep the ward code of each point for ward runs.
    code_by_key = dict(zip(areas["key_code"].astype(str), areas["city_code"].astype(str))) \
        if "city_code" in areas.columns else {}
    demand["ward_code"] = demand["key_code"].map(code_by_key)
    return Inputs(city=city, year=year, demand=demand, existing=existing, placement=placement,
                  unknown_areas=unknown_areas)


def _demand_in_ward(demand: gpd.GeoDataFrame, ward: Ward) -> pd.Series:
    """Demand points of ``ward``: by their census area's ward code where known, else by location."""
    codes = demand["ward_code"]
    if codes.eq(ward.code).any():
        return codes.eq(ward.code)
    if ward.geom is not None:
        return demand.geometry.within(frames.shapely_from_geos(ward.geom))
    raise SitingInputError(f"ward {ward.code} has neither census small areas nor a boundary to select by")


def run_siting(city: City | str, ward: Ward | str | None = None, kinds: Iterable[str] | None = None,
               walk_distance_m: float = 500, k: int = 5, solver: str = "greedy", year: int | None = None,
               alone_weight: float = ALONE_WEIGHT, progress: Callable[[float, str], None] | None = None,
               time_limit_s: float = 600.0, created_by=None) -> SitingRun:
    """Choose up to ``k`` candidate sites of ``kinds`` (in ``ward`` if given) and save the run.

    ``walk_distance_m`` is a straight-line distance in metres in the city's projected CRS.
    ``progress(percent, message)`` is told each stage (a background job's progress; the messages are
    Japanese msgids for the job status to translate); ``time_limit_s`` caps the exact solver, which then
    returns its best solution so far with its gap.
    ``chosen`` of the saved run lists, in the order chosen, ``{resource_id, name, kind, address,
    newly_covered (weighted persons), elderly, elderly_alone (persons newly within reach), lon, lat
    (EPSG:4326)}``.
    """
    city = lookups.resolve_city(city, default_first=True)
    ward = lookups.resolve_ward(ward, city)
    kinds = validate_kinds(kinds)
    if k < 1:
        raise SitingInputError(f"k must be at least 1, got {k}", "k")
    if solver not in ("greedy", "exact"):
        raise SitingInputError(f"solver must be 'greedy' or 'exact', got {solver!r}", "solver")
    report = progress or (lambda percent, message: None)
    report(5, gettext_noop("需要点と既存の居場所を読み込んでいます"))
    inputs = load_inputs(city, year)
    demand = inputs.demand
    report(35, gettext_noop("候補地を読み込んでいます"))
    candidates = frames.resources_frame(city, kinds)
    if ward is not None:
        demand = demand[_demand_in_ward(demand, ward).to_numpy()]
        if ward.geom is not None:
            candidates = candidates[candidates.geometry.within(frames.shapely_from_geos(ward.geom)).to_numpy()]
        else:
            candidates = candidates[candidates["id"].isin(
                list(Resource.objects.filter(district__ward=ward).values_list("id", flat=True)))]
    report(45, gettext_noop("配置を最適化しています"))
    result = choose_sites(demand, candidates, k, walk_distance_m, solver=solver, existing=inputs.existing,
                          alone_weight=alone_weight, crs_metric=city.projected_srid, id_column="id",
                          time_limit_s=time_limit_s)
    report(90, gettext_noop("結果を保存しています"))
    by_id = candidates.set_index("id")
    web = by_id.geometry.to_crs(WEB_SRID) if len(by_id) else by_id.geometry
    chosen = []
    for resource_id, gain, elderly, alone in zip(result.chosen, result.newly_covered, result.chosen_elderly,
                                                 result.chosen_alone):
        point = web.loc[resource_id]
        chosen.append({
            "resource_id": int(resource_id), "name": by_id.at[resource_id, "name"], "kind": by_id.at[resource_id, "kind"],
            "address": by_id.at[resource_id, "address"] or "",
            "newly_covered": round(gain, 3), "elderly": round(elderly, 3), "elderly_alone": round(alone, 3),
            "lon": round(point.x, 7), "lat": round(point.y, 7),
        })
    scope = f"{ward.name_ja} ({ward.code})" if ward else f"{city.name_ja} ({city.code})"
    method = (f"{result.method}; census {inputs.year}, {inputs.placement} points, {scope}; "
              f"{len(candidates)} candidates; {inputs.unknown_areas} areas with 65+ suppressed (weight 0)")
    with transaction.atomic():
        run = SitingRun.objects.create(
            city=city, ward=ward, candidate_kinds=kinds, walk_distance_m=int(round(walk_distance_m)), k=k,
            solver=solver, demand_total=result.demand_total, covered_before=result.covered_before,
            covered_after=result.covered_after, gap=result.gap, chosen=chosen, runtime_s=result.runtime_s,
            method=method[:300], created_by=created_by,
        )
    return run

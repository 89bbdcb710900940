"""Database → GeoDataFrames: the one bridge through which spatial work reads the database — the
compute step (``karte.compute``, ``karte.siting``, ``karte.candidates``), the read side's own area
karte and data report, and the notebooks.

Below the rest of the read side: it imports only the models, :mod:`.lookups` (the one city lookup)
and :mod:`.encoding`, so the write side can read through it without reaching the pages' layers.

Every frame comes in the storage CRS, JGD2011 geographic (EPSG:6668, lon/lat degrees); the spatial
core reprojects to the city's ``projected_srid`` (EPSG:6677 for Kawasaki) for metric work.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely
from django.conf import settings
from django.db.models import Q

from karte.layers.encoding import shapely_from_geos
from karte.layers.lookups import resolve_city
from karte.models import (STORAGE_SRID, AreaStatistic, CensusArea, CensusFigure, City, District, RasterLayer,
                          Resource, Ward)

logger = logging.getLogger(__name__)


def _city(city: City | str | None) -> City:
    """The city named (instance or JIS code), or the only / first loaded one (the one lookup)."""
    return resolve_city(city, default_first=True)


def _geometries(values: Iterable) -> list:
    return [None if g is None else shapely_from_geos(g) for g in values]


def _frame(rows: list[dict], geometry_key: str = "geom") -> gpd.GeoDataFrame:
    data = pd.DataFrame(rows)
    if data.empty:
        return gpd.GeoDataFrame(data, geometry=[], crs=STORAGE_SRID)
    geometry = _geometries(data.pop(geometry_key))
    return gpd.GeoDataFrame(data, geometry=geometry, crs=STORAGE_SRID)


def ward_codes(city: City | str | None = None) -> list[str]:
    """The JIS codes of the city's wards (5 digits)."""
    return list(Ward.objects.filter(city=_city(city)).values_list("code", flat=True))


def districts_frame(city: City | str | None = None) -> gpd.GeoDataFrame:
    """School districts: ``code, name_ja, name_romaji, ward_code, ward_name_ja, dataset_id, geometry``
    (EPSG:6668), ordered by code."""
    city = _city(city)
    rows = list(
        District.objects.filter(city=city).order_by("code").values(
            "id", "code", "name_ja", "name_romaji", "ward__code", "ward__name_ja", "dataset_id", "geom",
        )
    )
    for row in rows:
        row["ward_code"] = row.pop("ward__code")
        row["ward_name_ja"] = row.pop("ward__name_ja")
    frame = _frame(rows)
    if frame.empty:
        return gpd.GeoDataFrame(
            columns=["id", "code", "name_ja", "name_romaji", "ward_code", "ward_name_ja", "dataset_id"],
            geometry=[], crs=STORAGE_SRID,
        )
    return frame


def wards_frame(city: City | str | None = None) -> gpd.GeoDataFrame:
    """Wards: ``code, name_ja, geometry`` (EPSG:6668; geometry may be None when not loaded)."""
    rows = list(Ward.objects.filter(city=_city(city)).order_by("code").values("code", "name_ja", "geom"))
    if not rows:
        return gpd.GeoDataFrame(columns=["code", "name_ja"], geometry=[], crs=STORAGE_SRID)
    return _frame(rows)


def census_area_codes(city: City) -> list[str]:
    """The codes a city's small areas carry as ``city_code``: the city's and its wards'."""
    return [city.code, *ward_codes(city)]


def census_areas_frame(city: City | str | None = None, year: int | None = None) -> gpd.GeoDataFrame:
    """Census small areas of one census year: ``key_code, name_ja, city_code`` (ward JIS code),
    ``hcode``, ``area_m2``, ``census_year``, ``dataset_id``, geometry (EPSG:6668). Without ``year``:
    the latest census year loaded."""
    city = _city(city)
    areas = CensusArea.objects.filter(city_code__in=census_area_codes(city))
    if year is None:
        year = areas.order_by("-census_year").values_list("census_year", flat=True).first()
    rows = list(
        areas.filter(census_year=year).order_by("key_code").values(
            "key_code", "name_ja", "city_code", "hcode", "area_m2", "census_year", "dataset_id", "geom",
        )
    )
    if not rows:
        return gpd.GeoDataFrame(
            columns=["key_code", "name_ja", "city_code", "hcode", "area_m2", "census_year", "dataset_id"],
            geometry=[], crs=STORAGE_SRID,
        )
    return _frame(rows)


def census_years(city: City | str | None = None) -> list[int]:
    """Census years with small areas loaded for the city, ascending."""
    city = _city(city)
    return sorted(set(
        CensusArea.objects.filter(city_code__in=census_area_codes(city)).values_list("census_year", flat=True)
    ))


def census_figures_frame(
    city: City | str | None = None, year: int | None = None, variables: Iterable[str] | None = None
) -> pd.DataFrame:
    """Tidy census figures: ``key_code, variable, value, status, merged_into, dataset_id`` for the
    city's small areas of ``year`` (latest loaded without it). Suppressed cells have value NaN."""
    city = _city(city)
    keys = CensusArea.objects.filter(city_code__in=census_area_codes(city))
    if year is None:
        year = keys.order_by("-census_year").values_list("census_year", flat=True).first()
    keys = keys.filter(census_year=year).values_list("key_code", flat=True)
    figures = CensusFigure.objects.filter(census_year=year, key_code__in=list(keys))
    if variables is not None:
        figures = figures.filter(variable__in=list(variables))
    columns = ["key_code", "variable", "value", "status", "merged_into", "dataset_id"]
    frame = pd.DataFrame(list(figures.values_list(*columns)), columns=columns)
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce").astype(float)
    return frame


def resources_frame(city: City | str | None = None, kinds: Iterable[str] | None = None) -> gpd.GeoDataFrame:
    """Resources: ``id, kind, name, address, is_public, area_m2, district_code, dataset_id, source_key``,
    geometry = the resource's location point (EPSG:6668)."""
    city = _city(city)
    # Resources loaded without a city link are kept: the spatial core locates them in districts.
    resources = Resource.objects.filter(Q(city=city) | Q(city__isnull=True))
    if kinds is not None:
        resources = resources.filter(kind__in=[str(k) for k in kinds])
    rows = list(resources.order_by("id").values(
        "id", "kind", "name", "address", "is_public", "area_m2", "district__code", "dataset_id", "source_key",
        "location",
    ))
    for row in rows:
        row["district_code"] = row.pop("district__code")
    if not rows:
        return gpd.GeoDataFrame(
            columns=["id", "kind", "name", "address", "is_public", "area_m2", "district_code", "dataset_id",
                     "source_key"],
            geometry=[], crs=STORAGE_SRID,
        )
    return _frame(rows, geometry_key="location")


def raster_layer(kind: str, city: City | None = None) -> RasterLayer | None:
    """The most recently loaded raster layer of a kind (``hazard``, ``population`` …), or None; with
    ``city``, the most recent one covering part of it (another city's flood raster says nothing
    about this one: a hazard share of 0 from it would claim no risk where none was measured)."""
    layers = RasterLayer.objects.filter(kind=kind).order_by("-id")
    if city is None or city.geom is None:
        return layers.first()
    area = shapely_from_geos(city.geom)
    for layer in layers:
        if len(layer.bounds or ()) != 4:
            return layer  # bounds unknown: cannot tell, keep the old behaviour
        covered = gpd.GeoSeries([shapely.box(*layer.bounds)], crs=layer.crs).to_crs(STORAGE_SRID).iloc[0]
        if covered.intersects(area):
            return layer
    return None


def raster_path(layer: RasterLayer) -> Path | None:
    """Where a raster layer's file is: its path as stored, or relative to the raster folder, the
    fixtures or the project; None when the file is missing."""
    candidates = [Path(layer.path)]
    if not candidates[0].is_absolute():
        candidates = [Path(settings.KARTE_RASTER_DIR) / layer.path, Path(settings.KARTE_FIXTURES_DIR) / layer.path,
                      Path(settings.BASE_DIR) / layer.path]
    return next((p for p in candidates if p.exists()), None)


@dataclass(frozen=True)
class PopulationWeights:
    """Where people live inside small areas, when a layer says so: a population raster (path), or
    地域メッシュ統計 cells (polygons in the metric CRS with ``population`` and ``density`` per m²).
    ``label`` says which (``centroid`` when neither is loaded); ``dataset_ids`` its sources."""

    raster: Path | None = None
    mesh: gpd.GeoDataFrame | None = None
    label: str = "centroid"
    dataset_ids: frozenset[int] = frozenset()


def population_weights(year: int, crs_metric: int, city: City | None = None) -> PopulationWeights:
    """The population layer for dasymetric work: a loaded population raster whose file is present,
    else the finest loaded 地域メッシュ population for ``year`` (or the latest), else none. With
    ``city``, only a raster covering it and the mesh cells of its 1次メッシュ (another city's layers
    would only enter the provenance)."""
    layer = raster_layer(RasterLayer.Kind.POPULATION, city)
    if layer is not None:
        path = raster_path(layer)
        if path is not None:
            return PopulationWeights(raster=path, label=f"raster {layer.name}",
                                     dataset_ids=frozenset({layer.dataset_id} if layer.dataset_id else ()))
        logger.warning("population raster %s: file %s missing; falling back to mesh statistics or centroids",
                       layer.name, layer.path)
    mesh, label, dataset_ids = _mesh_population(year, crs_metric, city)
    if mesh is None:
        return PopulationWeights()
    return PopulationWeights(mesh=mesh, label=label, dataset_ids=dataset_ids)


def _mesh_population(year: int, crs_metric: int, city: City | None = None
                     ) -> tuple[gpd.GeoDataFrame | None, str, frozenset[int]]:
    from loaders.mesh import MESH_LEVELS, mesh1_codes, mesh_polygons

    rows = AreaStatistic.objects.filter(variable="pop_total", value__gt=0, area_code__regex=r"^[0-9]{8,11}$")
    if city is not None and city.geom is not None:
        within = Q()
        for code in mesh1_codes(shapely_from_geos(city.geom)):
            within |= Q(area_code__startswith=code)
        rows = rows.filter(within)
    years = sorted(set(rows.values_list("year", flat=True)))
    if not years:
        return None, "", frozenset()
    chosen_year = year if year in years else years[-1]
    cells = pd.DataFrame(list(rows.filter(year=chosen_year).values_list("area_code", "value", "dataset_id")),
                         columns=["mesh_code", "population", "dataset_id"])
    # One mesh level only: the finest loaded.
    level = max(len(code) for code in cells["mesh_code"] if len(code) in MESH_LEVELS)
    cells = cells[cells["mesh_code"].str.len() == level]
    # jismesh calls the removed np.asscalar when given one code, so a lone cell is asked for twice.
    codes = list(cells["mesh_code"]) * (2 if len(cells) == 1 else 1)
    polygons = mesh_polygons(codes, crs=6668).iloc[:len(cells)].to_crs(crs_metric)
    polygons["population"] = cells["population"].to_numpy(dtype=float)
    polygons["density"] = polygons["population"] / polygons.geometry.area.to_numpy()
    dataset_ids = frozenset(int(d) for d in cells["dataset_id"].dropna().unique())
    return polygons, f"mesh {chosen_year} ({level}-digit)", dataset_ids

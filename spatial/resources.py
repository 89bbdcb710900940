"""Resource, park, vacant-house and hazard figures per area (district, ward or city polygon).

Everything here returns **counts and areas** (persons are not needed): resources by kind, park
area (m²), vacant houses, the area itself (m², km²) and the area in the hazard zone (m²). The
ratio indicators (per 1,000 elderly, m² per person, per km², per 100 households, % of area) are
then computed from summed counts by :func:`spatial.indicators.derived_indicators`, so the same
figures serve all three tiers. Geometry work happens in a projected CRS in metres (``crs_metric``,
EPSG:6677 for Kawasaki); inputs in another CRS are reprojected.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from spatial.indicators import RESOURCE_KINDS
from spatial.interpolation import raster_cells
from spatial.overlap_area import overlap_areas

PARK_KINDS = frozenset({"park"})
VACANT_KINDS = frozenset({"vacant_house"})


def locate_points(areas: gpd.GeoDataFrame, points: gpd.GeoDataFrame) -> np.ndarray:
    """Position (0-based row) of the area each point lies in (boundary counts as in), −1 if none.

    A point on a boundary shared by two areas goes to the first of them, so no point is counted
    twice. Both frames must share a CRS.
    """
    if len(points) == 0:
        return np.empty(0, dtype=np.int64)
    if areas.crs is not None and points.crs is not None and not areas.crs.equals(points.crs):
        points = points.to_crs(areas.crs)
    tree = shapely.STRtree(np.asarray(areas.geometry.values, dtype=object))
    point_pos, area_pos = tree.query(np.asarray(points.geometry.values, dtype=object), predicate="intersects")
    located = np.full(len(points), -1, dtype=np.int64)
    order = np.lexsort((area_pos, point_pos))
    point_pos, area_pos = point_pos[order], area_pos[order]
    first = np.r_[True, point_pos[1:] != point_pos[:-1]] if len(point_pos) else np.empty(0, dtype=bool)
    located[point_pos[first]] = area_pos[first]
    return located


def hazard_area_m2(
    areas: gpd.GeoDataFrame, raster: str | Path, threshold: float, *, band: int = 1
) -> np.ndarray:
    """Area (m²) of each polygon covered by raster cells with value ``>= threshold`` (e.g. flood
    depth ≥ 0.5 m). ``areas`` must be in a projected CRS in metres; the cells are reprojected to it
    when the raster uses another CRS. Cells outside the raster count as not in the zone."""
    if areas.crs is None or not areas.crs.is_projected:
        raise ValueError("hazard_area_m2 needs areas in a projected CRS in metres (e.g. EPSG:6677)")
    cells = raster_cells(raster, band=band, keep="threshold", threshold=threshold)
    if len(cells) == 0:
        return np.zeros(len(areas))
    if cells.crs is not None and not cells.crs.equals(areas.crs):
        cells = cells.to_crs(areas.crs)
    area_geoms = np.asarray(areas.geometry.values, dtype=object)
    cell_geoms = np.asarray(cells.geometry.values, dtype=object)
    # Cells in the zone do not overlap, so a polygon's hazard area is the sum of its overlaps.
    cell_pos, area_pos = shapely.STRtree(area_geoms).query(cell_geoms)
    # Each small cell as the "source": the kernel loops over its 4 edges per edge of the polygon.
    overlap = overlap_areas(cell_geoms, area_geoms, cell_pos, area_pos)
    return np.bincount(area_pos, weights=overlap, minlength=len(areas))


def resource_counts(
    areas: gpd.GeoDataFrame,
    resources: gpd.GeoDataFrame,
    *,
    crs_metric: int | str = 6677,
    kinds: Iterable[str] | None = None,
    counted_in_total: Iterable[str] | None = None,
    hazard_raster: str | Path | None = None,
    hazard_threshold: float | None = None,
) -> pd.DataFrame:
    """Counts and areas per polygon of ``areas`` (index kept).

    ``resources``: points (``geometry`` = a point on the resource) with columns ``kind`` and
    ``area_m2`` (m², used for parks). Columns returned: ``resources_<kind>`` for every kind (0 when
    none), ``resources_total`` (the kinds in ``counted_in_total``; default all), ``park_area_m2``
    (m², sum of ``area_m2`` of parks located in the area), ``vacant_houses``, ``area_m2``,
    ``area_km2`` and, with a hazard raster and threshold, ``hazard_area_m2``.
    """
    metric = areas.to_crs(crs_metric)
    kinds = list(RESOURCE_KINDS) if kinds is None else list(kinds)
    counted = set(kinds if counted_in_total is None else counted_in_total)
    result = pd.DataFrame(index=areas.index)
    n = len(areas)
    if len(resources):
        located = locate_points(metric, resources.to_crs(crs_metric))
        inside = located >= 0
        resource_kinds = resources["kind"].astype(str).to_numpy()
        park_area = pd.to_numeric(resources.get("area_m2", pd.Series(np.nan, index=resources.index)),
                                  errors="coerce").fillna(0.0).to_numpy()
    else:
        located = np.empty(0, dtype=np.int64)
        inside = np.empty(0, dtype=bool)
        resource_kinds = np.empty(0, dtype=object)
        park_area = np.empty(0)
    for kind in kinds:
        mask = inside & (resource_kinds == kind)
        result[f"resources_{kind}"] = np.bincount(located[mask], minlength=n).astype(float)
    total_mask = inside & np.isin(resource_kinds, list(counted))
    result["resources_total"] = np.bincount(located[total_mask], minlength=n).astype(float)
    park_mask = inside & np.isin(resource_kinds, list(PARK_KINDS))
    result["park_area_m2"] = np.bincount(located[park_mask], weights=park_area[park_mask], minlength=n)
    vacant_mask = inside & np.isin(resource_kinds, list(VACANT_KINDS))
    result["vacant_houses"] = np.bincount(located[vacant_mask], minlength=n).astype(float)
    area = shapely.area(np.asarray(metric.geometry.values, dtype=object))
    result["area_m2"] = area
    result["area_km2"] = area / 1e6
    if hazard_raster is not None and hazard_threshold is not None:
        result["hazard_area_m2"] = hazard_area_m2(metric, hazard_raster, hazard_threshold)
    return result

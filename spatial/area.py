"""Census counts for one arbitrary area (a set of small areas, a drawn polygon, a walking circle).

The district tier apportions every small area to every district at once
(:func:`spatial.interpolation.area_interpolate`); a user's own area is one polygon, and the question
is narrower: which share of each small area's count lies inside it. Two steps, pure (no Django):

1. :func:`overlap_fractions` — per small area, the share of its count inside the polygon: by land
   area, or dasymetrically by where people live (地域メッシュ population cells or a population
   raster, the layers :mod:`spatial.interpolation` uses). A small area lying wholly inside gives
   exactly 1.0 (no floating-point overlap sum), so an area made of whole small areas gets exactly
   their sum; one wholly outside gives 0.
2. :func:`apportion` — the counts: suppressed cells (秘匿) are first filled by the parent's share
   (:func:`spatial.interpolation.impute_suppressed`, the rule the district tier uses, over the
   parent areas given), then ``Σ fraction × count``; each count carries the share of it resting on
   imputed cells.

Units: geometries in one projected CRS in metres (the city's plane rectangular zone, e.g. EPSG:6677);
areas in m²; counts in persons or households.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry

from .interpolation import cell_mass, impute_suppressed, raster_mass

METHOD_WHOLE = "whole"
METHOD_AREA = "area"
METHOD_DASYMETRIC = "dasymetric"
# Below this share a small area only touches the polygon along a boundary (digitising noise).
SLIVER_FRACTION = 1e-9


@dataclass
class Fractions:
    """Per small area (same order as given): share of its count inside the polygon (0–1), and how
    it was measured: ``method`` is ``whole`` (every area wholly inside or outside), ``area`` (land
    area) or ``dasymetric`` (by the population layer named ``weight_name``)."""

    values: np.ndarray
    method: str
    weight_name: str = ""

    @property
    def whole(self) -> int:
        return int((self.values == 1.0).sum())

    @property
    def partial(self) -> int:
        return int(((self.values > 0) & (self.values < 1.0)).sum())


def overlap_fractions(
    areas: gpd.GeoSeries | np.ndarray,
    polygon: BaseGeometry,
    *,
    weight_cells: gpd.GeoDataFrame | None = None,
    weight_cells_value: str = "population",
    weight_raster: str | Path | None = None,
    weight_name: str = "",
    crs: object = None,
) -> Fractions:
    """The share of each small area (polygons in metres) lying inside ``polygon`` (same CRS).

    Areas wholly inside (``contains``) are exactly 1.0, areas not meeting it 0.0; for the rest the
    share of their land area, or with ``weight_cells`` (polygons carrying an amount, e.g. 地域メッシュ
    population; ``crs`` is the areas' CRS) or ``weight_raster`` (a GeoTIFF) the share of their
    population mass inside — an area whose cells hold no one falls back to land area.
    """
    geoms = np.asarray(areas.values if isinstance(areas, gpd.GeoSeries) else areas, dtype=object)
    if crs is None and isinstance(areas, gpd.GeoSeries):
        crs = areas.crs
    fractions = np.zeros(len(geoms))
    if len(geoms) == 0:
        return Fractions(fractions, METHOD_WHOLE)
    shapely.prepare(polygon)
    inside = shapely.contains(polygon, geoms)
    meeting = shapely.intersects(polygon, geoms)
    fractions[inside] = 1.0
    cut = np.flatnonzero(meeting & ~inside)
    if len(cut) == 0:
        return Fractions(fractions, METHOD_WHOLE)
    pieces = shapely.intersection(geoms[cut], polygon)
    own = shapely.area(geoms[cut])
    share = np.divide(shapely.area(pieces), own, out=np.zeros(len(cut)), where=own > 0)
    method = METHOD_AREA
    if weight_cells is not None or weight_raster is not None:
        if weight_cells is not None:
            mass_in = cell_mass(pieces, crs, weight_cells, value=weight_cells_value)
            mass_all = cell_mass(geoms[cut], crs, weight_cells, value=weight_cells_value)
        else:
            mass_in = raster_mass(pieces, crs, weight_raster)
            mass_all = raster_mass(geoms[cut], crs, weight_raster)
        has_mass = mass_all > 0
        share = np.where(has_mass, np.divide(mass_in, mass_all, out=np.zeros(len(cut)), where=has_mass), share)
        method = METHOD_DASYMETRIC
    share = np.clip(share, 0.0, 1.0)
    share[share < SLIVER_FRACTION] = 0.0
    fractions[cut] = share
    if not ((share > 0) & (share < 1.0)).any():
        method = METHOD_WHOLE  # only touching along an edge: nothing was apportioned
    return Fractions(fractions, method, weight_name if method == METHOD_DASYMETRIC else "")


@dataclass
class Apportionment:
    """Counts of one area: ``counts`` (variable → persons/households; NaN where an unknown cell
    that could not be imputed contributes), ``uncertain_share`` (variable → 0–1 share resting on
    imputed cells), ``contributing`` (small-area key → fraction, for those with a fraction > 0)."""

    counts: pd.Series
    uncertain_share: pd.Series
    contributing: pd.Series
    imputed_cells: int


def apportion(
    values: pd.DataFrame,
    fractions: Mapping[str, float] | pd.Series,
    *,
    area_m2: np.ndarray | pd.Series | None = None,
    groups: np.ndarray | pd.Series | None = None,
) -> Apportionment:
    """``Σ fraction × count`` over small areas, suppressed cells imputed first.

    ``values``: one row per small area (index: key code) of the parents the imputation reads (the
    area's own small areas and their ward-mates), one column per count variable, NaN = suppressed.
    ``fractions``: key → share inside the area (keys missing count 0). ``area_m2`` (same order as
    ``values``) and ``groups`` (the parent, e.g. ward code) feed the imputation rule of the district
    tier (:func:`spatial.interpolation.impute_suppressed`).
    """
    share = pd.Series(fractions, dtype=float).reindex(values.index).fillna(0.0).to_numpy()
    if area_m2 is None:
        area_m2 = np.ones(len(values))
    filled, imputed = impute_suppressed(values, area_m2=np.asarray(area_m2, dtype=float),
                                        groups=None if groups is None else np.asarray(groups))
    used = share > 0
    filled_used = filled.to_numpy(dtype=float)[used]
    weights = share[used]
    unknown = ~np.isfinite(filled_used)
    counts = weights @ np.where(unknown, 0.0, filled_used)
    from_imputed = weights @ imputed.to_numpy(dtype=float)[used]
    counts = np.where(unknown.any(axis=0), np.nan, counts)
    with np.errstate(divide="ignore", invalid="ignore"):
        uncertain = np.where(counts > 0, from_imputed / counts, 0.0)
    uncertain = np.where(unknown.any(axis=0), 1.0, np.clip(uncertain, 0.0, 1.0))
    return Apportionment(
        counts=pd.Series(counts, index=values.columns, dtype=float),
        uncertain_share=pd.Series(uncertain, index=values.columns, dtype=float),
        contributing=pd.Series(weights, index=values.index[used], dtype=float),
        imputed_cells=int((imputed.to_numpy()[used] != 0).sum()),
    )

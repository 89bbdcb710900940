"""Walk coverage: which demand lies within walking distance of at least one gathering place.

Distances are metres in a projected CRS (``crs_metric``, default EPSG:6677, JGD2011 plane rectangular
zone IX, for Kawasaki). Inputs may come in any CRS (the database stores EPSG:6668) and are
reprojected.

"Within walking distance" is decided by a :class:`DistanceModel`. The default,
:class:`StraightLineDistance`, is the Euclidean distance in the metric CRS, inclusive (a point exactly
``distance_m`` away is reachable); straight-line distance understates real walking distance (a
street network typically adds 20–40 %), so it overstates coverage. A street-network model can plug
in later by implementing ``reachable``.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

DEFAULT_WALK_DISTANCE_M = 500.0
DEFAULT_CRS_METRIC = 6677


@runtime_checkable
class DistanceModel(Protocol):
    """Decides which sites a demand point can reach on foot.

    ``reachable(demand_xy, site_xy, distance_m)`` takes ``(n, 2)`` and ``(m, 2)`` arrays of metric
    coordinates (metres, in the caller's ``crs_metric``) and returns an ``n × m`` scipy sparse boolean
    matrix whose entry ``(i, j)`` is True when site ``j`` is within ``distance_m`` metres of demand
    point ``i``.
    """

    name: str

    def reachable(self, demand_xy: np.ndarray, site_xy: np.ndarray, distance_m: float) -> sparse.spmatrix:
        ...


class StraightLineDistance:
    """Euclidean distance in the metric CRS, with a GEOS STRtree ``dwithin`` query (inclusive)."""

    name = "straight_line"

    def reachable(self, demand_xy: np.ndarray, site_xy: np.ndarray, distance_m: float) -> sparse.csr_matrix:
        demand_xy = np.asarray(demand_xy, dtype=float).reshape(-1, 2)
        site_xy = np.asarray(site_xy, dtype=float).reshape(-1, 2)
        n, m = len(demand_xy), len(site_xy)
        if n == 0 or m == 0:
            return sparse.csr_matrix((n, m), dtype=bool)
        if distance_m < 0:
            raise ValueError(f"distance_m must be ≥ 0, got {distance_m}")
        tree = shapely.STRtree(shapely.points(site_xy))
        demand_index, site_index = tree.query(shapely.points(demand_xy), predicate="dwithin", distance=distance_m)
        data = np.ones(len(demand_index), dtype=bool)
        return sparse.csr_matrix((data, (demand_index, site_index)), shape=(n, m), dtype=bool)


def metric_xy(frame: gpd.GeoDataFrame, crs_metric: int = DEFAULT_CRS_METRIC, what: str = "points") -> np.ndarray:
    """``(n, 2)`` metric coordinates (metres in ``crs_metric``) of point geometries.

    Non-point geometries are represented by their representative point. Empty or missing geometries
    are an error (they cannot be placed).
    """
    if frame.crs is None:
        raise ValueError(f"{what}: GeoDataFrame has no CRS (expected e.g. EPSG:6668)")
    if len(frame) == 0:
        return np.empty((0, 2))
    geometry = frame.geometry
    bad = geometry.isna() | geometry.is_empty
    if bad.any():
        raise ValueError(f"{what}: {int(bad.sum())} row(s) without geometry, first index {frame.index[bad][0]!r}")
    projected = geometry.to_crs(crs_metric)
    if not (projected.geom_type == "Point").all():
        projected = projected.representative_point()
    return shapely.get_coordinates(projected.to_numpy())


def reach_matrix(demand: gpd.GeoDataFrame, sites: gpd.GeoDataFrame, distance_m: float = DEFAULT_WALK_DISTANCE_M,
                 crs_metric: int = DEFAULT_CRS_METRIC, distance_model: DistanceModel | None = None
                 ) -> sparse.csc_matrix:
    """Sparse ``n_demand × n_sites`` boolean matrix (CSC): site ``j`` within ``distance_m`` m of demand ``i``."""
    model = distance_model or StraightLineDistance()
    matrix = model.reachable(metric_xy(demand, crs_metric, "demand"), metric_xy(sites, crs_metric, "sites"),
                             float(distance_m))
    return sparse.csc_matrix(matrix, dtype=bool)


def walk_coverage(demand: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame,
                  distance_m: float = DEFAULT_WALK_DISTANCE_M, crs_metric: int = DEFAULT_CRS_METRIC,
                  distance_model: DistanceModel | None = None) -> pd.DataFrame:
    """Per demand point: is it within ``distance_m`` metres of at least one facility?

    Parameters
    ----------
    demand
        Points (any CRS) with columns ``elderly`` and ``elderly_alone`` (persons; NaN = unknown),
        e.g. from :func:`spatial.demand.demand_points`.
    facilities
        Gathering places (points; polygons are represented by a representative point), any CRS.
    distance_m
        Walking distance in metres.
    crs_metric
        EPSG code of the projected CRS in which distances are measured (metres).

    Returns
    -------
    DataFrame indexed like ``demand`` with ``covered`` (bool), ``facilities_within`` (count) and
    ``nearest_m`` (straight-line metres to the nearest facility; NaN without facilities) — the
    latter is straight-line whatever the distance model, for display.
    """
    matrix = reach_matrix(demand, facilities, distance_m, crs_metric, distance_model)
    within = np.asarray(matrix.sum(axis=1)).ravel().astype(int)
    nearest = np.full(len(demand), np.nan)
    if len(demand) and len(facilities):
        demand_xy = metric_xy(demand, crs_metric, "demand")
        tree = shapely.STRtree(shapely.points(metric_xy(facilities, crs_metric, "facilities")))
        (_, _), distances = tree.query_nearest(shapely.points(demand_xy), return_distance=True, all_matches=False)
        nearest = distances
    return pd.DataFrame({"covered": within > 0, "facilities_within": within, "nearest_m": nearest},
                        index=demand.index)


def coverage_shares(demand: pd.DataFrame, covered: pd.Series | np.ndarray, by: str | None = "district_code"
                    ) -> pd.DataFrame:
    """Share of elderly and of elderly living alone that are covered, in %, per group (or overall).

    Unknown counts (NaN) are left out of both numerator and denominator; ``uncertain_share`` (0–1) is
    the part of the group's placement weight (``share`` column, else one per point) whose elderly
    count is unknown, so a reader can tell how much the percentage rests on.

    Returns a DataFrame indexed by group (one row ``"all"`` when ``by`` is None) with
    ``walk_coverage`` and ``walk_coverage_alone`` (%; NaN when the group has no known elderly),
    ``elderly_total``, ``elderly_covered``, ``elderly_alone_total``, ``elderly_alone_covered``
    (persons), ``demand_points`` and ``uncertain_share``.
    """
    covered = np.asarray(covered, dtype=bool)
    elderly = pd.to_numeric(demand["elderly"], errors="coerce").to_numpy(dtype=float)
    alone = pd.to_numeric(demand["elderly_alone"], errors="coerce").to_numpy(dtype=float)
    weight = demand["share"].to_numpy(dtype=float) if "share" in demand.columns else np.ones(len(demand))
    frame = pd.DataFrame({
        "group": demand[by].to_numpy() if by else "all",
        "elderly_total": np.nan_to_num(elderly),
        "elderly_covered": np.where(covered, np.nan_to_num(elderly), 0.0),
        "elderly_alone_total": np.nan_to_num(alone),
        "elderly_alone_covered": np.where(covered, np.nan_to_num(alone), 0.0),
        "elderly_known": ~np.isnan(elderly),
        "alone_known": ~np.isnan(alone),
        "weight": weight,
        "unknown_weight": np.where(np.isnan(elderly), weight, 0.0),
        "demand_points": 1,
    })
    grouped = frame.groupby("group", dropna=False).agg(
        elderly_total=("elderly_total", "sum"), elderly_covered=("elderly_covered", "sum"),
        elderly_alone_total=("elderly_alone_total", "sum"),
        elderly_alone_covered=("elderly_alone_covered", "sum"),
        elderly_known=("elderly_known", "any"), alone_known=("alone_known", "any"),
        weight=("weight", "sum"), unknown_weight=("unknown_weight", "sum"), demand_points=("demand_points", "sum"),
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        grouped["walk_coverage"] = np.where(
            grouped["elderly_known"] & (grouped["elderly_total"] > 0),
            100.0 * grouped["elderly_covered"] / grouped["elderly_total"], np.nan)
        grouped["walk_coverage_alone"] = np.where(
            grouped["alone_known"] & (grouped["elderly_alone_total"] > 0),
            100.0 * grouped["elderly_alone_covered"] / grouped["elderly_alone_total"], np.nan)
        grouped["uncertain_share"] = np.where(grouped["weight"] > 0, grouped["unknown_weight"] / grouped["weight"], np.nan)
    grouped.index.name = by or "group"
    return grouped[["walk_coverage", "walk_coverage_alone", "elderly_total", "elderly_covered",
                    "elderly_alone_total", "elderly_alone_covered", "demand_points", "uncertain_share"]]


def walk_coverage_by_district(demand: gpd.GeoDataFrame, facilities: gpd.GeoDataFrame,
                              distance_m: float = DEFAULT_WALK_DISTANCE_M, crs_metric: int = DEFAULT_CRS_METRIC,
                              by: str | None = "district_code",
                              distance_model: DistanceModel | None = None) -> pd.DataFrame:
    """:func:`walk_coverage` then :func:`coverage_shares` per ``by`` group (district codes by default)."""
    flags = walk_coverage(demand, facilities, distance_m, crs_metric, distance_model)
    return coverage_shares(demand, flags["covered"], by=by)

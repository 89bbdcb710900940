"""Demand for walk coverage and siting: where the elderly (65+) and the elderly living alone live.

Census figures come per small area (小地域); coverage needs points. :func:`demand_points` turns each
area's counts into one or more weighted points:

* ``placement="centroid"`` (default): one point per area at its *representative point* (a point
  guaranteed to lie inside the polygon, unlike the centroid of a crescent-shaped area).
* dasymetric placement, better wherever such a layer exists: with ``population_raster`` the area's
  counts are split over the raster cells whose centres fall inside the area, in proportion to the
  cell population; with ``residential`` (polygons: buildings, residential land use) they are split
  over the residential pieces inside the area, in proportion to piece area (× an optional weight
  column). An area with no positive cell / no residential piece falls back to its representative
  point, and the output says so per point (``placement``).
* with ``districts`` given, centroid placement splits each area by the districts it overlaps (share by
  area) so a district gets the part of a straddling area that lies inside it; every point carries
  ``district_code``.

Suppressed cells — the rule: a census cell published as ``X`` (status ``suppressed``), or missing,
is **unknown, never 0**. Its points carry ``NaN`` for that count and ``<count>_known = False``.
Coverage shares are computed over known counts only and report the unknown part separately
(``uncertain_share``); siting gives unknown counts no weight (they cannot be ranked). ``-`` cells
(status ``zero``) are a true 0. Cells merged into another area (status ``merged``, ``merged_into`` =
HTKSAKI) are carried by that other area: the carrier's counts are spread over the union of its own
polygon and the merged areas' polygons, and the merged area yields no point of its own.

Optionally (``impute_suppressed=True``) unknown counts are estimated from ratios of the areas where
both counts are known (elderly ≈ population × 65+ rate, elderly alone ≈ elderly × alone rate); such
points carry ``<count>_imputed = True`` so callers can report them.

CRS: inputs in any CRS (the database stores EPSG:6668); areas and shares are computed in
``crs_metric`` (default EPSG:6677, JGD2011 plane rectangular zone IX, metres); output points are
returned in the CRS of ``census_areas``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from spatial.interpolation import dissolve_merged_areas

ELDERLY_VARIABLE = "pop_65_plus"
# 65歳以上の単独世帯: one household is one person, so the household count is a person count.
ELDERLY_ALONE_VARIABLE = "households_elderly_alone"
POPULATION_VARIABLE = "pop_total"
WATER_HCODE = 8154

KNOWN_STATUSES = frozenset({"ok", "zero"})

DEMAND_COLUMNS = [
    "demand_id", "key_code", "district_code", "elderly", "elderly_alone", "elderly_known",
    "elderly_alone_known", "elderly_imputed", "elderly_alone_imputed", "share", "placement", "geometry",
]


class DemandError(ValueError):
    """Input for demand points is malformed (missing column, wrong geometry, no CRS)."""


def _require_columns(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DemandError(f"{what}: missing column(s) {missing}; has {list(frame.columns)}")


def _figure_table(figures: pd.DataFrame, variables: list[str]) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """Wide value and status tables (key_code × variable) from the tidy figures, plus merges.

    A cell absent from the tidy table gets status ``missing`` (unknown).
    """
    _require_columns(figures, ["key_code", "variable", "value"], "census figures")
    tidy = figures[figures["variable"].isin(variables)].copy()
    tidy["key_code"] = tidy["key_code"].astype(str)
    if "status" not in tidy.columns:
        tidy["status"] = np.where(tidy["value"].isna(), "suppressed", "ok")
    tidy["status"] = tidy["status"].fillna("ok").astype(str)
    duplicated = tidy.duplicated(["key_code", "variable"], keep=False)
    if duplicated.any():
        row = tidy[duplicated].iloc[0]
        raise DemandError(f"census figures: more than one row for key_code={row.key_code} variable={row.variable}")
    values = tidy.pivot(index="key_code", columns="variable", values="value").reindex(columns=variables)
    statuses = tidy.pivot(index="key_code", columns="variable", values="status").reindex(columns=variables)
    # A value given with a "known" status but null is contradictory: trust the null (unknown).
    values = values.astype(float)
    merges: dict[str, str] = {}
    if "merged_into" in tidy.columns:
        merged = tidy[(tidy["status"] == "merged") & tidy["merged_into"].fillna("").astype(str).ne("")]
        merges = dict(zip(merged["key_code"], merged["merged_into"].astype(str)))
    return values, statuses, merges


def _count_columns(values: pd.DataFrame, statuses: pd.DataFrame, variable: str) -> tuple[pd.Series, pd.Series]:
    value = values[variable]
    status = statuses[variable].fillna("missing")
    known = status.isin(KNOWN_STATUSES) & value.notna()
    value = value.where(known)
    value = value.where(status != "zero", 0.0)
    known = known | (status == "zero")
    return value, known


def _impute(values: pd.DataFrame, known: dict[str, pd.Series]) -> dict[str, pd.Series]:
    """Ratio estimates for unknown elderly / elderly-alone counts (see module docstring)."""
    elderly = values[ELDERLY_VARIABLE].where(known[ELDERLY_VARIABLE])
    alone = values[ELDERLY_ALONE_VARIABLE].where(known[ELDERLY_ALONE_VARIABLE])
    estimates: dict[str, pd.Series] = {}
    population = values[POPULATION_VARIABLE] if POPULATION_VARIABLE in values.columns else None
    if population is not None:
        both = elderly.notna() & population.notna() & (population > 0)
        rate = elderly[both].sum() / population[both].sum() if both.any() else np.nan
        estimates[ELDERLY_VARIABLE] = population * rate
    else:
        estimates[ELDERLY_VARIABLE] = pd.Series(np.nan, index=values.index)
    filled_elderly = elderly.fillna(estimates[ELDERLY_VARIABLE])
    both = elderly.notna() & alone.notna() & (elderly > 0)
    alone_rate = alone[both].sum() / elderly[both].sum() if both.any() else np.nan
    estimates[ELDERLY_ALONE_VARIABLE] = filled_elderly * alone_rate
    return estimates


def _raster_cells(population_raster: Any) -> tuple[np.ndarray, np.ndarray, Any]:
    """Cell-centre coordinates, cell values and CRS of a population raster (path or rasterio dataset)."""
    import rasterio

    def read(dataset) -> tuple[np.ndarray, np.ndarray, Any]:
        band = dataset.read(1, masked=True).astype(float)
        data = band.filled(0.0)
        data[~np.isfinite(data)] = 0.0
        rows, cols = np.nonzero(data > 0)
        xs, ys = rasterio.transform.xy(dataset.transform, rows, cols, offset="center")
        return np.column_stack([np.asarray(xs, float), np.asarray(ys, float)]), data[rows, cols], dataset.crs

    if isinstance(population_raster, (str, Path)):
        with rasterio.open(population_raster) as dataset:
            return read(dataset)
    return read(population_raster)


def demand_points(
    census_areas: gpd.GeoDataFrame,
    figures: pd.DataFrame,
    *,
    districts: gpd.GeoDataFrame | None = None,
    district_code_column: str = "code",
    population_raster: Any = None,
    residential: gpd.GeoDataFrame | None = None,
    residential_weight_column: str | None = None,
    impute_suppressed: bool = False,
    crs_metric: int = 6677,
) -> gpd.GeoDataFrame:
    """Demand points carrying elderly (65+) and elderly-living-alone counts (persons).

    Parameters
    ----------
    census_areas
        Small-area polygons with ``key_code`` (any CRS; optional ``hcode``: 8154 water areas are
        skipped).
    figures
        Tidy census figures: ``key_code, variable, value, status`` (optional ``merged_into``), with
        variables ``pop_65_plus`` and ``households_elderly_alone`` (and ``pop_total`` for imputation).
    districts
        Optional district polygons (column ``district_code_column``) to tag points, and with
        centroid placement to split straddling areas by area share.
    population_raster
        Optional population grid (GeoTIFF path or open rasterio dataset, any CRS) for dasymetric
        placement at cell centres. Takes precedence over ``residential``.
    residential
        Optional residential polygons for dasymetric placement (weight ∝ area in ``crs_metric`` ×
        ``residential_weight_column`` if given).
    impute_suppressed
        Estimate unknown counts by ratio (flagged ``*_imputed``) instead of leaving them NaN.
    crs_metric
        EPSG code of the metric CRS for areas and shares (metres).

    Returns
    -------
    GeoDataFrame of points in the CRS of ``census_areas`` with columns ``demand_id`` (unique),
    ``key_code``, ``district_code`` (None without districts), ``elderly``, ``elderly_alone``
    (persons; NaN = unknown), ``elderly_known``, ``elderly_alone_known``, ``elderly_imputed``,
    ``elderly_alone_imputed``, ``share`` (the point's fraction of its area's counts, 0–1) and
    ``placement`` (``centroid``, ``district_split``, ``raster`` or ``residential``).
    """
    _require_columns(census_areas, ["key_code", "geometry"], "census areas")
    if census_areas.crs is None:
        raise DemandError("census areas: no CRS set (expected e.g. EPSG:6668)")
    output_crs = census_areas.crs
    areas = census_areas[["key_code", "geometry"] + (["hcode"] if "hcode" in census_areas.columns else [])].copy()
    areas["key_code"] = areas["key_code"].astype(str)
    if "hcode" in areas.columns:
        areas = areas[pd.to_numeric(areas["hcode"], errors="coerce").fillna(0).astype(int) != WATER_HCODE]
    if areas["key_code"].duplicated().any():
        raise DemandError(f"census areas: duplicated key_code {areas.loc[areas['key_code'].duplicated(), 'key_code'].iloc[0]}")
    areas = areas.to_crs(crs_metric)

    variables = [ELDERLY_VARIABLE, ELDERLY_ALONE_VARIABLE, POPULATION_VARIABLE]
    values, statuses, merges = _figure_table(figures, variables)
    values = values.reindex(areas["key_code"])
    statuses = statuses.reindex(areas["key_code"])

    # Merged areas: the carrier's counts cover both polygons (chains A → B → C followed to the
    # end); the merged area yields no point of its own.
    if merges:
        areas = dissolve_merged_areas(areas, merges, key="key_code")
        values = values.reindex(areas["key_code"])
        statuses = statuses.reindex(areas["key_code"])

    counts: dict[str, pd.Series] = {}
    known: dict[str, pd.Series] = {}
    for variable in (ELDERLY_VARIABLE, ELDERLY_ALONE_VARIABLE):
        counts[variable], known[variable] = _count_columns(values, statuses, variable)
    imputed = {v: pd.Series(False, index=values.index) for v in counts}
    if impute_suppressed:
        estimates = _impute(values, known)
        for variable in counts:
            fill = ~known[variable] & estimates[variable].notna()
            counts[variable] = counts[variable].where(~fill, estimates[variable])
            imputed[variable] = fill

    per_area = pd.DataFrame({
        "key_code": areas["key_code"].to_numpy(),
        "elderly": counts[ELDERLY_VARIABLE].to_numpy(),
        "elderly_alone": counts[ELDERLY_ALONE_VARIABLE].to_numpy(),
        "elderly_known": known[ELDERLY_VARIABLE].to_numpy(),
        "elderly_alone_known": known[ELDERLY_ALONE_VARIABLE].to_numpy(),
        "elderly_imputed": imputed[ELDERLY_VARIABLE].to_numpy(),
        "elderly_alone_imputed": imputed[ELDERLY_ALONE_VARIABLE].to_numpy(),
    })
    pieces = _placement_pieces(areas, districts, district_code_column, population_raster, residential,
                               residential_weight_column, crs_metric)
    points = pieces.merge(per_area, on="key_code", how="left")
    points["elderly"] = points["elderly"] * points["share"]
    points["elderly_alone"] = points["elderly_alone"] * points["share"]
    counter = points.groupby("key_code").cumcount()
    multiple = points.groupby("key_code")["key_code"].transform("size") > 1
    points["demand_id"] = np.where(multiple, points["key_code"] + "#" + counter.astype(str), points["key_code"])
    result = gpd.GeoDataFrame(points, geometry="geometry", crs=crs_metric).to_crs(output_crs)
    return result[DEMAND_COLUMNS].reset_index(drop=True)


def _tag_districts(points: pd.DataFrame, districts: gpd.GeoDataFrame | None, code_column: str,
                   crs_metric: int) -> pd.DataFrame:
    points = points.copy()
    if districts is None:
        points["district_code"] = None
        return points
    _require_columns(districts, [code_column, "geometry"], "districts")
    frame = gpd.GeoDataFrame(points, geometry="geometry", crs=crs_metric)
    metric_districts = districts[[code_column, "geometry"]].to_crs(crs_metric)
    joined = gpd.sjoin(frame, metric_districts, how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    points["district_code"] = joined[code_column].reindex(points.index).astype(object).where(
        joined[code_column].reindex(points.index).notna(), None)
    return points


def _placement_pieces(areas: gpd.GeoDataFrame, districts: gpd.GeoDataFrame | None, code_column: str,
                      population_raster: Any, residential: gpd.GeoDataFrame | None,
                      residential_weight_column: str | None, crs_metric: int) -> pd.DataFrame:
    """Rows ``key_code, share, placement, geometry`` (points in ``crs_metric``); shares sum to 1 per area."""
    rows: list[pd.DataFrame] = []
    placed: set[str] = set()
    if population_raster is not None:
        xy, population, raster_crs = _raster_cells(population_raster)
        cells = gpd.GeoDataFrame({"population": population}, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
                                 crs=raster_crs).to_crs(crs_metric)
        joined = gpd.sjoin(cells, areas[["key_code", "geometry"]], how="inner", predicate="within")
        if len(joined):
            totals = joined.groupby("key_code")["population"].transform("sum")
            joined = joined[totals > 0]
            share = joined["population"] / joined.groupby("key_code")["population"].transform("sum")
            rows.append(pd.DataFrame({"key_code": joined["key_code"].to_numpy(), "share": share.to_numpy(),
                                      "placement": "raster", "geometry": joined.geometry.to_numpy()}))
            placed |= set(joined["key_code"])
    elif residential is not None:
        if residential.crs is None:
            raise DemandError("residential polygons: no CRS set")
        columns = ["geometry"] + ([residential_weight_column] if residential_weight_column else [])
        if residential_weight_column:
            _require_columns(residential, [residential_weight_column], "residential polygons")
        homes = residential[columns].to_crs(crs_metric)
        homes = homes[homes.geometry.notna() & ~homes.geometry.is_empty]
        pieces = gpd.overlay(homes, areas[["key_code", "geometry"]], how="intersection", keep_geom_type=True)
        if len(pieces):
            weight = pieces.geometry.area
            if residential_weight_column:
                weight = weight * pd.to_numeric(pieces[residential_weight_column], errors="coerce").fillna(0.0)
            pieces = pieces.assign(weight=weight.to_numpy())
            pieces = pieces[pieces["weight"] > 0]
            share = pieces["weight"] / pieces.groupby("key_code")["weight"].transform("sum")
            rows.append(pd.DataFrame({"key_code": pieces["key_code"].to_numpy(), "share": share.to_numpy(),
                                      "placement": "residential",
                                      "geometry": pieces.geometry.representative_point().to_numpy()}))
            placed |= set(pieces["key_code"])
    remaining = areas[~areas["key_code"].isin(placed)]
    if districts is not None and len(remaining):
        _require_columns(districts, [code_column, "geometry"], "districts")
        metric_districts = districts[[code_column, "geometry"]].to_crs(crs_metric).rename(
            columns={code_column: "district_code"})
        split = gpd.overlay(remaining[["key_code", "geometry"]], metric_districts, how="intersection",
                            keep_geom_type=True)
        split = split[split.geometry.area > 0]
        if len(split):
            share = split.geometry.area / split.assign(a=split.geometry.area).groupby("key_code")["a"].transform("sum")
            rows.append(pd.DataFrame({
                "key_code": split["key_code"].to_numpy(), "share": share.to_numpy(),
                "placement": np.where(split.groupby("key_code")["key_code"].transform("size") > 1,
                                      "district_split", "centroid"),
                "district_code": split["district_code"].astype(object).to_numpy(),
                "geometry": split.geometry.representative_point().to_numpy(),
            }))
            remaining = remaining[~remaining["key_code"].isin(set(split["key_code"]))]
    if len(remaining):
        rows.append(pd.DataFrame({"key_code": remaining["key_code"].to_numpy(), "share": 1.0,
                                  "placement": "centroid",
                                  "geometry": remaining.geometry.representative_point().to_numpy()}))
    if not rows:
        return pd.DataFrame(columns=["key_code", "share", "placement", "district_code", "geometry"])
    pieces_frame = pd.concat(rows, ignore_index=True)
    if "district_code" not in pieces_frame.columns:
        pieces_frame["district_code"] = None
    if districts is not None:
        # Raster, residential and unsplit points get their district by location.
        untagged = pieces_frame["district_code"].isna()
        if untagged.any():
            tagged = _tag_districts(pieces_frame[untagged].drop(columns="district_code"), districts,
                                    code_column, crs_metric)
            pieces_frame.loc[untagged, "district_code"] = tagged["district_code"]
    return pieces_frame

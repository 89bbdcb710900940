"""Areal interpolation of census small-area figures (小地域) to elementary-school districts (小学校区).

School districts do not nest in census small areas, so each small area's figures are shared out over
the districts it overlaps. All geometry work happens in a projected CRS in metres (EPSG:6677 for
Kawasaki); pass GeoDataFrames already in that CRS or give ``crs_metric`` to reproject.

Method
------
1. **Overlap table** (:func:`overlap_table`). An STRtree over the source polygons gives the pairs
   whose bounding boxes meet; the overlap area (m²) of each pair is computed exactly without
   building the intersection polygon, as a sum of closed-form integrals over pairs of edges
   (:mod:`spatial.overlap_area`; numba, on all CPUs). Shared boundaries, as where districts follow
   small-area boundaries, need no special case. The result is a sparse ``n_source × n_target``
   matrix ``A`` (scipy CSR, float64); it agrees with GEOS's ``area(intersection(…))`` to ~1e-13 of
   the source's area.
2. **Dasymetric mass** (optional). Instead of area, each overlap piece can weigh by what lies in it:
   the sum of a raster (e.g. population mesh, residential-land share) or of polygon cells carrying
   an amount (地域メッシュ population) over the piece, each cell counted by the fraction of the cell
   the piece covers (:func:`raster_mass`, :func:`cell_mass`), or the area of a
   residential-land polygon layer inside the piece (:func:`polygon_mass`). A source with no mass in
   any piece (no residential cell at all) falls back to plain area weights, so no count is lost.
3. **Extensive variables** (counts: persons, households). ``W = diag(1/rowsum(A)) · A`` and the
   district estimate is ``Wᵀ·v`` — one sparse matrix product for all variables at once. With
   ``allocate_total=True`` (tobler's default) each source's whole value goes to the districts it
   overlaps, so district totals add up to the sum of the sources: where the districts cover the
   city, Σ districts = city total (up to floating point, ~1e-12 relative).
4. **Intensive variables** (rates, densities). The district value is the overlap-mass weighted
   mean ``Σᵢ Aᵢⱼ vᵢ / Σᵢ Aᵢⱼ``.

The results equal ``tobler.area_interpolate`` given the same overlap table (tests check 1e-9
relative). Note that tobler stores its own overlap table in float32, so against tobler's *own*
table the agreement is only ~1e-7 relative; the difference is tobler's rounding, not the method.

Suppressed cells (秘匿 X)
-------------------------
A suppressed census cell is ``NaN`` (or ``None``) and is never treated as 0. Two rules:

* ``suppressed="impute"`` (default): a suppressed cell of variable *v* in small area *i* is imputed
  as ``base_i × r_g``, where ``base`` is the area's total of the base variable (``pop_total`` for
  persons, ``households_total`` for household variables; see :func:`default_impute_base`) and
  ``r_g = Σ v / Σ base`` over the areas of the same parent group *g* (the ward, ``impute_group``)
  where both are known — the parent's share. If the area's base itself is unknown, the parent's
  density per m² times the area's area is used. If the parent has no known cell at all, the rate
  over all sources is used. The district's ``uncertain_share`` for *v* is the share of its estimate
  that comes from imputed cells (0–1).
* ``suppressed="unknown"``: nothing is imputed. A district whose estimate would draw on a suppressed
  cell gets ``NaN`` for that variable; its ``uncertain_share`` is the share of its overlap mass
  resting on suppressed sources.

For intensive variables the suppressed sources are left out of the weighted mean (``impute`` mode
does not impute rates) and ``uncertain_share`` is the share of the district's overlap mass they hold.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy import sparse

from spatial.overlap_area import overlap_areas

SuppressedRule = Literal["impute", "unknown"]

# Overlaps below this share of the source's area are rounding noise where boundaries coincide.
_TOUCH_TOLERANCE = 1e-11


@dataclass(frozen=True)
class OverlapTable:
    """Source × target overlap: positional indices of every overlapping pair and its area in m².

    ``pieces`` (the intersection polygons, in the same metric CRS) is kept only when asked for,
    because dasymetric weighting needs it and plain area weighting does not.
    """

    source_pos: np.ndarray
    target_pos: np.ndarray
    area_m2: np.ndarray
    n_source: int
    n_target: int
    crs: object = None
    pieces: np.ndarray | None = None

    def matrix(self, mass: np.ndarray | None = None) -> sparse.csr_matrix:
        """The ``n_source × n_target`` sparse matrix of overlap mass (area in m² unless ``mass``)."""
        data = self.area_m2 if mass is None else np.asarray(mass, dtype=float)
        return sparse.csr_matrix(
            (data, (self.source_pos, self.target_pos)), shape=(self.n_source, self.n_target), dtype=np.float64
        )


@dataclass
class InterpolationResult:
    """Interpolated values per target and the share of each resting on suppressed/imputed input.

    ``frame``: the target GeoDataFrame's index and geometry with one column per variable (counts
    for extensive variables, the source unit for intensive ones). ``uncertain_share``: same index,
    one column per variable, 0–1. ``method``: a human-readable statement of what was done.
    ``source_counts``: the extensive variables per *source* as interpolated (suppressed cells
    imputed under ``suppressed="impute"``, NaN where unknown), for aggregating sources to parents
    (ward, city) consistently with the targets; ``source_imputed``: the imputed part (0 elsewhere).
    """

    frame: gpd.GeoDataFrame
    uncertain_share: pd.DataFrame
    method: str
    table: OverlapTable
    imputed_cells: int = 0
    source_counts: pd.DataFrame | None = None
    source_imputed: pd.DataFrame | None = None


def _metric_pair(
    source: gpd.GeoDataFrame, target: gpd.GeoDataFrame, crs_metric: int | str | None
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    if source.crs is None or target.crs is None:
        raise ValueError("source and target need a CRS (a projected CRS in metres, e.g. EPSG:6677)")
    if crs_metric is not None:
        source, target = source.to_crs(crs_metric), target.to_crs(crs_metric)
    if not source.crs.equals(target.crs):
        raise ValueError(f"source CRS {source.crs.to_string()} differs from target CRS {target.crs.to_string()}")
    if not source.crs.is_projected:
        raise ValueError(
            f"areal interpolation needs a projected CRS in metres, got {source.crs.to_string()}; "
            "pass crs_metric=6677 (or the city's projected_srid)"
        )
    return source, target


def _geometry_array(frame: gpd.GeoDataFrame) -> np.ndarray:
    return np.asarray(frame.geometry.values, dtype=object)


def overlap_table(
    source: gpd.GeoDataFrame,
    target: gpd.GeoDataFrame,
    *,
    crs_metric: int | str | None = None,
    keep_pieces: bool = False,
    threads: int | None = None,
) -> OverlapTable:
    """Overlap areas (m²) of every source × target pair, in the (projected) CRS of the inputs.

    Candidate pairs are those whose bounding boxes meet (STRtree); their overlap areas come from
    :func:`spatial.overlap_area.overlap_areas` (exact, without building the pieces). Pairs that only
    touch — overlap below 1e-11 of the source's area, which is floating-point noise on a shared
    boundary — are dropped. ``threads``: CPU threads for the areas (default: all).
    ``keep_pieces``: also keep the intersection polygons (for dasymetric weights); a source covered
    by the target is its own piece, the others are cut with GEOS.
    """
    source, target = _metric_pair(source, target, crs_metric)
    return _overlap_table(_geometry_array(source), _geometry_array(target), source.crs,
                          keep_pieces=keep_pieces, threads=threads)


def _overlap_table(src: np.ndarray, tgt: np.ndarray, crs: object, *, keep_pieces: bool,
                   threads: int | None) -> OverlapTable:
    target_pos, source_pos = shapely.STRtree(src).query(tgt)
    order = np.lexsort((target_pos, source_pos))  # grouped by source, as the matrix rows are
    source_pos = source_pos[order].astype(np.int64)
    target_pos = target_pos[order].astype(np.int64)
    area = overlap_areas(src, tgt, source_pos, target_pos, threads=threads)
    source_area = shapely.area(src)[source_pos]
    keep = area > _TOUCH_TOLERANCE * source_area
    source_pos, target_pos, area = source_pos[keep], target_pos[keep], area[keep]
    pieces = None
    if keep_pieces:
        pieces = src[source_pos].copy()
        cut = np.nonzero(area < (1.0 - _TOUCH_TOLERANCE) * source_area[keep])[0]
        if len(cut):
            pieces[cut] = shapely.intersection(src[source_pos[cut]], tgt[target_pos[cut]])
    return OverlapTable(
        source_pos=source_pos, target_pos=target_pos, area_m2=area,
        n_source=len(src), n_target=len(tgt), crs=crs, pieces=pieces,
    )


# --------------------------------------------------------------------------------------------
# Dasymetric mass
# --------------------------------------------------------------------------------------------

def raster_cells(
    raster: str | Path, *, band: int = 1, keep: str = "positive", threshold: float | None = None
) -> gpd.GeoDataFrame:
    """The cells of a raster as rectangles with their ``value``, in the raster's own CRS.

    ``keep="positive"`` keeps cells with a value > 0 (dasymetric weights); ``keep="threshold"``
    keeps cells whose value is ``>= threshold`` (hazard zones). Nodata cells are never kept.
    """
    import rasterio

    with rasterio.open(raster) as dataset:
        data = dataset.read(band, masked=True).astype(float)
        transform = dataset.transform
        crs = dataset.crs
    values = np.ma.filled(data, np.nan)
    if keep == "positive":
        mask = np.isfinite(values) & (values > 0)
    elif keep == "threshold":
        if threshold is None:
            raise ValueError("raster_cells(keep='threshold') needs a threshold")
        mask = np.isfinite(values) & (values >= threshold)
    else:
        raise ValueError(f"keep must be 'positive' or 'threshold', not {keep!r}")
    rows, cols = np.nonzero(mask)
    # Corners from the affine transform (works for north-up rasters with either sign of pixel size).
    a, b, c, d, e, f = transform.a, transform.b, transform.c, transform.d, transform.e, transform.f
    x0, y0 = a * cols + b * rows + c, d * cols + e * rows + f
    x1, y1 = a * (cols + 1) + b * (rows + 1) + c, d * (cols + 1) + e * (rows + 1) + f
    boxes = shapely.box(np.minimum(x0, x1), np.minimum(y0, y1), np.maximum(x0, x1), np.maximum(y0, y1))
    return gpd.GeoDataFrame({"value": values[rows, cols]}, geometry=boxes, crs=crs)


def raster_mass(pieces: np.ndarray, pieces_crs: object, raster: str | Path, *, band: int = 1) -> np.ndarray:
    """Raster mass of each piece: Σ over cells of ``value × |piece ∩ cell| / |cell|``
    (:func:`cell_mass` over the raster's positive cells)."""
    return cell_mass(pieces, pieces_crs, raster_cells(raster, band=band, keep="positive"))


def cell_mass(pieces: np.ndarray, pieces_crs: object, cells: gpd.GeoDataFrame, *, value: str = "value") -> np.ndarray:
    """Mass of each piece from cells carrying an amount (raster cells, 地域メッシュ population):
    Σ over cells of ``cells[value] × |piece ∩ cell| / |cell|``.

    Each cell is counted by the fraction of it the piece covers, so a cell's amount is shared out
    exactly over the pieces that cover it. Pieces are reprojected to the cells' CRS if needed
    (area fractions are what matter, and they survive a smooth reprojection).
    """
    piece_series = gpd.GeoSeries(pieces, crs=pieces_crs)
    if cells.crs is not None and pieces_crs is not None and not cells.crs.equals(piece_series.crs):
        piece_series = piece_series.to_crs(cells.crs)
    cell_geoms = _geometry_array(cells)
    piece_geoms = np.asarray(piece_series.values, dtype=object)
    piece_pos, cell_pos = shapely.STRtree(cell_geoms).query(piece_geoms)
    overlap = overlap_areas(piece_geoms, cell_geoms, piece_pos, cell_pos)
    cell_area = shapely.area(cell_geoms)
    fraction = np.divide(overlap, cell_area[cell_pos], out=np.zeros_like(overlap), where=cell_area[cell_pos] > 0)
    amount = pd.to_numeric(cells[value], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    return np.bincount(piece_pos, weights=amount[cell_pos] * fraction, minlength=len(piece_geoms))


def polygon_mass(pieces: np.ndarray, pieces_crs: object, polygons: gpd.GeoDataFrame) -> np.ndarray:
    """Area (m²) of each piece lying in a polygon layer (e.g. residential land), in the pieces' CRS.

    Overlapping polygons are dissolved first, so land covered twice is counted once.
    """
    layer = polygons.to_crs(pieces_crs) if polygons.crs is not None and pieces_crs is not None else polygons
    parts = shapely.get_parts(shapely.union_all(_geometry_array(layer)))
    parts = parts[shapely.get_type_id(parts) == shapely.GeometryType.POLYGON]
    if len(parts) == 0:
        return np.zeros(len(pieces))
    piece_pos, part_pos = shapely.STRtree(parts).query(pieces)
    overlap = overlap_areas(pieces, parts, piece_pos, part_pos)
    return np.bincount(piece_pos, weights=overlap, minlength=len(pieces))


# --------------------------------------------------------------------------------------------
# Suppressed cells
# --------------------------------------------------------------------------------------------

def default_impute_base(variable: str) -> str:
    """The base variable a suppressed cell is imputed from: households for household variables,
    total population for everything else."""
    if variable.startswith(("households_", "dwelling_households_")):
        return "households_total"
    return "pop_total"


def impute_suppressed(
    values: pd.DataFrame,
    *,
    area_m2: np.ndarray,
    groups: np.ndarray | None = None,
    base: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fill suppressed (NaN) cells by the parent group's share (rule in the module docstring).

    Returns ``(filled, imputed_part)``: ``filled`` has no NaN where a rule applied; ``imputed_part``
    holds the imputed amount in imputed cells and 0 elsewhere. Base variables are imputed first
    (by density), so a variable whose base is suppressed too still gets a value.
    """
    filled = values.astype(float).copy()
    imputed = pd.DataFrame(0.0, index=values.index, columns=values.columns)
    area = np.asarray(area_m2, dtype=float)
    group_codes = (
        np.zeros(len(values), dtype=np.int64) if groups is None else pd.factorize(np.asarray(groups))[0]
    )
    n_groups = int(group_codes.max()) + 1 if len(group_codes) else 0

    def group_rate(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
        known = np.isfinite(numerator) & np.isfinite(denominator)
        num = np.bincount(group_codes[known], weights=numerator[known], minlength=n_groups)
        den = np.bincount(group_codes[known], weights=denominator[known], minlength=n_groups)
        overall = numerator[known].sum() / denominator[known].sum() if denominator[known].sum() > 0 else np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(den > 0, num / den, overall)
        return rate[group_codes]

    base_of = {v: (base or {}).get(v, default_impute_base(v)) for v in values.columns}
    bases = [b for b in dict.fromkeys(base_of.values()) if b in values.columns]
    ordered = bases + [v for v in values.columns if v not in bases]
    for variable in ordered:
        column = filled[variable].to_numpy(dtype=float)
        missing = ~np.isfinite(column)
        if not missing.any():
            continue
        base_name = base_of[variable]
        estimate = np.full(len(column), np.nan)
        if base_name in filled.columns and base_name != variable:
            base_values = filled[base_name].to_numpy(dtype=float)
            estimate = base_values * group_rate(column, base_values)
        density = area * group_rate(column, area)
        estimate = np.where(np.isfinite(estimate), estimate, density)
        take = missing & np.isfinite(estimate)
        column = column.copy()
        column[take] = estimate[take]
        filled[variable] = column
        imputed.loc[take, variable] = estimate[take]
    return filled, imputed


# --------------------------------------------------------------------------------------------
# Interpolation
# --------------------------------------------------------------------------------------------

def _row_normalise(matrix: sparse.csr_matrix) -> sparse.csr_matrix:
    matrix = matrix.tocsr()
    total = np.asarray(matrix.sum(axis=1)).ravel()
    scale = 1.0 / np.where(total > 0, total, 1.0)
    return sparse.csr_matrix((matrix.data * np.repeat(scale, np.diff(matrix.indptr)), matrix.indices,
                              matrix.indptr), shape=matrix.shape)


def area_interpolate(
    source: gpd.GeoDataFrame,
    target: gpd.GeoDataFrame,
    extensive_variables: Sequence[str] = (),
    intensive_variables: Sequence[str] = (),
    *,
    crs_metric: int | str | None = None,
    table: OverlapTable | None = None,
    weight_raster: str | Path | None = None,
    weight_polygons: gpd.GeoDataFrame | None = None,
    weight_cells: gpd.GeoDataFrame | None = None,
    weight_cells_value: str = "value",
    weight_name: str | None = None,
    allocate_total: bool = True,
    suppressed: SuppressedRule = "impute",
    impute_group: str | None = None,
    impute_base: Mapping[str, str] | None = None,
    threads: int | None = None,
) -> InterpolationResult:
    """Interpolate source-polygon figures to target polygons (method in the module docstring).

    ``source``/``target``: GeoDataFrames in one projected CRS in metres (or give ``crs_metric``).
    ``extensive_variables``: counts (persons, households) — shared out by overlap mass, totals kept.
    ``intensive_variables``: rates/densities — overlap-mass weighted means.
    ``weight_raster``: GeoTIFF path for dasymetric weights; ``weight_polygons``: residential-land
    polygons for dasymetric weights; ``weight_cells``: polygons carrying an amount in column
    ``weight_cells_value`` (e.g. 地域メッシュ population) shared out by the fraction of each cell a
    piece covers (give at most one of the three); ``weight_name`` names the layer in ``method``.
    ``allocate_total=False`` divides by the source's own area instead of its overlapped area
    (value outside every target is dropped).
    ``suppressed``: ``"impute"`` or ``"unknown"``; ``impute_group``: source column naming the
    parent (e.g. the ward code) used by the imputation rule.
    """
    weight_layers = sum(layer is not None for layer in (weight_raster, weight_polygons, weight_cells))
    if weight_layers > 1:
        raise ValueError("give at most one of weight_raster, weight_polygons and weight_cells")
    if suppressed not in ("impute", "unknown"):
        raise ValueError(f"suppressed must be 'impute' or 'unknown', not {suppressed!r}")
    extensive_variables, intensive_variables = list(extensive_variables), list(intensive_variables)
    missing_columns = [c for c in extensive_variables + intensive_variables if c not in source.columns]
    if missing_columns:
        raise KeyError(f"source has no column(s) {missing_columns}")
    source, target = _metric_pair(source, target, crs_metric)
    dasymetric = weight_layers == 1
    if table is None or (dasymetric and table.pieces is None):
        table = _overlap_table(_geometry_array(source), _geometry_array(target), source.crs,
                               keep_pieces=dasymetric, threads=threads)

    area_matrix = table.matrix()
    method = "面積按分 (area-weighted)"
    mass_matrix = area_matrix
    if dasymetric:
        if weight_raster is not None:
            mass = raster_mass(table.pieces, table.crs, weight_raster)
            method = f"ダシメトリック按分 ({weight_name or 'raster ' + Path(weight_raster).name})"
        elif weight_cells is not None:
            mass = cell_mass(table.pieces, table.crs, weight_cells, value=weight_cells_value)
            method = f"ダシメトリック按分 ({weight_name or 'cells: ' + weight_cells_value})"
        else:
            mass = polygon_mass(table.pieces, table.crs, weight_polygons)
            method = f"ダシメトリック按分 ({weight_name or 'residential-land polygons'})"
        mass_matrix = table.matrix(mass)
        # A source without any mass (no residential cell) keeps its plain area weights.
        massless = np.asarray(mass_matrix.sum(axis=1)).ravel() <= 0
        if massless.any():
            fallback = sparse.diags(massless.astype(float)) @ area_matrix
            mass_matrix = (sparse.diags((~massless).astype(float)) @ mass_matrix + fallback).tocsr()
            method += f"; {int(massless.sum())} source(s) without mass fall back to area"

    columns: dict[str, np.ndarray] = {}
    shares: dict[str, np.ndarray] = {}
    imputed_cells = 0
    source_counts = source_imputed = None

    if extensive_variables:
        if allocate_total:
            weights = _row_normalise(mass_matrix)
        else:
            # Share by the fraction of the source's own area (or mass over its overlapped area).
            own = shapely.area(_geometry_array(source))
            covered = np.asarray(area_matrix.sum(axis=1)).ravel()
            scale = np.divide(covered, own, out=np.zeros_like(own), where=own > 0)
            weights = sparse.diags(scale) @ _row_normalise(mass_matrix)
        weights_t = weights.T.tocsr()
        raw = _numeric(source, extensive_variables)
        is_suppressed = ~np.isfinite(raw.to_numpy())
        if suppressed == "impute" and is_suppressed.any():
            groups = source[impute_group].to_numpy() if impute_group else None
            filled, imputed_part = impute_suppressed(
                raw, area_m2=shapely.area(_geometry_array(source)), groups=groups, base=impute_base
            )
            imputed_cells = int((imputed_part.to_numpy() != 0).sum())
            values = filled.to_numpy()
            still_unknown = ~np.isfinite(values)
            estimate = weights_t @ np.where(still_unknown, 0.0, values)
            from_imputed = weights_t @ imputed_part.to_numpy()
            unknown_hits = weights_t @ still_unknown.astype(float)
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(estimate > 0, from_imputed / estimate, 0.0)
            estimate[unknown_hits > 0] = np.nan
            share[unknown_hits > 0] = 1.0
            source_counts, source_imputed = filled, imputed_part
        else:
            values = np.where(is_suppressed, 0.0, raw.to_numpy())
            estimate = weights_t @ values
            suppressed_hits = weights_t @ is_suppressed.astype(float)
            estimate[suppressed_hits > 0] = np.nan
            share = _mass_share(mass_matrix, is_suppressed)
            source_counts, source_imputed = raw, pd.DataFrame(0.0, index=raw.index, columns=raw.columns)
        for k, variable in enumerate(extensive_variables):
            columns[variable] = estimate[:, k]
            shares[variable] = np.clip(share[:, k], 0.0, 1.0)

    if intensive_variables:
        raw = _numeric(source, intensive_variables).to_numpy()
        known = np.isfinite(raw)
        mass_t = mass_matrix.T.tocsr()
        numerator = mass_t @ np.where(known, raw, 0.0)
        denominator = mass_t @ known.astype(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            estimate = np.where(denominator > 0, numerator / denominator, np.nan)
        share = _mass_share(mass_matrix, ~known)
        for k, variable in enumerate(intensive_variables):
            columns[variable] = estimate[:, k]
            shares[variable] = share[:, k]

    rule = "秘匿値は親地域(区)の比率で補完" if suppressed == "impute" else "秘匿値は不明のまま"
    frame = pd.DataFrame(columns, index=target.index)
    frame["geometry"] = target.geometry.values  # carries the CRS; naming the column is the cheap way
    frame = gpd.GeoDataFrame(frame, geometry="geometry")
    uncertain = pd.DataFrame(shares, index=target.index)
    return InterpolationResult(
        frame=frame, uncertain_share=uncertain, method=f"{method}; {rule}", table=table,
        imputed_cells=imputed_cells, source_counts=source_counts, source_imputed=source_imputed,
    )


def _numeric(frame: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """Columns as float64; text that is not a number (a suppression mark left over) becomes NaN."""
    return pd.DataFrame({name: pd.to_numeric(frame[name], errors="coerce") for name in names},
                        index=frame.index).astype(float)


def _mass_share(mass_matrix: sparse.csr_matrix, flagged: np.ndarray) -> np.ndarray:
    """Per target and variable: the share of the target's overlap mass held by flagged sources."""
    if not flagged.any():
        return np.zeros((mass_matrix.shape[1], flagged.shape[1]))
    mass_t = mass_matrix.T.tocsr()
    total = np.asarray(mass_t.sum(axis=1)).ravel()[:, None]
    flagged_mass = mass_t @ flagged.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, flagged_mass / total, 0.0)


def dissolve_merged_areas(
    areas: gpd.GeoDataFrame, merged_into: Mapping[str, str], *, key: str = "key_code"
) -> gpd.GeoDataFrame:
    """Join areas whose figures the census merged into another area (HTKSYORI/HTKSAKI) to that area.

    The carrying area's figures cover both polygons, so its geometry becomes their union. Chains
    (A → B → C) are followed to the end. Returns a copy with one row per carrying area.
    """
    if not merged_into:
        return areas.copy()

    def carrier(code: str) -> str:
        seen = set()
        while code in merged_into and code not in seen:
            seen.add(code)
            code = merged_into[code]
        return code

    result = areas.copy()
    result["_carrier"] = [carrier(code) for code in result[key]]
    geometry_name = result.geometry.name
    carried = result.groupby("_carrier")[geometry_name].agg(lambda parts: shapely.union_all(np.asarray(parts)))
    result = result[result[key] == result["_carrier"]].copy()
    result[geometry_name] = result[key].map(carried).values
    return result.drop(columns="_carrier").set_geometry(geometry_name, crs=areas.crs)

"""Areal interpolation: conservation, equality with tobler, suppressed cells, intensive variables,
dasymetric weights (raster and polygons)."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from affine import Affine
from scipy import sparse
from tobler.area_weighted import area_interpolate as tobler_area_interpolate

from spatial.interpolation import (
    area_interpolate,
    dissolve_merged_areas,
    impute_suppressed,
    overlap_table,
)

CRS = 6677


def grid(nx: int, ny: int, width: float, height: float, x0: float = 0.0, y0: float = 0.0) -> list:
    dx, dy = width / nx, height / ny
    return [shapely.box(x0 + i * dx, y0 + j * dy, x0 + (i + 1) * dx, y0 + (j + 1) * dy)
            for j in range(ny) for i in range(nx)]


def voronoi(n: int, seed: int, size: float = 5000.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frame = shapely.box(0, 0, size, size)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(rng.uniform(0, size, (n, 2))),
                                                       extend_to=frame))
    return shapely.intersection(cells, frame)


@pytest.fixture(scope="module")
def irregular() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    rng = np.random.default_rng(7)
    source = gpd.GeoDataFrame(
        {"persons": rng.integers(0, 900, 400).astype(float), "households": rng.integers(0, 400, 400).astype(float),
         "rate": rng.uniform(0, 50, 400)},
        geometry=voronoi(400, 1), crs=CRS,
    )
    target = gpd.GeoDataFrame({"code": [f"D{i:03d}" for i in range(37)]}, geometry=voronoi(37, 2), crs=CRS)
    return source, target


def float64_overlay_table(source: gpd.GeoDataFrame, target: gpd.GeoDataFrame) -> sparse.csr_matrix:
    """An independent overlap table (geopandas.overlay, float64) to hand to tobler."""
    left = source[[source.geometry.name]].assign(i=np.arange(len(source)))
    right = target[[target.geometry.name]].assign(j=np.arange(len(target)))
    pieces = gpd.overlay(left, right, how="intersection", keep_geom_type=True)
    return sparse.csr_matrix((pieces.area.to_numpy(), (pieces["i"], pieces["j"])), shape=(len(source), len(target)))


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def test_equals_tobler_within_1e9_given_the_same_float64_overlaps(irregular):
    source, target = irregular
    ours = area_interpolate(source, target, ["persons", "households"], ["rate"])
    theirs = tobler_area_interpolate(source, target, ["persons", "households"], ["rate"],
                                     table=float64_overlay_table(source, target))
    for column in ("persons", "households", "rate"):
        assert relative_error(ours.frame[column], theirs[column]) < 1e-9, column


def test_close_to_tobler_own_table_which_is_float32(irregular):
    source, target = irregular
    ours = area_interpolate(source, target, ["persons"], ["rate"])
    theirs = tobler_area_interpolate(source, target, ["persons"], ["rate"])
    # tobler keeps its overlap areas in float32 (~1e-7 relative); the method is the same.
    assert relative_error(ours.frame["persons"], theirs["persons"]) < 1e-5
    assert relative_error(ours.frame["rate"], theirs["rate"]) < 1e-5


def test_overlap_table_matches_overlay_areas(irregular):
    source, target = irregular
    ours = overlap_table(source, target).matrix().toarray()
    reference = float64_overlay_table(source, target).toarray()
    assert np.allclose(ours, reference, rtol=1e-9, atol=1e-6)
    # every source's pieces add up to its own area when the targets cover it
    assert np.allclose(ours.sum(axis=1), source.area.to_numpy(), rtol=1e-9)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    source_shape=st.tuples(st.integers(1, 12), st.integers(1, 12)),
    target_shape=st.tuples(st.integers(1, 7), st.integers(1, 7)),
    seed=st.integers(0, 10_000),
)
def test_district_totals_add_to_the_city_total(source_shape, target_shape, seed):
    rng = np.random.default_rng(seed)
    width, height = 3000.0, 2000.0
    source = gpd.GeoDataFrame(
        {"count": rng.uniform(0, 5000, source_shape[0] * source_shape[1])},
        geometry=grid(*source_shape, width, height), crs=CRS,
    )
    # A target grid on a different lattice, so districts do not nest in small areas.
    target = gpd.GeoDataFrame(geometry=grid(*target_shape, width, height), crs=CRS)
    result = area_interpolate(source, target, ["count"])
    total = source["count"].sum()
    assert abs(result.frame["count"].sum() - total) <= 1e-9 * total
    assert (result.uncertain_share["count"] == 0).all()


def test_intensive_variable_is_the_area_weighted_mean():
    # One target covering the left 1/4 of source A (rate 10) and the whole of source B (rate 40).
    source = gpd.GeoDataFrame({"rate": [10.0, 40.0]},
                              geometry=[shapely.box(0, 0, 400, 100), shapely.box(400, 0, 500, 100)], crs=CRS)
    target = gpd.GeoDataFrame(geometry=[shapely.box(300, 0, 500, 100), shapely.box(0, 0, 300, 100)], crs=CRS)
    result = area_interpolate(source, target, intensive_variables=["rate"])
    assert result.frame["rate"].iloc[0] == pytest.approx((10 * 100 + 40 * 100) / 200)
    assert result.frame["rate"].iloc[1] == pytest.approx(10.0)


def suppressed_case() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    # Four 100 m squares in a row; target L covers squares 0–1, target R squares 2–3 and half of 1.
    squares = grid(4, 1, 400, 100)
    source = gpd.GeoDataFrame(
        {"pop_total": [100.0, 200.0, 300.0, 400.0], "pop_65_plus": [20.0, np.nan, 90.0, 100.0],
         "ward": ["W1", "W1", "W2", "W2"]},
        geometry=squares, crs=CRS,
    )
    target = gpd.GeoDataFrame({"code": ["L", "R"]},
                              geometry=[shapely.box(0, 0, 150, 100), shapely.box(150, 0, 400, 100)], crs=CRS)
    return source, target


def test_suppressed_cell_stays_unknown_never_zero():
    source, target = suppressed_case()
    result = area_interpolate(source, target, ["pop_total", "pop_65_plus"], suppressed="unknown")
    # Both targets touch square 1, whose 65+ count is suppressed: both are unknown, not a partial sum.
    assert result.frame["pop_65_plus"].isna().all()
    assert result.frame["pop_total"].tolist() == pytest.approx([200.0, 800.0])
    # L holds 50 of its 150 m² on the suppressed square; R 50 of 250.
    assert result.uncertain_share["pop_65_plus"].tolist() == pytest.approx([50 / 150, 50 / 250])
    assert result.uncertain_share["pop_total"].tolist() == [0.0, 0.0]


def test_suppressed_cell_imputed_from_the_parent_share():
    source, target = suppressed_case()
    result = area_interpolate(source, target, ["pop_total", "pop_65_plus"], impute_group="ward")
    # Ward W1's known share: 20 / 100; square 1 is imputed as 200 × 0.2 = 40.
    left = 20 + 0.5 * 40
    right = 0.5 * 40 + 90 + 100
    assert result.frame["pop_65_plus"].tolist() == pytest.approx([left, right])
    assert result.uncertain_share["pop_65_plus"].tolist() == pytest.approx([20 / left, 20 / right])
    assert result.frame["pop_65_plus"].sum() == pytest.approx(20 + 40 + 90 + 100, rel=1e-12)
    assert result.imputed_cells == 1
    # The small-area counts the districts were built from, for wards and the city to add up.
    assert result.source_counts["pop_65_plus"].tolist() == pytest.approx([20, 40, 90, 100])
    assert result.source_imputed["pop_65_plus"].tolist() == pytest.approx([0, 40, 0, 0])
    unknown = area_interpolate(source, target, ["pop_65_plus"], suppressed="unknown")
    assert np.isnan(unknown.source_counts["pop_65_plus"].iloc[1])
    assert (unknown.source_imputed.to_numpy() == 0).all()


def test_imputation_falls_back_to_density_when_the_base_is_suppressed_too():
    values = pd.DataFrame({"pop_total": [100.0, np.nan], "pop_65_plus": [30.0, np.nan]})
    filled, imputed = impute_suppressed(values, area_m2=np.array([1000.0, 500.0]))
    assert filled["pop_total"].tolist() == pytest.approx([100.0, 50.0])  # 0.1 person per m²
    assert filled["pop_65_plus"].tolist() == pytest.approx([30.0, 15.0])  # 50 × 30/100
    np.testing.assert_allclose(imputed.to_numpy(), [[0.0, 0.0], [50.0, 15.0]])


def write_raster(path, array: np.ndarray, x0: float, y0: float, size: float, nodata: float | None = None) -> None:
    with rasterio.open(path, "w", driver="GTiff", height=array.shape[0], width=array.shape[1], count=1,
                       dtype="float64", crs=f"EPSG:{CRS}", transform=Affine(size, 0, x0, 0, -size, y0),
                       nodata=nodata) as dataset:
        dataset.write(array.astype("float64"), 1)


def test_dasymetric_raster_puts_people_where_the_raster_says(tmp_path):
    # One 200 × 100 m small area, two districts (left / right halves); all residents live in the left.
    source = gpd.GeoDataFrame({"persons": [1000.0]}, geometry=[shapely.box(0, 0, 200, 100)], crs=CRS)
    target = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)], crs=CRS)
    raster = tmp_path / "population.tif"
    write_raster(raster, np.array([[5.0, 0.0], [3.0, -1.0]]), x0=0, y0=100, size=100,
                 nodata=-1.0)
    result = area_interpolate(source, target, ["persons"], weight_raster=raster)
    assert result.frame["persons"].tolist() == pytest.approx([1000.0, 0.0])
    assert "raster" in result.method


def test_dasymetric_raster_shares_cells_by_covered_fraction(tmp_path):
    # Cells of 100 m; the boundary between the districts cuts cell (0, 1) in half.
    source = gpd.GeoDataFrame({"persons": [600.0]}, geometry=[shapely.box(0, 0, 200, 100)], crs=CRS)
    target = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 150, 100), shapely.box(150, 0, 200, 100)], crs=CRS)
    raster = tmp_path / "population.tif"
    write_raster(raster, np.array([[1.0, 2.0]]), x0=0, y0=100, size=100)
    result = area_interpolate(source, target, ["persons"], weight_raster=raster)
    # Mass: left = 1 + 2 × 0.5 = 2, right = 2 × 0.5 = 1.
    assert result.frame["persons"].tolist() == pytest.approx([400.0, 200.0])


def test_dasymetric_polygons_and_fallback_for_sources_without_residential_land():
    source = gpd.GeoDataFrame({"persons": [900.0, 100.0]},
                              geometry=[shapely.box(0, 0, 300, 100), shapely.box(300, 0, 400, 100)], crs=CRS)
    target = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 400, 100)], crs=CRS)
    # Residential land: only the middle third of the first source (and nothing on the second).
    residential = gpd.GeoDataFrame(geometry=[shapely.box(100, 0, 200, 100), shapely.box(150, 0, 200, 50)], crs=CRS)
    result = area_interpolate(source, target, ["persons"], weight_polygons=residential)
    # Source 1 goes wholly to target 1 (its residential land); source 2 falls back to area (target 1).
    assert result.frame["persons"].tolist() == pytest.approx([0.0, 1000.0])
    assert "fall back to area" in result.method


def test_needs_a_projected_crs(irregular):
    source, target = irregular
    with pytest.raises(ValueError, match="projected CRS"):
        area_interpolate(source.to_crs(6668), target.to_crs(6668), ["persons"])
    reprojected = area_interpolate(source.to_crs(6668), target.to_crs(6668), ["persons"], crs_metric=CRS)
    assert reprojected.frame["persons"].sum() == pytest.approx(source["persons"].sum(), rel=1e-9)


def test_merged_areas_join_their_carrier():
    areas = gpd.GeoDataFrame({"key_code": ["A", "B", "C"]}, geometry=grid(3, 1, 300, 100), crs=CRS)
    dissolved = dissolve_merged_areas(areas, {"B": "C"})
    assert dissolved["key_code"].tolist() == ["A", "C"]
    assert dissolved.area.tolist() == pytest.approx([10_000.0, 20_000.0])


def test_overlaps_agree_with_overlay_when_districts_follow_or_overlap_small_areas():
    # Districts made of whole small areas (covered / touching pairs), one cutting through them, and
    # two districts overlapping each other (as digitised 小学校区 sometimes do).
    cells = grid(6, 4, 600, 400)
    source = gpd.GeoDataFrame({"persons": np.arange(1.0, 25.0)}, geometry=cells, crs=CRS)
    target = gpd.GeoDataFrame(geometry=[
        shapely.box(0, 0, 200, 400),       # follows small-area boundaries
        shapely.box(200, 0, 400, 200),     # follows them too
        shapely.box(150, 200, 450, 400),   # cuts small areas and overlaps the first district
        shapely.box(400, 0, 600, 200),
        shapely.box(450, 200, 600, 400),
    ], crs=CRS)
    table = overlap_table(source, target, threads=1).matrix().toarray()
    reference = float64_overlay_table(source, target).toarray()
    np.testing.assert_allclose(table, reference, rtol=1e-9, atol=1e-9)
    # On two threads, keeping the pieces, the table is the same.
    threaded = overlap_table(source, target, threads=2, keep_pieces=True)
    np.testing.assert_allclose(threaded.matrix().toarray(), reference, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(shapely.area(threaded.pieces), threaded.area_m2, rtol=1e-12)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), target_shape=st.tuples(st.integers(1, 5), st.integers(1, 5)))
def test_dasymetric_weights_conserve_totals_too(tmp_path, seed, target_shape):
    rng = np.random.default_rng(seed)
    source = gpd.GeoDataFrame({"count": rng.uniform(0, 1000, 12)}, geometry=grid(4, 3, 400, 300), crs=CRS)
    target = gpd.GeoDataFrame(geometry=grid(*target_shape, 400, 300), crs=CRS)
    raster = tmp_path / f"weights_{seed}.tif"
    # 50 m cells, many of them empty (no residents), some nodata.
    cells = rng.choice([0.0, 0.0, 1.0, 5.0, -1.0], size=(6, 8))
    write_raster(raster, cells, x0=0, y0=300, size=50, nodata=-1.0)
    result = area_interpolate(source, target, ["count"], weight_raster=raster)
    total = source["count"].sum()
    assert abs(result.frame["count"].sum() - total) <= 1e-9 * total


def test_mesh_cells_weight_by_where_people_live():
    # One 200 × 100 small area of 300 people; the district boundary at x = 100 splits it in two.
    # Mesh cells: the left half holds 10 people, the right 90 (plus an empty cell beside them).
    source = gpd.GeoDataFrame({"persons": [300.0]}, geometry=[shapely.box(0, 0, 200, 100)], crs=CRS)
    target = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)], crs=CRS)
    cells = gpd.GeoDataFrame({"population": [10.0, 90.0, 0.0]},
                             geometry=grid(3, 1, 300, 100), crs=CRS)
    result = area_interpolate(source, target, ["persons"], weight_cells=cells, weight_cells_value="population")
    assert result.frame["persons"].tolist() == pytest.approx([30.0, 270.0])
    assert "cells: population" in result.method
    # A cell counts by the fraction of it a piece covers: shifted 50 m, the left piece holds half of
    # the 10-person cell (5), the right piece the other half and half of the 90-person cell (50).
    shifted = gpd.GeoDataFrame({"population": [10.0, 90.0]}, geometry=grid(2, 1, 200, 100, x0=50), crs=CRS)
    result = area_interpolate(source, target, ["persons"], weight_cells=shifted, weight_cells_value="population")
    assert result.frame["persons"].tolist() == pytest.approx([300 * 5 / 55, 300 * 50 / 55])
    with pytest.raises(ValueError, match="at most one"):
        area_interpolate(source, target, ["persons"], weight_cells=cells, weight_polygons=cells)

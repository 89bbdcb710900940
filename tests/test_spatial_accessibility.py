"""Walk coverage and demand points (pure: no database). Distances in EPSG:6677 metres."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod
from shapely.geometry import Point, box

from spatial.accessibility import (
    DistanceModel, StraightLineDistance, coverage_shares, walk_coverage, walk_coverage_by_district,
)
from spatial.demand import DemandError, demand_points

METRIC = 6677
# A place in 中原区, Kawasaki, in EPSG:6677 metres (x = easting, y = northing).
ORIGIN = (-27000.0, -53000.0)


def points(xy, crs=METRIC, **columns) -> gpd.GeoDataFrame:
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    return gpd.GeoDataFrame(columns, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=crs)


def at(dx: float, dy: float = 0.0) -> tuple[float, float]:
    return ORIGIN[0] + dx, ORIGIN[1] + dy


def test_point_499_m_away_is_covered_and_501_m_is_not():
    demand = points([at(499), at(0, 501), at(-500)], elderly=[10.0, 20.0, 30.0], elderly_alone=[1.0, 2.0, 3.0])
    facility = points([at(0)])
    flags = walk_coverage(demand, facility, distance_m=500, crs_metric=METRIC)
    assert flags["covered"].tolist() == [True, False, True]  # exactly 500 m counts as reachable
    assert flags["facilities_within"].tolist() == [1, 0, 1]
    np.testing.assert_allclose(flags["nearest_m"], [499, 501, 500])


def test_inputs_in_geographic_crs_are_measured_in_metres():
    """Demand and facility given in EPSG:6668 lon/lat: 499/501 m (geodesic ≈ plane at this scale)."""
    geod = Geod(ellps="GRS80")
    lon0, lat0 = 139.65, 35.57
    near_lon, near_lat, _ = geod.fwd(lon0, lat0, 90, 499)
    far_lon, far_lat, _ = geod.fwd(lon0, lat0, 0, 501)
    demand = points([(near_lon, near_lat), (far_lon, far_lat)], crs=6668, elderly=[1.0, 1.0], elderly_alone=[0.0, 0.0])
    facility = points([(lon0, lat0)], crs=6668)
    flags = walk_coverage(demand, facility, distance_m=500, crs_metric=METRIC)
    assert flags["covered"].tolist() == [True, False]
    np.testing.assert_allclose(flags["nearest_m"], [499, 501], atol=0.5)


def test_no_facilities_covers_nothing():
    demand = points([at(0), at(10)], elderly=[1.0, 2.0], elderly_alone=[0.0, 1.0])
    flags = walk_coverage(demand, points(np.empty((0, 2))), 500, METRIC)
    assert not flags["covered"].any()
    assert flags["nearest_m"].isna().all()


def test_missing_crs_is_refused_with_a_clear_message():
    demand = gpd.GeoDataFrame({"elderly": [1.0], "elderly_alone": [0.0]}, geometry=[Point(0, 0)])
    with pytest.raises(ValueError, match="no CRS"):
        walk_coverage(demand, points([at(0)]), 500, METRIC)


def test_shares_per_district_leave_unknown_counts_out():
    demand = points(
        [at(0), at(100), at(2000), at(0, 50), at(3000)],
        elderly=[100.0, 50.0, 50.0, np.nan, 40.0], elderly_alone=[10.0, 10.0, 20.0, 5.0, np.nan],
        district_code=["d1", "d1", "d1", "d1", "d2"],
    )
    result = walk_coverage_by_district(demand, points([at(0)]), 500, METRIC)
    d1 = result.loc["d1"]
    assert d1["walk_coverage"] == pytest.approx(100 * 150 / 200)  # the unknown point is in neither part
    assert d1["walk_coverage_alone"] == pytest.approx(100 * 25 / 45)
    assert d1["uncertain_share"] == pytest.approx(0.25)
    d2 = result.loc["d2"]
    assert d2["walk_coverage"] == 0.0
    assert np.isnan(d2["walk_coverage_alone"])  # elderly alone unknown: no share, not 0 %


def test_overall_share_without_groups():
    demand = points([at(0), at(900)], elderly=[30.0, 10.0], elderly_alone=[3.0, 1.0])
    flags = walk_coverage(demand, points([at(0)]), 500, METRIC)
    overall = coverage_shares(demand, flags["covered"], by=None)
    assert overall.loc["all", "walk_coverage"] == pytest.approx(75.0)


def test_a_custom_distance_model_plugs_in():
    class ManhattanDistance:
        name = "manhattan"

        def reachable(self, demand_xy, site_xy, distance_m):
            from scipy import sparse
            d = np.abs(demand_xy[:, None, :] - site_xy[None, :, :]).sum(axis=2)
            return sparse.csr_matrix(d <= distance_m)

    model = ManhattanDistance()
    assert isinstance(model, DistanceModel)
    assert isinstance(StraightLineDistance(), DistanceModel)
    demand = points([at(300, 300)], elderly=[1.0], elderly_alone=[0.0])  # 424 m straight, 600 m Manhattan
    assert walk_coverage(demand, points([at(0)]), 500, METRIC)["covered"].iloc[0]
    assert not walk_coverage(demand, points([at(0)]), 500, METRIC, distance_model=model)["covered"].iloc[0]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 3000), st.floats(0, 3000)), min_size=1, max_size=30),
    st.lists(st.tuples(st.floats(0, 3000), st.floats(0, 3000)), min_size=0, max_size=8),
    st.floats(1, 1500),
)
def test_straight_line_matches_brute_force(demand_xy, site_xy, distance):
    demand_xy = np.array(demand_xy) + ORIGIN
    site_xy = np.array(site_xy).reshape(-1, 2) + ORIGIN
    matrix = StraightLineDistance().reachable(demand_xy, site_xy, distance).toarray()
    brute = np.hypot(demand_xy[:, None, 0] - site_xy[None, :, 0], demand_xy[:, None, 1] - site_xy[None, :, 1])
    # Away from the boundary (floating point), the two agree exactly.
    clear = np.abs(brute - distance) > 1e-6
    assert (matrix[clear] == (brute[clear] <= distance)).all()


# --- demand points -------------------------------------------------------------------------------

def _areas() -> gpd.GeoDataFrame:
    x0, y0 = ORIGIN
    return gpd.GeoDataFrame(
        {"key_code": ["A", "B", "C", "W"], "hcode": [8101, 8101, 8101, 8154]},
        geometry=[box(x0, y0, x0 + 1000, y0 + 1000), box(x0 + 1000, y0, x0 + 2000, y0 + 1000),
                  box(x0 + 2000, y0, x0 + 3000, y0 + 1000), box(x0, y0 - 500, x0 + 3000, y0)],
        crs=METRIC,
    ).to_crs(6668)


def _figures() -> pd.DataFrame:
    return pd.DataFrame([
        ("A", "pop_total", 400.0, "ok", ""), ("A", "pop_65_plus", 100.0, "ok", ""),
        ("A", "households_elderly_alone", 20.0, "ok", ""),
        ("B", "pop_total", 40.0, "ok", ""), ("B", "pop_65_plus", None, "suppressed", ""),
        ("B", "households_elderly_alone", 0.0, "zero", ""),
        ("C", "pop_total", None, "merged", "A"), ("C", "pop_65_plus", None, "merged", "A"),
        ("C", "households_elderly_alone", None, "merged", "A"),
    ], columns=["key_code", "variable", "value", "status", "merged_into"])


def test_demand_points_keep_suppressed_cells_unknown_and_fold_merged_areas_into_their_carrier():
    demand = demand_points(_areas(), _figures())
    assert demand.crs.to_epsg() == 6668
    by_key = demand.set_index("key_code")
    assert set(by_key.index) == {"A", "B"}  # C is carried by A; W is water
    assert by_key.loc["A", "elderly"] == 100 and by_key.loc["A", "elderly_alone"] == 20
    assert np.isnan(by_key.loc["B", "elderly"]) and not by_key.loc["B", "elderly_known"]
    assert by_key.loc["B", "elderly_alone"] == 0 and by_key.loc["B", "elderly_alone_known"]
    assert demand["demand_id"].is_unique
    # Every point lies inside its (carrier) area.
    areas = _areas().set_index("key_code")
    carrier_a = areas.loc[["A", "C"]].union_all()
    assert carrier_a.contains(by_key.loc["A", "geometry"])


def test_imputation_is_flagged():
    demand = demand_points(_areas(), _figures(), impute_suppressed=True).set_index("key_code")
    # 65+ rate where known: 100 / 400; B has 40 people → 10 elderly estimated.
    assert demand.loc["B", "elderly"] == pytest.approx(10.0)
    assert demand.loc["B", "elderly_imputed"] and not demand.loc["A", "elderly_imputed"]


def test_district_split_shares_a_straddling_area_by_area():
    x0, y0 = ORIGIN
    districts = gpd.GeoDataFrame({"code": ["d1", "d2"]},
                                 geometry=[box(x0, y0 - 500, x0 + 1500, y0 + 1000),
                                           box(x0 + 1500, y0 - 500, x0 + 3000, y0 + 1000)], crs=METRIC)
    demand = demand_points(_areas(), _figures(), districts=districts)
    b = demand[demand["key_code"] == "B"].set_index("district_code")
    assert b["share"].to_dict() == pytest.approx({"d1": 0.5, "d2": 0.5})
    a = demand[demand["key_code"] == "A"].groupby("district_code")["elderly"].sum()
    assert a.to_dict() == pytest.approx({"d1": 50.0, "d2": 50.0})  # A ∪ C, half in each district
    assert demand.groupby("key_code")["share"].sum().to_dict() == pytest.approx({"A": 1.0, "B": 1.0})


def test_residential_polygons_move_the_point_to_where_people_live():
    x0, y0 = ORIGIN
    homes = gpd.GeoDataFrame({"floors": [1, 3]}, geometry=[box(x0 + 100, y0 + 100, x0 + 200, y0 + 200),
                                                           box(x0 + 800, y0 + 800, x0 + 900, y0 + 900)], crs=METRIC)
    demand = demand_points(_areas(), _figures(), residential=homes, residential_weight_column="floors")
    a = demand[demand["key_code"] == "A"].to_crs(METRIC)
    assert sorted(a["elderly"].round(6)) == [25.0, 75.0]
    assert (a["placement"] == "residential").all()
    assert (demand[demand["key_code"] == "B"]["placement"] == "centroid").all()  # no homes there: fallback


def test_population_raster_places_demand_at_cells(tmp_path):
    rasterio = pytest.importorskip("rasterio")
    from rasterio.transform import from_origin

    x0, y0 = ORIGIN
    grid = np.zeros((2, 4), dtype="float32")
    grid[0, 0] = 30  # top-left cell of A (cells 500 m, rows from the top)
    grid[1, 1] = 10  # bottom-right cell of A
    grid[0, 2] = 5   # in B
    path = tmp_path / "population.tif"
    with rasterio.open(path, "w", driver="GTiff", width=4, height=2, count=1, dtype="float32",
                       crs="EPSG:6677", transform=from_origin(x0, y0 + 1000, 500, 500)) as out:
        out.write(grid, 1)
    demand = demand_points(_areas(), _figures(), population_raster=path)
    a = demand[demand["key_code"] == "A"]
    assert sorted(a["share"].round(6)) == [0.25, 0.75]
    assert (a["placement"] == "raster").all()


def test_missing_columns_name_the_input():
    with pytest.raises(DemandError, match="census figures"):
        demand_points(_areas(), pd.DataFrame({"key_code": ["A"], "value": [1.0]}))


def test_chains_of_merged_areas_are_carried_to_the_end():
    # C merged into B, B into A: A's counts cover all three polygons, so a district holding half of
    # their joint extent gets half of A's elderly.
    x0, y0 = ORIGIN
    figures = pd.DataFrame(
        [("A", "pop_total", 400.0, "ok", ""), ("A", "pop_65_plus", 100.0, "ok", ""),
         ("A", "households_elderly_alone", 20.0, "ok", "")]
        + [(key, variable, None, "merged", into) for key, into in (("B", "A"), ("C", "B"))
           for variable in ("pop_total", "pop_65_plus", "households_elderly_alone")],
        columns=["key_code", "variable", "value", "status", "merged_into"])
    districts = gpd.GeoDataFrame({"code": ["d1", "d2"]},
                                 geometry=[box(x0, y0 - 500, x0 + 1500, y0 + 1000),
                                           box(x0 + 1500, y0 - 500, x0 + 3000, y0 + 1000)], crs=METRIC)
    demand = demand_points(_areas(), figures, districts=districts)
    assert set(demand["key_code"]) == {"A"}
    assert demand.set_index("district_code")["share"].to_dict() == pytest.approx({"d1": 0.5, "d2": 0.5})
    assert demand["elderly"].sum() == pytest.approx(100.0)

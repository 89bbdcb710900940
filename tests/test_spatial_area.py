"""spatial.area: the share of each small area inside one polygon, and the apportioned counts,
against cases computed by hand."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from spatial.area import METHOD_AREA, METHOD_DASYMETRIC, METHOD_WHOLE, apportion, overlap_fractions

CRS = 6677


def grid() -> gpd.GeoSeries:
    """Four 100 m squares side by side along x: a0 [0,100], a1 [100,200], a2 [200,300], a3 [300,400]."""
    return gpd.GeoSeries([shapely.box(100 * i, 0, 100 * (i + 1), 100) for i in range(4)],
                         index=[f"a{i}" for i in range(4)], crs=CRS)


def test_whole_areas_are_exactly_one_and_outside_zero():
    fractions = overlap_fractions(grid(), shapely.box(-5, -5, 200, 105))  # touches a2 along x = 200
    assert fractions.values.tolist() == [1.0, 1.0, 0.0, 0.0]
    assert fractions.method == METHOD_WHOLE and fractions.whole == 2 and fractions.partial == 0


def test_a_cut_area_gives_its_land_share():
    # The polygon covers a0 whole and the western quarter of a1 (x 100–125): 25 % of a1's land.
    fractions = overlap_fractions(grid(), shapely.box(-5, -5, 125, 105))
    assert fractions.values[0] == 1.0
    assert fractions.values[1] == pytest.approx(0.25, abs=1e-12)
    assert fractions.values[2:].tolist() == [0.0, 0.0]
    assert fractions.method == METHOD_AREA and fractions.partial == 1


def test_dasymetric_share_follows_the_people_not_the_land():
    # a1's people all live in its western half (a cell of 100 people over x 100–150): a polygon
    # covering x 100–125 holds half of the cell, so half of a1's count, not a quarter.
    cells = gpd.GeoDataFrame({"population": [100.0]}, geometry=[shapely.box(100, 0, 150, 100)], crs=CRS)
    fractions = overlap_fractions(grid(), shapely.box(-5, -5, 125, 105), weight_cells=cells, weight_name="mesh")
    assert fractions.values[1] == pytest.approx(0.5, abs=1e-9)
    assert fractions.values[0] == 1.0
    assert fractions.method == METHOD_DASYMETRIC and fractions.weight_name == "mesh"


def test_an_area_made_of_whole_small_areas_equals_their_sum_exactly():
    values = pd.DataFrame({"pop_total": [1234.0, 567.0, 89.0, 10.0], "pop_65_plus": [301.0, 122.0, 17.0, 3.0]},
                          index=[f"a{i}" for i in range(4)])
    fractions = overlap_fractions(grid(), shapely.box(-5, -5, 200, 105))
    result = apportion(values, dict(zip(values.index, fractions.values)))
    assert result.counts["pop_total"] == 1234.0 + 567.0
    assert result.counts["pop_65_plus"] == 301.0 + 122.0
    assert result.uncertain_share.tolist() == [0.0, 0.0]
    assert result.contributing.index.tolist() == ["a0", "a1"]


def test_partial_and_suppressed_cells_by_hand():
    # a1 is suppressed for pop_65_plus; its ward-mates a0 and a2 have 400 of 2000 people aged 65+
    # (20 %), so a1's 500 people give 100 imputed. The polygon holds a0 whole and a quarter of a1:
    # pop_total 1000 + 0.25 × 500 = 1125; pop_65_plus 200 + 0.25 × 100 = 225, of which 25 imputed.
    values = pd.DataFrame({"pop_total": [1000.0, 500.0, 1000.0, 70.0],
                           "pop_65_plus": [200.0, np.nan, 200.0, 70.0]}, index=[f"a{i}" for i in range(4)])
    groups = np.array(["w1", "w1", "w1", "w2"])
    result = apportion(values, {"a0": 1.0, "a1": 0.25}, area_m2=np.full(4, 1e4), groups=groups)
    assert result.counts["pop_total"] == pytest.approx(1125.0)
    assert result.counts["pop_65_plus"] == pytest.approx(225.0)
    assert result.uncertain_share["pop_65_plus"] == pytest.approx(25.0 / 225.0)
    assert result.uncertain_share["pop_total"] == 0.0
    assert result.imputed_cells == 1

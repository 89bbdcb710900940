"""Indicator registry and maths, three-tier aggregation, ranks and class breaks, isolation index,
resource counts and hazard area — on hand-computable inputs."""
from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine

from spatial import compare, isolation
from spatial.indicators import (
    BANDS,
    INDICATORS,
    changes,
    derived_indicators,
    derived_uncertainty,
    population_pyramid,
    with_age_groups,
)
from spatial.resources import hazard_area_m2, locate_points, resource_counts

ARCHITECTURE = Path(__file__).resolve().parent.parent / "docs" / "architecture.md"


def test_registry_has_every_code_of_the_architecture_document():
    text = ARCHITECTURE.read_text(encoding="utf-8")
    indicator_table = text.split("## Indicators")[1].split("Tiers:")[0]
    codes = re.findall(r"^\| `([a-z0-9_{}]+)`", indicator_table, flags=re.M)
    census_table = text.split("## Census variables")[1].split("## Indicators")[0]
    codes += [c for c in re.findall(r"`([a-z0-9_{},]+)`", census_table) if c.startswith(("pop", "house", "dwell", "mov"))]
    expanded = []
    for code in codes:
        if code == "resources_{kind}":
            expanded += [c for c in INDICATORS if c.startswith("resources_") and c != "resources_per_1000_elderly"]
        elif code.startswith("pop_{t,m,f}"):
            expanded += [f"pop_{s}_{b}" for s in "tmf" for b in BANDS]
        elif "," in code or "{" in code:
            continue
        else:
            expanded.append(code)
    assert len(expanded) > 40
    missing = sorted(set(expanded) - set(INDICATORS))
    assert not missing, missing


def test_every_spec_is_complete_and_consistent():
    for code, spec in INDICATORS.items():
        assert spec.code == code
        assert spec.label_ja and spec.label_en and spec.description_ja, code
        assert spec.kind in {"rate", "count", "index"}, code
        assert spec.higher_is in {"worse", "better", "neutral"}, code
        assert spec.unit, code
    assert INDICATORS["ageing_rate"].unit == "%" and INDICATORS["ageing_rate"].higher_is == "worse"
    assert INDICATORS["ageing_rate_change"].unit == "pt"
    assert INDICATORS["park_area_per_capita"].unit == "m²/人"


def counts() -> pd.DataFrame:
    return pd.DataFrame(
        {"pop_total": [1010.0, 500.0], "pop_0_14": [100.0, 50.0], "pop_15_64": [600.0, 250.0],
         "pop_65_plus": [300.0, 200.0], "pop_75_plus": [150.0, 120.0],
         "households_with_elderly": [200.0, 0.0], "households_elderly_alone": [50.0, 0.0],
         "dwelling_households_total": [400.0, 200.0], "dwelling_households_apartment": [100.0, np.nan]},
        index=["A", "B"],
    )


def test_ratios_by_hand():
    result = derived_indicators(counts())
    # Age-known population of A: 100 + 600 + 300 = 1000 (the 10 of unknown age are left out).
    assert result.loc["A", "ageing_rate"] == pytest.approx(30.0)
    assert result.loc["A", "old_old_share"] == pytest.approx(15.0)
    assert result.loc["A", "child_share"] == pytest.approx(10.0)
    assert result.loc["A", "dependency_ratio"] == pytest.approx(400 / 600 * 100)
    assert result.loc["A", "elderly_alone_share"] == pytest.approx(25.0)
    assert result.loc["A", "apartment_share"] == pytest.approx(25.0)
    # No elderly households: unknown, not 0 %; an unknown numerator gives an unknown ratio.
    assert np.isnan(result.loc["B", "elderly_alone_share"])
    assert np.isnan(result.loc["B", "apartment_share"])
    assert "mobility_rate" not in result


def test_age_groups_from_bands_and_the_pyramid():
    bands = {f"pop_{s}_{b}": float(i + (s == "f")) for i, b in enumerate(BANDS) for s in "mf"}
    frame = pd.DataFrame([bands], index=["A"])
    grouped = with_age_groups(frame)
    assert grouped.loc["A", "pop_0_14"] == sum(2 * i + 1 for i in range(3))
    assert grouped.loc["A", "pop_65_plus"] == sum(2 * i + 1 for i in range(13, 21))
    pyramid = population_pyramid(frame.loc["A"])
    assert list(pyramid.index) == list(BANDS)
    assert pyramid.loc["100_plus", "male"] == 20.0 and pyramid.loc["100_plus", "female"] == 21.0
    assert np.isnan(population_pyramid(pd.Series({"pop_m_0_4": 3.0})).loc["0_4", "female"])


def test_changes_in_percentage_points_and_uncertainty_of_ratios():
    now = derived_indicators(counts())
    before = now.copy()
    before["ageing_rate"] = [25.0, 30.0]
    delta = changes(now, before)
    assert delta.loc["A", "ageing_rate_change"] == pytest.approx(5.0)
    uncertain = pd.DataFrame(0.0, index=["A", "B"], columns=counts().columns)
    uncertain.loc["A", "households_elderly_alone"] = 0.4  # 20 of the 50 rest on imputed cells
    share = derived_uncertainty(uncertain, counts())
    assert share.loc["A", "elderly_alone_share"] == pytest.approx(0.4 * 50 / (50 + 200))
    assert share.loc["A", "ageing_rate"] == 0


def test_three_tier_ratios_come_from_summed_counts():
    small = counts()
    wards = compare.aggregate_counts(small, ["W", "W"])
    table = compare.tier_table(wards)
    # (300 + 200) / (1000 + 500): not the mean of 30 % and 40 %.
    assert table.loc["W", "ageing_rate"] == pytest.approx(100 * 500 / 1500)
    assert np.isnan(table.loc["W", "apartment_share"])  # B's apartment count is unknown
    tiers = compare.three_tiers(small, pd.Series(["W1", "W2"], index=small.index), city_code="14130")
    assert tiers["city"].loc["14130", "pop_total"] == 1510
    assert tiers["ward"].loc["W2", "ageing_rate"] == pytest.approx(40.0)


def test_ranks_and_class_breaks():
    ranks = compare.rank_descending(pd.Series([10.0, 30.0, np.nan, 30.0, 5.0], index=list("abcde")))
    assert ranks.tolist() == [3, 1, pd.NA, 1, 4]
    values = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    equal = compare.class_breaks(values, "equal_interval", k=3)
    assert equal["bins"] == pytest.approx([4.0, 7.0, 10.0])
    assert sum(equal["counts"]) == 10
    quantiles = compare.class_breaks(values + [np.nan], "quantiles", k=5)
    assert quantiles["bins"] == pytest.approx([2.8, 4.6, 6.4, 8.2, 10.0])
    natural = compare.class_breaks([1, 1.1, 1.2, 5, 5.1, 5.2, 9, 9.1], "natural_breaks", k=3)
    assert natural["bins"] == pytest.approx([1.2, 5.2, 9.1])
    assert compare.class_breaks([3.0, 3.0], "quantiles", k=5)["k"] == 1
    with pytest.raises(ValueError, match="scheme"):
        compare.class_breaks(values, "jenks")


def test_isolation_index_definition_and_sensitivity():
    frame = pd.DataFrame({
        "elderly_alone_share": [10.0, 20.0, 30.0, 40.0],
        "ageing_rate": [40.0, 30.0, 20.0, 10.0],
        "apartment_share": [50.0, 50.0, 50.0, 50.0],  # no spread: contributes 0
    }, index=list("abcd"))
    index = isolation.isolation_index(frame)
    z = (np.array([10, 20, 30, 40]) - 25) / np.std([10, 20, 30, 40])
    # mobility_rate is absent: weights 0.4, 0.3, 0.2 renormalised.
    expected = (0.4 * z + 0.3 * -z + 0.2 * 0) / 0.9
    assert index.to_numpy() == pytest.approx(expected)
    assert isolation.used_weights(frame) == pytest.approx({"elderly_alone_share": 0.4 / 0.9,
                                                           "ageing_rate": 0.3 / 0.9, "apartment_share": 0.2 / 0.9})
    assert isolation.rank(index).tolist() == [4, 3, 2, 1]
    ranks, summary = isolation.sensitivity(frame)
    # "demographic" weighs the two opposite components equally: everyone ties at rank 1.
    assert ranks["demographic"].tolist() == [1, 1, 1, 1]
    assert summary.loc["alone_only", "spearman"] == pytest.approx(1.0)
    assert ranks["rank_change_max"].max() == 3


def test_resource_counts_parks_vacant_houses(tmp_path):
    districts = gpd.GeoDataFrame({"code": ["L", "R"]}, geometry=[shapely.box(0, 0, 1000, 1000),
                                                                   shapely.box(1000, 0, 2000, 1000)], crs=6677)
    resources = gpd.GeoDataFrame(
        {"kind": ["park", "park", "library", "vacant_house", "vacant_house", "cafe"],
         "area_m2": [500.0, 250.0, None, None, None, None]},
        geometry=shapely.points([(100, 100), (1500, 500), (900, 900), (1000, 500), (1999, 1), (5000, 5000)]),
        crs=6677,
    )
    located = locate_points(districts, resources)
    assert located.tolist() == [0, 1, 0, 0, 1, -1]  # the boundary point goes to the first district
    result = resource_counts(districts, resources)
    assert result["resources_park"].tolist() == [1, 1]
    assert result["resources_total"].tolist() == [3, 2]
    assert result["park_area_m2"].tolist() == [500.0, 250.0]
    assert result["vacant_houses"].tolist() == [1, 1]
    assert result["area_km2"].tolist() == pytest.approx([1.0, 1.0])
    with_people = pd.concat([result, pd.DataFrame({"pop_total": [100.0, 50.0], "pop_65_plus": [30.0, 0.0],
                                                   "households_total": [40.0, 20.0]}, index=result.index)], axis=1)
    ratios = derived_indicators(with_people)
    assert ratios["park_area_per_capita"].tolist() == pytest.approx([5.0, 5.0])
    assert ratios["resources_per_1000_elderly"].iloc[0] == pytest.approx(100.0)
    assert np.isnan(ratios["resources_per_1000_elderly"].iloc[1])
    assert ratios["vacant_houses_per_100_households"].tolist() == pytest.approx([2.5, 5.0])
    assert ratios["vacant_house_density"].tolist() == pytest.approx([1.0, 1.0])


def test_hazard_area_from_a_depth_raster(tmp_path):
    path = tmp_path / "depth.tif"
    depth = np.array([[0.0, 0.6, 2.0, -9999.0],
                      [0.4, 0.5, 0.1, 3.0]])
    with rasterio.open(path, "w", driver="GTiff", height=2, width=4, count=1, dtype="float32", crs="EPSG:6677",
                       transform=Affine(100, 0, 0, 0, -100, 200), nodata=-9999.0) as dataset:
        dataset.write(depth.astype("float32"), 1)
    districts = gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 150, 200), shapely.box(150, 0, 400, 200)], crs=6677)
    area = hazard_area_m2(districts, path, threshold=0.5)
    # ≥ 0.5 m: cells (0,1), (0,2), (1,1), (1,3). Left district holds half of (0,1) and half of (1,1).
    assert area.tolist() == pytest.approx([5_000.0 + 5_000.0, 5_000.0 + 10_000.0 + 5_000.0 + 10_000.0])
    counted = resource_counts(districts, gpd.GeoDataFrame({"kind": []}, geometry=[], crs=6677),
                              hazard_raster=path, hazard_threshold=0.5)
    share = derived_indicators(counted)["hazard_area_share"]
    assert share.tolist() == pytest.approx([100 * 10_000 / 30_000, 100 * 30_000 / 50_000])


def test_pyramid_follows_an_open_band_at_75():
    counts = pd.Series({**{f"pop_{s}_{lo}_{lo + 4}": 1.0 for s in "mf" for lo in range(0, 75, 5)},
                        "pop_m_75_plus": 9.0, "pop_f_75_plus": 12.0})
    pyramid = population_pyramid(counts)
    assert pyramid.index[-1] == "75_plus" and len(pyramid) == 16
    assert pyramid.loc["75_plus", "female"] == 12.0
    assert pyramid.loc["75_plus", "label_ja"] == "75歳以上"


def test_ratio_over_a_sliver_is_unknown_not_noise():
    """A district where nobody is 65 or older still gets a few thousandths of a household from the
    slivers of neighbouring small areas: its elderly living-alone share is unknown, not 27 %."""
    counts = pd.DataFrame({"households_with_elderly": [0.0015, 0.0, 40.0],
                           "households_elderly_alone": [0.0004, 0.0, 10.0]}, index=["campus", "empty", "town"])
    share = derived_indicators(counts)["elderly_alone_share"]
    assert np.isnan(share["campus"]) and np.isnan(share["empty"])
    assert share["town"] == pytest.approx(25.0)

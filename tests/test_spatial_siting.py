"""Candidate scoring and maximal covering siting (pure: no database). Distances in EPSG:6677 metres."""
from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pulp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse
from spopt.locate import MCLP

from spatial.siting import (
    ALONE_WEIGHT, SitingResult, choose_sites, demand_weights, exact_cover, greedy_cover, score_candidates,
)

METRIC = 6677
ORIGIN = (-27000.0, -53000.0)  # 中原区, EPSG:6677

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pulp.*")


def points(xy, **columns) -> gpd.GeoDataFrame:
    xy = np.asarray(xy, dtype=float).reshape(-1, 2) + ORIGIN
    return gpd.GeoDataFrame(columns, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=METRIC)


def line_instance():
    """Four demand points on a line 600 m apart, three candidates between them (hand-checkable).

    L (x=300) reaches d0, d1; C (x=900) reaches d1, d2; R (x=1500) reaches d2, d3 (each 300 m away;
    the next point is 900 m away). Weights (elderly + elderly alone): 4, 5, 5, 4.
    Greedy takes C (10) then L or R (+4) = 14; the optimum is L + R = 18.
    """
    demand = points([(0, 0), (600, 0), (1200, 0), (1800, 0)],
                    elderly=[3.0, 4.0, 4.0, 3.0], elderly_alone=[1.0, 1.0, 1.0, 1.0])
    candidates = points([(300, 0), (900, 0), (1500, 0)], resource_id=[11, 12, 13])
    return demand, candidates


def test_greedy_and_exact_on_the_line():
    demand, candidates = line_instance()
    greedy = choose_sites(demand, candidates, k=2, distance_m=500, solver="greedy", id_column="resource_id")
    exact = choose_sites(demand, candidates, k=2, distance_m=500, solver="exact", id_column="resource_id")
    assert isinstance(greedy, SitingResult)
    assert greedy.chosen == [12, 11] and greedy.newly_covered == [10.0, 4.0]
    assert greedy.objective == 14.0
    assert greedy.upper_bound >= 18.0  # the a-posteriori bound is valid…
    assert greedy.upper_bound <= 14.0 / (1 - 1 / math.e) + 1e-9  # …and at least as tight as (1−1/e)
    assert sorted(exact.chosen) == [11, 13] and exact.objective == 18.0
    assert exact.demand_total == 18.0 and exact.covered_before == 0.0 and exact.covered_after == 18.0
    assert exact.gap == pytest.approx((18 - 14) / 18)
    assert exact.elderly_covered_after == 14.0 and exact.alone_covered_after == 4.0
    assert exact.chosen_elderly == [7.0, 7.0]


def test_existing_gathering_place_removes_demand_it_already_covers():
    demand, candidates = line_instance()
    existing = points([(-200, 0)])  # reaches d0 only
    result = choose_sites(demand, candidates, k=1, distance_m=500, solver="exact", existing=existing,
                          id_column="resource_id")
    assert result.covered_before == 4.0
    assert result.chosen == [12]  # C: 10 new; L would add only 5, R 9
    assert result.covered_after == 14.0
    scores = score_candidates(demand, candidates, existing=existing, distance_m=500)
    assert scores["elderly_reached"].tolist() == [7.0, 8.0, 7.0]
    assert scores["uncovered_elderly_reached"].tolist() == [4.0, 8.0, 7.0]
    assert scores["uncovered_elderly_alone_reached"].tolist() == [1.0, 2.0, 2.0]
    assert scores["score"].tolist() == [4.0 + ALONE_WEIGHT, 8.0 + 2 * ALONE_WEIGHT, 7.0 + 2 * ALONE_WEIGHT]
    assert scores["rank"].tolist() == [3, 1, 2]


def test_alone_weight_changes_the_choice():
    demand = points([(0, 0), (2000, 0)], elderly=[10.0, 8.0], elderly_alone=[0.0, 3.0])
    candidates = points([(0, 0), (2000, 0)])
    assert choose_sites(demand, candidates, 1, 500, alone_weight=0.0).chosen == [0]
    assert choose_sites(demand, candidates, 1, 500, alone_weight=1.0).chosen == [1]


def test_k_larger_than_candidates_opens_those_that_help():
    demand, candidates = line_instance()
    for solver in ("greedy", "exact"):
        result = choose_sites(demand, candidates, k=10, distance_m=500, solver=solver, id_column="resource_id")
        assert result.covered_after == 18.0
        assert len(result.chosen) <= 3 and set(result.chosen) <= {11, 12, 13}
        assert sum(result.newly_covered) == pytest.approx(18.0)


def test_no_candidates_and_no_demand():
    demand, candidates = line_instance()
    for solver in ("greedy", "exact"):
        empty = choose_sites(demand, candidates.iloc[:0], k=3, distance_m=500, solver=solver)
        assert empty.chosen == [] and empty.objective == 0.0 and empty.covered_after == 0.0
        assert empty.demand_total == 18.0
        nobody = choose_sites(demand.iloc[:0], candidates, k=3, distance_m=500, solver=solver)
        assert nobody.chosen == [] and nobody.demand_total == 0.0


def test_unknown_counts_weigh_nothing():
    demand = points([(0, 0), (2000, 0)], elderly=[np.nan, 5.0], elderly_alone=[np.nan, np.nan])
    np.testing.assert_array_equal(demand_weights(demand), [0.0, 5.0])
    assert choose_sites(demand, points([(0, 0), (2000, 0)]), 1, 500).chosen == [1]


def test_bad_arguments_are_refused():
    demand, candidates = line_instance()
    with pytest.raises(ValueError, match="solver"):
        choose_sites(demand, candidates, 1, 500, solver="annealing")
    with pytest.raises(ValueError, match="k must"):
        choose_sites(demand, candidates, -1, 500)


def random_instance(seed: int, n: int = 120, m: int = 25, extent: float = 3000.0):
    rng = np.random.default_rng(seed)
    demand = points(rng.uniform(0, extent, (n, 2)), elderly=rng.integers(0, 60, n).astype(float),
                    elderly_alone=rng.integers(0, 15, n).astype(float))
    candidates = points(rng.uniform(0, extent, (m, 2)))
    return demand, candidates


@pytest.mark.parametrize("seed", range(6))
def test_exact_equals_spopt_mclp_and_greedy_is_within_the_guarantee(seed):
    demand, candidates = random_instance(seed)
    k = 3 + seed % 3
    exact = choose_sites(demand, candidates, k, 500, solver="exact")
    greedy = choose_sites(demand, candidates, k, 500, solver="greedy")
    demand = demand.assign(weight=demand_weights(demand))
    reference = MCLP.from_geodataframe(demand, candidates, "geometry", "geometry", "weight",
                                       service_radius=500, p_facilities=k)
    reference.solve(pulp.PULP_CBC_CMD(msg=False))
    assert exact.objective == pytest.approx(pulp.value(reference.problem.objective))
    assert exact.objective >= greedy.objective
    assert greedy.objective >= (1 - 1 / math.e) * exact.objective
    assert greedy.upper_bound >= exact.objective - 1e-9
    assert exact.gap == pytest.approx((exact.objective - greedy.objective) / exact.objective)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 14), st.integers(1, 8), st.integers(0, 6), st.integers(0, 2**32 - 1),
)
def test_exact_dominates_greedy_on_random_matrices(n, m, k, seed):
    rng = np.random.default_rng(seed)
    coverage = sparse.csc_matrix(rng.random((n, m)) < 0.35)
    weights = rng.integers(0, 10, n).astype(float)
    chosen, gains, bound = greedy_cover(coverage, weights, k)
    greedy_value = sum(gains)
    exact_columns, exact_value, dual_bound, _ = exact_cover(coverage, weights, k)
    # Brute force over all subsets of size min(k, m) for the true optimum.
    from itertools import combinations
    size = min(k, m)
    dense = coverage.toarray()
    best = max((weights[dense[:, list(c)].any(axis=1)].sum() for c in combinations(range(m), size)), default=0.0)
    assert exact_value == pytest.approx(best)
    assert greedy_value <= exact_value + 1e-9
    assert greedy_value >= (1 - 1 / math.e) * exact_value - 1e-9
    assert bound >= exact_value - 1e-9
    assert len(set(chosen)) == len(chosen) <= size
    assert all(g > 0 for g in gains)
    # The reported gains are the true marginal gains.
    covered = np.zeros(n, dtype=bool)
    for j, g in zip(chosen, gains):
        assert weights[dense[:, j] & ~covered].sum() == pytest.approx(g)
        covered |= dense[:, j]


def test_exact_with_no_time_falls_back_to_at_least_the_greedy_answer():
    demand, candidates = random_instance(11, n=300, m=60)
    rushed = choose_sites(demand, candidates, 6, 500, solver="exact", time_limit_s=0.0)
    greedy = choose_sites(demand, candidates, 6, 500, solver="greedy")
    assert rushed.objective >= greedy.objective
    exact = choose_sites(demand, candidates, 6, 500, solver="exact")
    assert rushed.upper_bound >= exact.objective  # still a valid bound though unproven
    assert exact.upper_bound == pytest.approx(exact.objective)

"""Siting speed and quality: ~10,000 demand points × ~2,000 candidates, k = 20, Kawasaki-sized extent.

Not a test: run by hand and read the numbers.
    .venv/bin/python benchmarks/siting.py [--n 10000] [--m 2000] [--k 20] [--seed 7] [--spopt-solver cbc|highs]

Synthetic instance in EPSG:6677 (metres): a 24 km × 6 km strip (144 km², the area of 川崎市) running
NW–SE through Kawasaki's centre; demand clustered around 12 "stations" plus a uniform background,
weights elderly + 1 × elderly alone; 150 existing gathering places whose covered demand weighs 0;
candidates half following the demand, half uniform. Walking distance 500 m straight line.

Targets (issue 4): our exact (HiGHS) coverage equals spopt's MCLP; greedy within 2 % of exact and at
least 10× faster than spopt (model build + solve).
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
from pyproj import Transformer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from spatial.accessibility import reach_matrix  # noqa: E402
from spatial.siting import choose_sites, demand_weights  # noqa: E402

METRIC = 6677
DISTANCE_M = 500.0


def strip_points(rng: np.random.Generator, count: int, centre: np.ndarray, length: float, width: float,
                 angle: float, clusters: np.ndarray | None, clustered_share: float, sigma: float) -> np.ndarray:
    """Points in a rotated rectangle, part clustered (Gaussian around ``clusters``) and part uniform."""
    along = np.empty(count)
    across = np.empty(count)
    n_clustered = int(count * clustered_share) if clusters is not None else 0
    filled = 0
    while filled < n_clustered:
        which = rng.integers(0, len(clusters), n_clustered - filled)
        a = clusters[which, 0] + rng.normal(0, sigma, len(which))
        c = clusters[which, 1] + rng.normal(0, sigma, len(which))
        inside = (np.abs(a) <= length / 2) & (np.abs(c) <= width / 2)
        take = min(inside.sum(), n_clustered - filled)
        along[filled:filled + take] = a[inside][:take]
        across[filled:filled + take] = c[inside][:take]
        filled += take
    along[n_clustered:] = rng.uniform(-length / 2, length / 2, count - n_clustered)
    across[n_clustered:] = rng.uniform(-width / 2, width / 2, count - n_clustered)
    cos, sin = math.cos(angle), math.sin(angle)
    return np.column_stack([centre[0] + along * cos - across * sin, centre[1] + along * sin + across * cos])


def instance(n: int, m: int, seed: int) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    rng = np.random.default_rng(seed)
    centre = np.array(Transformer.from_crs(6668, METRIC, always_xy=True).transform(139.64, 35.57))
    length, width, angle = 24_000.0, 6_000.0, math.radians(-20)  # 144 km², NW–SE
    stations = np.column_stack([rng.uniform(-length / 2, length / 2, 12), rng.uniform(-width / 2, width / 2, 12)])
    demand_xy = strip_points(rng, n, centre, length, width, angle, stations, 0.7, 1200.0)
    elderly = rng.poisson(40, n).astype(float)
    alone = rng.binomial(elderly.astype(int), 0.22).astype(float)
    candidate_xy = np.vstack([
        strip_points(rng, m // 2, centre, length, width, angle, stations, 1.0, 1500.0),
        strip_points(rng, m - m // 2, centre, length, width, angle, None, 0.0, 0.0),
    ])
    existing_xy = strip_points(rng, 150, centre, length, width, angle, stations, 0.5, 1500.0)

    def frame(xy: np.ndarray, **columns) -> gpd.GeoDataFrame:
        return gpd.GeoDataFrame(columns, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=METRIC)

    return (frame(demand_xy, elderly=elderly, elderly_alone=alone),
            frame(candidate_xy, candidate_id=np.arange(m)), frame(existing_xy))


def spopt_objective(demand: gpd.GeoDataFrame, candidates: gpd.GeoDataFrame, weights: np.ndarray, k: int,
                    solver_name: str) -> tuple[float, float, float]:
    """spopt MCLP on the same weights: (objective, build seconds, solve seconds)."""
    import warnings

    import pulp
    from spopt.locate import MCLP

    warnings.filterwarnings("ignore", category=DeprecationWarning)
    frame = demand.assign(weight=weights)
    started = time.perf_counter()
    model = MCLP.from_geodataframe(frame, candidates, "geometry", "geometry", "weight",
                                   service_radius=DISTANCE_M, p_facilities=k)
    built = time.perf_counter()
    solver = pulp.HiGHS(msg=False) if solver_name == "highs" else pulp.PULP_CBC_CMD(msg=False)
    model.solve(solver)
    solved = time.perf_counter()
    return float(pulp.value(model.problem.objective)), built - started, solved - built


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=10_000, help="demand points")
    parser.add_argument("--m", type=int, default=2_000, help="candidate sites")
    parser.add_argument("--k", type=int, default=20)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--spopt-solver", choices=["cbc", "highs", "none"], default="cbc")
    args = parser.parse_args()

    demand, candidates, existing = instance(args.n, args.m, args.seed)
    started = time.perf_counter()
    matrix = reach_matrix(demand, candidates, DISTANCE_M, METRIC)
    matrix_s = time.perf_counter() - started
    print(f"instance: {args.n} demand × {args.m} candidates, k = {args.k}, {DISTANCE_M:g} m, "
          f"{len(existing)} existing; coverage matrix nnz {matrix.nnz} ({matrix_s:.2f} s)")

    greedy = choose_sites(demand, candidates, args.k, DISTANCE_M, "greedy", existing=existing, id_column="candidate_id")
    exact = choose_sites(demand, candidates, args.k, DISTANCE_M, "exact", existing=existing, id_column="candidate_id")
    total = exact.demand_total
    for result in (greedy, exact):
        print(f"{result.solver:>6}: objective {result.objective:10.1f}  coverage {result.covered_before / total:6.2%}"
              f" → {result.covered_after / total:6.2%}  bound {result.upper_bound:10.1f}  {result.runtime_s:7.3f} s"
              f"  ({result.method})")
    ratio = greedy.objective / exact.objective
    print(f"greedy / exact = {ratio:.4f} (gap {exact.gap:.4%}); greedy is {exact.runtime_s / greedy.runtime_s:.1f}× "
          f"faster than exact; (1−1/e) = {1 - 1 / math.e:.4f}")
    ok = [ratio >= 0.98]

    if args.spopt_solver != "none":
        weights = np.where(np.asarray(reach_matrix(demand, existing, DISTANCE_M, METRIC).sum(axis=1)).ravel() > 0,
                           0.0, demand_weights(demand))
        objective, build_s, solve_s = spopt_objective(demand, candidates, weights, args.k, args.spopt_solver)
        spopt_s = build_s + solve_s
        same = math.isclose(objective, exact.objective, rel_tol=1e-9, abs_tol=1e-6)
        print(f" spopt: objective {objective:10.1f}  build {build_s:.2f} s + solve ({args.spopt_solver}) {solve_s:.2f} s"
              f" = {spopt_s:.2f} s; equals our exact: {same}")
        print(f"speed-up vs spopt: greedy {spopt_s / greedy.runtime_s:.0f}×, exact {spopt_s / exact.runtime_s:.1f}×")
        ok += [same, spopt_s / greedy.runtime_s >= 10]
    print("targets met" if all(ok) else "TARGETS NOT MET")


if __name__ == "__main__":
    main()

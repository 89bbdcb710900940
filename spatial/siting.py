"""Candidate まちのひろば siting: score candidates and choose k sites (maximal covering location).

Demand weight. Each demand point ``i`` weighs

    w_i = elderly_i + alone_weight × elderly_alone_i            (persons)

so with the default ``alone_weight = 1.0`` an elderly person living alone counts twice: once as an
elderly person and once more for living alone, the group a ひろば helps most. Unknown (suppressed)
counts contribute 0 — they cannot be ranked — and are reported by the caller, never silently
treated as known zeros (see :mod:`spatial.demand`).

Demand already within ``distance_m`` of an existing gathering place gets weight 0 in the objective:
the goal is to reach the elderly not yet reached.

Problem (MCLP, Church & ReVelle 1974): with a_ij = 1 when candidate j is within walking distance of
demand i, choose x_j ∈ {0,1}, Σ x_j = k, y_i ≤ Σ_j a_ij x_j, 0 ≤ y_i ≤ 1, maximise Σ w_i y_i.

* ``solver="exact"``: the MILP solved by HiGHS (``highspy``) on a sparse matrix. Demand rows that
  no candidate reaches or that weigh 0 are dropped, and rows with identical coverage patterns are
  merged (their weights summed) — both leave the optimum unchanged. y is continuous: for integral
  x the optimum sets y_i = min(1, Σ a_ij x_j) anyway. The greedy solution seeds HiGHS, and the
  greedy is also reported so ``gap`` = (exact − greedy) / exact.
* ``solver="greedy"``: lazy greedy (priority queue of stale marginal gains over the CSC coverage
  matrix; valid because coverage is submodular), a (1 − 1/e) ≈ 63 % approximation in the worst
  case and usually within a percent or two. Its ``upper_bound`` is the data-dependent bound
  f(S) + sum of the k largest marginal gains with respect to S, the smallest over every S the greedy
  passes through (Nemhauser, Wolsey & Fisher 1978), so every greedy answer says how far from optimal it can be.

Chosen sites are listed in the order of their marginal gain (for the exact solution: re-ordered
greedily), and sites that add no coverage are not listed, so fewer than k sites may be returned.

Distances: metres in ``crs_metric`` (default EPSG:6677); inputs in any CRS.
"""
from __future__ import annotations

import heapq
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse

from spatial.accessibility import (
    DEFAULT_CRS_METRIC, DEFAULT_WALK_DISTANCE_M, DistanceModel, StraightLineDistance, reach_matrix,
)

ALONE_WEIGHT = 1.0
Solver = Literal["greedy", "exact"]


@dataclass
class SitingResult:
    """Outcome of :func:`choose_sites`. Coverage figures are in weighted persons (see module docstring)
    unless named ``elderly``/``alone`` (plain persons)."""

    chosen: list[Any]
    newly_covered: list[float]
    covered_before: float
    covered_after: float
    demand_total: float
    objective: float
    upper_bound: float | None
    gap: float | None
    runtime_s: float
    method: str
    solver: str
    k: int
    distance_m: float
    alone_weight: float
    elderly_total: float = 0.0
    elderly_covered_before: float = 0.0
    elderly_covered_after: float = 0.0
    alone_total: float = 0.0
    alone_covered_before: float = 0.0
    alone_covered_after: float = 0.0
    greedy_objective: float | None = None
    chosen_elderly: list[float] = field(default_factory=list)
    chosen_alone: list[float] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _elderly_counts(demand: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Elderly and elderly-alone persons per demand point; unknown (NaN) counts as 0."""
    def column(name: str) -> np.ndarray:
        return np.nan_to_num(pd.to_numeric(demand[name], errors="coerce").to_numpy(dtype=float))

    return column("elderly"), column("elderly_alone")


def _weights(elderly: np.ndarray, alone: np.ndarray, alone_weight: float) -> np.ndarray:
    if (elderly < 0).any() or (alone < 0).any():
        raise ValueError("demand: negative elderly or elderly_alone count")
    return elderly + alone_weight * alone


def demand_weights(demand: pd.DataFrame, alone_weight: float = ALONE_WEIGHT) -> np.ndarray:
    """w_i = elderly + alone_weight × elderly_alone (persons); unknown (NaN) parts count 0."""
    return _weights(*_elderly_counts(demand), alone_weight)


def _covered_by_existing(demand: gpd.GeoDataFrame, existing: gpd.GeoDataFrame | None, distance_m: float,
                         crs_metric: int, distance_model: DistanceModel | None) -> np.ndarray:
    if existing is None or len(existing) == 0 or len(demand) == 0:
        return np.zeros(len(demand), dtype=bool)
    matrix = reach_matrix(demand, existing, distance_m, crs_metric, distance_model)
    return np.asarray(matrix.sum(axis=1)).ravel() > 0


def score_candidates(demand: gpd.GeoDataFrame, candidates: gpd.GeoDataFrame,
                     existing: gpd.GeoDataFrame | None = None, distance_m: float = DEFAULT_WALK_DISTANCE_M,
                     alone_weight: float = ALONE_WEIGHT, crs_metric: int = DEFAULT_CRS_METRIC,
                     distance_model: DistanceModel | None = None) -> pd.DataFrame:
    """Per candidate: the elderly within ``distance_m`` metres, and those not yet covered by ``existing``.

    Returns a DataFrame indexed like ``candidates`` with ``elderly_reached``,
    ``elderly_alone_reached`` (persons), ``uncovered_elderly_reached``,
    ``uncovered_elderly_alone_reached`` (persons beyond walking distance of every existing gathering
    place), ``score`` (= uncovered elderly + ``alone_weight`` × uncovered elderly alone; weighted
    persons) and ``rank`` (1 = highest score). Each candidate is scored alone: scores of two nearby
    candidates overlap (use :func:`choose_sites` for a set).
    """
    matrix = reach_matrix(demand, candidates, distance_m, crs_metric, distance_model).astype(float)
    uncovered = ~_covered_by_existing(demand, existing, distance_m, crs_metric, distance_model)
    elderly, alone = _elderly_counts(demand)
    transposed = matrix.T.tocsr()
    scores = pd.DataFrame({
        "elderly_reached": transposed @ elderly,
        "elderly_alone_reached": transposed @ alone,
        "uncovered_elderly_reached": transposed @ (elderly * uncovered),
        "uncovered_elderly_alone_reached": transposed @ (alone * uncovered),
    }, index=candidates.index)
    scores["score"] = scores["uncovered_elderly_reached"] + alone_weight * scores["uncovered_elderly_alone_reached"]
    scores["rank"] = scores["score"].rank(ascending=False, method="min").astype(int) if len(scores) else []
    return scores


def greedy_cover(coverage: sparse.csc_matrix, weights: np.ndarray, k: int) -> tuple[list[int], list[float], float]:
    """Lazy greedy maximal covering on a CSC ``n_demand × n_candidates`` 0/1 matrix.

    Returns (chosen column indices in order, marginal gain of each, upper bound on the optimum).
    Stops early when no candidate adds coverage. Ties go to the lower column index.
    """
    coverage = sparse.csc_matrix(coverage)
    n, m = coverage.shape
    weights = np.asarray(weights, dtype=float)
    indptr, indices = coverage.indptr, coverage.indices
    residual = weights.copy()
    initial = np.asarray(coverage.T @ weights).ravel() if m else np.zeros(0)
    k = min(int(k), m)
    bound = float(np.sort(initial)[::-1][:k].sum()) if k > 0 else 0.0
    coverage_t = sparse.csr_matrix(coverage.T, dtype=float)
    heap = [(-gain, j) for j, gain in enumerate(initial) if gain > 0]
    heapq.heapify(heap)
    chosen: list[int] = []
    gains: list[float] = []
    while heap and len(chosen) < k:
        stale, j = heapq.heappop(heap)
        rows = indices[indptr[j]:indptr[j + 1]]
        gain = float(residual[rows].sum())
        if gain <= 0:
            continue
        # Stale gains only shrink, so the popped site is best once its fresh gain still leads the
        # heap (ties to the lower index).
        if heap and (-gain, j) > heap[0]:
            heapq.heappush(heap, (-gain, j))
            continue
        chosen.append(j)
        gains.append(gain)
        residual[rows] = 0.0
        # Submodularity: OPT ≤ f(S) + the k largest marginal gains w.r.t. S, for every S on the way.
        marginals = coverage_t @ residual
        bound = min(bound, sum(gains) + float(np.partition(marginals, m - k)[m - k:].sum()))
    return chosen, gains, max(bound, float(sum(gains)))


def _reduce_rows(coverage: sparse.csr_matrix, weights: np.ndarray) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Drop zero-weight / unreachable demand rows and merge rows with identical coverage patterns."""
    coverage = sparse.csr_matrix(coverage, dtype=bool)
    coverage.sort_indices()
    keep = (weights > 0) & (np.diff(coverage.indptr) > 0)
    rows = np.flatnonzero(keep)
    if len(rows) == 0:
        return sparse.csr_matrix((0, coverage.shape[1]), dtype=bool), np.zeros(0)
    sub = coverage[rows]
    keys = [sub.indices[sub.indptr[r]:sub.indptr[r + 1]].tobytes() for r in range(sub.shape[0])]
    _, first, inverse = np.unique(np.array(keys, dtype=object), return_index=True, return_inverse=True)
    merged_weights = np.bincount(inverse.ravel(), weights=weights[rows], minlength=len(first))
    return sub[first], merged_weights


def exact_cover(coverage: sparse.csc_matrix, weights: np.ndarray, k: int, time_limit_s: float = 600.0,
                initial: list[int] | None = None, mip_rel_gap: float = 0.0) -> tuple[list[int], float, float, str]:
    """Maximal covering MILP solved by HiGHS.

    Returns (chosen column indices, objective, dual bound, HiGHS model status). ``mip_rel_gap=0``
    asks for a proven optimum; with a time limit the incumbent and the bound are returned.
    """
    import highspy

    n_all, m = coverage.shape
    k = min(int(k), m)
    if k <= 0 or m == 0:
        return [], 0.0, 0.0, "trivial"
    reduced, w = _reduce_rows(sparse.csr_matrix(coverage), np.asarray(weights, dtype=float))
    n = reduced.shape[0]
    if n == 0:
        return [], 0.0, 0.0, "trivial"
    # Columns: x_0..x_{m-1} (binary), y_0..y_{n-1} (continuous in [0, 1]).
    # Rows: y_i − Σ_j a_ij x_j ≤ 0 (n rows); Σ_j x_j = k (1 row).
    a = sparse.csr_matrix(reduced, dtype=float)
    top = sparse.hstack([-a, sparse.identity(n, format="csr")], format="csr")
    bottom = sparse.csr_matrix(np.concatenate([np.ones(m), np.zeros(n)])[None, :])
    matrix = sparse.vstack([top, bottom], format="csc")
    matrix.sort_indices()

    lp = highspy.HighsLp()
    lp.num_col_ = m + n
    lp.num_row_ = n + 1
    lp.col_cost_ = np.concatenate([np.zeros(m), w])
    lp.col_lower_ = np.zeros(m + n)
    lp.col_upper_ = np.ones(m + n)
    lp.row_lower_ = np.concatenate([np.full(n, -highspy.kHighsInf), [float(k)]])
    lp.row_upper_ = np.concatenate([np.zeros(n), [float(k)]])
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = matrix.indptr.astype(np.int32)
    lp.a_matrix_.index_ = matrix.indices.astype(np.int32)
    lp.a_matrix_.value_ = matrix.data.astype(float)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * m + [highspy.HighsVarType.kContinuous] * n

    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("time_limit", float(time_limit_s))
    highs.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    highs.setOptionValue("threads", 1)
    highs.passModel(lp)
    if initial:
        x0 = np.zeros(m)
        x0[list(initial)] = 1.0
        # Complete to exactly k sites so the seed is feasible.
        for j in range(m):
            if x0.sum() >= k:
                break
            x0[j] = 1.0
        y0 = np.minimum(1.0, a @ x0)
        solution = highspy.HighsSolution()
        solution.col_value = list(np.concatenate([x0, y0]))
        solution.value_valid = True
        highs.setSolution(solution)
    highs.run()
    status = highs.modelStatusToString(highs.getModelStatus())
    info = highs.getInfo()
    values = np.asarray(highs.getSolution().col_value[:m], dtype=float)
    if len(values) < m:  # no incumbent (e.g. time limit before the first solution)
        values = np.zeros(m)
    chosen = [int(j) for j in np.flatnonzero(values > 0.5)]
    objective = float(w @ np.minimum(1.0, a @ (values > 0.5).astype(float)))
    # Without a proven bound (stopped early) the only safe bound is "unknown" (inf).
    bound = float(info.mip_dual_bound) if np.isfinite(info.mip_dual_bound) else np.inf
    if status == "Optimal":
        bound = objective
    return chosen, objective, max(bound, objective), status


def _order_by_gain(coverage: sparse.csc_matrix, weights: np.ndarray, columns: list[int]) -> tuple[list[int], list[float]]:
    """Order a chosen set greedily by marginal gain; drop members that add nothing."""
    if not columns:
        return [], []
    sub = sparse.csc_matrix(coverage[:, columns])
    order, gains, _ = greedy_cover(sub, weights, len(columns))
    return [columns[i] for i in order], gains


def choose_sites(demand: gpd.GeoDataFrame, candidates: gpd.GeoDataFrame, k: int,
                 distance_m: float = DEFAULT_WALK_DISTANCE_M, solver: Solver = "greedy",
                 existing: gpd.GeoDataFrame | None = None, alone_weight: float = ALONE_WEIGHT,
                 crs_metric: int = DEFAULT_CRS_METRIC, distance_model: DistanceModel | None = None,
                 id_column: str | None = None, time_limit_s: float = 600.0) -> SitingResult:
    """Choose up to ``k`` candidates maximising the weighted elderly newly within ``distance_m`` metres.

    Parameters
    ----------
    demand
        Points with ``elderly`` and ``elderly_alone`` (persons; NaN = unknown), any CRS.
    candidates
        Candidate sites (points; polygons use a representative point), any CRS.
    k
        Number of sites to open (k larger than the number of candidates opens them all).
    distance_m
        Walking distance in metres (in ``crs_metric``).
    solver
        ``"greedy"`` (lazy greedy) or ``"exact"`` (MILP, HiGHS).
    existing
        Existing gathering places; the demand they already cover gets weight 0.
    alone_weight
        Extra weight of an elderly person living alone (see module docstring).
    id_column
        Column of ``candidates`` holding the ids to report (default: the index).

    Returns
    -------
    :class:`SitingResult`; ``chosen`` holds candidate ids in the order of marginal gain and
    ``newly_covered`` the weighted persons each adds.
    """
    if solver not in ("greedy", "exact"):
        raise ValueError(f"solver must be 'greedy' or 'exact', got {solver!r}")
    if k < 0:
        raise ValueError(f"k must be ≥ 0, got {k}")
    started = time.perf_counter()
    model = distance_model or StraightLineDistance()
    elderly, alone = _elderly_counts(demand)
    weights_full = _weights(elderly, alone, alone_weight)
    covered_before_mask = _covered_by_existing(demand, existing, distance_m, crs_metric, model)
    weights = np.where(covered_before_mask, 0.0, weights_full)
    coverage = reach_matrix(demand, candidates, distance_m, crs_metric, model) if len(candidates) else \
        sparse.csc_matrix((len(demand), 0), dtype=bool)

    greedy_columns, greedy_gains, greedy_bound = greedy_cover(coverage, weights, k)
    greedy_objective = float(sum(greedy_gains))
    if solver == "greedy":
        columns, gains = greedy_columns, greedy_gains
        objective, upper_bound, gap = greedy_objective, greedy_bound, None
        method = f"MCLP lazy greedy (≥ (1−1/e) of optimum; bound {greedy_bound:.0f})"
    else:
        exact_columns, objective, upper_bound, status = exact_cover(
            coverage, weights, k, time_limit_s=time_limit_s, initial=greedy_columns)
        if objective < greedy_objective:  # time limit hit before HiGHS matched its seed
            exact_columns, objective = greedy_columns, greedy_objective
        upper_bound = max(objective, min(upper_bound, greedy_bound))  # both are valid bounds
        columns, gains = _order_by_gain(coverage, weights, exact_columns)
        gap = (objective - greedy_objective) / objective if objective > 0 else 0.0
        method = f"MCLP MILP, HiGHS ({status}; greedy {greedy_objective:.0f})"

    newly = np.zeros(len(demand), dtype=bool)
    chosen_elderly: list[float] = []
    chosen_alone: list[float] = []
    for j in columns:
        rows = coverage.indices[coverage.indptr[j]:coverage.indptr[j + 1]]
        fresh = rows[~covered_before_mask[rows] & ~newly[rows]]
        chosen_elderly.append(float(elderly[fresh].sum()))
        chosen_alone.append(float(alone[fresh].sum()))
        newly[fresh] = True
    covered_after_mask = covered_before_mask | newly
    ids = candidates[id_column].tolist() if id_column else candidates.index.tolist()
    return SitingResult(
        chosen=[ids[j] for j in columns],
        newly_covered=[float(g) for g in gains],
        covered_before=float(weights_full[covered_before_mask].sum()),
        covered_after=float(weights_full[covered_after_mask].sum()),
        demand_total=float(weights_full.sum()),
        objective=float(sum(gains)),
        upper_bound=float(upper_bound) if upper_bound is not None else None,
        gap=gap,
        runtime_s=time.perf_counter() - started,
        method=f"{method}; walk {distance_m:g} m {model.name.replace('_', ' ')}, EPSG:{crs_metric}; "
               f"w = 65+ + {alone_weight:g} × 65+ alone",
        solver=solver,
        k=int(k),
        distance_m=float(distance_m),
        alone_weight=float(alone_weight),
        elderly_total=float(elderly.sum()),
        elderly_covered_before=float(elderly[covered_before_mask].sum()),
        elderly_covered_after=float(elderly[covered_after_mask].sum()),
        alone_total=float(alone.sum()),
        alone_covered_before=float(alone[covered_before_mask].sum()),
        alone_covered_after=float(alone[covered_after_mask].sum()),
        greedy_objective=greedy_objective,
        chosen_elderly=chosen_elderly,
        chosen_alone=chosen_alone,
    )

"""Exact overlap areas of polygon pairs without building the intersection polygons.

For two polygons S and T, ``|S ∩ T| = ∫ w_S(p) · w_T(p) dp`` where ``w`` is the winding number (1
inside, 0 outside; holes and multi-part polygons included). Cast a ray upwards from ``p``: the
winding number is the signed count of edges above it, ``w(p) = Σ_e s_e · [x_p ∈ X_e] · [y_p < L_e(x_p)]``
with ``L_e`` the edge's line, ``X_e`` its x-range and ``s_e = +1`` for an edge running right to left
(the top of a counter-clockwise ring), ``−1`` left to right. Since ``S`` lies above its lowest
ordinate ``y_a``, ``w_S(p) = Σ_f s_f · [x_p ∈ X_f] · [y_a ≤ y_p < L_f(x_p)]`` for every ``p``, and
the product of two such terms is a vertical strip from ``y_a`` to ``min(L_f, L_e)``, so

    |S ∩ T| = Σ_f Σ_e s_f s_e ∫_{X_f ∩ X_e} max(min(L_f(x), L_e(x)) − y_a, 0) dx,

a sum of closed-form integrals of piecewise-linear functions over pairs of edges (f of S, e of T).
Only edges of T whose x-range meets S's and which are not wholly below S contribute.

Unlike a polygon overlay this has no topological special cases: shared boundary stretches,
collinear edges and touching vertices need no noding or labelling, which is what makes it cheap
where districts follow small-area boundaries. Coordinates are taken relative to S's lower-left
corner so that large projected coordinates (10⁵ m) do not cost precision; the result agrees with
GEOS's ``area(intersection(S, T))`` to ~1e-12 of S's area. Units: the square of the CRS unit (m²
in a projected CRS).
"""
from __future__ import annotations

import threading

import numba
import numpy as np
import shapely
from numba import njit, prange

_KERNEL_LOCK = threading.Lock()


@njit(cache=True, inline="always")
def _positive_part_integral(x0: float, x1: float, y0: float, y1: float) -> float:
    """∫ max(L, 0) dx over [x0, x1] for the line L through (x0, y0), (x1, y1)."""
    if y0 >= 0.0 and y1 >= 0.0:
        return 0.5 * (y0 + y1) * (x1 - x0)
    if y0 <= 0.0 and y1 <= 0.0:
        return 0.0
    # One end below zero: the positive part is a triangle.
    top = y0 if y0 > 0.0 else y1
    return 0.5 * top * (x1 - x0) * top / (abs(y0) + abs(y1))


@njit(cache=True, inline="always")
def _strip_integral(u: float, v: float, f0: float, f1: float, e0: float, e1: float) -> float:
    """∫ max(min(F, E), 0) dx over [u, v], F and E linear with values f0, e0 at u and f1, e1 at v."""
    d0, d1 = f0 - e0, f1 - e1
    if (d0 <= 0.0 and d1 <= 0.0) or (d0 >= 0.0 and d1 >= 0.0):
        if d0 + d1 <= 0.0:
            return _positive_part_integral(u, v, f0, f1)
        return _positive_part_integral(u, v, e0, e1)
    # The lines cross inside (u, v): min is F on one side and E on the other.
    t = d0 / (d0 - d1)
    xm = u + t * (v - u)
    ym = f0 + t * (f1 - f0)
    if d0 < 0.0:
        return _positive_part_integral(u, xm, f0, ym) + _positive_part_integral(xm, v, ym, e1)
    return _positive_part_integral(u, xm, e0, ym) + _positive_part_integral(xm, v, ym, f1)


@njit(cache=True, inline="always")
def _at(x: float, x0: float, y0: float, x1: float, y1: float) -> float:
    return y0 + (y1 - y0) * ((x - x0) / (x1 - x0))


@njit(cache=True)
def _source_strip(source_edges: np.ndarray, xa: float, ya: float, u: float, v: float,
                  ex0: float, ey0: float, ex1: float, ey1: float, line: bool) -> float:
    """Σ_f s_f ∫ max(min(L_f, L_e) − y_a, 0) dx over X_f ∩ [u, v], in coordinates relative to
    (xa, ya); without ``line`` the T edge is above S everywhere and min(L_f, L_e) = L_f."""
    total = 0.0
    for f in range(source_edges.shape[0]):
        fx0, fx1 = source_edges[f, 0] - xa, source_edges[f, 2] - xa
        f_left, f_right = min(fx0, fx1), max(fx0, fx1)
        lo, hi = max(f_left, u), min(f_right, v)
        if lo >= hi:
            continue
        fy0, fy1 = source_edges[f, 1] - ya, source_edges[f, 3] - ya
        f_lo, f_hi = _at(lo, fx0, fy0, fx1, fy1), _at(hi, fx0, fy0, fx1, fy1)
        if line:
            strip = _strip_integral(lo, hi, f_lo, f_hi, _at(lo, ex0, ey0, ex1, ey1), _at(hi, ex0, ey0, ex1, ey1))
        else:
            strip = _positive_part_integral(lo, hi, f_lo, f_hi)
        total += strip if fx1 < fx0 else -strip
    return total


@njit(cache=True)
def _pair_area(source_edges: np.ndarray, target_edges: np.ndarray, xa: float, ya: float, xb: float,
               yb: float) -> float:
    total = 0.0
    # A T edge wholly above S counts only by its x-extent and direction (its line never dips into
    # S's box), so consecutive such edges running the same way are merged into one run and
    # integrated once — most of a district's boundary, seen from a small area inside it.
    run_open, run_from, run_to = False, 0.0, 0.0
    for e in range(target_edges.shape[0]):
        ex0, ey0, ex1, ey1 = target_edges[e, 0], target_edges[e, 1], target_edges[e, 2], target_edges[e, 3]
        if min(ey0, ey1) >= yb:
            if run_open and ex0 == run_to and (ex1 - ex0) * (run_to - run_from) >= 0.0:
                run_to = ex1
                continue
            if run_open:
                total += _run_area(source_edges, xa, ya, xb, run_from, run_to)
            run_open, run_from, run_to = True, ex0, ex1
            continue
        e_left, e_right = min(ex0, ex1), max(ex0, ex1)
        if e_right <= xa or e_left >= xb or e_left == e_right or max(ey0, ey1) <= ya:
            continue
        strip = _source_strip(source_edges, xa, ya, max(e_left, xa) - xa, min(e_right, xb) - xa,
                              ex0 - xa, ey0 - ya, ex1 - xa, ey1 - ya, True)
        total += strip if ex1 < ex0 else -strip
    if run_open:
        total += _run_area(source_edges, xa, ya, xb, run_from, run_to)
    return total


@njit(cache=True, inline="always")
def _run_area(source_edges: np.ndarray, xa: float, ya: float, xb: float, x_from: float, x_to: float) -> float:
    left, right = max(min(x_from, x_to), xa), min(max(x_from, x_to), xb)
    if left >= right:
        return 0.0
    strip = _source_strip(source_edges, xa, ya, left - xa, right - xa, 0.0, 0.0, 0.0, 0.0, False)
    return strip if x_to < x_from else -strip


@njit(cache=True, inline="always")
def _pair_of(k, source_edges, source_start, target_edges, target_start, bounds, source_pos, target_pos) -> float:
    s, t = source_pos[k], target_pos[k]
    return _pair_area(source_edges[source_start[s]:source_start[s + 1]],
                      target_edges[target_start[t]:target_start[t + 1]],
                      bounds[s, 0], bounds[s, 1], bounds[s, 2], bounds[s, 3])


# The same loop on numba's thread pool and on the calling thread alone: for a few thousand pairs
# waking the pool costs more than it saves (and the idle workers spin on the other cores). Two
# functions, not one compiled twice: numba's cache would hand either the other's machine code.
@njit(cache=True, parallel=True)
def _pairs_area(source_edges, source_start, target_edges, target_start, bounds, source_pos, target_pos):
    out = np.empty(source_pos.shape[0])
    for k in prange(source_pos.shape[0]):
        out[k] = _pair_of(k, source_edges, source_start, target_edges, target_start, bounds, source_pos, target_pos)
    return out


@njit(cache=True)
def _pairs_area_serial(source_edges, source_start, target_edges, target_start, bounds, source_pos, target_pos):
    out = np.empty(source_pos.shape[0])
    for k in range(source_pos.shape[0]):
        out[k] = _pair_of(k, source_edges, source_start, target_edges, target_start, bounds, source_pos, target_pos)
    return out


_PARALLEL_MIN_PAIRS = 20_000


@njit(cache=True)
def _ring_edges(coords: np.ndarray, ring_offsets: np.ndarray, is_exterior: np.ndarray) -> np.ndarray:
    """Edges of closed rings, exteriors turned counter-clockwise (positive shoelace sum) and holes
    clockwise, whatever order the source file used."""
    n_edges = 0
    for r in range(ring_offsets.shape[0] - 1):
        n_edges += max(ring_offsets[r + 1] - ring_offsets[r] - 1, 0)
    edges = np.empty((n_edges, 4))
    k = 0
    for r in range(ring_offsets.shape[0] - 1):
        first, last = ring_offsets[r], ring_offsets[r + 1] - 1  # last repeats first
        if last <= first:
            continue
        twice_area = 0.0
        for i in range(first, last):
            twice_area += coords[i, 0] * coords[i + 1, 1] - coords[i + 1, 0] * coords[i, 1]
        backwards = twice_area < 0.0 if is_exterior[r] else twice_area > 0.0
        for i in range(first, last):
            j = last - 1 - (i - first) if backwards else i
            if backwards:
                edges[k, 0], edges[k, 1], edges[k, 2], edges[k, 3] = (coords[j + 1, 0], coords[j + 1, 1],
                                                                      coords[j, 0], coords[j, 1])
            else:
                edges[k, 0], edges[k, 1], edges[k, 2], edges[k, 3] = coords[j, 0], coords[j, 1], coords[j + 1, 0], coords[j + 1, 1]
            k += 1
    return edges


def _polygonal_parts(collections: np.ndarray) -> np.ndarray:
    """Each collection's polygons as one MultiPolygon (lines and points have no area)."""
    parts, owner = shapely.get_parts(collections, return_index=True)
    polygonal = np.isin(shapely.get_type_id(parts), [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON])
    polygons, part_owner = shapely.get_parts(parts[polygonal], return_index=True)
    result = np.full(len(collections), shapely.MultiPolygon(), dtype=object)
    if len(polygons):
        owners = owner[polygonal][part_owner]
        present = np.unique(owners)
        result[present] = shapely.multipolygons(polygons, indices=np.searchsorted(present, owners))
    return result


def polygon_edges(geometries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The edges of (multi)polygons as rows ``x0, y0, x1, y1``, exterior rings counter-clockwise and
    holes clockwise, grouped by geometry: edges of geometry ``i`` are rows ``start[i]:start[i+1]``.
    Empty or missing geometries have no edges; a geometry collection (what an intersection returns
    where polygons also touch along a line) counts by its polygons; other types are refused."""
    geometries = np.asarray(geometries, dtype=object)
    missing = shapely.is_missing(geometries)
    if missing.any():
        geometries = np.where(missing, shapely.Polygon(), geometries)
    collections = np.nonzero(shapely.get_type_id(geometries) == shapely.GeometryType.GEOMETRYCOLLECTION)[0]
    if len(collections):
        geometries = geometries.copy()
        geometries[collections] = _polygonal_parts(geometries[collections])
    if len(geometries) == 0:
        return np.zeros((0, 4)), np.zeros(1, dtype=np.int64)
    if (shapely.get_type_id(geometries) == shapely.GeometryType.POLYGON).all() \
            and not shapely.get_num_interior_rings(geometries).any():
        # Plain polygons (most census areas): one ring each, read without building ragged arrays.
        coords, owner = shapely.get_coordinates(geometries, return_index=True)
        ring_offsets = np.r_[0, np.cumsum(np.bincount(owner, minlength=len(geometries)))].astype(np.int64)
        is_exterior = np.ones(len(geometries), dtype=np.bool_)
        edges = _ring_edges(np.ascontiguousarray(coords, dtype=np.float64), ring_offsets, is_exterior)
        edges_per_ring = np.maximum(np.diff(ring_offsets) - 1, 0)
        return edges, np.r_[0, np.cumsum(edges_per_ring)].astype(np.int64)
    geometry_type, coords, offsets = shapely.to_ragged_array(geometries)
    if geometry_type == shapely.GeometryType.POLYGON:
        ring_offsets, polygon_rings = offsets
        first_ring_of_geometry = polygon_rings
    elif geometry_type == shapely.GeometryType.MULTIPOLYGON:
        ring_offsets, polygon_rings, geometry_polygons = offsets
        first_ring_of_geometry = polygon_rings[geometry_polygons]
    else:
        raise ValueError(f"overlap areas need polygons, got {geometry_type.name.lower()} geometries")
    ring_offsets = np.asarray(ring_offsets, dtype=np.int64)
    polygon_rings = np.asarray(polygon_rings, dtype=np.int64)
    # The first ring of each polygon is its exterior.
    is_exterior = np.zeros(len(ring_offsets) - 1, dtype=np.bool_)
    is_exterior[polygon_rings[:-1][np.diff(polygon_rings) > 0]] = True
    edges_per_ring = np.maximum(np.diff(ring_offsets) - 1, 0)
    edges = _ring_edges(np.ascontiguousarray(coords, dtype=np.float64), ring_offsets, is_exterior)
    ring_edge_offsets = np.r_[0, np.cumsum(edges_per_ring)]
    start = ring_edge_offsets[np.asarray(first_ring_of_geometry, dtype=np.int64)]
    return edges, start.astype(np.int64)


def overlap_areas(sources: np.ndarray, targets: np.ndarray, source_pos: np.ndarray, target_pos: np.ndarray,
                  *, threads: int | None = None) -> np.ndarray:
    """``area(sources[source_pos[k]] ∩ targets[target_pos[k]])`` for every k, in squared CRS units
    (m² in a projected CRS), computed on ``threads`` CPU threads (default: all numba may use)."""
    source_edges, source_start = polygon_edges(sources)
    target_edges, target_start = polygon_edges(targets)
    bounds = shapely.bounds(np.asarray(sources, dtype=object))
    source_pos = np.asarray(source_pos, dtype=np.int64)
    target_pos = np.asarray(target_pos, dtype=np.int64)
    arguments = (source_edges, source_start, target_edges, target_start, bounds, source_pos, target_pos)
    if threads == 1 or len(source_pos) < _PARALLEL_MIN_PAIRS:
        return _pairs_area_serial(*arguments)
    # numba's default thread pool must not be entered from two Python threads at once (the
    # development server handles requests on threads), so calls take turns.
    with _KERNEL_LOCK:
        previous = numba.get_num_threads()
        numba.set_num_threads(max(1, min(threads or previous, numba.config.NUMBA_NUM_THREADS)))
        try:
            return _pairs_area(*arguments)
        finally:
            numba.set_num_threads(previous)

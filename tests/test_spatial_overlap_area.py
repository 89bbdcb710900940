"""Overlap areas by edge integrals (spatial.overlap_area) against GEOS's polygon overlay."""
from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from spatial.overlap_area import overlap_areas, polygon_edges


def geos_areas(sources, targets, source_pos, target_pos):
    return shapely.area(shapely.intersection(sources[source_pos], targets[target_pos]))


def all_pairs(sources, targets):
    target_pos, source_pos = shapely.STRtree(sources).query(targets)
    return source_pos, target_pos


def test_two_squares_over_one_district_by_hand():
    # A 100 × 100 square half inside the district, one wholly inside, one touching it outside.
    sources = np.array([shapely.box(0, 0, 100, 100), shapely.box(60, 10, 80, 30),
                        shapely.box(100, 0, 200, 100)], dtype=object)
    district = np.array([shapely.box(50, 0, 100, 100)], dtype=object)
    areas = overlap_areas(sources, district, np.array([0, 1, 2]), np.array([0, 0, 0]))
    assert areas == pytest.approx([5_000.0, 400.0, 0.0], abs=1e-9)


def test_holes_multipolygons_and_either_ring_orientation_match_geos():
    ring = shapely.box(0, 0, 1000, 1000)
    with_hole = shapely.difference(ring, shapely.box(300, 300, 700, 700))
    clockwise = shapely.Polygon(list(shapely.get_coordinates(shapely.box(200, 200, 900, 500)))[::-1])
    reversed_hole = shapely.Polygon(shapely.get_coordinates(with_hole.exterior),
                                    [shapely.get_coordinates(with_hole.interiors[0])[::-1]])
    two_parts = shapely.MultiPolygon([shapely.box(-50, -50, 100, 100), shapely.box(800, 800, 1100, 1100)])
    sources = np.array([with_hole, clockwise, reversed_hole, two_parts, shapely.box(350, 350, 650, 650)],
                       dtype=object)
    targets = np.array([shapely.box(250, 0, 600, 1000), two_parts, with_hole,
                        shapely.Polygon([(0, 0), (1000, 0), (500, 900)])], dtype=object)
    source_pos, target_pos = np.meshgrid(np.arange(len(sources)), np.arange(len(targets)))
    source_pos, target_pos = source_pos.ravel(), target_pos.ravel()
    ours = overlap_areas(sources, targets, source_pos, target_pos)
    np.testing.assert_allclose(ours, geos_areas(sources, targets, source_pos, target_pos), rtol=1e-12, atol=1e-7)
    # the hole of the source lies in the hole of the target: their overlap is the frame only
    assert ours[(source_pos == 0) & (target_pos == 2)][0] == pytest.approx(with_hole.area)


def test_empty_and_missing_geometries_overlap_nothing():
    sources = np.array([shapely.Polygon(), None, shapely.box(0, 0, 10, 10)], dtype=object)
    targets = np.array([shapely.box(0, 0, 5, 10)], dtype=object)
    assert overlap_areas(sources, targets, np.array([0, 1, 2]), np.zeros(3, int)).tolist() == pytest.approx(
        [0.0, 0.0, 50.0])


def test_lines_are_refused():
    with pytest.raises(ValueError, match="need polygons"):
        polygon_edges(np.array([shapely.LineString([(0, 0), (1, 1)])], dtype=object))


def voronoi(n: int, seed: int, size: float, offset: tuple[float, float]) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frame = shapely.box(0, 0, size, size)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(rng.uniform(0, size, (n, 2))),
                                                       extend_to=frame))
    cells = shapely.segmentize(shapely.intersection(cells, frame), size / 40)
    return shapely.transform(cells, lambda xy: xy + np.asarray(offset))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n_source=st.integers(5, 120), n_target=st.integers(1, 20),
       nested=st.booleans())
def test_random_layers_match_geos_and_conserve_area(seed, n_source, n_target, nested):
    # Plane-rectangular coordinates are large (10⁵ m): the result must not lose precision there.
    offset = (-52_000.0, -61_000.0)
    sources = voronoi(n_source, seed, 3000.0, offset)
    if nested:
        # districts made of whole small areas: every boundary is shared exactly
        group = np.random.default_rng(seed).integers(0, n_target, len(sources))
        targets = np.array([shapely.union_all(sources[group == g]) for g in np.unique(group)], dtype=object)
    else:
        targets = voronoi(n_target, seed + 1, 3000.0, offset)
    source_pos, target_pos = all_pairs(sources, targets)
    ours = overlap_areas(sources, targets, source_pos, target_pos, threads=2)
    source_area = shapely.area(sources)[source_pos]
    np.testing.assert_allclose(ours, geos_areas(sources, targets, source_pos, target_pos),
                               rtol=0, atol=1e-11 * source_area.max())
    # The targets tile the same square, so each source's overlaps add up to its own area.
    per_source = np.bincount(source_pos, weights=ours, minlength=len(sources))
    np.testing.assert_allclose(per_source, shapely.area(sources), rtol=1e-11)


def test_collections_count_by_their_polygons():
    # An intersection that also touches along a line comes back as a GeometryCollection.
    piece = shapely.intersection(shapely.box(0, 0, 2, 2),
                                 shapely.Polygon([(1, 0), (3, 0), (3, 2), (2, 2), (2, 1), (1, 1)]))
    collection = shapely.GeometryCollection([shapely.box(0, 0, 1, 1), shapely.LineString([(1, 0), (2, 0)]),
                                             shapely.box(5, 5, 6, 7)])
    sources = np.array([collection, shapely.GeometryCollection(), piece], dtype=object)
    frame = np.array([shapely.box(-1, -1, 10, 10)], dtype=object)
    areas = overlap_areas(sources, frame, np.arange(3), np.zeros(3, int))
    assert areas == pytest.approx([3.0, 0.0, shapely.area(piece)])


def test_thread_pool_and_calling_thread_give_the_same_areas(monkeypatch):
    from spatial import overlap_area

    sources = voronoi(300, 3, 3000.0, (0.0, 0.0))
    targets = voronoi(30, 4, 3000.0, (0.0, 0.0))
    source_pos, target_pos = all_pairs(sources, targets)
    serial = overlap_areas(sources, targets, source_pos, target_pos, threads=1)
    monkeypatch.setattr(overlap_area, "_PARALLEL_MIN_PAIRS", 0)
    pooled = overlap_areas(sources, targets, source_pos, target_pos, threads=2)
    np.testing.assert_array_equal(serial, pooled)
    assert serial.sum() == pytest.approx(shapely.area(sources).sum(), rel=1e-12)

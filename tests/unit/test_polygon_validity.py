"""Polygon validity checks stay fast for large outlines and agree with pair-by-pair tests.

The crossing-edge search uses an R-tree over the edges' bounding boxes and the
coincident-vertex search a sort, instead of testing every pair (O(V^2): 80 s
for a 100 000-vertex outline); the reference here is every pair, tested with
shapely (GEOS's robust predicates) on integer coordinates, where every
orientation test is exact.
"""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import pytest
import shapely

from rangeguard.earth import _polygon_build as _b
from rangeguard.earth.polygon import COINCIDENT_CHORD, GreatCirclePolygon, unit_vectors


def _crossings_by_every_pair(x, y):
    v = len(x)
    seg = [shapely.LineString([(x[k], y[k]), (x[(k + 1) % v], y[(k + 1) % v])]) for k in range(v)]
    return [
        (i, j)
        for i, j in itertools.combinations(range(v), 2)
        if j >= i + 2 and not (i == 0 and j == v - 1) and seg[i].intersects(seg[j])
    ]


@pytest.mark.parametrize("seed", range(40))
def test_crossing_edges_agree_with_every_pair(seed):
    """Random rings on a small integer grid: many crossings, touchings and collinear overlaps."""
    rng = np.random.default_rng(seed)
    xy = rng.integers(0, 8, (int(rng.integers(6, 40)), 2)).astype(float)
    xy = xy[np.any(xy != np.roll(xy, 1, axis=0), axis=1)]  # no zero-length edge (refused before this check)
    x, y = xy[:, 0].copy(), xy[:, 1].copy()
    want = _crossings_by_every_pair(x, y)
    pairs, total, complete = _b.crossing_edges(x, y, 10)
    assert complete and total == len(want)
    assert pairs.tolist() == [list(p) for p in want[:10]]


def test_coincident_vertices_agree_with_every_pair(rng):
    u = unit_vectors(rng.uniform(-60, 60, 400), rng.uniform(-180, 180, 400))
    u[50] = u[7] + 0.4e-9  # closer than the chord tolerance: coincident
    u[51] = u[8] + 0.9e-9 / math.sqrt(3)
    u[52] = u[9] + 2e-9  # farther: distinct
    u[300] = u[7]
    d2 = ((u[:, None, :] - u[None, :, :]) ** 2).sum(axis=2)
    want = [(i, j) for i, j in itertools.combinations(range(len(u)), 2) if d2[i, j] < COINCIDENT_CHORD**2]
    pairs, total, complete = _b.coincident_vertices(u, COINCIDENT_CHORD, 10)
    assert complete and total == len(want) == 4
    assert pairs.tolist() == [list(p) for p in want]


def test_vertices_on_one_meridian_plane_are_not_compared_pairwise():
    """All vertices with the same x component (the 90E meridian): cubes in 3-D keep the search short."""
    lat = np.linspace(-60.0, 60.0, 200_000)
    u = unit_vectors(lat, np.full_like(lat, 90.0))
    t0 = time.perf_counter()
    _, total, _ = _b.coincident_vertices(u, COINCIDENT_CHORD, 10)
    assert total == 0 and time.perf_counter() - t0 < 5.0


def _wiggly_ring(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """A star-shaped (so simple) ring of n vertices around (31 N, 133 E), about 2 degrees across."""
    theta = np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)
    r = 1.0 + 0.2 * np.sin(7.0 * theta) + 0.02 * rng.random(n)
    return 31.0 + r * np.sin(theta), 133.0 + r * np.cos(theta) / math.cos(math.radians(31.0))


def test_validity_check_of_a_large_outline_is_fast(rng):
    """50 000 vertices: was ~20 s (every pair of edges and of vertices); now well under a second."""
    lat, lon = _wiggly_ring(50_000, rng)
    GreatCirclePolygon.problems(lat[:10], lon[:10])  # compile outside the timing
    t0 = time.perf_counter()
    assert GreatCirclePolygon.problems(lat, lon, name="big") == []
    assert time.perf_counter() - t0 < 5.0
    lat[25_000], lon[25_000] = lat[100], lon[100]  # touch the ring to itself far along it
    problems = GreatCirclePolygon.problems(lat, lon, name="big")
    assert any("vertices 100 and 25000 are the same point" in p for p in problems), problems


def test_a_large_polygon_builds_without_a_quadratic_grid(rng):
    """10 000 vertices: the automatic grid was 4 x 256^2 cells x 10^4 edges (a minute, 2.6 GB); it is now
    kept under 10^8 cell-edge tests, and queries still agree with the brute-force search."""
    lat, lon = _wiggly_ring(10_000, rng)
    t0 = time.perf_counter()
    poly = GreatCirclePolygon(lat, lon, name="big")
    assert time.perf_counter() - t0 < 30.0
    q_lat, q_lon = rng.uniform(28.0, 34.0, 200), rng.uniform(129.0, 137.0, 200)
    inside, dist = poly.evaluate(q_lat, q_lon)
    inside_ref, dist_ref = poly.evaluate(q_lat, q_lon, use_grid=False)
    np.testing.assert_array_equal(inside, inside_ref)
    np.testing.assert_array_equal(dist, dist_ref)

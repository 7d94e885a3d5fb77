"""Benchmark: GreatCirclePolygon point queries (contains + signed distance).

Measures, for a 200-vertex irregular (concave) polygon of about 800 km across:

- ``single_us``: one point per call through the public Python method
  (``polygon.evaluate(lat, lon)`` with floats), median over repeated runs;
  ``single_array_us`` the same with (1,) arrays (the engine's N = 1 batch);
- ``batch_10k_us``: 10 000 points scattered over the polygon's neighbourhood
  (within ~1.5x its size, where the acceleration grid applies);
- ``batch_10k_serial_us``: the same on one thread (the parallel figure
  suffers badly when other processes share the cores);
- ``batch_10k_wide_us``: 10 000 points out to 2500 km;
- ``batch_20k_far_us``: 20 000 points 100-3000 km from the polygon (IIPs
  downrange of a protected area), ``batch_20k_far_serial_us`` on one thread;
- ``batch_20k_globe_serial_us``: 20 000 points anywhere on the globe, up to the
  antipode, one thread;
- ``batch_20k_kii_us``: the rule engine's case: a 200-vertex circle of radius
  0.7 deg at (34.0 N, 136.0 E) (projection centre = vertex mean) and 20 000
  IIPs 50-300 km south of Spaceport Kii (33.54 N, 135.89 E);
  ``batch_20k_kii_serial_us`` on one thread;
- ``batch_10k_bruteforce_us``: the neighbourhood points searching all edges.

Machine reference: ``ref_us`` is the time of ``np.sin`` over 1e6 float64 in the
same run; ``*_per_ref`` are the ratios. Last printed line: one JSON object.

Run: ``.venv/bin/python bench/polygon.py``
"""

from __future__ import annotations

import json
import os
import time

import numpy as np

os.environ.setdefault(  # see rangeguard.jit
    "RANGEGUARD_NUMBA_CACHE", os.path.join(os.path.dirname(__file__), "..", ".venv", "numba-cache")
)

import numba
import pyproj

from rangeguard.earth.polygon import GreatCirclePolygon

GEOD = pyproj.Geod(ellps="WGS84")

N_VERTICES = 200
CENTER_LAT_DEG, CENTER_LON_DEG = 33.5, 136.0


def _star_polygon(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Irregular star: radius 150-400 km in random steps, approximated in degrees."""
    az = np.linspace(0.0, 2.0 * np.pi, N_VERTICES, endpoint=False)
    r_deg = rng.uniform(150.0, 400.0, N_VERTICES) / 111.0
    lat = CENTER_LAT_DEG + r_deg * np.cos(az)
    lon = CENTER_LON_DEG + r_deg * np.sin(az) / np.cos(np.radians(CENTER_LAT_DEG))
    return lat, lon


def _best_us(fn, repeats: int, inner: int) -> float:
    """Median over ``repeats`` of the mean time of ``inner`` calls, microseconds."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t0) / inner * 1e6)
    return float(np.median(times))


def main() -> None:
    rng = np.random.default_rng(12345)
    lat_v, lon_v = _star_polygon(rng)
    t0 = time.perf_counter()
    site = {"center_lat_deg": CENTER_LAT_DEG, "center_lon_deg": CENTER_LON_DEG}
    polygon = GreatCirclePolygon(lat_v, lon_v, name="bench", **site)
    build_ms = (time.perf_counter() - t0) * 1e3  # includes loading cached numba code on first use
    t0 = time.perf_counter()
    GreatCirclePolygon(lat_v, lon_v, name="bench", **site)
    rebuild_ms = (time.perf_counter() - t0) * 1e3

    near_lat = CENTER_LAT_DEG + rng.uniform(-6.0, 6.0, 10_000)
    near_lon = CENTER_LON_DEG + rng.uniform(-7.0, 7.0, 10_000)
    wide_lat = CENTER_LAT_DEG + rng.uniform(-22.0, 22.0, 10_000)
    wide_lon = CENTER_LON_DEG + rng.uniform(-26.0, 26.0, 10_000)

    # 100-3000 km beyond the polygon (its vertices are within ~400 km of the centre)
    n_far = 20_000
    far_lon, far_lat, _ = GEOD.fwd(
        np.full(n_far, CENTER_LON_DEG),
        np.full(n_far, CENTER_LAT_DEG),
        rng.uniform(0.0, 360.0, n_far),
        rng.uniform(500e3, 3400e3, n_far),
    )
    globe_lon, globe_lat, _ = GEOD.fwd(
        np.full(n_far, CENTER_LON_DEG),
        np.full(n_far, CENTER_LAT_DEG),
        rng.uniform(0.0, 360.0, n_far),
        rng.uniform(0.0, 19.9e6, n_far),
    )
    az = np.linspace(0.0, 2.0 * np.pi, N_VERTICES, endpoint=False)
    kii = GreatCirclePolygon(34.0 + 0.7 * np.sin(az), 136.0 + 0.7 * np.cos(az) / np.cos(np.radians(34.0)), name="kii")
    kii_lon, kii_lat, _ = GEOD.fwd(
        np.full(n_far, 135.89), np.full(n_far, 33.54), rng.normal(185.0, 10.0, n_far), rng.uniform(50e3, 300e3, n_far)
    )
    for lat_a, lon_a in ((far_lat, far_lon), (globe_lat, globe_lon)):
        polygon.evaluate(lat_a, lon_a)
        polygon.evaluate(lat_a, lon_a, parallel=False)
    kii.evaluate(kii_lat, kii_lon)

    lat1, lon1 = float(near_lat[0]), float(near_lon[0])
    polygon.evaluate(lat1, lon1)
    polygon.evaluate(near_lat, near_lon)
    polygon.evaluate(near_lat, near_lon, use_grid=False)

    single_us = _best_us(lambda: polygon.evaluate(lat1, lon1), repeats=15, inner=5000)
    lat1_arr, lon1_arr = near_lat[:1].copy(), near_lon[:1].copy()
    single_array_us = _best_us(lambda: polygon.evaluate(lat1_arr, lon1_arr), repeats=15, inner=5000)
    single_bf_us = _best_us(lambda: polygon.evaluate(lat1, lon1, use_grid=False), repeats=15, inner=2000)
    batch_us = _best_us(lambda: polygon.evaluate(near_lat, near_lon), repeats=15, inner=20)
    serial_us = _best_us(lambda: polygon.evaluate(near_lat, near_lon, parallel=False), repeats=15, inner=20)
    wide_us = _best_us(lambda: polygon.evaluate(wide_lat, wide_lon), repeats=9, inner=10)
    far_us = _best_us(lambda: polygon.evaluate(far_lat, far_lon), repeats=9, inner=10)
    far_serial_us = _best_us(lambda: polygon.evaluate(far_lat, far_lon, parallel=False), repeats=9, inner=5)
    globe_serial_us = _best_us(lambda: polygon.evaluate(globe_lat, globe_lon, parallel=False), repeats=9, inner=5)
    kii_us = _best_us(lambda: kii.evaluate(kii_lat, kii_lon), repeats=9, inner=10)
    kii_serial_us = _best_us(lambda: kii.evaluate(kii_lat, kii_lon, parallel=False), repeats=9, inner=5)
    brute_us = _best_us(lambda: polygon.evaluate(near_lat, near_lon, use_grid=False), repeats=5, inner=3)

    x = rng.uniform(-1.0, 1.0, 1_000_000)
    ref_us = _best_us(lambda: np.sin(x), repeats=9, inner=5)

    result = {
        "bench": "polygon",
        "vertices": N_VERTICES,
        "single_us": round(single_us, 3),
        "single_array_us": round(single_array_us, 3),
        "single_bruteforce_us": round(single_bf_us, 3),
        "batch_10k_us": round(batch_us, 1),
        "batch_10k_serial_us": round(serial_us, 1),
        "batch_10k_wide_us": round(wide_us, 1),
        "batch_20k_far_us": round(far_us, 1),
        "batch_20k_far_serial_us": round(far_serial_us, 1),
        "batch_20k_globe_serial_us": round(globe_serial_us, 1),
        "batch_20k_kii_us": round(kii_us, 1),
        "batch_20k_kii_serial_us": round(kii_serial_us, 1),
        "batch_10k_bruteforce_us": round(brute_us, 1),
        "points_per_s": round(10_000 / batch_us * 1e6),
        "threads": numba.get_num_threads(),
        "far_serial_ns_per_point": round(far_serial_us / n_far * 1e3, 1),
        "build_ms": round(build_ms, 2),
        "rebuild_ms": round(rebuild_ms, 2),
        "ref_us": round(ref_us, 1),
        "single_per_ref": round(single_us / ref_us, 6),
        "batch_10k_per_ref": round(batch_us / ref_us, 4),
    }
    print(f"polygon: {N_VERTICES} vertices; parallel figures suffer when other processes share the cores")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

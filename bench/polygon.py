"""Benchmark: GreatCirclePolygon point queries (contains + signed distance).

Measures, for a 200-vertex irregular (concave) polygon of about 800 km across:

- ``single_us``: one point per call through the public Python method
  (``polygon.evaluate(lat, lon)`` with floats), median over repeated runs;
  ``single_array_us`` the same with (1,) arrays (the engine's N = 1 batch);
- ``batch_10k_us``: 10 000 points scattered over the polygon's neighbourhood
  (within ~1.5x its size, where the acceleration grid applies);
- ``batch_10k_serial_us``: the same on one thread (the parallel figure
  suffers badly when other processes share the cores);
- ``batch_10k_wide_us``: 10 000 points out to 2500 km (many fall back to the
  all-edges search);
- ``batch_10k_bruteforce_us``: the same neighbourhood points without the grid.

Machine reference: ``ref_us`` is the time of ``np.sin`` over 1e6 float64 in the
same run; ``*_per_ref`` are the ratios. Last printed line: one JSON object.

Run: ``.venv/bin/python bench/polygon.py``
"""

from __future__ import annotations

import json
import os
import time

import numpy as np

os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(os.path.dirname(__file__), "..", ".venv", "numba-cache"))

import numba  # noqa: E402

from rangeguard.earth.polygon import GreatCirclePolygon  # noqa: E402

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
    brute_us = _best_us(lambda: polygon.evaluate(near_lat, near_lon, use_grid=False), repeats=5, inner=3)

    x = rng.uniform(-1.0, 1.0, 1_000_000)
    ref_us = _best_us(lambda: np.sin(x), repeats=9, inner=5)

    n_cells = len(polygon._cell_start) - 1
    result = {
        "bench": "polygon",
        "vertices": N_VERTICES,
        "single_us": round(single_us, 3),
        "single_array_us": round(single_array_us, 3),
        "single_bruteforce_us": round(single_bf_us, 3),
        "batch_10k_us": round(batch_us, 1),
        "batch_10k_serial_us": round(serial_us, 1),
        "batch_10k_wide_us": round(wide_us, 1),
        "batch_10k_bruteforce_us": round(brute_us, 1),
        "points_per_s": round(10_000 / batch_us * 1e6),
        "threads": numba.get_num_threads(),
        "grid_cells": n_cells,
        "mean_candidates_per_cell": round(len(polygon._cell_edges) / n_cells, 2),
        "build_ms": round(build_ms, 2),
        "rebuild_ms": round(rebuild_ms, 2),
        "ref_us": round(ref_us, 1),
        "single_per_ref": round(single_us / ref_us, 6),
        "batch_10k_per_ref": round(batch_us / ref_us, 4),
    }
    print(f"polygon: {N_VERTICES} vertices, grid {n_cells} cells")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

"""Benchmark: vacuum IIP throughput and single-call latency.

Measures, in one run and on the same 1,000,000 states:

- ``iip_s``: :func:`rangeguard.iip.impact_point` on the (N, 3) batch (numba,
  ``parallel=True`` over the machine's cores; this machine has 2);
- ``ref_geodetic_s``: a plain numpy vectorised ECEF -> geodetic conversion
  of the same positions with 4 fixed-point (Bowring-style) latitude
  iterations, written below; the machine reference;
- ``ratio = iip_s / ref_geodetic_s`` (the requirement is <= 3);
- ``single_call_us``: median wall time of ``impact_point(r, v)`` on one
  (3,) state, Python wrapper included, over many calls after warm-up.

Both batch figures are the best of several repeats; numba compile time is
excluded (warm-up first) and reported separately as ``first_call_s`` (the
first call in this process, which loads from numba's cache if present).

The states: altitude 0.5-250 km, Earth-relative speed 0.1-7.3 km/s,
flight-path angle -20..85 deg, any heading, latitude within +-70 deg,
seeded. The last printed line is one JSON object.
"""

from __future__ import annotations

import json
import statistics
import time

import numpy as np

from rangeguard.constants import WGS84_A_M, WGS84_E2
from rangeguard.earth import ecef_to_enu_matrix, geodetic_to_ecef


def geodetic_bowring_4(r_ecef):
    """Reference: numpy ECEF -> geodetic, 4 fixed-point latitude iterations."""
    x, y, z = r_ecef[:, 0], r_ecef[:, 1], r_ecef[:, 2]
    p = np.hypot(x, y)
    lat = np.arctan2(z, p * (1.0 - WGS84_E2))
    h = np.zeros_like(p)
    for _ in range(4):
        s = np.sin(lat)
        n = WGS84_A_M / np.sqrt(1.0 - WGS84_E2 * s * s)
        h = p / np.cos(lat) - n
        lat = np.arctan2(z, p * (1.0 - WGS84_E2 * n / (n + h)))
    lon = np.arctan2(y, x)
    return lat, lon, h


def random_states(rng, n):
    lat = rng.uniform(-70.0, 70.0, n)
    lon = rng.uniform(-180.0, 180.0, n)
    h = rng.uniform(500.0, 250e3, n)
    speed = rng.uniform(100.0, 7300.0, n)
    fpa = np.radians(rng.uniform(-20.0, 85.0, n))
    hdg = rng.uniform(0.0, 2.0 * np.pi, n)
    r = geodetic_to_ecef(lat, lon, h)
    enu = np.stack([speed * np.cos(fpa) * np.sin(hdg), speed * np.cos(fpa) * np.cos(hdg), speed * np.sin(fpa)], axis=-1)
    v = np.einsum("nji,nj->ni", ecef_to_enu_matrix(lat, lon), enu)
    return np.ascontiguousarray(r), np.ascontiguousarray(v)


def best_of(fn, repeats):
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main(n=1_000_000, repeats=5, single_calls=20000):
    t0 = time.perf_counter()
    from rangeguard.iip import impact_point

    impact_point(np.array([WGS84_A_M + 1e3, 0.0, 0.0]), np.array([0.0, 100.0, 100.0]))
    impact_point(np.full((4096, 3), [WGS84_A_M + 1e3, 0.0, 0.0]), np.full((4096, 3), [0.0, 100.0, 100.0]))
    first_call_s = time.perf_counter() - t0

    r, v = random_states(np.random.default_rng(1), n)
    impact_point(r[:10000], v[:10000])
    geodetic_bowring_4(r[:10000])
    iip_s = best_of(lambda: impact_point(r, v), repeats)
    ref_s = best_of(lambda: geodetic_bowring_4(r), repeats)

    r1, v1 = r[123].copy(), v[123].copy()
    for _ in range(1000):
        impact_point(r1, v1)
    times = []
    for _ in range(single_calls):
        t0 = time.perf_counter()
        impact_point(r1, v1)
        times.append(time.perf_counter() - t0)
    single_us = statistics.median(times) * 1e6

    lat, _lon, _tof = impact_point(r, v)
    print(f"impact_point, {n} states: {iip_s:.4f} s ({iip_s / n * 1e9:.0f} ns/state)")
    print(f"numpy ECEF->geodetic (4 Bowring iterations), same positions: {ref_s:.4f} s")
    print(f"ratio: {iip_s / ref_s:.3f}; single call (median of {single_calls}): {single_us:.2f} us")
    print(f"states with no impact (NaN): {int(np.isnan(lat).sum())}; first call incl. import: {first_call_s:.2f} s")
    print(
        json.dumps(
            {
                "bench": "iip",
                "n": n,
                "iip_s": round(iip_s, 5),
                "ref_geodetic_s": round(ref_s, 5),
                "ratio": round(iip_s / ref_s, 4),
                "single_call_us": round(single_us, 3),
                "first_call_s": round(first_call_s, 3),
                "parallel_threads": _threads(),
            }
        )
    )


def _threads():
    import numba

    return numba.get_num_threads()


if __name__ == "__main__":
    main()

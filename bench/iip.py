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
seeded.

Drag propagation (:func:`rangeguard.iip.impact_point_drag`, compiled,
numba's threads), best of a few repeats after a warm-up:

- ``drag_light_one_ms`` / ``drag_light_1000_ms``: a light fragment
  (beta 30 kg/m^2) released at 30 km at 1.5 km/s, 20 deg up: one state, and
  1000 copies in one call;
- ``drag_breakup_us_per_fragment``: a break-up-like batch, 3000 fragments
  from 60 km at 2 km/s, 30 deg up, explosion velocity uniform in 0-50 m/s
  in an isotropic direction, betas lognormal (sd 30 %) around 30, 300 and
  3000 kg/m^2 (1000 each), wall time per fragment;
- ``reference_s``: the shared machine reference (bench/_reference.py), and
  ``drag_breakup_over_reference`` = the batch's wall time / reference_s.

The last printed line is one JSON object.
"""

from __future__ import annotations

import json
import statistics
import time

import numpy as np
from _reference import reference_s, sig  # bench/_reference.py; scripts run from bench/

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


def enu_state(lat_deg, lon_deg, h_m, speed_mps, fpa_deg, heading_deg):
    r = geodetic_to_ecef(lat_deg, lon_deg, h_m)
    f, a = np.radians(fpa_deg), np.radians(heading_deg)
    enu = speed_mps * np.array([np.cos(f) * np.sin(a), np.cos(f) * np.cos(a), np.sin(f)])
    return r, ecef_to_enu_matrix(lat_deg, lon_deg).T @ enu


def breakup_batch(rng, per_group=1000, betas=(30.0, 300.0, 3000.0), sigma=0.3, explosion_mps=50.0):
    """Fragments of a break-up at 60 km, 2 km/s, 30 deg up (module docstring)."""
    r0, v0 = enu_state(28.5, -80.6, 60e3, 2000.0, 30.0, 90.0)
    n = per_group * len(betas)
    direction = rng.standard_normal((n, 3))
    direction /= np.linalg.norm(direction, axis=1)[:, None]
    v = v0 + explosion_mps * rng.random(n)[:, None] * direction
    s_ln = np.sqrt(np.log1p(sigma * sigma))
    beta = np.repeat(betas, per_group) * np.exp(s_ln * rng.standard_normal(n) - 0.5 * s_ln * s_ln)
    return np.tile(r0, (n, 1)), v, beta


def drag_figures(repeats=3):
    from rangeguard.iip import impact_point_drag

    r1, v1 = enu_state(30.0, 130.0, 30e3, 1500.0, 20.0, 90.0)
    r_many, v_many = np.tile(r1, (1000, 1)), np.tile(v1, (1000, 1))
    r_b, v_b, beta_b = breakup_batch(np.random.default_rng(17))
    impact_point_drag(r1, v1, 30.0)  # warm-up (compiles or loads the kernels)
    impact_point_drag(r_b[:64], v_b[:64], beta_b[:64])
    one_s = best_of(lambda: impact_point_drag(r1, v1, 30.0), repeats)
    many_s = best_of(lambda: impact_point_drag(r_many, v_many, 30.0), repeats)
    batch_s = best_of(lambda: impact_point_drag(r_b, v_b, beta_b), repeats)
    lat, _, _ = impact_point_drag(r_b, v_b, beta_b)
    return one_s, many_s, batch_s, beta_b.size, int(np.isnan(lat).sum())


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
    one_s, many_s, batch_s, n_frag, lost = drag_figures()
    ref = reference_s()
    print(f"impact_point, {n} states: {iip_s:.4f} s ({iip_s / n * 1e9:.0f} ns/state)")
    print(f"numpy ECEF->geodetic (4 Bowring iterations), same positions: {ref_s:.4f} s")
    print(f"ratio: {iip_s / ref_s:.3f}; single call (median of {single_calls}): {single_us:.2f} us")
    print(f"states with no impact (NaN): {int(np.isnan(lat).sum())}; first call incl. import: {first_call_s:.2f} s")
    print(f"impact_point_drag, beta 30 from 30 km: one state {one_s * 1e3:.2f} ms, 1000 states {many_s * 1e3:.1f} ms")
    print(
        f"impact_point_drag, break-up batch of {n_frag} fragments: {batch_s:.3f} s, "
        f"{batch_s / n_frag * 1e6:.1f} us/fragment ({lost} not landed); reference {ref:.3f} s"
    )
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
                "drag_light_one_ms": round(one_s * 1e3, 3),
                "drag_light_1000_ms": round(many_s * 1e3, 2),
                "drag_breakup_fragments": n_frag,
                "drag_breakup_us_per_fragment": round(batch_s / n_frag * 1e6, 2),
                "reference_s": round(ref, 4),
                "drag_breakup_over_reference": sig(batch_s / ref),
            }
        )
    )


def _threads():
    import numba

    return numba.get_num_threads()


if __name__ == "__main__":
    main()

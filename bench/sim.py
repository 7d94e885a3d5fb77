"""Simulator speed: one Kairos-class ascent to orbit, and 10,000 dispersed sounding flights.

Prints, as its last line, one JSON object:
  kii_single_s        wall time of one Kairos-class ascent (liftoff to orbit, recorded at 1 Hz), after warm-up
  sounding_10k_s      wall time of 10,000 dispersed sounding flights (missions/sounding.yaml), liftoff to
                      impact, with the sensor models and the AFSS engine judging nav at 10 Hz (its six
                      rules, three of them polygons): the vehicles split over two worker processes
                      (one per core, one thread each), as the Monte Carlo runner does
  sounding_10k_sim_only_s   the same flights without sensors and engine, one process, one thread
  reference_s         a fixed numpy workload on this machine, and the ratios to it

The dispersions here (``dispersions()``: 0.3 deg attitude bias per axis, 1 sigma) are six times the
mission's validated ones, so about 11 % of the flights are terminated: the timed loop includes the
terminate path, not only nominal flight.
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
import time

import numpy as np
from _reference import reference_s

ROOT = pathlib.Path(__file__).resolve().parents[1]
os.environ.setdefault("RANGEGUARD_NUMBA_CACHE", str(ROOT / ".venv" / "numba-cache"))  # see rangeguard.jit
sys.path.insert(0, str(ROOT / "src"))

from rangeguard.mission.site import SiteSpec  # noqa: E402 - imported after the cache folder is set
from rangeguard.mission.vehicle import load_vehicle  # noqa: E402 - imported after the cache folder is set
from rangeguard.sim import PerVehicleParams, Simulator, simulate_vehicle  # noqa: E402 - imported after the cache folder is set

KII = SiteSpec(name="Spaceport Kii", lat_deg=33.54, lon_deg=135.89, alt_m=0.0, launch_azimuth_deg=191.5)


def dispersions(n: int, rng: np.random.Generator) -> PerVehicleParams:
    return PerVehicleParams(
        thrust_scale=rng.normal(1.0, 0.02, n),
        burn_rate_scale=rng.normal(1.0, 0.01, n),
        isp_scale=rng.normal(1.0, 0.005, n),
        dry_mass_scale=rng.normal(1.0, 0.02, n),
        cd_scale=rng.normal(1.0, 0.05, n),
        attitude_bias_pitch_deg=rng.normal(0.0, 0.3, n),
        attitude_bias_yaw_deg=rng.normal(0.0, 0.3, n),
    )


def _closed_loop_chunk(args) -> tuple[int, int]:
    """One worker: ``n`` dispersed sounding flights, simulator -> sensors -> engine every 0.1 s."""
    n, seed = args
    from rangeguard.engine import Engine
    from rangeguard.mission import load_mission
    from rangeguard.sim.sensors import SensorModel

    mission = load_mission(ROOT / "missions" / "sounding.yaml")
    rng = np.random.default_rng(seed)
    sim = Simulator(mission.vehicle, mission.site, n=n, per_vehicle_params=dispersions(n, rng))
    sources = [s.name for s in mission.nav_sources]
    sensors = SensorModel(mission.sensors, sources, n, rng)
    engine = Engine(mission, n=n)
    k = 0
    while not sim.done:
        k += 1
        t = k * 0.1
        sim.advance_to(t)
        d = engine.step(sensors.measure(t, sim.state), t)
        if d.terminate_now.any():
            sim.terminate(d.terminate_now)
    return n, int(d.terminate.sum())


def closed_loop_10k(n: int) -> tuple[float, int, int]:
    """Wall time of ``n`` closed-loop sounding flights over two worker processes (after their warm-up)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    ctx = mp.get_context("spawn")
    env_before = os.environ.get("NUMBA_NUM_THREADS")
    os.environ["NUMBA_NUM_THREADS"] = "1"  # inherited by the spawned workers: one thread per process
    try:
        with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
            list(pool.map(_closed_loop_chunk, [(64, 1), (64, 2)]))  # warm-up: imports, numba caches
            t0 = time.perf_counter()
            results = list(pool.map(_closed_loop_chunk, [(n // 2, 11), (n - n // 2, 12)]))
            wall = time.perf_counter() - t0
    finally:
        if env_before is None:
            os.environ.pop("NUMBA_NUM_THREADS", None)
        else:
            os.environ["NUMBA_NUM_THREADS"] = env_before
    return wall, sum(r[0] for r in results), sum(r[1] for r in results)


def main() -> None:
    kairos = load_vehicle(ROOT / "missions/vehicles/kairos-class.yaml")
    sounding = load_vehicle(ROOT / "missions/vehicles/sounding.yaml")
    # warm-up: numba compilation / cache load, serial and parallel kernels
    simulate_vehicle(kairos, KII)
    Simulator(sounding, KII, n=64).advance_to(1.0)
    Simulator(sounding, KII, n=64, parallel=True).advance_to(1.0)

    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        tr = simulate_vehicle(kairos, KII)
        runs.append(time.perf_counter() - t0)
    kii = min(runs)
    orbit = tr.orbit_dict(0)

    n = 10_000

    def sounding_run(parallel: bool) -> tuple[float, int, Simulator]:
        sim = Simulator(
            sounding, KII, n=n, per_vehicle_params=dispersions(n, np.random.default_rng(1)), parallel=parallel
        )
        t0 = time.perf_counter()
        k = 0
        while not sim.done:
            k += 1
            sim.advance_to(k * 0.1)
        return time.perf_counter() - t0, k, sim

    snd_sim, k, sim = sounding_run(False)  # simulator alone: one process, one thread
    snd, flown, terminated = closed_loop_10k(n)
    ref = reference_s()
    print(
        f"kii_single: {kii:.3f} s (orbit {orbit}); sounding 10k closed loop (sim + sensors + engine at 10 Hz, "
        f"2 processes): {snd:.2f} s, {flown} flights, {terminated} terminated; simulator alone {snd_sim:.2f} s "
        f"({k} cycles of 0.1 s, {int(sim.impacted.sum())} impacts); reference {ref:.3f} s"
    )
    print(
        json.dumps(
            {
                "bench": "sim",
                "kii_single_s": round(kii, 4),
                "sounding_10k_s": round(snd, 3),
                "sounding_10k_sim_only_s": round(snd_sim, 3),
                "sounding_10k_cycles": k,
                "load_average_1min": round(os.getloadavg()[0], 2),
                "reference_s": round(ref, 4),
                "kii_single_over_reference": round(kii / ref, 3),
                "sounding_10k_over_reference": round(snd / ref, 3),
            }
        )
    )


if __name__ == "__main__":
    main()

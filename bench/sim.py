"""Simulator speed: one Kairos-class ascent to orbit, and 10,000 dispersed sounding flights.

Prints, as its last line, one JSON object:
  kii_single_s     wall time of one Kairos-class ascent (liftoff to orbit, recorded at 1 Hz), after warm-up
  sounding_10k_s   wall time of 10,000 dispersed sounding flights, liftoff to impact, the batch
                   stepped at 10 Hz as the Monte Carlo runner does (simulator only, no engine yet),
                   one thread; sounding_10k_threads_s: the same spread over numba's threads
  reference_s      a fixed numpy workload on this machine, and the ratios to it
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / ".venv" / "numba-cache"))
sys.path.insert(0, str(ROOT / "src"))

from rangeguard.mission.site import SiteSpec  # noqa: E402
from rangeguard.mission.vehicle import load_vehicle  # noqa: E402
from rangeguard.sim import PerVehicleParams, Simulator, simulate_vehicle  # noqa: E402

KII = SiteSpec(name="Spaceport Kii", lat_deg=33.54, lon_deg=135.89, alt_m=0.0, launch_azimuth_deg=191.5)


def reference_s() -> float:
    """A fixed single-threaded numpy workload (elementwise transcendental functions), best of 3."""
    x = np.linspace(0.0, 10.0, 2_000_000)
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(5):
            x = np.sin(x) + np.exp(-x * x)
        best = min(best, time.perf_counter() - t0)
    return best


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
        sim = Simulator(sounding, KII, n=n, per_vehicle_params=dispersions(n, np.random.default_rng(1)), parallel=parallel)
        t0 = time.perf_counter()
        k = 0
        while not sim.done:
            k += 1
            sim.advance_to(k * 0.1)
        return time.perf_counter() - t0, k, sim

    snd, k, sim = sounding_run(False)  # one process, one thread: the Monte Carlo runner's unit of work
    snd_par, _, _ = sounding_run(True)  # numba threads over all cores (sensitive to other load)
    ref = reference_s()
    print(f"kii_single: {kii:.3f} s (orbit {orbit}); sounding 10k: {snd:.2f} s single-threaded, "
          f"{snd_par:.2f} s with numba threads, {k} cycles of 0.1 s, {int(sim.impacted.sum())} impacts; "
          f"reference {ref:.3f} s")
    print(json.dumps({
        "bench": "sim",
        "kii_single_s": round(kii, 4),
        "sounding_10k_s": round(snd, 3),
        "sounding_10k_cycles": k,
        "sounding_10k_threads_s": round(snd_par, 3),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "reference_s": round(ref, 4),
        "kii_single_over_reference": round(kii / ref, 3),
        "sounding_10k_over_reference": round(snd / ref, 3),
    }))


if __name__ == "__main__":
    main()

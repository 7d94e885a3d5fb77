"""The warm-up before READY: every kernel a mission's engine runs in flight, loaded (or compiled and
cached on disk) before the real-time AFSS takes its first packet. ``rangeguard prepare`` runs it ahead of
time; :class:`rangeguard.telemetry.afss.RealtimeAfss` runs it before it says READY."""

from __future__ import annotations

import math

import numpy as np

from rangeguard.earth import geodetic_to_ecef
from rangeguard.engine import Engine
from rangeguard.engine.driver import CycleDriver, CycleSample
from rangeguard.nav import NavBatch

WARM_UP_ALTITUDE_M = 20_000.0
"""Height above the pad of the warm-up's airborne sample, m (any airborne state that has an impact point)."""
WARM_UP_SPEED_MPS = 800.0
"""Speed of the warm-up's airborne sample, m/s (straight up)."""
WARM_UP_FLIGHT_S = 2.0
"""Flight time the warm-up's climb is stepped for, s (longer than the rules' persistence times)."""


def warm_up_engine(mission) -> None:
    """Load (or, with a cold cache, compile and cache) every kernel the engine of ``mission`` runs in
    flight, through the loop's own path: a throwaway :class:`CycleDriver` is fed samples built as the
    loop builds them from packets (:meth:`NavBatch.single`, every source, the string health as a
    tuple), on the pad and along a climb (from :data:`WARM_UP_ALTITUDE_M` up at
    :data:`WARM_UP_SPEED_MPS`) for :data:`WARM_UP_FLIGHT_S`, with a silent cycle between, so the armed
    paths (every rule, the IIP, persistence, votes, silence, and a termination where the climb violates
    a rule) are loaded too. ``rangeguard prepare`` runs this ahead of time; ``run`` runs it before
    READY."""
    site = mission.site
    r_pad = geodetic_to_ecef(site.lat_deg, site.lon_deg, site.alt_m)
    r_up = geodetic_to_ecef(site.lat_deg, site.lon_deg, site.alt_m + WARM_UP_ALTITUDE_M)
    v_up = WARM_UP_SPEED_MPS * (r_up - r_pad) / np.linalg.norm(r_up - r_pad)
    engine = Engine(mission, n=1)
    driver = CycleDriver(engine)
    health = (True,) * len(engine.setup.string_names)
    q_level = (1.0, 0.0, 0.0, 0.0)
    dt_s = driver.cycle_s
    n_sources = len(mission.nav_sources)

    def feed(t_s: float, r, v) -> None:
        driver.feed([
            CycleSample(NavBatch.single(t_s, tuple(r), tuple(v), q_level, (0.0, 0.0, 0.0), True, k), t_s, health)
            for k in range(n_sources)
        ])  # fmt: skip

    feed(0.0, r_pad, (0.0, 0.0, 0.0))
    driver.advance(2.5 * dt_s)  # a silent cycle
    t0 = 3.0 * dt_s
    for k in range(math.ceil(WARM_UP_FLIGHT_S / dt_s)):
        t_s = t0 + k * dt_s
        feed(t_s, r_up + v_up * (t_s - t0), v_up)
    driver.close()

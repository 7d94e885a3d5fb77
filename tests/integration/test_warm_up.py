"""The warm-up before READY loads the code a flight runs (issue 18, part 5).

numba compiles one specialisation per argument type (read-only and writable arrays are different
types); one compiled in flight stalls a cycle for as long as compiling takes (seconds on a new
machine). The check runs in a fresh interpreter, where a kernel's signatures are only those this
process called: after ``warm_up_engine``, a flight through the loop's own path (data cycles with the
string health as the health packets give it, silent cycles, a health-less step) must add none.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import numpy as np
    from rangeguard.earth import ecef_to_enu_matrix, geodetic_to_ecef
    from rangeguard.engine import Engine, _kernels
    from rangeguard.engine.driver import CycleDriver, CycleSample
    from rangeguard.mission import load_mission
    from rangeguard.nav import NavBatch
    from rangeguard.rules import kinematics
    from rangeguard.telemetry.warmup import warm_up_engine

    def signatures():
        out = set()
        for module in (_kernels, kinematics):
            for name in dir(module):
                for obj in (getattr(module, name), getattr(getattr(module, name), "serial", None)):
                    for sig in getattr(obj, "signatures", None) or ():
                        out.add((module.__name__, name, str(sig)))
        return out

    m = load_mission(sys.argv[1])
    warm_up_engine(m)
    before = signatures()
    site = m.site
    rot = ecef_to_enu_matrix(site.lat_deg, site.lon_deg)
    pad = geodetic_to_ecef(site.lat_deg, site.lon_deg, site.alt_m)
    engine = Engine(m, n=1)
    driver = CycleDriver(engine)
    health = (True,) * len(engine.setup.string_names)
    for k in range(40):  # a climb at 10 Hz, then a second of silence, then more data
        t = 0.1 * k + (1.0 if k >= 20 else 0.0)
        r = pad + rot.T @ np.array([0.0, 30.0 * t, 60.0 * t * t])
        v = rot.T @ np.array([0.0, 30.0, 120.0 * t])
        nav = NavBatch.single(t, tuple(r), tuple(v), (1.0, 0.0, 0.0, 0.0), (0.0, 0.0, 0.0), True, 0)
        driver.advance(t)
        driver.feed([CycleSample(nav, t, health)])
    driver.close()
    engine.step([], 10.0, None)
    new = signatures() - before
    print(len(new))
    for item in sorted(new):
        print(*item)
    """
)


def test_a_flight_after_the_warm_up_compiles_nothing_new() -> None:
    import os

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-c", "import sys\n" + SCRIPT, str(ROOT / "missions" / "sounding.yaml")],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "0", "\n".join(lines[:6])

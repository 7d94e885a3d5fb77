"""`rangeguard import opentsiolkovsky`: writes a mission that check and simulate accept; bad input is exit 2, one line.

The end-to-end test flies the imported MOMO example (one stage, constant thrust, constant local attitude,
constant CA and CN slope, ballistic coast) through rangeguard.sim and checks the apogee against an
independent integration written here (scipy DOP853; WGS84 and J2 written out, pymap3d for geodetic
coordinates, the ambiance standard atmosphere), no rangeguard code in the reference. It needs the simulator
to fly the per-stage aero, the local-frame programme and the exit area from throat and expansion ratio.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from rangeguard.cli.app import main
from rangeguard.mission import load_mission

DATA = Path(__file__).resolve().parents[1] / "data" / "opentsiolkovsky"
MOMO = DATA / "param_momo.json"


def _run(argv, capsys):
    code = main(argv)
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def test_import_writes_a_mission_that_check_accepts(tmp_path, capsys):
    out = tmp_path / "momo.yaml"
    code, stdout, err = _run(["import", "opentsiolkovsky", str(MOMO), "-o", str(out)], capsys)
    assert code == 0, err
    assert "stage1: ignition T+0 s, burnout T+62 s" in stdout
    text = out.read_text()
    assert text.startswith("# Imported by `rangeguard import opentsiolkovsky param_momo.json`")
    code, stdout, err = _run(["check", str(out)], capsys)
    assert code == 0 and "OK (0" in " ".join(stdout.split())
    # no overwrite without --force
    code, _, err = _run(["import", "opentsiolkovsky", str(MOMO), "-o", str(out)], capsys)
    assert code == 2 and "--force" in err and len(err.strip().splitlines()) == 1
    code, _, err = _run(["import", "opentsiolkovsky", str(MOMO), "-o", str(out), "--force"], capsys)
    assert code == 0, err


@pytest.mark.parametrize(
    ("setup", "expect"),
    [
        ("malformed", "not valid JSON"),
        ("missing_csv", "SS520-4-3_thrust.csv: file not found"),
        ("wrong_shape", "line 3: 1 columns, 2 needed"),
        ("refused", '"launch"."velocity NED[m/s]"'),
        ("absent", "file not found"),
        ("bad_core", "--core"),
    ],
)
def test_bad_input_is_exit_2_and_one_line(tmp_path, capsys, setup, expect):
    param = tmp_path / "p.json"
    extra = []
    if setup == "malformed":
        param.write_text('{"name(str)": "x",,}')
    elif setup == "missing_csv":
        shutil.copytree(DATA / "SS-520-4", tmp_path / "ss")
        param = tmp_path / "ss" / "param_SS520-4.json"
    elif setup == "wrong_shape":
        d = json.loads(MOMO.read_text())
        d["stage1"]["thrust"].update({"thrust vac file exist?(bool)": True, "thrust vac file name(str)": "t.csv"})
        param.write_text(json.dumps(d))
        (tmp_path / "t.csv").write_text("time,thrust\n0,100\n5\n10,0\n")
    elif setup == "refused":
        d = json.loads(MOMO.read_text())
        d["launch"]["velocity NED[m/s]"] = [1.0, 0.0, 0.0]
        param.write_text(json.dumps(d))
    elif setup == "absent":
        pass
    elif setup == "bad_core":
        shutil.copy(MOMO, param)
        extra = ["--core", "python"]
    code, _, err = _run(["import", "opentsiolkovsky", str(param), "-o", str(tmp_path / "m.yaml"), *extra], capsys)
    assert code == 2
    assert expect in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and "internal error" not in err
    assert not (tmp_path / "m.yaml").exists()


# --- end to end: the imported MOMO flown by rangeguard.sim vs an independent integration ------------

_GM = 3.986004418e14
_J2 = 1.08262668e-3
_RE = 6378137.0
_OMEGA = 7.292115e-5
_G0 = 9.80665


def _reference_apogee_m() -> float:
    """MOMO as OpenTsiolkovsky describes it, integrated in the rotating ECEF frame with DOP853."""
    import pymap3d
    from ambiance import Atmosphere
    from scipy.integrate import solve_ivp

    lat0, lon0, h0 = 42.4925, 143.4333, 20.0
    m0, f_vac, isp, t_burn = 1150.0, 30000.0, 250.0, 62.0
    a_exit = math.pi * 0.13**2 / 4 * 4.0
    s_ref = math.pi * 0.5**2 / 4
    ca, cn_per_rad, beta = 0.5, 0.2, 110.0
    az, el = math.radians(113.0), math.radians(88.0)
    omega = np.array([0.0, 0.0, _OMEGA])

    def air(h):
        if h > 81000.0:
            return 0.0, 0.0
        a = Atmosphere(max(h, 0.0))
        return float(a.density[0]), float(a.pressure[0])

    def gravity(r):
        x, y, z = r
        rn = np.linalg.norm(r)
        k = 1.5 * _J2 * (_RE / rn) ** 2
        zz = 5 * z * z / rn**2
        return -_GM / rn**3 * np.array([x * (1 + k * (1 - zz)), y * (1 + k * (1 - zz)), z * (1 + k * (3 - zz))])

    def rhs(t, s):
        r, v, m = s[:3], s[3:6], s[6]
        lat, lon, h = pymap3d.ecef2geodetic(*r)
        la, lo = math.radians(lat), math.radians(lon)
        east = np.array([-math.sin(lo), math.cos(lo), 0.0])
        north = np.array([-math.sin(la) * math.cos(lo), -math.sin(la) * math.sin(lo), math.cos(la)])
        up = np.array([math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)])
        rho, p = air(h)
        speed = np.linalg.norm(v)
        q = 0.5 * rho * speed**2
        acc = gravity(r) - 2 * np.cross(omega, v) - np.cross(omega, np.cross(omega, r))
        mdot = 0.0
        if t < t_burn:
            x_b = math.cos(el) * (math.sin(az) * east + math.cos(az) * north) + math.sin(el) * up
            acc += (f_vac - a_exit * p) / m * x_b
            mdot = -f_vac / (isp * _G0)
            if speed > 1e-6:
                v_hat = v / speed
                acc += -ca * q * s_ref / m * x_b
                perp = v_hat - (v_hat @ x_b) * x_b
                sin_a = np.linalg.norm(perp)
                if sin_a > 1e-12:
                    alpha = math.atan2(sin_a, v_hat @ x_b)
                    acc += -cn_per_rad * alpha * q * s_ref / m * perp / sin_a
        elif speed > 1e-6:
            acc += -q / beta * v / speed
        return np.concatenate([v, acc, [mdot]])

    r0 = np.array(pymap3d.geodetic2ecef(lat0, lon0, h0))

    def apogee(t, s):
        lat, lon, _ = pymap3d.ecef2geodetic(*s[:3])
        la, lo = math.radians(lat), math.radians(lon)
        up = np.array([math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)])
        return s[3:6] @ up if t > t_burn else 1.0

    apogee.terminal, apogee.direction = True, -1
    s0 = np.concatenate([r0, np.zeros(3), [m0]])
    first = solve_ivp(rhs, (0, t_burn), s0, method="DOP853", rtol=1e-10, atol=1e-6)
    sol = solve_ivp(rhs, (t_burn, 1000), first.y[:, -1], method="DOP853", rtol=1e-10, atol=1e-6, events=apogee)
    return float(pymap3d.ecef2geodetic(*sol.y_events[0][0][:3])[2])


def test_imported_momo_apogee_matches_an_independent_integration(tmp_path, capsys):
    import pymap3d

    from rangeguard.sim import simulate

    out = tmp_path / "momo.yaml"
    assert _run(["import", "opentsiolkovsky", str(MOMO), "-o", str(out)], capsys)[0] == 0
    mission = load_mission(out)
    traj = simulate(mission, n=1, seed=0)
    r = traj.r_ecef[0]
    h = np.array(pymap3d.ecef2geodetic(r[:, 0], r[:, 1], r[:, 2])[2])
    ref = _reference_apogee_m()
    assert h.max() == pytest.approx(ref, rel=5e-3), (h.max(), ref)

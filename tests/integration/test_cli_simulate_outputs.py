"""`rangeguard simulate` (issue 16, parts 1 and 2): apogee, burnouts, impact and IIP in --json, a trajectory
file that ends at impact, dispersed vehicles drawn by the Monte Carlo sampler, and their spread.

References: the nominal flight recorded finely by `simulate_vehicle` (no engine, no CLI), masses by hand
from the vehicle and .eng files, an ellipse test written here in a local flat frame, and numpy statistics
of the per-vehicle values.
"""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from rangeguard.cli.app import main
from rangeguard.constants import G0_MPS2
from rangeguard.earth import ecef_to_enu_matrix, ecef_to_geodetic
from rangeguard.iip import impact_point
from rangeguard.mission import load_mission
from rangeguard.montecarlo import DispersionSampler
from rangeguard.sim import simulate_vehicle
from rangeguard.sim.motors import read_eng

MISSIONS = Path(__file__).resolve().parents[2] / "missions"
SOUNDING = MISSIONS / "sounding.yaml"


def _simulate(capsys, *args) -> dict:
    assert main(["simulate", str(SOUNDING), *map(str, args), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def nominal(tmp_path_factory):
    out = tmp_path_factory.mktemp("nominal")
    assert main(["simulate", str(SOUNDING), "--out", str(out), "--no-report"]) == 0
    return out, json.loads((out / "summary.json").read_text())


@pytest.fixture(scope="module")
def reference():
    """The nominal sounding flight without the AFSS, recorded every 0.01 s."""
    m = load_mission(SOUNDING)
    return m, simulate_vehicle(m.vehicle, m.site, record_dt=0.01)


def test_json_has_apogee_burnout_impact_and_iip(nominal):
    _, s = nominal
    v = s["vehicles"][0]
    assert set(v["apogee"]) == {"t_s", "height_m", "lat_deg", "lon_deg"}
    assert set(v["impact"]) == {"t_s", "lat_deg", "lon_deg", "speed_mps"}
    assert v["orbit_insertion"] is None
    (b,) = v["burnouts"]
    assert set(b) == {
        "stage", "event", "t_s", "mass_kg", "lat_deg", "lon_deg", "alt_m", "speed_mps", "flight_path_angle_deg",
    }  # fmt: skip
    assert set(v["iip_at_last_burnout"]) == {"t_s", "lat_deg", "lon_deg", "t_impact_s"}
    assert s["n"] == 1 and s["dispersed"] is False and s["record_dt_s"] == 1.0
    for key in ("terminated", "rule", "state", "iip_entered_protected_area", "orbit"):  # the old outputs stay
        assert key in v


def test_apogee_is_the_top_of_a_finely_sampled_flight(nominal, reference):
    _, s = nominal
    _, ref = reference
    lat, lon, h = ecef_to_geodetic(ref.r_ecef[0])
    j = int(np.argmax(h))
    a = s["vehicles"][0]["apogee"]
    # 0.01 s sampling misses the top by at most g (0.005 s)^2 / 2 = 0.1 mm
    assert a["height_m"] == pytest.approx(h[j], abs=5e-3)
    assert a["height_m"] >= h[j] - 1e-3
    assert a["t_s"] == pytest.approx(ref.t_s[j], abs=0.02)
    # the ground point under the apogee: the reference's, interpolated to that time (0.1 m)
    assert a["lat_deg"] == pytest.approx(np.interp(a["t_s"], ref.t_s, lat), abs=1e-6)
    assert a["lon_deg"] == pytest.approx(np.interp(a["t_s"], ref.t_s, lon), abs=1e-6)


def test_burnout_mass_by_hand_and_state_against_the_reference(nominal, reference):
    _, s = nominal
    m, ref = reference
    st = m.vehicle.stages[0]
    motor = read_eng(MISSIONS / "motors" / "rg-snd30.eng")
    impulse = float(np.trapezoid(motor.thrust_n, motor.t_s))
    burnt = impulse / (st.isp_vac_s * G0_MPS2)
    b = s["vehicles"][0]["burnouts"][0]
    assert b["stage"] == 0 and b["event"] == "burnout"
    assert b["t_s"] == pytest.approx(float(motor.t_s[-1]), abs=1e-9)
    assert b["mass_kg"] == pytest.approx(
        st.dry_mass_kg + st.propellant_mass_kg + m.vehicle.payload_kg - burnt, abs=1e-3
    )
    k = int(np.argmin(np.abs(ref.t_s - b["t_s"])))
    assert ref.t_s[k] == pytest.approx(b["t_s"], abs=1e-9)
    r, v = ref.r_ecef[0, k], ref.v_ecef[0, k]
    lat, lon, alt = ecef_to_geodetic(r)
    up = ecef_to_enu_matrix(float(lat), float(lon))[2]
    assert b["alt_m"] == pytest.approx(float(alt), abs=1e-3)
    assert b["speed_mps"] == pytest.approx(float(np.linalg.norm(v)), abs=1e-6)
    assert b["flight_path_angle_deg"] == pytest.approx(math.degrees(math.asin(up @ v / np.linalg.norm(v))), abs=1e-6)
    ilat, ilon, tof = impact_point(r, v)
    iip = s["vehicles"][0]["iip_at_last_burnout"]
    assert iip["lat_deg"] == pytest.approx(float(ilat), abs=1e-7)
    assert iip["lon_deg"] == pytest.approx(float(ilon), abs=1e-7)
    assert iip["t_impact_s"] == pytest.approx(b["t_s"] + float(tof), abs=1e-6)


def test_trajectory_file_ends_at_the_impact(nominal, reference):
    out, s = nominal
    _, ref = reference
    t = pq.read_table(out / "trajectories.parquet").to_pydict()
    ts = np.asarray(t["t_s"])
    imp = s["vehicles"][0]["impact"]
    assert ts[-1] == pytest.approx(imp["t_s"], abs=1e-9)
    assert ts[-1] == pytest.approx(float(ref.impact_t_s[0]), abs=1e-6)
    assert abs(t["alt_m"][-1]) < 1e-3  # the impact itself: geodetic height 0
    assert t["lat_deg"][-1] == pytest.approx(imp["lat_deg"], abs=1e-12)
    # every 1 s from liftoff before that, documented in summary.json
    np.testing.assert_allclose(ts[:-1], np.arange(ts.size - 1) * s["record_dt_s"], atol=1e-9)
    assert ts[-1] - ts[-2] <= s["record_dt_s"]
    assert "mass_kg" in t


@pytest.fixture(scope="module")
def dispersed(tmp_path_factory):
    out = tmp_path_factory.mktemp("dispersed")
    assert main(["simulate", str(SOUNDING), "--n", "200", "--out", str(out), "--no-report"]) == 0
    return json.loads((out / "summary.json").read_text())


def test_dispersed_vehicles_are_the_samplers_runs(dispersed):
    """Run k is the sampler's run k: the CLI's impact of some runs equals a plain simulation of the
    vehicle drawn by DispersionSampler (no engine, no CLI) - and the runs differ."""
    s = dispersed
    assert s["dispersed"] is True and s["n"] == 200
    m = load_mission(SOUNDING)
    runs = np.array([0, 7, 199])
    sampler = DispersionSampler(m.dispersions, len(m.vehicle.stages), [x.name for x in m.nav_sources])
    draws = sampler.draw(m.seed, runs)
    ref = simulate_vehicle(m.vehicle, m.site, n=runs.size, per_vehicle_params=draws.params, record_dt=10.0)
    for j, k in enumerate(runs):
        assert s["vehicles"][k]["impact"]["t_s"] == pytest.approx(float(ref.impact_t_s[j]), abs=1e-6)
    apogees = [v["apogee"]["height_m"] for v in s["vehicles"]]
    assert len(set(apogees)) == 200
    # the burn time of a dispersed motor is t_end / burn_rate_scale unless its propellant runs out first
    t_bo = np.array([s["vehicles"][k]["burnouts"][0]["t_s"] for k in runs])
    assert np.all(t_bo <= 60.0 / draws.params.burn_rate_scale.ravel() + 1e-9)


def test_dispersion_statistics_are_those_of_the_vehicles(dispersed):
    s = dispersed
    h = np.array([v["apogee"]["height_m"] for v in s["vehicles"]])
    d = s["dispersion"]
    assert d["apogee_height_m"]["mean"] == pytest.approx(h.mean(), rel=1e-12)
    assert d["apogee_height_m"]["std"] == pytest.approx(h.std(ddof=1), rel=1e-12)
    t_imp = np.array([v["impact"]["t_s"] for v in s["vehicles"]])
    assert d["impact_t_s"]["std"] == pytest.approx(t_imp.std(ddof=1), rel=1e-12)
    assert d["impact"]["ellipse"]["probability"] == 0.95


def test_the_95_percent_ellipse_holds_about_95_percent_of_the_impacts(dispersed):
    """Counted here in a local flat frame (east = R cos(lat0) dlon, north = R dlat; 0.1 % scale error over
    ~30 km): with 200 points the fraction inside must lie within 3 binomial sigma (1.5 %) of 95 %."""
    s = dispersed
    d = s["dispersion"]["impact"]
    e = d["ellipse"]
    lat = np.array([v["impact"]["lat_deg"] for v in s["vehicles"]])
    lon = np.array([v["impact"]["lon_deg"] for v in s["vehicles"]])
    r_m = 6371e3
    east = np.radians(lon - d["mean_lon_deg"]) * r_m * math.cos(math.radians(d["mean_lat_deg"]))
    north = np.radians(lat - d["mean_lat_deg"]) * r_m
    az = math.radians(e["major_axis_azimuth_deg"])
    along = east * math.sin(az) + north * math.cos(az)
    across = east * math.cos(az) - north * math.sin(az)
    inside = (along / e["semi_major_m"]) ** 2 + (across / e["semi_minor_m"]) ** 2 <= 1.0
    sigma = math.sqrt(0.95 * 0.05 / lat.size)
    assert abs(inside.mean() - 0.95) < 3 * sigma + 0.01  # + the 1 % of fitting the ellipse to the same points
    # its std matches the spread of the points
    assert d["std_east_m"] == pytest.approx(east.std(ddof=1), rel=0.01)
    assert d["std_north_m"] == pytest.approx(north.std(ddof=1), rel=0.01)


def test_same_seed_same_flights_other_seed_other_flights(capsys, tmp_path):
    a = _simulate(capsys, "--n", "3", "--out", tmp_path / "a", "--no-report")
    b = _simulate(capsys, "--n", "3", "--out", tmp_path / "b", "--no-report")
    c = _simulate(capsys, "--n", "3", "--seed", "8", "--out", tmp_path / "c", "--no-report")
    assert a["vehicles"] == b["vehicles"]
    assert a["vehicles"][0]["apogee"] != c["vehicles"][0]["apogee"]


def test_mission_without_dispersions_warns_and_flies_identical_vehicles(capsys, tmp_path):
    folder = tmp_path / "missions"
    shutil.copytree(MISSIONS, folder)
    doc = yaml.safe_load((folder / "sounding.yaml").read_text())
    doc.pop("dispersions")
    (folder / "plain.yaml").write_text(yaml.safe_dump(doc))
    assert (
        main(
            ["simulate", str(folder / "plain.yaml"), "--n", "3", "--out", str(tmp_path / "o"), "--no-report", "--json"]
        )
        == 0
    )
    cap = capsys.readouterr()
    assert "no dispersions" in cap.err and cap.err.startswith("warning:")
    s = json.loads(cap.out)
    assert s["dispersed"] is False
    assert len({v["apogee"]["height_m"] for v in s["vehicles"]}) == 1


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--n", "0"], "--n must be a whole number of vehicles >= 1; got 0"),
        (["--nominal", "--n", "3"], "--nominal flies the one undispersed vehicle"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(capsys, tmp_path, args, words):
    assert main(["simulate", str(SOUNDING), *args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert words in err
    assert len(err.strip().splitlines()) == 1


def test_report_shows_milestones_and_the_ellipse(tmp_path):
    out = tmp_path / "r"
    assert main(["simulate", str(SOUNDING), "--n", "4", "--out", str(out)]) == 0
    html = (out / "report.html").read_text()
    assert "Apogee, burnouts and impact" in html
    assert "Dispersion over the vehicles" in html
    assert "95% ellipse" in html

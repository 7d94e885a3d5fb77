"""The closed loop: termination cuts thrust, the truth-IIP check, and `rangeguard simulate`."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pyarrow.parquet as pq
import yaml
from pyproj import Geod
from shapely.geometry import Point, Polygon

from rangeguard.cli import main
from rangeguard.iip import impact_point
from rangeguard.mission import load_mission, mission_from_dict
from rangeguard.mission.areas import read_geojson_outline
from rangeguard.montecarlo import fly

ROOT = pathlib.Path(__file__).resolve().parents[2]
GEOD = Geod(ellps="WGS84")


def _sounding():
    return load_mission(ROOT / "missions" / "sounding.yaml")


def test_termination_cuts_thrust_and_the_debris_falls_near_the_iip_at_termination():
    """fin-loss: terminated at T+20.5 s by the tumble rule. From then on the body is ballistic, so
    its impact point must be the vacuum IIP at termination, moved only by drag (a few km at most
    for a fall from ~6 km at ~400 m/s): checked with pyproj's geodesic distance."""
    m = _sounding()
    r = fly(m, scenario="fin-loss", record=True)
    assert r.terminated[0] and r.fired_by[0] == "tumble"
    tab = r.track.table().to_pydict()
    t = np.array(tab["t_s"])
    k = int(np.argmin(np.abs(t - r.t_terminate_s[0])))
    lat_iip, lon_iip = tab["iip_lat_deg"][k], tab["iip_lon_deg"][k]
    _, _, d = GEOD.inv(lon_iip, lat_iip, tab["lon_deg"][-1], tab["lat_deg"][-1])
    assert d < 5e3
    # the recorded footprint (true IIP when decided) is that same point
    _, _, d_fp = GEOD.inv(r.iip_lon_deg[0], r.iip_lat_deg[0], tab["lon_deg"][-1], tab["lat_deg"][-1])
    assert d_fp < 5e3
    assert abs(tab["alt_m"][-1]) < 50.0  # it flew to the ground
    assert r.impact_t_s[0] < 200.0  # long before the nominal T+333 s


def test_missed_termination_is_flagged_when_no_rule_can_act():
    """With the rules removed, the launcher hard-over (north at 3 deg/s) carries the true IIP deep
    into the Kii area. 'Reached' means deeper than the area's 10 km margin: at the flagged time the
    IIP is inside the outline (shapely on lon/lat, the edges being a few km long) and at least
    ~10 km from its boundary (pyproj distances to the densified outline)."""
    data = yaml.safe_load((ROOT / "missions" / "sounding.yaml").read_text())
    data["rules"] = []
    m = mission_from_dict(data, base_dir=ROOT / "missions")
    r = fly(m, scenario="launcher-hardover", record=True)
    assert not r.terminated[0]
    assert r.iip_entered_protected_area[0] and r.area_entered[0] == "kii-peninsula"
    tab = r.track.table().to_pydict()
    k = int(np.argmin(np.abs(np.array(tab["t_s"]) - r.t_iip_entered_s[0])))
    lat, lon = tab["iip_lat_deg"][k], tab["iip_lon_deg"][k]
    olat, olon = read_geojson_outline(ROOT / "missions" / "areas" / "kii-peninsula.geojson")
    assert Polygon(list(zip(olon, olat, strict=True))).contains(Point(lon, lat))
    dense_lon, dense_lat = [], []
    for i in range(len(olat)):
        j = (i + 1) % len(olat)
        pts = GEOD.npts(olon[i], olat[i], olon[j], olat[j], 20)
        dense_lon += [olon[i]] + [p[0] for p in pts]
        dense_lat += [olat[i]] + [p[1] for p in pts]
    _, _, d = GEOD.inv(np.full(len(dense_lon), lon), np.full(len(dense_lat), lat), dense_lon, dense_lat)
    assert np.min(d) >= 9.5e3
    # one recorded cycle earlier it was not yet that deep
    lat0, lon0 = tab["iip_lat_deg"][k - 1], tab["iip_lon_deg"][k - 1]
    _, _, d0 = GEOD.inv(np.full(len(dense_lon), lon0), np.full(len(dense_lat), lat0), dense_lon, dense_lat)
    inside0 = Polygon(list(zip(olon, olat, strict=True))).contains(Point(lon0, lat0))
    assert (not inside0) or np.min(d0) < 10.5e3


def test_nominal_sounding_is_not_terminated_and_lands_in_the_impact_area():
    r = fly(_sounding(), record=True)
    assert not r.terminated.any() and not r.iip_entered_protected_area.any()
    tab = r.track.table().to_pydict()
    lat, lon = impact_point(np.array([tab["x_ecef_m"][0], tab["y_ecef_m"][0], tab["z_ecef_m"][0]]), np.zeros(3))[:2]
    assert abs(lat - 33.54) < 0.01 and abs(lon - 135.89) < 0.01  # the track starts on the pad


def test_simulate_command_writes_parquet_and_json(tmp_path, capsys):
    out = tmp_path / "sim"
    assert (
        main(
            [
                "simulate",
                str(ROOT / "missions" / "sounding.yaml"),
                "--scenario",
                "fin-loss",
                "--n",
                "2",
                "--out",
                str(out),
                "--json",
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["n"] == 2 and summary["terminated"] == 2 and summary["rules"] == {"tumble": 2}
    traj = pq.read_table(out / "trajectories.parquet")
    assert set(traj.column("vehicle").to_pylist()) == {0, 1}
    assert pq.read_table(out / "decisions.parquet").num_rows > 0
    assert main(["simulate", str(ROOT / "missions" / "sounding.yaml"), "--scenario", "nope", "--out", str(out)]) == 2


def test_destruct_after_a_delay_breaks_the_vehicle_up_in_the_closed_loop():
    """fin-loss with termination.destruct_after_s 3: thrust termination by the tumble rule at T+20.5 s (as
    above, unchanged), destruct at T+23.5 s to the cycle; the simulator stops the body there (no impact, no
    flight after the break-up), and the footprint is the vacuum IIP of the break-up state."""
    m = _sounding()
    plain = fly(m, scenario="fin-loss")
    seq = m.model_copy(update={"termination": m.termination.model_copy(update={"destruct_after_s": 3.0})})
    r = fly(m, scenario="fin-loss", engine_mission=seq, record=True)
    assert r.terminated[0] and r.fired_by[0] == "tumble"
    assert r.t_terminate_s[0] == plain.t_terminate_s[0]
    assert not plain.destructed[0]
    cycle_s = 1.0 / m.cycle_hz
    assert r.destructed[0] and r.destructed_by[0] == "destruct-after:3"
    assert abs(r.t_destruct_s[0] - (r.t_terminate_s[0] + 3.0)) < cycle_s / 2
    assert np.isnan(r.impact_t_s[0])  # broken up in flight: it never reaches the ground as a body
    assert any(name == "destruct" for _, _, name in r.events)
    tab = r.track.table().to_pydict()
    assert max(tab["t_s"]) <= r.t_destruct_s[0] + 60.0  # the loop ends after the break-up, not at impact
    assert r.summary(0)["destructed"] and r.summary(0)["t_destruct_s"] == round(float(r.t_destruct_s[0]), 3)

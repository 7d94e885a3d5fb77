"""`rangeguard replay` judges silence on a clock and is not fooled by one glitched sample (issue 13).

The logs are a hand-made vertical climb at constant acceleration (20 m/s^2 from the pad: height
10 t^2, speed 20 t), sampled at 10 Hz by two sources; the mission's only rules are a data-loss rule
(green time 2 s) and a wide speed envelope, so every expected figure follows from those numbers.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import yaml

from rangeguard.cli import main
from rangeguard.earth import ecef_to_enu_matrix, geodetic_to_ecef

SITE = {"lat_deg": 33.54, "lon_deg": 135.89, "alt_m": 0.0, "launch_azimuth_deg": 180.0}
ACCEL_MPS2 = 20.0
GREEN_S = 2.0
CYCLE_S = 0.1
MISSION = {
    "name": "replay-failsafe",
    "site": SITE,
    "nav_sources": [{"name": "a"}, {"name": "b"}],
    "rules": [
        {"name": "nav-loss", "type": "data_loss", "green_time_s": GREEN_S, "persistence_s": 0.0},
        {
            "name": "speed",
            "type": "envelope",
            "quantity": "speed_mps",
            "persistence_s": 0.5,
            "table": {"t_s": [0, 200], "upper": [500.0, 5000.0]},
        },
    ],
    "termination": {"policy": "health_degraded"},
    "safing": {"orbit": {"enabled": False}, "iip_clear": {"enabled": False}},
}
ROT = ecef_to_enu_matrix(SITE["lat_deg"], SITE["lon_deg"])
PAD = geodetic_to_ecef(SITE["lat_deg"], SITE["lon_deg"], SITE["alt_m"])


def rows(t_end=120.0, hole=None, latency_s=0.02, sources=("a", "b")):
    """One row per source every 0.1 s from T+0.1 to t_end, none inside ``hole`` = (from, to)."""
    out = []
    for k in range(1, int(round(t_end * 10)) + 1):
        t = k / 10
        if hole is not None and hole[0] <= t < hole[1]:
            continue
        r = PAD + ROT.T @ np.array([0.0, 0.0, 0.5 * ACCEL_MPS2 * t * t])
        v = ROT.T @ np.array([0.0, 0.0, ACCEL_MPS2 * t])
        for s in sources:
            out.append(
                {
                    "t_s": t,
                    "x_ecef_m": r[0],
                    "y_ecef_m": r[1],
                    "z_ecef_m": r[2],
                    "vx_ecef_mps": v[0],
                    "vy_ecef_mps": v[1],
                    "vz_ecef_mps": v[2],
                    "source": s,
                    "valid": True,
                    "receive_time_s": t + latency_s,
                }
            )
    return out


def write(tmp_path, table_rows, receive=True, name="nav.parquet"):
    mission = tmp_path / "m.yaml"
    mission.write_text(yaml.safe_dump(MISSION))
    table = pa.Table.from_pylist(table_rows)
    if not receive:
        table = table.drop_columns(["receive_time_s"])
    path = tmp_path / name
    if name.endswith(".csv"):
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path)
    return mission, path


def replay_json(capsys, mission, log):
    assert main(["replay", str(log), "--mission", str(mission), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_nominal_log_flies_on(tmp_path, capsys):
    out = replay_json(capsys, *write(tmp_path, rows()))
    assert out["terminated"] is False and out["state"] == "ARMED"


@pytest.mark.parametrize("receive", [True, False], ids=["receive-times", "gps-log-without-receive-times"])
@pytest.mark.parametrize("hole", [(50.0, 60.0), (50.0, 80.0)], ids=["10s-hole", "30s-hole"])
def test_a_hole_in_the_log_is_judged_as_data_loss(tmp_path, capsys, receive, hole):
    """Both sources silent from T+50: the last samples are T+49.9 (received 49.92 with receive times, at
    49.9 without). Silent cycles every 0.1 s after the last step; the 20th is at the green time (2 s: it
    trips or not by the rounding of 20 additions of 0.1), the 21st beyond it. Both strings degrade, none is
    left: terminate at T+49.9 + 2.0 or 2.1 s, within green time plus one cycle of the last sample, while
    the hole (10 or 30 s) lasts."""
    out = replay_json(capsys, *write(tmp_path, rows(hole=hole), receive=receive))
    assert out["terminated"] is True and out["rule"] == "nav-loss"
    assert 49.9 + GREEN_S - 1e-9 <= out["t_terminate_s"] <= 49.9 + GREEN_S + CYCLE_S + 1e-9
    assert out["silent_cycles"] in (20, 21)


@pytest.mark.parametrize("glitch_t", [1e9, 60.0, -5.0], ids=["far-future", "far-past", "before-liftoff"])
@pytest.mark.parametrize("receive", [True, False], ids=["receive-times", "gps-log-without-receive-times"])
@pytest.mark.parametrize("sources", [("a",), ("a", "b")], ids=["one-source", "two-sources"])
def test_one_glitched_time_tag_never_terminates_a_nominal_flight(tmp_path, capsys, glitch_t, receive, sources):
    """Row of source a at T+100.0 carries a glitched time tag instead. It is rejected by the nav gate
    (ahead of the receive clock, or stale/older than the source's last sample); no clock moves, the
    next genuine sample goes on, and the flight ends ARMED with exactly one rejected sample (before,
    a 1e9 tag was accepted, blinded the source and terminated a one-source flight "at T+1e9")."""
    table_rows = rows(sources=sources)
    k = next(i for i, r in enumerate(table_rows) if r["t_s"] == 100.0 and r["source"] == "a")
    table_rows[k] = dict(table_rows[k], t_s=glitch_t)
    mission, log = write(tmp_path, table_rows, receive=receive)
    mission.write_text(yaml.safe_dump({**MISSION, "nav_sources": [{"name": s} for s in sources]}))
    out = replay_json(capsys, mission, log)
    assert out["terminated"] is False and out["state"] == "ARMED"
    assert out["rejected_samples"] == 1


def test_a_source_that_keeps_producing_garbage_is_data_loss(tmp_path, capsys):
    """From T+50 every sample of both sources is 50 km off the track (and not self-consistent: alternating
    sides): all are rejected as jumps, none re-acquires the track, so it is silence: terminate by data loss
    within green time plus one cycle of the last good sample (T+49.9)."""
    table_rows = rows()
    for i, r in enumerate(table_rows):
        if r["t_s"] >= 50.0:
            r["x_ecef_m"] += 5e4 if (i // 2) % 2 else -5e4
    out = replay_json(capsys, *write(tmp_path, table_rows))
    assert out["terminated"] is True and out["rule"] == "nav-loss"
    assert 49.9 + GREEN_S - 1e-9 <= out["t_terminate_s"] <= 49.9 + GREEN_S + CYCLE_S + 1e-9
    assert out["rejected_by"]["jump"] > 0


def test_a_mission_without_rules_replays(tmp_path, capsys):
    mission, log = write(tmp_path, rows(t_end=5.0))
    mission.write_text(yaml.safe_dump({**MISSION, "rules": []}))
    assert main(["replay", str(log), "--mission", str(mission), "--json", "--out", str(tmp_path / "out")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["state"] == "ARMED" and pq.read_table(tmp_path / "out" / "decisions.parquet").num_rows > 0

"""`rangeguard replay`: CSV and Parquet nav logs through the engine, timeline, decision log, errors."""

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

SITE = {"lat_deg": 33.54, "lon_deg": 135.89, "alt_m": 40.0, "launch_azimuth_deg": 180.0}

MISSION = {
    "name": "replay-test",
    "site": SITE,
    "nav_sources": [{"name": "a"}, {"name": "b"}],
    "rules": [
        {
            "name": "speed",
            "type": "envelope",
            "quantity": "speed_mps",
            "persistence_s": 0.5,
            "table": {"t_s": [0, 100], "upper": [150.0, 150.0]},
        },
    ],
    "termination": {"policy": "1oo2"},
}


def _log_rows(extra_bad_rows=True):
    """Climb straight up with speed 20 t m/s (t = 0.1 .. 12 s, 10 Hz, both sources).

    Hand calculation: speed exceeds 150 m/s first at t = 7.6 s (20 * 7.6 = 152);
    persistence 0.5 s -> the first sample with held >= 0.5 s is t = 8.1 s.
    """
    rot = ecef_to_enu_matrix(SITE["lat_deg"], SITE["lon_deg"])
    pad = geodetic_to_ecef(SITE["lat_deg"], SITE["lon_deg"], SITE["alt_m"])
    rows = []
    for k in range(1, 121):
        t = round(0.1 * k, 10)
        r = pad + rot.T @ np.array([0.0, 0.0, 10.0 * t * t])
        v = rot.T @ np.array([0.0, 0.0, 20.0 * t])
        for s in ("a", "b"):
            rows.append(
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
                }
            )
    if extra_bad_rows:
        bad = dict(rows[10])
        rows.insert(30, dict(bad))  # out of order (older time): rejected
        rows.insert(31, dict(rows[31]))  # duplicate time stamp: rejected
        rows.insert(40, dict(rows[40], x_ecef_m=float("nan")))  # NaN: rejected
    return rows


@pytest.fixture
def files(tmp_path):
    mission = tmp_path / "m.yaml"
    mission.write_text(yaml.safe_dump(MISSION))
    table = pa.Table.from_pylist(_log_rows())
    csv = tmp_path / "nav.csv"
    pacsv.write_csv(table, csv)
    parquet = tmp_path / "nav.parquet"
    pq.write_table(table, parquet)
    return mission, csv, parquet


def test_replay_json_matches_the_hand_calculation(files, capsys):
    mission, csv, _ = files
    assert main(["replay", str(csv), "--mission", str(mission), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["terminated"] is True
    assert out["t_terminate_s"] == pytest.approx(8.1, abs=1e-9)
    assert out["rule"] == "speed"
    assert out["state"] == "TERMINATED"
    # nothing is stepped after the decision (as in `rangeguard run`): epochs 0.1 .. 8.1 s, two sources each
    assert out["samples"] == 81 * 2
    assert out["rejected_samples"] == 3
    assert out["rejected_by"] == {
        "invalid": 1,
        "implausible": 0,
        "not_newer": 2,
        "time_ahead": 0,
        "stale": 0,
        "jump": 0,
    }


def test_csv_and_parquet_give_identical_decision_logs_and_reruns_are_byte_identical(files, tmp_path):
    mission, csv, parquet = files
    for name, log in (("c1", csv), ("c2", csv), ("p1", parquet)):
        assert main(["replay", str(log), "--mission", str(mission), "--json", "--out", str(tmp_path / name)]) == 0
    c1 = (tmp_path / "c1" / "decisions.parquet").read_bytes()
    assert c1 == (tmp_path / "c2" / "decisions.parquet").read_bytes()
    a = pq.read_table(tmp_path / "c1" / "decisions.parquet")
    b = pq.read_table(tmp_path / "p1" / "decisions.parquet")
    # CSV stores decimal text, so floats may differ in the last bit: decisions equal, numbers close
    for col in ("cycle", "state", "terminate_now", "fired_by", "reason", "violated__speed"):
        assert a.column(col).to_pylist() == b.column(col).to_pylist()
    np.testing.assert_allclose(a.column("margin__speed").to_numpy(), b.column("margin__speed").to_numpy(), rtol=1e-9)
    states = a.column("state").to_pylist()
    # speed 20 t exceeds the 3 m/s liftoff cue first at t = 0.2 s: SAFE, then ARMED, then TERMINATED
    assert states[0] == "SAFE" and states[1] == "ARMED" and states[-1] == "TERMINATED"
    fired = [x for x in a.column("fired_by").to_pylist() if x]
    assert fired == ["speed"]
    assert "margin__speed" in a.column_names


def test_timeline_is_printed(files, capsys):
    mission, csv, _ = files
    assert main(["replay", str(csv), "--mission", str(mission)]) == 0
    text = capsys.readouterr().out
    assert "ARMED" in text and "first violation of 'speed'" in text and "TERMINATE at T+8.10 s" in text


def test_missing_column_is_a_clear_error_not_a_traceback(files, tmp_path, capsys):
    mission, _, _ = files
    table = pa.Table.from_pylist(_log_rows(False)).drop_columns(["vz_ecef_mps"])
    bad = tmp_path / "bad.csv"
    pacsv.write_csv(table, bad)
    assert main(["replay", str(bad), "--mission", str(mission)]) == 2
    err = capsys.readouterr().err
    assert "missing column(s) vz_ecef_mps" in err and "Traceback" not in err


def test_bad_mission_exits_2_listing_problems(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        yaml.safe_dump(
            {
                **MISSION,
                "rules": [
                    {
                        "name": "x",
                        "type": "envelope",
                        "quantity": "speed_mps",
                        "table": {"t_s": [5, 1], "upper": [1, 2]},
                    }
                ],
            }
        )
    )
    log = tmp_path / "nav.csv"
    pacsv.write_csv(pa.Table.from_pylist(_log_rows(False)), log)
    assert main(["replay", str(log), "--mission", str(bad)]) == 2
    assert "rules[0].table.t_s: values must increase" in capsys.readouterr().err

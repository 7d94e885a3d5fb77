"""The HTML report (rangeguard.report): reading output folders, profile quantities, margins, self-containment.

The flight is the F2-like case of missions/kii-sso.yaml written by
`rangeguard simulate` (as a user would). Profile quantities are checked
against pymap3d's ENU velocity (an independent library); margins against
the decision log read directly with pyarrow; the HTML against Python's own
HTML parser and matplotlib's PNG reader.
"""

from __future__ import annotations

import base64
import io
import json
from html.parser import HTMLParser

import matplotlib.image
import numpy as np
import pyarrow.parquet as pq
import pymap3d
import pytest

from rangeguard.cli.app import main
from rangeguard.demo import missions_dir
from rangeguard.errors import InputError
from rangeguard.mission import load_mission
from rangeguard.report import write_report
from rangeguard.report.flight import read_flight, resolve_mission
from rangeguard.report.montecarlo import from_tables, read_montecarlo
from rangeguard.report.plots import margin_table, track_quantities


@pytest.fixture(scope="module")
def f2_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("sim") / "f2"
    code = main(
        ["simulate", str(missions_dir() / "kii-sso.yaml"), "--scenario", "f2-nozzle", "--out", str(out), "--json"]
    )
    assert code == 0
    return out


@pytest.fixture(scope="module")
def kii():
    return load_mission(missions_dir() / "kii-sso.yaml")


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_track_quantities_match_pymap3d(f2_dir, kii):
    """speed = |v_ecef|; flight-path angle = asin(v_up / |v|) with v_up from pymap3d's ECEF->ENU
    velocity rotation at the vehicle's geodetic position."""
    run = read_flight(f2_dir)
    tr = run.tracks[0]
    q = track_quantities(tr, kii)
    e, n, u = pymap3d.ecef2enuv(tr.v_ecef[:, 0], tr.v_ecef[:, 1], tr.v_ecef[:, 2], tr.lat_deg, tr.lon_deg)
    speed = np.sqrt(e**2 + n**2 + u**2)
    moving = speed > 1.0
    assert moving.sum() > 100
    assert q["speed_mps"][moving] == pytest.approx(speed[moving], rel=1e-9)
    fpa = np.degrees(np.arcsin(u[moving] / speed[moving]))
    assert q["flight_path_angle_deg"][moving] == pytest.approx(fpa, abs=1e-6)
    assert q["altitude_m"] is tr.alt_m or np.array_equal(q["altitude_m"], tr.alt_m)


def test_margin_table_against_the_decision_log(f2_dir, kii):
    run = read_flight(f2_dir)
    rows = {r["rule"]: r for r in margin_table(run, kii)}
    log = pq.read_table(f2_dir / "decisions.parquet")
    corridor = np.array(log.column("margin__iip-corridor").to_pylist(), dtype=float)
    t = np.array(log.column("t_s").to_pylist(), dtype=float)
    k = np.nanargmin(corridor)
    assert rows["iip-corridor"]["min_margin"] == corridor[k] < 0
    assert rows["iip-corridor"]["t_min_s"] == t[k]
    assert rows["iip-corridor"]["fired"] and rows["iip-corridor"]["status"] == "red"
    assert rows["iip-corridor"]["unit"] == "m"
    assert [r for r in rows.values() if r["fired"]] == [rows["iip-corridor"]]
    assert rows["speed"]["unit"] == "m/s" and rows["nav-loss"]["action"] == "degrade"


def test_report_is_self_contained_and_says_what_fired(f2_dir):
    path = write_report(f2_dir)
    assert path == f2_dir / "report.html"
    text = path.read_text(encoding="utf-8")
    parser = _Collect()
    parser.feed(text)
    imgs = [a for tag, a in parser.tags if tag == "img"]
    assert len(imgs) == 4  # map, close-up of the termination, profile, timeline
    for a in imgs:
        assert a["src"].startswith("data:image/png;base64,")
        png = matplotlib.image.imread(io.BytesIO(base64.b64decode(a["src"].split(",", 1)[1])), format="png")
        assert png.shape[0] > 200 and png.shape[1] > 200
        assert png[..., :3].std() > 0.05  # not a blank image
    for tag, a in parser.tags:
        for attr in ("src", "href"):
            v = a.get(attr)
            assert v is None or v.startswith(("data:", "#")), (tag, v)
        assert tag not in ("script", "link", "iframe")
    summary = json.loads((f2_dir / "summary.json").read_text())["vehicles"][0]
    assert f"TERMINATED at T+{summary['t_terminate_s']:.2f} s by rule" in text
    assert "iip-corridor" in text
    assert "TERMINATE at T+" in text  # the engine's reason in the decision timeline


def test_report_cli_and_output_option(f2_dir, tmp_path, capsys):
    target = tmp_path / "r" / "x.html"
    assert main(["report", str(f2_dir), "--output", str(target), "--mission", "kii-sso"]) == 0
    assert target.read_text().startswith("<!DOCTYPE html>")
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "no such folder" in capsys.readouterr().err


def test_resolve_mission(tmp_path, kii):
    assert resolve_mission(tmp_path, {"rules": "strict"}).name == "kii-sso-strict"
    assert resolve_mission(tmp_path, {"mission": "kii-sso"}).name == "kii-sso"
    assert resolve_mission(tmp_path, {}, kii) is kii
    with pytest.raises(InputError, match="--mission"):
        resolve_mission(tmp_path, {})
    with pytest.raises(InputError, match="no such file"):
        resolve_mission(tmp_path, {}, "no-such-mission")
    with pytest.raises(InputError, match="nothing to report"):
        write_report(tmp_path)


def _synthetic_mc(tmp_path):
    """12 flights: 8 dispersed nominals (none terminated) and 4 f2-nozzle flights with a fault at T+80 s,
    3 terminated at T+100, 103, 110 s (time to detect 20, 23, 30 s) and one missed."""
    rng = np.random.default_rng(1)
    n_nom, n_f2 = 8, 4
    scen = ["nominal"] * n_nom + ["f2-nozzle"] * n_f2
    term = [False] * n_nom + [True, True, True, False]
    t_term = [None] * n_nom + [100.0, 103.0, 110.0, None]
    runs = {
        "scenario": scen,
        "terminated": term,
        "t_terminate_s": t_term,
        "fired_by": [None] * n_nom + ["iip-corridor"] * 3 + [None],
        "t_fault_s": [None] * n_nom + [80.0] * n_f2,
        "iip_lat_deg": list(20 + rng.normal(size=12)),
        "iip_lon_deg": list(132 + rng.normal(size=12)),
        "impact_lat_deg": list(15 + rng.normal(size=12)),
        "impact_lon_deg": list(131 + rng.normal(size=12)),
        "iip_entered_protected": [False] * 11 + [True],
        "min_margin__iip-corridor": list(rng.uniform(1e3, 2e4, n_nom)) + [-3e3, -2e3, -1e3, -5e4],
        "min_margin__speed": list(rng.uniform(5, 50, 12)),
    }
    import pyarrow as pa

    pq.write_table(pa.table(runs), tmp_path / "runs.parquet")
    (tmp_path / "summary.json").write_text(
        json.dumps(
            {
                "mission": "kii-sso",
                "n": 12,
                "verdict": {"passed": False, "text": "1 missed termination in f2-nozzle", "false_terminations": 0},
            }
        )
    )
    return runs


def test_montecarlo_reader_and_report(tmp_path):
    runs = _synthetic_mc(tmp_path)
    mc = read_montecarlo(tmp_path)
    assert mc.n == 12 and mc.mission_name == "kii-sso"
    assert mc.scenarios() == ["nominal", "f2-nozzle"]
    assert set(mc.rule_names) == {"iip-corridor", "speed"}
    ttd = mc.time_to_detect_s()
    assert np.isnan(ttd[:8]).all() and np.isnan(ttd[11])
    assert ttd[8:11] == pytest.approx([20.0, 23.0, 30.0])
    assert mc.verdict["passed"] is False
    assert mc.min_margin("iip-corridor")[8] == runs["min_margin__iip-corridor"][8]
    text = write_report(tmp_path).read_text()
    assert "FAIL: 1 missed termination in f2-nozzle" in text
    alts = [a.get("alt") for tag, a in _parsed(text) if tag == "img"]
    assert alts == ["Monte Carlo footprint map", "minimum-margin histograms", "time to detect"]


def _parsed(text):
    p = _Collect()
    p.feed(text)
    return p.tags


def test_montecarlo_from_tables_checks_columns():
    with pytest.raises(InputError, match="missing columns"):
        from_tables({"scenario": ["a"]}, "x")
    with pytest.raises(InputError, match="do not have 2 rows"):
        from_tables({"scenario": ["a", "b"], "terminated": [True]}, "x")
    mc = from_tables({"scenario": [None, "s"], "terminated": [False, True]}, "ok")
    assert mc.scenarios() == ["nominal", "s"] and mc.verdict == {"text": "ok"}


def test_montecarlo_reads_the_validate_columns(tmp_path):
    """`rangeguard validate --out` names: case ("" = nominal), rule, t_fail_s, iip_entered, margin:<rule>,
    text columns (state) and param: columns; a "FAIL" verdict string with its reasons."""
    import pyarrow as pa

    pq.write_table(
        pa.table(
            {
                "case": ["", "", "f2-nozzle"],
                "run": [0, 1, 0],
                "terminated": [False, False, True],
                "t_terminate_s": [float("nan"), float("nan"), 103.0],
                "rule": [None, None, "iip-corridor"],
                "state": ["SAFED", "SAFED", "TERMINATED"],
                "t_fail_s": [float("nan"), float("nan"), 80.5],
                "iip_entered": [False, False, False],
                "margin:iip-corridor": [1e4, 2e4, -3e3],
                "param:cd_scale": [1.0, 1.1, 0.9],
            }
        ),
        tmp_path / "runs.parquet",
    )
    (tmp_path / "summary.json").write_text(
        json.dumps(
            {
                "runs": 2,
                "verdict": "FAIL",
                "reasons": ["too few runs"],
                "mission": "kii-sso",
                "false_termination": {"count": 0, "upper95": 0.77, "by_rule": {}},
            }
        )
    )
    mc = read_montecarlo(tmp_path)
    assert mc.scenarios() == ["nominal", "f2-nozzle"]
    assert mc.runs["fired_by"].tolist() == [None, None, "iip-corridor"]
    assert mc.rule_names == ["iip-corridor"]
    assert mc.time_to_detect_s()[2] == pytest.approx(22.5)
    assert mc.verdict == {"passed": False, "text": "too few runs"}
    assert mc.extra["false_termination.upper95"] == 0.77 and "param:cd_scale" not in mc.runs
    assert "FAIL: too few runs" in write_report(tmp_path).read_text()


def test_montecarlo_report_lists_the_runs_against_their_scenarios_expect(tmp_path):
    """Issue 13: the report lists each terminated run of an `expect: continue` scenario with its rule and
    termination time (and says how many more there are when summary.json capped its list), the runs of
    an `expect: terminate` scenario that were not terminated with their outcome, and the notes."""
    import pyarrow as pa

    pq.write_table(
        pa.table(
            {
                "case": ["", "f1-thrust-low", "f1-thrust-low", "tumble"],
                "run": [0, 7, 12, 3],
                "terminated": [False, True, True, False],
                "rule": [None, "altitude", "altitude", None],
                "t_terminate_s": [float("nan"), 194.88, 207.68, float("nan")],
            }
        ),
        tmp_path / "runs.parquet",
    )
    (tmp_path / "summary.json").write_text(
        json.dumps(
            {
                "verdict": "FAIL",
                "mission": "kii-sso",
                "reasons": [
                    "scenario 'f1-thrust-low' (expect: continue, a flyable vehicle): 150 of 1000 runs terminated"
                ],
                "notes": ["scenario 'tumble' (expect: terminate): 1 of 10 runs were not terminated; harmless"],
                "scenarios": {
                    "f1-thrust-low": {
                        "expect": "continue",
                        "unexpected": 150,
                        "unexpected_runs": [
                            {"run": 7, "rule": "altitude", "t_terminate_s": 194.88, "t_fail_s": 0.0},
                            {"run": 12, "rule": "altitude", "t_terminate_s": 207.68, "t_fail_s": 0.0},
                        ],
                    },
                    "tumble": {
                        "expect": "terminate",
                        "unexpected": 1,
                        "unexpected_runs": [{"run": 3, "outcome": "harmless", "state": "ARMED", "t_final_s": 412.0}],
                    },
                    "f2-nozzle": {"expect": "terminate", "unexpected": 0, "unexpected_runs": []},
                },
            }
        )
    )
    mc = read_montecarlo(tmp_path)
    assert [(r["scenario"], r["run"]) for r in mc.expectation_runs] == [
        ("f1-thrust-low", 7),
        ("f1-thrust-low", 12),
        ("tumble", 3),
    ]
    text = write_report(tmp_path, mission="kii-sso.yaml").read_text()
    assert (
        "<td>f1-thrust-low</td><td>continue</td><td>7</td><td>terminated</td><td>altitude</td><td>194.88</td>" in text
    )
    assert (
        "<td>f1-thrust-low</td><td>continue</td><td>12</td><td>terminated</td><td>altitude</td><td>207.68</td>" in text
    )
    assert "... and 148 more (runs.parquet)" in text
    assert (
        "<td>tumble</td><td>terminate</td><td>3</td><td>not terminated: harmless (ARMED)</td><td></td><td>412.00</td>"
        in text
    )
    assert "note: scenario &#x27;tumble&#x27; (expect: terminate)" in text
    assert "FAIL: scenario &#x27;f1-thrust-low&#x27;" in text


def test_the_outcome_names_the_destruct_that_followed_the_thrust_termination():
    from rangeguard.report.html import _outcome_html

    v = {"terminated": True, "t_terminate_s": 20.5, "rule": "tumble"}
    assert "DESTRUCT" not in _outcome_html(v) and "(thrust termination)" in _outcome_html(v)
    v |= {"destructed": True, "t_destruct_s": 23.5, "destructed_by": "destruct-after:3"}
    assert "DESTRUCT at T+23.50 s by <code>destruct-after:3</code>" in _outcome_html(v)

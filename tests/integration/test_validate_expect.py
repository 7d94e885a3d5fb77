"""`rangeguard validate` judges what each scenario's `expect` claims (issue 13, item 1), end to end.

The bundled Kii mission, with a 0.99 false-termination requirement so that three nominal runs pass
and only the scenario under test decides the verdict, and with small scenarios of its own:

- ``spin-up-flyable``: a 30 deg/s spin from T+20 s that the mission calls flyable
  (``expect: continue``); the tumble rule terminates every run, which must FAIL the verdict and be
  listed run by run, with rule and time, in the JSON, summary.json and the HTML report;
- ``late-tumble``: a real failure (``expect: terminate``) at T+60 s in flights cut at T+25 s: still
  flying, undecided, when the simulation stops; nothing shows them harmless: FAIL;
- ``benign-dropout``: nav source A drops out for 5 s, declared ``expect: terminate``: the flights are
  not terminated and are safed with their IIP clear of every protected area: harmless, so PASS,
  with the runs listed and a note.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from rangeguard.mission import mission_from_dict
from rangeguard.montecarlo.validation import validate

ROOT = Path(__file__).resolve().parents[2]
MISSIONS = ROOT / "missions"
SCENARIOS = {
    "spin-up-flyable": {
        "description": "A spin the mission author wrongly believes flyable.",
        "failures": [{"kind": "attitude_loss", "from_t_s": 20.0, "mode": "tumble", "rates_deg_s": [0.0, 30.0, 0.0]}],
        "expect": "continue",
    },
    "late-tumble": {
        "description": "Loss of attitude control at T+60 s.",
        "failures": [{"kind": "attitude_loss", "from_t_s": 60.0, "mode": "tumble", "rates_deg_s": [0.0, 30.0, 0.0]}],
        "expect": "terminate",
    },
    "benign-dropout": {
        "description": "Nav source A drops out for 5 s at T+30 s (declared a threat).",
        "nav_faults": [{"kind": "gps_dropout", "source": "ins_a", "from_t_s": 30.0, "to_t_s": 35.0}],
        "expect": "terminate",
    },
}


def _data() -> dict:
    data = yaml.safe_load((MISSIONS / "kii-sso.yaml").read_text())
    data["vehicle"] = str(MISSIONS / data["vehicle"])
    for a in data["areas"]:
        if "geojson" in a:
            a["geojson"] = str(MISSIONS / a["geojson"])
    data["requirements"] = {"false_termination_max": 0.99}
    data["scenarios"] = SCENARIOS
    return data


@pytest.fixture(scope="module")
def mission():
    return mission_from_dict(_data(), base_dir=MISSIONS)


def test_a_terminated_flyable_scenario_fails_and_its_runs_are_listed_everywhere(tmp_path):
    path = tmp_path / "mission.yaml"
    path.write_text(yaml.safe_dump(_data(), sort_keys=False))
    out = tmp_path / "out"
    code = "import sys\nfrom rangeguard.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    p = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "validate",
            str(path),
            "--runs",
            "3",
            "--scenarios",
            "spin-up-flyable",
            "--failure-runs",
            "3",
            "--t-max",
            "25",
            "--backend",
            "inprocess",
            "--no-progress",
            "--json",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert p.returncode == 1, p.stderr
    doc = json.loads(p.stdout)
    assert doc["verdict"] == "FAIL"
    assert doc["false_termination"]["upper95"] < 0.99  # the nominal runs alone would pass
    [reason] = doc["reasons"]
    assert "spin-up-flyable" in reason and "3 of 3" in reason and "tumble: 3" in reason
    listed = doc["scenarios"]["spin-up-flyable"]["unexpected_runs"]
    assert [r["run"] for r in listed] == [0, 1, 2] and {r["rule"] for r in listed} == {"tumble"}
    assert all(18.0 < r["t_terminate_s"] < 25.0 for r in listed)  # the spin starts at T+20 +- 2 s
    assert json.loads((out / "summary.json").read_text())["scenarios"]["spin-up-flyable"]["unexpected_runs"] == listed
    html = (out / "report.html").read_text()
    assert "Runs against their scenario" in html
    for r in listed:
        assert (
            f"<td>spin-up-flyable</td><td>continue</td><td>{r['run']}</td><td>terminated</td><td>tumble</td>"
            f"<td>{r['t_terminate_s']:.2f}</td>" in html
        )


def test_a_real_failure_still_undecided_at_the_end_fails(mission):
    r = validate(mission, runs=3, scenarios="late-tumble", failure_runs=3, t_max_s=25.0)
    s = r.json()
    assert s["verdict"] == "FAIL"
    [reason] = s["reasons"]
    assert "late-tumble" in reason and "3 of 3" in reason and "--t-max" in reason
    assert {x["outcome"] for x in s["scenarios"]["late-tumble"]["unexpected_runs"]} == {"undecided"}


def test_a_real_failure_that_endangered_no_one_is_listed_not_failed(mission):
    r = validate(mission, runs=3, scenarios="benign-dropout", failure_runs=3)
    s = r.json()
    assert s["verdict"] == "PASS", s["reasons"]
    sc = s["scenarios"]["benign-dropout"]
    assert sc["terminated"] == 0 and sc["missed"] == 0 and sc["against_verdict"] == 0
    assert [x["outcome"] for x in sc["unexpected_runs"]] == ["harmless"] * 3
    assert len(s["notes"]) == 1 and "benign-dropout" in s["notes"][0]

"""`rangeguard validate` exit codes, as a user's shell sees them (issue 13, item 3).

0 PASS, 1 FAIL, 2 bad input or an infrastructure error, never 1 (nor a traceback) for an exception:
an unexpected exception prints one readable line on stderr and exits 2, and so does a validation in
which runs ended in an error (it is incomplete: no verdict on the rules). Each case runs the command
in its own process; the flights are cut short (--t-max) because only the exit path is under test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
MISSIONS = ROOT / "missions"
KII = MISSIONS / "kii-sso.yaml"
QUICK = [
    "--runs",
    "3",
    "--scenarios",
    "none",
    "--t-max",
    "5",
    "--backend",
    "inprocess",
    "--no-progress",
    "--no-report",
    "--json",
]


def _run(*args, prelude: str = "", timeout: float = 600) -> subprocess.CompletedProcess:
    """``rangeguard ARGS`` in a fresh interpreter; ``prelude`` runs first (to inject a fault)."""
    code = f"import sys\n{prelude}\nfrom rangeguard.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


def _mission(tmp_path: Path, **changes) -> Path:
    """kii-sso.yaml with top-level sections replaced, written with absolute paths to its files."""
    data = yaml.safe_load(KII.read_text())
    data["vehicle"] = str(MISSIONS / data["vehicle"])
    for a in data["areas"]:
        if "geojson" in a:
            a["geojson"] = str(MISSIONS / a["geojson"])
    data.update(changes)
    path = tmp_path / "mission.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _no_traceback(p: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in p.stderr and "Traceback" not in p.stdout, p.stderr


def test_pass_is_0(tmp_path):
    """3 clean nominal runs show an upper bound of 1 - 0.05^(1/3) = 0.63: PASS against a 0.99 requirement."""
    mission = _mission(tmp_path, requirements={"false_termination_max": 0.99})
    p = _run("validate", mission, *QUICK, "--out", tmp_path / "out")
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["verdict"] == "PASS"


def test_fail_is_1(tmp_path):
    """The same 3 runs cannot show the bundled 1e-3 requirement: FAIL."""
    p = _run("validate", KII, *QUICK, "--out", tmp_path / "out")
    assert p.returncode == 1, p.stderr
    assert json.loads(p.stdout)["verdict"] == "FAIL"
    _no_traceback(p)


def test_bad_input_is_2_with_the_problem_named(tmp_path):
    p = _run("validate", KII, *QUICK, "--scenarios", "no-such-scenario", "--out", tmp_path / "out")
    assert p.returncode == 2 and "unknown scenario" in p.stderr
    _no_traceback(p)
    p = _run("validate", tmp_path / "missing.yaml", *QUICK, "--out", tmp_path / "out")
    assert p.returncode == 2 and "missing.yaml" in p.stderr
    _no_traceback(p)


def test_an_unexpected_exception_is_one_line_and_2(tmp_path):
    """A fault injected where the statistics are computed (a stand-in for any bug or broken
    dependency): one stderr line naming the exception, exit 2, never 1 (that is a FAIL verdict)."""
    prelude = (
        "import rangeguard.montecarlo.validation as v\n"
        "def boom(*a, **k):\n"
        "    raise ZeroDivisionError('injected fault\\nsecond line of the message')\n"
        "v.summarize = boom"
    )
    p = _run("validate", KII, *QUICK, "--out", tmp_path / "out", prelude=prelude)
    assert p.returncode == 2, (p.returncode, p.stderr)
    _no_traceback(p)
    lines = [x for x in p.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, p.stderr
    assert "ZeroDivisionError" in lines[0] and "injected fault second line" in lines[0]
    assert p.stdout == ""  # no verdict printed


def test_an_output_folder_that_cannot_be_written_is_2(tmp_path):
    """An infrastructure error (--out below a regular file): exit 2, one line naming the path."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    p = _run("validate", KII, *QUICK, "--out", blocker / "out")
    assert p.returncode == 2, (p.returncode, p.stderr)
    _no_traceback(p)
    lines = [x for x in p.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and str(blocker) in lines[0]


def test_runs_that_ended_in_an_error_are_2_not_a_fail(tmp_path):
    """cd_scale ~ N(1, 1) draws a negative drag multiplier for some runs, which the simulator refuses:
    those runs end in an error. The summary still says FAIL (it cannot pass), but the exit status is 2:
    the validation is incomplete, so this is no verdict on the rules."""
    mission = _mission(
        tmp_path,
        dispersions={"cd_scale": {"dist": "normal", "three_sigma": 3.0}},
        requirements={"false_termination_max": 0.99},
    )
    p = _run("validate", mission, *QUICK, "--runs", "8", "--out", tmp_path / "out")
    assert p.returncode == 2, (p.returncode, p.stderr)
    _no_traceback(p)
    doc = json.loads(p.stdout)
    assert doc["verdict"] == "FAIL" and doc["errors"]
    assert "ended in an error" in p.stderr and "cd_scale" in p.stderr

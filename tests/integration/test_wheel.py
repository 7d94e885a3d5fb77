"""The wheel is the product: built from the sources, installed in a fresh environment, ``rangeguard demo`` runs.

Offline: the wheel is built without build isolation (setuptools and wheel from
this environment, ``--no-index``) and installed with ``--no-deps``. The new
environment reaches the dependencies through a ``.pth`` file that lists this
environment's site-packages as a plain path line: ``site`` appends such a line
to ``sys.path`` without reading the ``.pth`` files inside that folder, so the
checkout's editable install (``/work/.../src`` on the path, or a finder hook)
stays out and rangeguard can only come from the wheel. The demo runs from an
empty folder, so nothing of the checkout (``missions/``) can be found by
accident.

The expected outcomes are the lessons of Space One's Kairos flights (as in
tests/acceptance/test_demo.py), not numbers read off our own output.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def _run(args, **kwargs) -> subprocess.CompletedProcess:
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    assert p.returncode == 0, f"{args} exited {p.returncode}:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    return p


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    """A fresh virtual environment with the freshly built wheel installed; returns its folder."""
    base = tmp_path_factory.mktemp("wheel")
    # Build from a copy of what the build reads: building in the checkout would leave build/ and
    # *.egg-info there, and a stale build/lib would be packed into the next wheel and hide a
    # missing package-data entry.
    tree = base / "tree"
    tree.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(ROOT / name, tree / name)
    shutil.copytree(ROOT / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    dist = base / "dist"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-q",
            "-w",
            dist,
            tree,
        ]
    )
    (wheel,) = dist.glob("rangeguard-*.whl")

    env_dir = base / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", env_dir])
    python = env_dir / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", "-q", wheel])
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]).stdout.strip())
    ours = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))  # this env's site-packages
    (site / "rangeguard-test-deps.pth").write_text("".join(f"{p}\n" for p in ours), encoding="utf-8")
    return env_dir


def _clean_env(tmp: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP")}
    # The numba cache is keyed by the source file's path: the wheel's copies compile afresh, into a
    # throw-away cache rather than the checkout's.
    env["NUMBA_CACHE_DIR"] = str(tmp / "numba-cache")
    return env


def test_rangeguard_comes_from_the_wheel_not_the_checkout(venv, tmp_path):
    probe = (
        "import json, sys, rangeguard, rangeguard.bundled as b; "
        "print(json.dumps({'file': rangeguard.__file__, 'version': rangeguard.__version__, "
        "'path': sys.path, 'missions': str(b.missions_dir()), "
        "'finders': [repr(f) for f in sys.meta_path]}))"
    )
    p = _run([venv / "bin" / "python", "-c", probe], cwd=tmp_path, env=_clean_env(tmp_path))
    info = json.loads(p.stdout)
    assert Path(info["file"]).is_relative_to(venv)
    assert Path(info["missions"]).is_relative_to(venv)
    assert info["version"] == PYPROJECT["project"]["version"]
    src = (ROOT / "src").resolve()
    assert not [e for e in info["path"] if e and Path(e).resolve().is_relative_to(src)], info["path"]
    assert not [f for f in info["finders"] if "editable" in f.lower()], info["finders"]
    # the dependencies do come from this environment, through the plain path line
    assert sysconfig.get_paths()["purelib"] in info["path"]


def test_version_option_of_the_installed_command(venv, tmp_path):
    p = _run([venv / "bin" / "rangeguard", "--version"], cwd=tmp_path, env=_clean_env(tmp_path))
    assert p.stdout.strip() == f"rangeguard {PYPROJECT['project']['version']}"


def test_demo_runs_from_the_installed_wheel(venv, tmp_path):
    work = tmp_path / "elsewhere"
    work.mkdir()
    p = _run([venv / "bin" / "rangeguard", "demo", "--json"], cwd=work, env=_clean_env(tmp_path), timeout=1500)
    runs = {(r["scenario"], r["rules"], r["policy"]): r for r in json.loads(p.stdout)}
    assert len(runs) == 6

    # nominal flight, and Kairos F3's string fault under health_degraded: untouched, in orbit
    for key in (("nominal", "validated", "health_degraded"), ("f3-string-fault", "validated", "health_degraded")):
        r = runs[key]
        assert not r["terminated"] and not r["iip_entered_protected_area"] and r["orbit"] is not None, r
    # Kairos F1 (13 Mar 2024): a flyable weak motor terminated at T+5.3 s by a too strict speed band
    f1 = runs[("f1-thrust-low", "strict", "health_degraded")]
    assert f1["terminated"] and f1["rule"] == "speed" and abs(f1["t_terminate_s"] - 5.3) <= 1.0
    assert not runs[("f1-thrust-low", "validated", "health_degraded")]["terminated"]
    # Kairos F3 (5 Mar 2026): terminated at T+68.8 s because string B judged itself faulty (1oo2)
    f3 = runs[("f3-string-fault", "validated", "1oo2")]
    assert f3["terminated"] and f3["rule"] == "string-fault:B" and abs(f3["t_terminate_s"] - 68.8) <= 0.2
    # Kairos F2 (18 Dec 2024): nozzle fault at T+80 s, drift across the limit line: a correct termination,
    # by the IIP limit line (the mission's corridor, not a protected area) before the IIP reaches land
    f2 = runs[("f2-nozzle", "validated", "health_degraded")]
    assert f2["terminated"] and not f2["iip_entered_protected_area"] and f2["t_terminate_s"] > 80.0
    mission = yaml.safe_load((ROOT / "src" / "rangeguard" / "missions" / "kii-sso.yaml").read_text(encoding="utf-8"))
    rule = next(r for r in mission["rules"] if r["name"] == f2["rule"])
    area = next(a for a in mission["areas"] if a["name"] == rule["area"])
    assert rule["type"] == "iip_polygon" and area["kind"] == "corridor"

    # what the demo writes lands in the working folder, with the report
    out = work / "rangeguard-out"
    assert json.loads((out / "demo.json").read_text(encoding="utf-8"))
    assert (out / "report.html").stat().st_size > 0

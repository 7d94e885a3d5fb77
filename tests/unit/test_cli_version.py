"""``rangeguard --version``: the version has one source, pyproject.toml's ``[project] version``."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from rangeguard.cli import main

ROOT = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def test_version_prints_pyprojects_version_and_exits_0(capsys):
    assert main(["--version"]) == 0
    out, err = capsys.readouterr()
    assert out == f"rangeguard {VERSION}\n" and err == ""


def test_version_wins_over_a_subcommand_and_runs_nothing(capsys, tmp_path):
    # eager: printed before the subcommand is parsed, so a bad subcommand line is not an error
    assert main(["--version", "check", str(tmp_path / "no-such.yaml")]) == 0
    assert capsys.readouterr().out == f"rangeguard {VERSION}\n"


def test_version_from_the_command_line():
    p = subprocess.run(
        [sys.executable, "-m", "rangeguard.cli", "--version"], capture_output=True, text=True, timeout=120
    )
    assert (p.returncode, p.stdout, p.stderr) == (0, f"rangeguard {VERSION}\n", "")


def test_version_is_listed_in_help(capsys):
    assert main(["--help"]) == 0
    assert "--version" in capsys.readouterr().out

"""`make test` sets up what the browser tests need (issue 14, item 5), without touching this machine.

The real Makefile and tools/system-packages.sh run in a sandbox: a copy of the two files, a fake
``.venv/bin/python`` that only logs, and a PATH of stand-ins (``id``, ``apt-get``, ``sudo``) that log
what they were asked, so installing, not being able to install, and running twice are all exercised
while the real Chromium stays where it is. Also: `.ci/run` runs `make test` and nothing else, and the
README says so.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).parents[2]
TOOLS = ("make", "sh", "touch", "cat", "env", "chmod", "rm", "mkdir", "cp", "true")
"""Real programs the Makefile recipes and the script call (everything else on PATH is a stand-in)."""


def _script(path: Path, text: str) -> None:
    path.write_text("#!/bin/sh\n" + text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


class Sandbox:
    """A copy of the Makefile and the script, a logging fake venv, and a PATH of stand-ins."""

    def __init__(
        self,
        root: Path,
        *,
        uid: int = 0,
        apt_get: bool = True,
        sudo: str | None = None,
        chromium_present: bool = True,
        venv: bool = True,
        ensurepip: bool = True,
    ):
        self.root = root
        self.log = root / "calls.log"
        self.chromium = root / "usr-bin-chromium"
        self.repo = root / "repo"
        (self.repo / "tools").mkdir(parents=True)
        shutil.copy(REPO / "Makefile", self.repo / "Makefile")
        shutil.copy(REPO / "tools" / "system-packages.sh", self.repo / "tools" / "system-packages.sh")
        (self.repo / "pyproject.toml").write_text("[project]\nname = 'sandbox'\n")
        fake_python = (
            f'echo "python $*" >> {self.log}\n'
            f'if [ "$1" = -c ]; then [ -e {root}/ensurepip ]; exit $?; fi\n'
            f'if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python"; fi\n'
        )
        self.bin = root / "bin"
        self.bin.mkdir()
        for tool in TOOLS:
            os.symlink(shutil.which(tool), self.bin / tool)
        _script(self.bin / "python3", fake_python)
        if venv:
            (self.repo / ".venv" / "bin").mkdir(parents=True)
            _script(self.repo / ".venv" / "bin" / "python", fake_python)
        if ensurepip:
            (root / "ensurepip").touch()
        _script(self.bin / "id", f"echo {uid}\n")
        if apt_get:  # "installs" by creating what the package would
            _script(
                self.bin / "apt-get",
                f'echo "apt-get $*" >> {self.log}\n'
                f'case "$*" in *install*chromium*) printf "#!/bin/sh\\n" > {self.chromium};'
                f" chmod +x {self.chromium};; esac\n"
                f'case "$*" in *install*python3-venv*) touch {root}/ensurepip;; esac\n',
            )
        if sudo == "nopasswd":
            _script(self.bin / "sudo", f'[ "$1" = -n ] && shift\necho "sudo $*" >> {self.log}\nexec "$@"\n')
        elif sudo == "password":
            _script(self.bin / "sudo", 'echo "sudo: a password is required" >&2\nexit 1\n')
        if chromium_present:
            _script(self.chromium, "")

    def make(self, target: str = "test") -> subprocess.CompletedProcess:
        env = {"PATH": str(self.bin), "HOME": str(self.root), "RANGEGUARD_CHROMIUM": str(self.chromium)}
        return subprocess.run(
            ["make", "--no-print-directory", target],
            cwd=self.repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            executable=shutil.which("make"),
        )

    def calls(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


LINT = [
    "python -m ruff check src tests bench tools",
    "python -m ruff format --check src tests bench tools",
    "python -m mypy",
]
"""What make test runs before the suite (the lint, format and type checks)."""


def _pytest_runs(calls: list[str]) -> int:
    return sum(c == "python -m pytest" for c in calls)


def test_make_test_setup_is_idempotent(tmp_path):
    box = Sandbox(tmp_path)
    first = box.make()
    assert first.returncode == 0, first.stderr
    calls = box.calls()
    assert any("pip install" in c for c in calls) and _pytest_runs(calls) == 1
    second = box.make()
    assert second.returncode == 0, second.stderr
    again = box.calls()[len(calls) :]
    assert again == [*LINT, "python -m pytest"]  # nothing re-installed, nothing asked of apt-get
    assert "installing" not in first.stdout + second.stdout
    assert not any(c.startswith("apt-get") for c in box.calls())


@pytest.mark.parametrize("uid, sudo", [(0, None), (1000, "nopasswd")])
def test_make_test_installs_chromium_when_missing(tmp_path, uid, sudo):
    box = Sandbox(tmp_path, uid=uid, sudo=sudo, chromium_present=False)
    run = box.make()
    assert run.returncode == 0, run.stderr
    calls = box.calls()
    apt = [c for c in calls if c.startswith("apt-get")]
    assert apt == ["apt-get update -q", "apt-get install -y -q --no-install-recommends chromium"]
    assert calls.index(apt[-1]) < calls.index("python -m pytest")  # installed before the suite runs
    assert "installing chromium" in run.stdout
    if sudo:
        assert any(c.startswith("sudo env DEBIAN_FRONTEND=noninteractive apt-get install") for c in calls)
    assert box.make().returncode == 0
    assert [c for c in box.calls() if c.startswith("apt-get")] == apt  # once only


@pytest.mark.parametrize("sudo", [None, "password"])
def test_make_test_stops_with_the_command_when_it_cannot_install(tmp_path, sudo):
    box = Sandbox(tmp_path, uid=1000, sudo=sudo, chromium_present=False)
    run = box.make()
    assert run.returncode != 0
    assert "missing chromium" in run.stderr
    assert "sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends chromium'" in run.stderr
    assert "then make test again" in run.stderr
    assert _pytest_runs(box.calls()) == 0  # the suite does not run with its browser tests skipped
    assert not any(c.startswith("apt-get") for c in box.calls())


def test_make_test_without_apt_get_says_what_to_install(tmp_path):
    box = Sandbox(tmp_path, apt_get=False, chromium_present=False)
    run = box.make()
    assert run.returncode != 0
    assert "no apt-get" in run.stderr and "RANGEGUARD_CHROMIUM" in run.stderr
    assert _pytest_runs(box.calls()) == 0


def test_fresh_debian_without_venv_module_gets_python3_venv(tmp_path):
    box = Sandbox(tmp_path, venv=False, ensurepip=False)
    run = box.make()
    assert run.returncode == 0, run.stderr
    calls = box.calls()
    install = "apt-get install -y -q --no-install-recommends python3-venv"
    assert install in calls and calls.index(install) < calls.index("python -m venv .venv")
    assert _pytest_runs(calls) == 1
    # and `make demo` alone does not ask for Chromium
    demo = Sandbox(tmp_path / "demo", venv=False, ensurepip=False, chromium_present=False)
    demo.make("setup")
    assert not any("chromium" in c for c in demo.calls())


def test_ci_runs_make_test_and_nothing_else():
    lines = [ln.strip() for ln in (REPO / ".ci" / "run").read_text().splitlines()]
    commands = [ln for ln in lines if ln and not ln.startswith("#")]
    assert commands == ["set -euo pipefail", 'cd "$(dirname "$0")/.."', "make test"]


def test_readme_setup_is_the_two_commands_and_make_test_installs_chromium():
    text = (REPO / "README.md").read_text()
    block = text.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    assert [ln.split("#")[0].strip() for ln in block] == ["make demo", "make test"]
    flat = " ".join(text.split())
    assert "`make test` installs it with apt-get when it is missing" in flat
    assert ".ci/run` installs" not in flat

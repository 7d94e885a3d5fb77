"""Helpers for the browser tests (imported by conftest.py and the tests): paths, ports, processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

CHROMIUM = Path(os.environ.get("RANGEGUARD_CHROMIUM", "/usr/bin/chromium"))
"""Debian's Chromium (tools/system-packages.sh installs it; RANGEGUARD_CHROMIUM points elsewhere)."""
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
RANGEGUARD = [str(Path(sys.executable).with_name("rangeguard"))]
"""The installed console script (``pip install -e .`` puts it beside the interpreter)."""


def free_port(kind=socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proc:
    """A rangeguard subprocess whose output goes to a file; stopped (SIGINT, then kill) on close."""

    def __init__(self, args: list[str], log: Path):
        self.log = log
        self._fh = open(log, "w")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.p = subprocess.Popen(
            RANGEGUARD + args, stdout=self._fh, stderr=subprocess.STDOUT, env=env, cwd=Path(__file__).parents[2]
        )

    def wait_exit(self, timeout_s: float = 30.0) -> int:
        """The exit status, waiting at most ``timeout_s`` (AssertionError with the output if still running)."""
        try:
            return self.p.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running after {timeout_s} s:\n{self.output()}") from None

    def output(self) -> str:
        return self.log.read_text()

    def wait_for(self, text: str, timeout_s: float = 30.0) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            out = self.output()
            if text in out:
                return out
            if self.p.poll() is not None:
                raise AssertionError(f"process exited ({self.p.returncode}) before printing {text!r}:\n{out}")
            time.sleep(0.05)
        raise AssertionError(f"no {text!r} within {timeout_s} s:\n{self.output()}")

    def rss_bytes(self) -> int:
        """Resident memory of the process now (Linux /proc), bytes."""
        for line in Path(f"/proc/{self.p.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS in /proc status")

    def close(self) -> None:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGINT)
            try:
                self.p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(timeout=10)
        self._fh.close()

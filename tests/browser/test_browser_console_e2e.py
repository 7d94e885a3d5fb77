"""End to end in a real browser: `rangeguard stream` -> `rangeguard run` -> `rangeguard console` -> Chromium.

The Kairos flight 2 scenario (f2-nozzle: nozzle drive fault at T+80 s, drift
west across the limit line) of missions/kii-sso.yaml is streamed as CCSDS nav
packets at 25x real time into the real-time AFSS, whose status packets feed
the console; headless Chromium must then show the terminate banner and the
firing rule. The expected rule and time window are the mission's story
(DESIGN.md: F2 is caught by the boundary rule, the IIP corridor, a few tens
of seconds after the fault; `rangeguard demo` flies the same case), not a
number copied from the console. The flight configuration: the run flies a
sealed load and every packet is authenticated (one key for run, stream and
console); the page shows the load's digest and no security warning. The
screenshot is kept in tests/browser/artifacts/console-f2-nozzle.png.
"""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import pytest
from rgbrowser import ARTIFACTS, free_port

from rangeguard.formats.missionload import seal_mission
from rangeguard.keyfile import write_key_file
from rangeguard.mission import load_mission

pytestmark = [pytest.mark.browser, pytest.mark.console, pytest.mark.slow]

SPEED = 25.0


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def test_browser_console_shows_f2_nozzle_termination(processes, browser_page, tmp_path):
    page, errors = browser_page
    key = write_key_file(tmp_path / "link.key")
    load = tmp_path / "kii-sso.load"
    load.write_bytes(seal_mission(load_mission(Path(__file__).resolve().parents[2] / "missions" / "kii-sso.yaml"), key))
    digest = json.loads(load.read_bytes())["digest_sha256"]
    http_port = free_port()
    console = processes(
        [
            "console",
            "--status",
            "udp://127.0.0.1:0",
            "--http",
            f"127.0.0.1:{http_port}",
            "--mission",
            "missions/kii-sso.yaml",
            "--key",
            str(key.path),
        ],
        "console",
    )
    console.wait_for("console on http://")
    base = f"http://127.0.0.1:{http_port}"
    status_udp = _get_json(f"{base}/api/health")["status_udp"]
    assert status_udp.startswith("udp://127.0.0.1:")

    command_port = free_port(kind=2)  # SOCK_DGRAM: the terminate command goes nowhere that matters here
    run = processes(
        [
            "run",
            "--mission",
            str(load),
            "--key",
            str(key.path),
            "--listen",
            "udp://127.0.0.1:0",
            "--command",
            f"udp://127.0.0.1:{command_port}",
            "--status",
            status_udp,
            "--time-scale",
            str(SPEED),
            "--max-s",
            "60",
        ],
        "run",
    )
    listen = re.search(r"listening on (udp://127\.0\.0\.1:\d+)", run.wait_for("listening on")).group(1)

    page.goto(base + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=15_000)
    assert "NO DATA" in page.inner_text("#banner") or "SAFE" in page.inner_text("#banner")

    stream = processes(
        [
            "stream",
            "--mission",
            "missions/kii-sso.yaml",
            "--key",
            str(key.path),
            "--to",
            listen,
            "--scenario",
            "f2-nozzle",
            "--speed",
            str(SPEED),
            "--until-s",
            "125",
        ],
        "stream",
    )
    stream.p.wait(timeout=30)
    assert stream.p.returncode == 0, stream.output()

    # a function, not an expression string: the page's CSP forbids eval, which Playwright uses for strings
    page.wait_for_function(
        "() => document.querySelector('#banner').classList.contains('state-TERMINATED')", timeout=15_000
    )
    banner = page.inner_text("#banner")
    assert "TERMINATED" in banner
    assert "iip-corridor" in banner
    t_term = float(re.search(r"T\+([0-9.]+) s", banner).group(1))
    assert 80.0 < t_term < 125.0, banner  # after the fault at T+80 s, before the stream ends
    fired = page.locator("#rules tr.fired")
    assert fired.count() == 1
    assert fired.get_attribute("data-rule") == "iip-corridor"
    assert fired.get_attribute("data-status") == "red"
    # the map shows the vehicle and its IIP, the plots have data
    assert page.locator("#map-zoom circle.vehicle").get_attribute("visibility") == "visible"
    assert len(page.locator("#map-overview path.track").get_attribute("d")) > 100
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "console-f2-nozzle.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    # the sealed load's digest, no packet dropped as not authentic, no security warning
    assert page.get_attribute("#load", "title") == digest
    assert page.inner_text("#auth-drops") == "0"
    assert page.locator("#security").is_hidden()
    assert errors == []

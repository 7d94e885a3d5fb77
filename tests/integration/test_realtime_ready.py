"""READY before arming (issue 18, part 5): `run` takes no packet until its engine can decide, says so on
the command and status channels (the heartbeat's READY bit), and `rangeguard prepare` compiles the
kernels ahead of time.

The packets "arriving while the kernels compile" are sent from inside the warm-up (the patched
``warm_up_engine``), so the test does not depend on how long compiling takes on this machine.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from rangeguard.earth import ecef_to_enu_matrix, geodetic_to_ecef
from rangeguard.mission import load_mission
from rangeguard.telemetry import afss as afss_module
from rangeguard.telemetry import warmup
from rangeguard.telemetry.link import UdpAddress
from rangeguard.telemetry.packets import HEALTH_READY, HeartbeatPacket, NavPacket, decode_packet, encode_nav

ROOT = Path(__file__).resolve().parents[2]
SOUNDING = ROOT / "missions" / "sounding.yaml"
CLI = [sys.executable, "-m", "rangeguard.cli"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _climb(n: int) -> list[bytes]:
    """Nav packets of a fast climb from the sounding pad (enough to arm it if they were taken)."""
    site = load_mission(SOUNDING).site
    rot = ecef_to_enu_matrix(site.lat_deg, site.lon_deg)
    pad = geodetic_to_ecef(site.lat_deg, site.lon_deg, site.alt_m)
    out = []
    for k in range(n):
        t = 0.1 * (k + 1)
        r = pad + rot.T @ np.array([0.0, 0.0, 300.0 * t])
        v = rot.T @ np.array([0.0, 0.0, 300.0])
        out.append(encode_nav(NavPacket(t, tuple(r), tuple(v)), k))
    return out


def _heartbeats(sock: socket.socket, out: list, stop: threading.Event) -> threading.Thread:
    def listen() -> None:
        sock.settimeout(0.05)
        while not stop.is_set():
            try:
                pkt = decode_packet(sock.recv(65535))
            except TimeoutError:
                continue
            except Exception:  # noqa: BLE001 - the test listens for heartbeats only
                continue
            if isinstance(pkt, HeartbeatPacket):
                out.append(pkt)

    th = threading.Thread(target=listen, daemon=True)
    th.start()
    return th


def test_packets_before_ready_are_dropped_and_the_heartbeat_says_when_it_is_ready(monkeypatch):
    mission = load_mission(SOUNDING)
    port = _free_port()
    packets = _climb(30)
    real_warm_up = warmup.warm_up_engine

    def slow_warm_up(m) -> None:
        real_warm_up(m)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as tx:
            for data in packets:  # they arrive while the engine is not READY
                tx.sendto(data, ("127.0.0.1", port))
        time.sleep(0.2)

    monkeypatch.setattr(warmup, "warm_up_engine", slow_warm_up)
    command = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    command.bind(("127.0.0.1", 0))
    seen: list[HeartbeatPacket] = []
    stop = threading.Event()
    th = _heartbeats(command, seen, stop)
    afss = afss_module.RealtimeAfss(
        mission, UdpAddress("127.0.0.1", port), UdpAddress("127.0.0.1", command.getsockname()[1]), insecure=True
    )
    try:
        assert afss.ready
        assert afss.counters["before_ready"] == len(packets)
        afss.serve(max_s=0.5)
        # none of them reached the engine: nothing accepted, never armed
        assert afss.counters["nav_accepted"] == 0
        assert afss.driver.last is None or afss.driver.last.state_name(0) == "SAFE"
        deadline = time.monotonic() + 5.0
        while len(seen) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        th.join(2.0)
        afss.close()
        command.close()
    assert len(seen) >= 2
    assert not seen[0].health & HEALTH_READY  # sent before the warm-up: up, not READY
    assert all(hb.health & HEALTH_READY for hb in seen[1:])


def test_prepare_then_run_is_ready(tmp_path):
    key = tmp_path / "link.key"
    load = tmp_path / "sounding.load"
    subprocess.run([*CLI, "keygen", "-o", str(key)], check=True, capture_output=True, timeout=120)
    subprocess.run(
        [*CLI, "seal", str(SOUNDING), "--key", str(key), "-o", str(load)], check=True, capture_output=True, timeout=300
    )
    done = subprocess.run([*CLI, "prepare", str(load), "--key", str(key)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "prepared sealed load" in done.stdout and "kernels cached in" in done.stdout
    run = subprocess.run(
        [*CLI, "run", "-m", str(load), "--key", str(key), "--listen", "udp://127.0.0.1:0", "--command",
         "udp://127.0.0.1:9", "--max-s", "0"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0].startswith("listening on udp://127.0.0.1:")
    assert lines[1].startswith("READY (") and "packets before READY dropped: 0" in lines[1]


def test_prepare_refuses_a_sealed_load_without_its_key(tmp_path):
    key = tmp_path / "link.key"
    load = tmp_path / "sounding.load"
    subprocess.run([*CLI, "keygen", "-o", str(key)], check=True, capture_output=True, timeout=120)
    subprocess.run(
        [*CLI, "seal", str(SOUNDING), "--key", str(key), "-o", str(load)], check=True, capture_output=True, timeout=300
    )
    done = subprocess.run([*CLI, "prepare", str(load)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert "give --key" in done.stderr and "Traceback" not in done.stderr

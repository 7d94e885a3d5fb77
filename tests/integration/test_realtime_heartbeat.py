"""The AFSS heartbeat on the command channel, watched by `rangeguard stream --receive` acting as the
flight termination receiver: the AFSS process dies (SIGKILL), a forger keeps sending unsigned
heartbeats, and the receiver still declares the heartbeat lost and acts by its policy."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from rangeguard.formats.missionload import seal_mission
from rangeguard.keyfile import write_key_file
from rangeguard.mission import load_mission
from rangeguard.telemetry.packets import HeartbeatPacket, encode_heartbeat

ROOT = Path(__file__).resolve().parents[2]
MISSION = ROOT / "missions" / "sounding.yaml"
CLI = [sys.executable, "-m", "rangeguard.cli"]
HEARTBEAT_HZ = 5.0
MISSED = 3


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_receiver_detects_heartbeat_loss_despite_forged_heartbeats(tmp_path):
    key = write_key_file(tmp_path / "link.key")
    load = tmp_path / "sounding.load"
    load.write_bytes(seal_mission(load_mission(MISSION), key))
    digest = json.loads(load.read_bytes())["digest_sha256"]
    port = _free_port()
    run = receiver = None
    forger = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        run = subprocess.Popen(
            [*CLI, "run", "-m", str(load), "--key", str(key.path), "--listen", "udp://127.0.0.1:0",
             "--command", f"udp://127.0.0.1:{port}", "--heartbeat-hz", str(HEARTBEAT_HZ), "--max-s", "60"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert run.stdout.readline().startswith("listening on udp://")
        receiver = subprocess.Popen(
            [*CLI, "stream", "-m", str(MISSION), "--key", str(key.path), "--receive", f"udp://127.0.0.1:{port}",
             "--heartbeat-hz", str(HEARTBEAT_HZ), "--missed-heartbeats", str(MISSED), "--receive-s", "30"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert "receiving on udp://" in receiver.stderr.readline()
        time.sleep(1.0)  # five heartbeats reach the receiver
        run.send_signal(signal.SIGKILL)  # the AFSS dies: no more heartbeats
        run.wait()
        forged = encode_heartbeat(HeartbeatPacket(1.0, 1.0, {}, state="SAFE", health=0x1F, load_sha256=digest), 0)
        sent = 0
        while receiver.poll() is None and sent < 2000:  # a forger tries to keep it "alive"
            forger.sendto(forged, ("127.0.0.1", port))
            sent += 1
            time.sleep(0.01)
        out, err = receiver.communicate(timeout=30)
        assert receiver.returncode == 0, err
        report = json.loads(out.strip().splitlines()[-1])["receiver"]
    finally:
        forger.close()
        for p in (receiver, run):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
    c = report["counters"]
    assert c["heartbeats"] >= 2 and c["heartbeat_lost"] == 1
    assert c.get("auth_bad_mac", 0) >= 1  # the forged heartbeats: counted, and they proved nothing
    assert report["action"] == "SAFE" and report["last_state"] == "SAFE"  # never armed: the policy safes
    assert report["load_sha256"] == digest
    assert "heartbeat lost" in report["action_reason"]

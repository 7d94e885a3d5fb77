"""End to end over loopback: `rangeguard run` and `rangeguard stream` as separate processes.

The Kii mission's f2-nozzle scenario (Kairos flight 2: nozzle fault at T+80 s,
drift west across the limit line) is played at 40x real time. The AFSS must
send the terminate command (iip-corridor, near T+103 s), and its decision log
must be byte-identical to `rangeguard replay` of the nav log it recorded (the same table; the
run's header also carries the sealed load's digest).

Flight configuration: the run flies a sealed load (`rangeguard seal`) and every packet both ways is
authenticated with a pre-shared key (`rangeguard keygen`); link duplicates are then replays.

Receive clock: the run's clock is scaled by 5 while the stream plays at 40x,
so receive time advances slower than data time; the data-loss rule can then
only judge later than in flight, never spuriously, and a scheduling stall of
up to 2 s / 5 = 0.4 s on a busy machine cannot fire it.
"""

from __future__ import annotations

import json
import math
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from rangeguard.formats.decisionlog import LOAD_DIGEST_KEY
from rangeguard.formats.missionload import seal_mission
from rangeguard.formats.navlog import read_navlog
from rangeguard.keyfile import read_key_file, write_key_file
from rangeguard.mission import load_mission
from rangeguard.replay import replay
from rangeguard.telemetry.auth import SPI_AFSS, Verifier
from rangeguard.telemetry.packets import (
    DestructCommand,
    HeartbeatPacket,
    PacketError,
    StatusPacket,
    TerminateCommand,
    decode_frame,
)

ROOT = Path(__file__).resolve().parents[2]
MISSION = ROOT / "missions" / "kii-sso.yaml"
CLI = [sys.executable, "-m", "rangeguard.cli"]
SPEED = 20.0
TIME_SCALE = SPEED  # the receive clock must run at the source's speed: the nav gate rejects data from its future
UNTIL_S = 106.0


def _udp_listener() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.2)
    return s


def _seal(tmp: Path, mission=None) -> tuple[Path, Path, str]:
    """A key file and the sealed load of the mission (default: MISSION's) in ``tmp``: (key, load, digest)."""
    key = tmp / "link.key"
    if not key.exists():
        write_key_file(key)
    load = tmp / "kii-sso.load"
    load.write_bytes(seal_mission(load_mission(MISSION) if mission is None else mission, read_key_file(key)))
    return key, load, json.loads(load.read_bytes())["digest_sha256"]


def _opener(key: Path):
    """Verify and decode what the AFSS sends (one verifier per channel: its own anti-replay window)."""
    verifier = Verifier(read_key_file(key), (SPI_AFSS,))

    def open_(data: bytes):
        opened = verifier.open(data)
        if isinstance(opened, str):
            raise PacketError("payload", opened)
        return decode_frame(*opened)

    return open_


def _start_run(tmp: Path, command_port: int, status_port: int, mission=None) -> tuple[subprocess.Popen, int]:
    key, load, _ = _seal(tmp, mission)
    proc = subprocess.Popen(
        [*CLI, "run", "-m", str(load), "--key", str(key), "--listen", "udp://127.0.0.1:0",
         "--command", f"udp://127.0.0.1:{command_port}", "--status", f"udp://127.0.0.1:{status_port}",
         "--log", str(tmp / "decisions.parquet"), "--time-scale", str(TIME_SCALE), "--max-s", "50"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp,
    )  # fmt: skip
    line = proc.stdout.readline()
    if not line.startswith("listening on udp://"):
        proc.kill()
        raise AssertionError(f"run did not start: {line!r} {proc.stderr.read()}")
    return proc, int(line.rsplit(":", 1)[1])


def _stop(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    assert proc.returncode == 0, err
    return out


def fly(tmp: Path, *fault_args: str, mission=None) -> dict:
    """Run + stream f2-nozzle; return the run summary, the stream report and what arrived on the ports.
    ``mission``: what the run flies (default MISSION's rules); the stream plays MISSION's f2-nozzle."""
    cmd_sock, status_sock = _udp_listener(), _udp_listener()
    run = stream = None
    try:
        run, port = _start_run(tmp, cmd_sock.getsockname()[1], status_sock.getsockname()[1], mission)
        stream = subprocess.Popen(
            [*CLI, "stream", "-m", str(MISSION), "--key", str(tmp / "link.key"), "-s", "f2-nozzle",
             "--to", f"udp://127.0.0.1:{port}",
             "--speed", str(SPEED), "--until-s", str(UNTIL_S), "--save-navlog", str(tmp / "played.parquet"),
             *fault_args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        commands, statuses = [], []
        open_cmd, open_status = _opener(tmp / "link.key"), _opener(tmp / "link.key")
        deadline = time.monotonic() + 40
        while stream.poll() is None and time.monotonic() < deadline:
            for sock, out, open_ in ((cmd_sock, commands, open_cmd), (status_sock, statuses, open_status)):
                sock.setblocking(False)
                try:
                    while True:
                        out.append(open_(sock.recv(70000)))
                except BlockingIOError:
                    pass
            time.sleep(0.02)
        s_out, s_err = stream.communicate(timeout=20)
        assert stream.returncode == 0, s_err
        cmd_sock.settimeout(1.0)
        try:
            while sum(isinstance(c, TerminateCommand) for c in commands) < 2 or (
                mission is not None and sum(isinstance(c, DestructCommand) for c in commands) < 2
            ):
                commands.append(open_cmd(cmd_sock.recv(70000)))
        except TimeoutError:
            pass
        summary = json.loads(_stop(run).strip().splitlines()[-1])
        return {
            "summary": summary,
            "report": json.loads(s_out.strip().splitlines()[-1]),
            "commands": commands,
            "statuses": statuses,
        }
    finally:
        for p in (stream, run):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()
        cmd_sock.close()
        status_sock.close()


def _same_file_as_replay(tmp: Path, mission=None) -> None:
    m = load_mission(MISSION) if mission is None else mission
    log = read_navlog(tmp / "decisions.nav.parquet", [s.name for s in m.nav_sources], [s.name for s in m.string_specs])
    replay(m, log).log.write(tmp / "replayed.parquet")
    run_log, replayed = pq.read_table(tmp / "decisions.parquet"), pq.read_table(tmp / "replayed.parquet")
    assert run_log.schema.remove_metadata() == replayed.schema.remove_metadata()
    for name in run_log.column_names:  # every column and value (the header differs: the load's digest)
        x, y = (t.column(name).to_numpy(zero_copy_only=False) for t in (run_log, replayed))
        assert np.array_equal(x, y, equal_nan=True) if x.dtype.kind == "f" else x.tolist() == y.tolist(), name
    digest = json.loads((tmp / "kii-sso.load").read_bytes())["digest_sha256"]
    assert run_log.schema.metadata[LOAD_DIGEST_KEY.encode()] == digest.encode()


@pytest.mark.slow
def test_f2_nozzle_terminates_over_udp_and_matches_replay(tmp_path):
    got = fly(tmp_path)
    s = got["summary"]
    assert s["state"] == "TERMINATED" and s["fired_by"] == "iip-corridor"
    assert 100.0 < s["t_terminate_s"] < 106.0
    cmds = [c for c in got["commands"] if isinstance(c, TerminateCommand)]
    assert cmds
    beats = [c for c in got["commands"] if isinstance(c, HeartbeatPacket)]  # the heartbeat on the command channel
    digest = json.loads((tmp_path / "kii-sso.load").read_bytes())["digest_sha256"]
    assert beats and all(b.load_sha256 == digest for b in beats) and {b.state for b in beats} & {"ARMED", "TERMINATED"}
    assert cmds[0].fired_by == "iip-corridor" and cmds[0].t_terminate_s == s["t_terminate_s"]
    assert [c.repeat for c in cmds] == list(range(len(cmds)))  # latched: repeated with a growing count
    statuses = [p for p in got["statuses"] if isinstance(p, StatusPacket)]
    assert {st.state for st in statuses} >= {"ARMED", "TERMINATED"}
    assert any(isinstance(p, HeartbeatPacket) and "received" in p.counters for p in got["statuses"])
    assert all(st.load_sha256 == digest for st in statuses)
    final = [st for st in statuses if st.state == "TERMINATED"][-1]
    assert final.fired_by == "iip-corridor" and "iip-corridor" in final.margins
    c = s["counters"]
    assert c["received"] == got["report"]["datagrams"] and c.get("malformed", 0) == 0 and c.get("gaps", 0) == 0
    _same_file_as_replay(tmp_path)


@pytest.mark.slow
def test_run_sends_thrust_termination_then_destruct_after_the_missions_delay(tmp_path):
    """The same flight with termination.destruct_after_s 1 s: run sends the thrust termination command (APID
    0x110, as above) and, 1 s of flight time later (to the cycle), the destruct command (APID 0x111), both
    authenticated, latched and repeated; the status turns DESTRUCTED; the decision log replays identically."""
    m = load_mission(MISSION)
    m = m.model_copy(update={"termination": m.termination.model_copy(update={"destruct_after_s": 1.0})})
    got = fly(tmp_path, mission=m)
    s = got["summary"]
    assert s["state"] == "DESTRUCTED" and s["fired_by"] == "iip-corridor"
    assert 100.0 < s["t_terminate_s"] < 105.0
    assert s["destructed_by"] == "destruct-after:1"
    assert abs(s["t_destruct_s"] - (s["t_terminate_s"] + 1.0)) < 1.0 / m.cycle_hz + 1e-9
    cmds = [c for c in got["commands"] if isinstance(c, TerminateCommand | DestructCommand)]
    first_destruct = next(k for k, c in enumerate(cmds) if isinstance(c, DestructCommand))
    assert isinstance(cmds[0], TerminateCommand) and first_destruct > 0  # in order: thrust termination first
    destructs = [c for c in cmds if isinstance(c, DestructCommand)]
    assert destructs[0].t_destruct_s == s["t_destruct_s"] and destructs[0].fired_by == "destruct-after:1"
    assert [c.repeat for c in destructs] == list(range(len(destructs))) and len(destructs) >= 2
    terminates = [c for c in cmds if isinstance(c, TerminateCommand)]
    assert [c.repeat for c in terminates] == list(range(len(terminates)))
    statuses = [p for p in got["statuses"] if isinstance(p, StatusPacket)]
    assert {st.state for st in statuses} >= {"ARMED", "TERMINATED", "DESTRUCTED"}
    assert s["counters"]["destruct_sent"] >= 2
    _same_file_as_replay(tmp_path, m)


@pytest.mark.slow
def test_bad_link_counts_every_fault_and_decides_like_the_clean_run(tmp_path):
    got = fly(
        tmp_path, "--loss", "0.2", "--duplicate", "0.05", "--reorder", "0.05", "--corrupt", "0.01", "--seed", "11"
    )
    s, rep, c = got["summary"], got["report"], got["summary"]["counters"]
    assert rep["lost"] > 0 and rep["corrupted"] > 0 and rep["duplicated"] > 0 and rep["reordered"] > 0
    # every bad packet counted and rejected
    assert c["received"] == rep["datagrams"]
    assert c.get("malformed", 0) == rep["corrupted"]
    assert c.get("auth_replay", 0) == rep["duplicated"]  # the same signed bytes twice: a replay, dropped
    assert c.get("duplicate", 0) == 0 and c.get("auth_bad_mac", 0) == 0
    assert c.get("out_of_order", 0) == rep["reordered"]
    assert c.get("gaps", 0) - c.get("out_of_order", 0) == rep["lost"] + rep["corrupted"]
    # the decision log is still exactly what replay of the accepted nav gives
    _same_file_as_replay(tmp_path)
    # and it decides like the clean run (replay of the full, fault-free nav log that was played)
    m = load_mission(MISSION)
    names = ([x.name for x in m.nav_sources], [x.name for x in m.string_specs])
    played = read_navlog(tmp_path / "played.parquet", *names)
    keep = played.t_s <= UNTIL_S
    clean = replay(
        m,
        type(played)(
            *(a[keep] if isinstance(a, np.ndarray) and a.shape[:1] == keep.shape else a for a in vars(played).values())
        ),
    ).log.table()
    bad = pq.read_table(tmp_path / "decisions.parquet")
    # accepted samples are a subset of the clean ones, bit for bit (nothing corrupted got in)
    acc = pq.read_table(tmp_path / "decisions.nav.parquet")
    clean_rows = {
        (t, repr(x), src)
        for t, x, src in zip(played.t_s.tolist(), played.r_ecef[:, 0].tolist(), played.source.tolist(), strict=True)
    }
    src_index = {n: i for i, n in enumerate(names[0])}
    assert all(
        (t, repr(x), src_index[src]) in clean_rows
        for t, x, src in zip(
            acc.column("t_s").to_pylist(),
            acc.column("x_ecef_m").to_pylist(),
            acc.column("source").to_pylist(),
            strict=True,
        )
    )
    # the data-loss rule never fired (20 % loss cannot silence a 10 Hz source for its 2 s green time)
    assert not any(bad.column("violated__nav-loss").to_pylist())
    assert s["state"] == "TERMINATED" and s["fired_by"] == "iip-corridor"
    t_clean = clean.column("t_s").to_numpy()[np.asarray(clean.column("terminate_now").to_pylist())][0]
    assert abs(s["t_terminate_s"] - t_clean) <= 0.5  # persistence 0.5 s judged on samples 0.1 s apart
    # state by state: equal wherever both runs have a sample, away from the two transitions
    clean_state = dict(zip(clean.column("t_s").to_pylist(), clean.column("state").to_pylist(), strict=True))
    t_arm = min(t for t, st in clean_state.items() if st == "ARMED")
    for t, st in zip(bad.column("t_s").to_pylist(), bad.column("state").to_pylist(), strict=True):
        if t in clean_state and abs(t - t_arm) > 0.5 and abs(t - t_clean) > 0.5 and math.isfinite(t):
            assert st == clean_state[t], t

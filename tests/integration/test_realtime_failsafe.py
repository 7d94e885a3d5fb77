"""`rangeguard run` fails safe (issue 13): silence trips data loss on its own clock, a glitched or
jumped packet never terminates or blinds it, and nothing (logging, status size, options, a mission
without rules) stops the process.

Flights are simulated nav logs of the bundled missions played over loopback at 4x with
``--time-scale 4`` (a sender stalled for a few hundred milliseconds by a busy machine is then still
less than the 2 s green time of flight); every process and socket a test starts is closed by it.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from rangeguard.formats.navlog import read_navlog
from rangeguard.mission import load_mission, mission_from_dict
from rangeguard.replay import replay
from rangeguard.sim.sensors import scenario_navlog
from rangeguard.telemetry.packets import (
    MAX_DATAGRAM_LEN,
    NavPacket,
    StatusPacket,
    TerminateCommand,
    decode_packet,
    encode_nav,
    encode_status,
)
from rangeguard.telemetry.stream import navlog_frames, navlog_from_table, play

ROOT = Path(__file__).resolve().parents[2]
CLI = [sys.executable, "-m", "rangeguard.cli"]
SPEED = 4.0
GREEN_S = 2.0  # both bundled missions' nav-loss green time
CYCLE_S = 0.1  # their engine cycle (cycle_hz default 10)


def frames_of(mission_path: Path, scenario: str | None, until_s: float):
    m = load_mission(mission_path)
    table = scenario_navlog(m, scenario, t_max_s=until_s + 1.0)
    return m, navlog_frames(navlog_from_table(m, table), t_max_s=until_s)


class Run:
    """``rangeguard run`` as a subprocess with a command and a status listener."""

    def __init__(self, tmp: Path, mission: Path, *extra: str):
        self.cmd = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.cmd.bind(("127.0.0.1", 0))
        self.cmd.settimeout(0.05)
        self.commands: list = []
        self.log = tmp / "decisions.parquet"
        self.proc = subprocess.Popen(
            [*CLI, "run", "-m", str(mission), "--listen", "udp://127.0.0.1:0",
             "--command", f"udp://127.0.0.1:{self.cmd.getsockname()[1]}", "--log", str(self.log),
             "--time-scale", str(SPEED), "--max-s", "60", "--insecure", "--unsealed", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        line = self.proc.stdout.readline()
        if not line.startswith("listening on udp://"):
            self.close()
            raise AssertionError(f"run did not start: {line!r}")
        self.address = ("127.0.0.1", int(line.rsplit(":", 1)[1]))

    def collect(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                self.commands.append(decode_packet(self.cmd.recv(70000)))
            except TimeoutError:
                pass

    def stop(self) -> dict:
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=30)
        assert self.proc.returncode == 0, err
        assert "Traceback" not in err, err
        return json.loads(out.strip().splitlines()[-1])

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.cmd.close()


def same_as_replay(tmp: Path, mission) -> None:
    """The decision log of the run is byte-identical to a replay of the nav log it recorded."""
    names = [s.name for s in mission.nav_sources]
    log = read_navlog(tmp / "decisions.nav.parquet", names, [s.name for s in mission.string_specs])
    replay(mission, log).log.write(tmp / "replayed.parquet")
    assert (tmp / "decisions.parquet").read_bytes() == (tmp / "replayed.parquet").read_bytes()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["sounding", "kii-sso"])
def test_silence_terminates_within_green_time_plus_one_cycle_and_replays_identically(tmp_path, name):
    """The nav stream stops at T+12 s (every source). The run steps silent cycles on its clock: the
    data-loss rule degrades every string once the silence exceeds the 2 s green time (within one 0.1 s
    cycle of it), and with no healthy string left (sounding: 1oo2, a faulty string votes; kii:
    health_degraded, none left) the terminate command goes out, dated when it was decided."""
    path = ROOT / "missions" / f"{name}.yaml"
    m, frames = frames_of(path, None, 12.0)
    t_last = max(decode_packet(f.data).t_s for f in frames if f.apid == 0x100)
    run = Run(tmp_path, path)
    try:
        play([(f.send_s, f.data) for f in frames], run.address, speed=SPEED)
        run.collect(2.0)  # 8 s of flight time of silence
        summary = run.stop()
    finally:
        run.close()
    assert summary["state"] == "TERMINATED" and summary["fired_by"] == "nav-loss", summary
    assert t_last + GREEN_S - 1e-6 <= summary["t_terminate_s"] <= t_last + GREEN_S + CYCLE_S + 0.05
    terminates = [c for c in run.commands if isinstance(c, TerminateCommand)]
    assert terminates and terminates[0].t_terminate_s == summary["t_terminate_s"]
    assert summary["silent_cycles"] >= 20
    same_as_replay(tmp_path, m)


def _nav(frame) -> NavPacket:
    return decode_packet(frame.data)


@pytest.mark.slow
def test_a_glitched_time_tag_and_a_sequence_jump_neither_terminate_nor_blind_the_run(tmp_path):
    """Sounding, fin-loss scenario (tumble at T+20 s: the tumble rule terminates about half a second later).
    At T+5.0 the nav packet carries t = 1e9 (a time-tag glitch) and at T+8.0 one packet's sequence count
    jumps 5000 ahead. The glitch is rejected by the nav gate (no terminate "at T+1e9"); the counter
    resynchronises after 3 packets instead of rejecting every later one as out of order, so the tumble
    is still seen and terminated by the tumble rule."""
    path = ROOT / "missions" / "sounding.yaml"
    m, frames = frames_of(path, "fin-loss", 25.0)
    nav = [i for i, f in enumerate(frames) if f.apid == 0x100]
    glitch = next(i for i in nav if _nav(frames[i]).t_s >= 5.0)
    jump = next(i for i in nav if _nav(frames[i]).t_s >= 8.0)
    datagrams = []
    for i, f in enumerate(frames):
        data = f.data
        if i == glitch:
            pkt = _nav(f)
            pkt.t_s = 1e9
            data = encode_nav(pkt, pkt.seq)
        elif i == jump:
            pkt = _nav(f)
            data = encode_nav(pkt, pkt.seq + 5000)
        datagrams.append((f.send_s, data))
    run = Run(tmp_path, path)
    try:
        play(datagrams, run.address, speed=SPEED)
        run.collect(0.3)
        summary = run.stop()
    finally:
        run.close()
    assert summary["state"] == "TERMINATED" and summary["fired_by"] == "tumble", summary
    assert 20.0 < summary["t_terminate_s"] < 22.0
    assert summary["engine_rejected_by"]["time_ahead"] == 1
    assert summary["counters"]["resync"] == 1
    assert all(c.t_terminate_s < 1e6 for c in run.commands if isinstance(c, TerminateCommand))
    same_as_replay(tmp_path, m)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--terminate-hz", "0"], "--terminate-hz must be between"),
        (["--terminate-hz", "nan"], "--terminate-hz must be between"),
        (["--allow", "10.0.0.5"], "--allow 10.0.0.5 can never match"),
        (["--allow", "0.0.0.0"], "not the address of a sender"),
        (["--time-scale", "inf"], "--time-scale must be a positive number"),
    ],
)
def test_options_that_cannot_work_are_refused_at_start(tmp_path, args, message):
    proc = subprocess.run([*CLI, "run", "-m", str(ROOT / "missions" / "sounding.yaml"), "--listen",
                           "udp://127.0.0.1:0", "--command", "udp://127.0.0.1:9", "--max-s", "1",
                           "--insecure", "--unsealed", *args],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_a_log_path_that_is_a_directory_is_refused_at_start(tmp_path):
    proc = subprocess.run([*CLI, "run", "-m", str(ROOT / "missions" / "sounding.yaml"), "--listen",
                           "udp://127.0.0.1:0", "--command", "udp://127.0.0.1:9", "--max-s", "1",
                           "--insecure", "--unsealed", "--log", str(tmp_path)],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert proc.returncode == 2 and "is a folder" in proc.stderr, proc.stderr


def _serve(afss):
    th = threading.Thread(target=afss.serve, kwargs={"max_s": 30}, daemon=True)
    th.start()
    return th


def _climb_packets(n: int, t0: float = 0.1, dt: float = 0.1):
    """Nav packets of a vertical climb at 100 m/s from the sounding pad (a consistent track)."""
    from rangeguard.earth import ecef_to_enu_matrix, geodetic_to_ecef

    site = load_mission(ROOT / "missions" / "sounding.yaml").site
    rot = ecef_to_enu_matrix(site.lat_deg, site.lon_deg)
    pad = geodetic_to_ecef(site.lat_deg, site.lon_deg, site.alt_m)
    out = []
    for k in range(n):
        t = t0 + k * dt
        r = pad + rot.T @ np.array([0.0, 0.0, 100.0 * t])
        v = rot.T @ np.array([0.0, 0.0, 100.0])
        out.append(encode_nav(NavPacket(t, tuple(r), tuple(v)), k))
    return out


def _send(tx, afss, packets, gap_s: float = 0.02) -> None:
    for data in packets:
        tx.sendto(data, afss.listen)
        time.sleep(gap_s)


def test_a_log_write_error_is_reported_and_the_afss_goes_on(tmp_path):
    """Every nav-log part write fails (a full disk): the loop counts it, says so once on stderr, and goes on
    judging packets; the final logs are still written when the disk is back."""
    import io

    from rangeguard.telemetry.afss import RealtimeAfss
    from rangeguard.telemetry.link import UdpAddress

    m = load_mission(ROOT / "missions" / "sounding.yaml")
    err = io.StringIO()
    afss = RealtimeAfss(
        m,
        UdpAddress("127.0.0.1", 0),
        UdpAddress("127.0.0.1", 9),
        None,
        log_path=tmp_path / "d.parquet",
        navlog_path=tmp_path / "d.nav.parquet",
        flush_s=0.05,
        err=err,
        insecure=True,  # these tests are about fail-safe behaviour; authentication: test_realtime_spoof.py
    )

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    real = afss.navlog.write_part
    afss.navlog.write_part = full_disk
    th = _serve(afss)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        _send(tx, afss, _climb_packets(20))
        deadline = time.monotonic() + 10
        while afss.counters["nav_accepted"] < 20 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert th.is_alive() and afss.counters["nav_accepted"] == 20
        assert afss.counters["log_errors"] >= 2 and err.getvalue().count("No space left on device") == 1
        afss.navlog.write_part = real
    finally:
        afss.stop = True
        th.join(10)
        afss.flush(final=True)
        afss.close()
        tx.close()
    assert (tmp_path / "d.parquet").exists() and (tmp_path / "d.nav.parquet").exists()


def _many_rules_mission(n_rules: int):
    rules = [
        {"name": f"r{j:03d}-" + "x" * 240, "type": "body_rate", "max_rate_deg_s": 1000.0 + j} for j in range(n_rules)
    ]
    base = yaml.safe_load((ROOT / "missions" / "sounding.yaml").read_text())
    data = {k: v for k, v in base.items() if k not in ("vehicle", "dispersions", "scenarios", "areas", "rules")}
    return mission_from_dict({**data, "rules": rules})


def test_a_status_packet_of_300_long_named_rules_fits_one_datagram():
    """300 rules of 245-byte names need 300 x (1 + 245 + 8) = 76 200 bytes of margins alone: more than a
    UDP datagram. The packet keeps what fits (violated margins first), says how many it left out, and
    decodes."""
    margins = {f"r{j:03d}-" + "x" * 240: (-1.0 if j == 299 else float(j)) for j in range(300)}
    pkt = StatusPacket(10.0, "ARMED", None, "ARMED since T+0.10 s", margins, counters={"received": 5})
    data = encode_status(pkt, 0)
    assert len(data) <= MAX_DATAGRAM_LEN
    back = decode_packet(data)
    kept = len(back.margins)
    assert 200 < kept < 300 and back.counters["margins_omitted"] == 300 - kept
    assert back.margins["r299-" + "x" * 240] == -1.0  # the violated one is kept


def test_a_run_with_300_rules_sends_status_and_does_not_crash(tmp_path):
    from rangeguard.telemetry.afss import RealtimeAfss
    from rangeguard.telemetry.link import UdpAddress

    status = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    status.bind(("127.0.0.1", 0))
    status.settimeout(2.0)
    afss = RealtimeAfss(
        _many_rules_mission(300),
        UdpAddress("127.0.0.1", 0),
        UdpAddress("127.0.0.1", 9),
        UdpAddress("127.0.0.1", status.getsockname()[1]),
        status_hz=20.0,
        insecure=True,  # these tests are about fail-safe behaviour; authentication: test_realtime_spoof.py
    )
    th = _serve(afss)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        _send(tx, afss, _climb_packets(10))
        got = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(isinstance(p, StatusPacket) and p.state == "ARMED" for p in got):
            got.append(decode_packet(status.recv(70000)))
        assert th.is_alive() and afss.counters["loop_errors"] == 0
        assert any(
            isinstance(p, StatusPacket) and p.state == "ARMED" and p.counters.get("margins_omitted") for p in got
        )
    finally:
        afss.stop = True
        th.join(10)
        afss.close()
        tx.close()
        status.close()


def test_the_terminate_command_repeats_until_the_process_stops(tmp_path):
    """A tumble (body rate above the sounding's 40 deg/s for 0.5 s) terminates; with --terminate-hz 20 the
    command is sent again every 50 ms: over 0.5 s at least 5 more sendings, counted by ``repeat``."""
    from rangeguard.telemetry.afss import RealtimeAfss
    from rangeguard.telemetry.link import UdpAddress

    cmd = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    cmd.bind(("127.0.0.1", 0))
    cmd.settimeout(0.05)
    m = load_mission(ROOT / "missions" / "sounding.yaml")
    afss = RealtimeAfss(
        m,
        UdpAddress("127.0.0.1", 0),
        UdpAddress("127.0.0.1", cmd.getsockname()[1]),
        terminate_hz=20.0,
        time_scale=SPEED,
        insecure=True,  # these tests are about fail-safe behaviour; authentication: test_realtime_spoof.py
    )
    th = _serve(afss)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    got = []
    try:
        for k, data in enumerate(_climb_packets(20)):
            pkt = decode_packet(data)
            if k >= 5:
                pkt.omega_body_rad_s = (0.0, 1.0, 0.0)  # 57 deg/s
            tx.sendto(encode_nav(pkt, k), afss.listen)
            time.sleep(0.1 / SPEED)
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            try:
                got.append(decode_packet(cmd.recv(70000)))
            except TimeoutError:
                pass
    finally:
        afss.stop = True
        th.join(10)
        afss.close()
        tx.close()
        cmd.close()
    repeats = [c.repeat for c in got if isinstance(c, TerminateCommand)]
    assert repeats[:1] == [0] and len(repeats) >= 6 and repeats == sorted(repeats)


def test_run_replay_and_simulate_work_with_a_mission_without_rules(tmp_path):
    base = yaml.safe_load((ROOT / "missions" / "sounding.yaml").read_text())
    base["rules"] = []
    base["scenarios"] = {}
    base["vehicle"] = str(ROOT / "missions" / "vehicles" / "sounding.yaml")
    for a in base["areas"]:
        if "geojson" in a:
            a["geojson"] = str(ROOT / "missions" / a["geojson"])
    path = tmp_path / "norules.yaml"
    path.write_text(yaml.safe_dump(base))
    sim = subprocess.run([*CLI, "simulate", str(path), "--out", str(tmp_path / "sim"), "--no-report", "--json"],
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert sim.returncode == 0 and "Traceback" not in sim.stderr, sim.stderr
    assert json.loads(sim.stdout.strip().splitlines()[-1])["terminated"] == 0
    m, frames = frames_of(path, None, 3.0)
    run = Run(tmp_path, path)
    try:
        play([(f.send_s, f.data) for f in frames], run.address, speed=SPEED)
        run.collect(0.2)
        summary = run.stop()
    finally:
        run.close()
    assert summary["state"] == "ARMED"
    same_as_replay(tmp_path, m)

"""A spoofer on 127.0.0.1 (an allowed address) beside the genuine signed nav stream: nothing it sends
changes a decision, and everything it sends is counted by reason.

The genuine stream is the Kii mission's nominal flight, T+50..T+62 s, signed with the pre-shared
key (sender SPI 1), played at 2.5x into `rangeguard run` (a separate process: a stall of this
one can only delay both senders, never the AFSS's judgement of them). After every genuine packet the
spoofer sends one of: a nav sample 300 km west of the vehicle (a consistent track: accepted, it
would move the IIP out of the corridor and terminate) without a MAC, the same signed with another
key, the same signed with the right key under a sender SPI the AFSS does not take, or a replay of
the genuine packet just sent. The run with the spoofer must decide exactly like the run without it.

The run flies a sealed load of the mission with the data-loss green time raised to
:data:`GREEN_S`: the test is about who is believed, and a scheduling stall of the loaded test
machine (a first-use compile in a fresh process) must not be judged as silence in one run only.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from rangeguard.formats.missionload import open_load, seal_mission
from rangeguard.formats.navlog import read_navlog
from rangeguard.keyfile import read_key_file, write_key_file
from rangeguard.mission import mission_from_dict
from rangeguard.mission.yaml_io import load_yaml
from rangeguard.replay import replay
from rangeguard.sim.sensors import scenario_navlog
from rangeguard.telemetry.auth import SPI_VEHICLE, Signer
from rangeguard.telemetry.packets import APID_NAV, NavPacket, decode_packet, encode_nav
from rangeguard.telemetry.stream import navlog_frames, navlog_from_table

MISSION = Path(__file__).resolve().parents[2] / "missions" / "kii-sso.yaml"
CLI = [sys.executable, "-m", "rangeguard.cli"]
SPEED = 2.5  # the 2 s data-loss green time is 0.8 s of wall time: far longer than the run needs to stop
T_FROM_S, T_TO_S = 50.0, 58.0
OFFSET_M = np.array([-300e3 * 0.5, -300e3 * 0.8, 0.0])  # about 300 km off the track (ECEF)
KINDS = ("unsigned", "wrong_key", "unknown_spi", "replay")
GREEN_S = 30.0


def _forged(data: bytes, seq: int) -> bytes:
    """The genuine nav packet moved far outside the corridor (unsigned)."""
    pkt = decode_packet(data)
    assert isinstance(pkt, NavPacket)
    r = tuple((np.asarray(pkt.r_ecef) + OFFSET_M).tolist())
    return encode_nav(NavPacket(pkt.t_s, r, pkt.v_ecef, pkt.q_body_to_ecef, pkt.omega_body_rad_s, pkt.source), seq)


def _sealed_mission(tmp: Path, key: Path) -> Path:
    """The mission with a long data-loss green time, sealed into ``tmp``."""
    doc = load_yaml((MISSION).read_text())
    for rule in doc["rules"]:
        if rule["type"] == "data_loss":
            rule["green_time_s"] = GREEN_S
    load = tmp / "spoof.load"
    load.write_bytes(seal_mission(mission_from_dict(doc, base_dir=MISSION.parent), read_key_file(key)))
    return load


def _start_run(tmp: Path, key: Path) -> tuple[subprocess.Popen, tuple[str, int]]:
    proc = subprocess.Popen(
        [*CLI, "run", "-m", str(tmp.parent / "spoof.load"), "--key", str(key), "--listen", "udp://127.0.0.1:0",
         "--command", "udp://127.0.0.1:9", "--log", str(tmp / "decisions.parquet"), "--time-scale", str(SPEED),
         "--max-s", "60"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = proc.stdout.readline()
    if not line.startswith("listening on udp://"):
        proc.kill()
        raise AssertionError(f"run did not start: {line!r} {proc.communicate()[1]}")
    return proc, ("127.0.0.1", int(line.rsplit(":", 1)[1]))


def _stop(proc: subprocess.Popen) -> dict:
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and "Traceback" not in err, err
    return json.loads(out.strip().splitlines()[-1])


def _fly(tmp: Path, frames, key_path: Path, spoof: bool) -> tuple[dict, Path]:
    key = read_key_file(key_path)
    genuine, forger = Signer(key, SPI_VEHICLE), Signer(write_key_file(tmp / "other.key"), SPI_VEHICLE)
    intruder = Signer(key, 7)  # the right key, a sender the AFSS does not take nav from
    tx, spoofer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sent = dict.fromkeys(KINDS, 0)
    proc, listen = _start_run(tmp, key_path)
    try:
        start = time.perf_counter()
        for k, f in enumerate(frames):
            while (ahead := start + (f.send_s - frames[0].send_s) / SPEED - time.perf_counter()) > 0:
                time.sleep(ahead)
            signed = genuine.sign(f.data)
            tx.sendto(signed, listen)
            if not spoof or f.apid != APID_NAV:
                continue
            kind = KINDS[k % len(KINDS)]
            fake = _forged(f.data, f.seq + 1)
            data = {
                "unsigned": fake,
                "wrong_key": forger.sign(fake),
                "unknown_spi": intruder.sign(fake),
                "replay": signed,
            }[kind]
            spoofer.sendto(data, listen)
            sent[kind] += 1
        time.sleep(0.1)  # for the last datagrams to be read: 0.25 s of flight, far inside the green time
        summary = _stop(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        tx.close()
        spoofer.close()
    summary["sent"] = sent
    summary["genuine"] = len(frames)
    summary["genuine_nav"] = sum(f.apid == APID_NAV for f in frames)
    return summary, tmp / "decisions.parquet"


def test_a_spoofer_changes_no_decision_and_every_forgery_is_counted_by_reason(tmp_path):
    write_key_file(tmp_path / "link.key")
    (tmp_path / "clean").mkdir()
    (tmp_path / "spoofed").mkdir()
    m = open_load(_sealed_mission(tmp_path, tmp_path / "link.key"), read_key_file(tmp_path / "link.key"))[0]
    table = scenario_navlog(m, None, t_max_s=T_TO_S + 1.0)
    frames = [f for f in navlog_frames(navlog_from_table(m, table), t_max_s=T_TO_S) if f.send_s >= T_FROM_S]
    clean, clean_log = _fly(tmp_path / "clean", frames, tmp_path / "link.key", spoof=False)
    spoofed, spoofed_log = _fly(tmp_path / "spoofed", frames, tmp_path / "link.key", spoof=True)
    c, sent = spoofed["counters"], spoofed["sent"]
    assert all(v > 0 for v in sent.values())
    # every forgery dropped before the decoder, counted by reason
    assert c["received"] == spoofed["genuine"] + sum(sent.values())
    assert c.get("auth_bad_mac", 0) == sent["unsigned"] + sent["wrong_key"]
    assert c.get("auth_unknown_source", 0) == sent["unknown_spi"]
    assert c.get("auth_replay", 0) == sent["replay"]
    assert c.get("malformed", 0) == 0 and c.get("duplicate", 0) == 0
    # ... and the genuine stream taken exactly as without the spoofer
    assert c["nav_accepted"] == clean["counters"]["nav_accepted"] == spoofed["genuine_nav"]
    assert spoofed["state"] == clean["state"] == "ARMED", (clean, spoofed)
    assert spoofed["fired_by"] is clean["fired_by"] is None
    a, b = pq.read_table(clean_log), pq.read_table(spoofed_log)
    assert not any(b.column("terminate_now").to_pylist())
    nav_a, nav_b = (
        pq.read_table(clean_log.with_name("decisions.nav.parquet")),
        pq.read_table(spoofed_log.with_name("decisions.nav.parquet")),
    )
    cols = ("t_s", "source", "x_ecef_m", "y_ecef_m", "z_ecef_m")
    rows_a, rows_b = (set(zip(*(t.column(c).to_pylist() for c in cols), strict=True)) for t in (nav_a, nav_b))
    names = [src.name for src in m.nav_sources]
    genuine = set()
    for f in frames:
        if f.apid == APID_NAV:
            nav = decode_packet(f.data)
            genuine.add((nav.t_s, names[nav.source], *nav.r_ecef))
    # every sample either run stepped is a genuine one, bit for bit (nothing forged got in) ...
    assert rows_a <= genuine and rows_b <= genuine and len(rows_b) >= len(genuine) // 2
    # ... and both stepped the same samples unless a scheduling stall made one of them supersede some
    if not clean["counters"].get("superseded") and not spoofed["counters"].get("superseded"):
        assert rows_a == rows_b
    # the decisions at every data time agree (the runs' receive clocks differ by scheduling only)
    states_a = dict(zip(a.column("t_s").to_pylist(), a.column("state").to_pylist(), strict=True))
    states_b = dict(zip(b.column("t_s").to_pylist(), b.column("state").to_pylist(), strict=True))
    common = set(states_a) & set(states_b)
    assert len(common) >= spoofed["genuine_nav"] // 2
    assert all(states_a[t] == states_b[t] for t in common)
    # and the spoofed run's log is what replay of the nav it took gives
    log = read_navlog(
        spoofed_log.with_name("decisions.nav.parquet"),
        [s.name for s in m.nav_sources],
        [s.name for s in m.string_specs],
    )
    replay(m, log).log.write(tmp_path / "replayed.parquet")
    _same_table(pq.read_table(tmp_path / "replayed.parquet"), b)


def _same_table(a, b) -> None:
    """Equal columns and values (NaN equal to NaN); the header (schema metadata) may differ."""
    assert a.schema.remove_metadata() == b.schema.remove_metadata()
    for name in a.column_names:
        x, y = a.column(name).to_numpy(zero_copy_only=False), b.column(name).to_numpy(zero_copy_only=False)
        if x.dtype.kind == "f":
            assert np.array_equal(x, y, equal_nan=True), name
        else:
            assert x.tolist() == y.tolist(), name

"""Fuzz the listener of the real-time AFSS over loopback: random bytes, truncated and bit-flipped
valid packets, foreign APIDs and a foreign sender. Nothing crashes, every datagram is counted in
exactly one rejection class, and valid nav keeps being judged afterwards.

Run with authentication (the flight configuration: every valid packet signed; unsigned ones are
``auth_bad_mac``) and with ``insecure`` (lab use: no trailer)."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from rangeguard.earth import geodetic_to_ecef
from rangeguard.keyfile import write_key_file
from rangeguard.mission import load_mission
from rangeguard.telemetry.afss import RealtimeAfss
from rangeguard.telemetry.auth import SPI_VEHICLE, Signer
from rangeguard.telemetry.link import UdpAddress
from rangeguard.telemetry.packets import (
    NavPacket,
    StatusPacket,
    TerminateCommand,
    _frame,
    encode_nav,
    encode_status,
    encode_terminate,
)

MISSION = Path(__file__).resolve().parents[2] / "missions" / "kii-sso.yaml"


def _wait_for(cond, timeout=10.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end and not cond():
        time.sleep(0.01)
    return cond()


@pytest.mark.parametrize("authenticated", [True, False], ids=["signed", "insecure"])
def test_fuzzed_datagrams_are_counted_and_rejected_never_a_crash(tmp_path, authenticated):
    m = load_mission(MISSION)
    key = write_key_file(tmp_path / "link.key") if authenticated else None
    signer = Signer(key, SPI_VEHICLE) if key is not None else None

    def pack(data: bytes) -> bytes:
        return data if signer is None else signer.sign(data)

    afss = RealtimeAfss(
        m,
        UdpAddress("127.0.0.1", 0),
        UdpAddress("127.0.0.1", 9),
        None,
        log_path=tmp_path / "d.parquet",
        navlog_path=tmp_path / "n.parquet",
        max_backlog_cycles=8,
        key=key,
        insecure=key is None,
    )
    server = threading.Thread(target=afss.serve, kwargs={"max_s": 60})
    server.start()
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    foreign = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    foreign.bind(("127.0.0.2", 0))
    try:
        rng = np.random.default_rng(2024)
        r0 = geodetic_to_ecef(m.site.lat_deg, m.site.lon_deg, m.site.alt_m)
        valid = pack(encode_nav(NavPacket(0.0, tuple(r0), (0.0, 0.0, 0.0)), 0))
        expected = {"malformed": 0, "rejected_apid": 0, "rejected_address": 0, "auth_bad_mac": 0}
        for _ in range(1500):  # random bytes of every length up to 200
            tx.sendto(rng.bytes(int(rng.integers(1, 200))), afss.listen)
            expected["malformed"] += 1
        for n in range(len(valid)):  # every truncation of a valid packet
            tx.sendto(valid[:n] or b"\x00", afss.listen)
            expected["malformed"] += 1
        for _ in range(1000):  # 1..8 random bit flips
            bad = bytearray(valid)
            for bit in rng.integers(0, 8 * len(bad), size=int(rng.integers(1, 9))):
                bad[bit // 8] ^= 1 << (bit % 8)
            if bytes(bad) != valid:
                tx.sendto(bytes(bad), afss.listen)
                expected["malformed"] += 1
        for apid in (0x000, 0x0FF, 0x7FF):  # well-formed, unknown APID
            tx.sendto(pack(_frame(apid, 0, rng.bytes(20))), afss.listen)
            expected["malformed"] += 1
        # well-formed packets that are ours but not inputs: status and a terminate command
        tx.sendto(pack(encode_status(StatusPacket(1.0, "ARMED"), 0)), afss.listen)
        tx.sendto(pack(encode_terminate(TerminateCommand(1.0), 0)), afss.listen)
        expected["rejected_apid"] += 2
        if signer is not None:  # well-formed but unsigned: never decoded
            tx.sendto(encode_nav(NavPacket(0.0, tuple(r0), (0.0, 0.0, 0.0)), 1), afss.listen)
            expected["auth_bad_mac"] += 1
        foreign.sendto(valid, afss.listen)  # not in --allow
        expected["rejected_address"] += 1
        total = expected["malformed"] + 3 + expected["auth_bad_mac"]
        assert _wait_for(lambda: afss.counters["received"] >= total), afss.counters
        c = afss.counters
        assert c["received"] == total
        for key, value in expected.items():
            assert c[key] == value, (key, c)
        assert c["nav_accepted"] == 0 and c["cycles"] == 0
        # still alive and judging: 20 valid samples at 10 Hz on the pad
        for k in range(20):
            tx.sendto(pack(encode_nav(NavPacket(0.1 * k, tuple(r0), (0.0, 0.0, 0.0), source=k % 2), k)), afss.listen)
        # sent in a burst: a backlog beyond max_backlog_cycles is superseded (counted), the rest stepped
        assert _wait_for(lambda: afss.counters["cycles"] + afss.counters["superseded"] == 20), afss.counters
        assert afss.counters["nav_accepted"] == 20 and afss.counters["cycles"] >= afss.max_backlog_cycles
        assert afss.summary()["state"] == "SAFE"
    finally:
        afss.stop = True
        server.join(timeout=10)
        afss.flush(final=True)
        afss.close()
        tx.close()
        foreign.close()
    assert not server.is_alive()
    assert (tmp_path / "d.parquet").exists() and (tmp_path / "n.parquet").exists()

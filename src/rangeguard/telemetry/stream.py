"""The streamer: a nav log played as packets, with seeded link faults.

The nav log comes from the caller: a recorded one, or a simulated flight
(``rangeguard stream`` wires the simulator in: rangeguard.sim.sensors.scenario_navlog).
:func:`navlog_frames` turns a nav log into the packets a flight computer would
send, in send order (the log's receive_time_s, default t_s): one nav packet
per row, and a string-health packet whenever the health columns change (and
once a second). :func:`inject_faults` applies the link faults and reports
exactly what it did; :func:`play` sends the result over UDP, paced in real
time times ``speed`` or as fast as possible.
"""

from __future__ import annotations

import math
import socket
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from rangeguard.errors import InputError
from rangeguard.formats.navlog import NavLog, from_table
from rangeguard.telemetry.packets import (
    APID_HEALTH,
    APID_NAV,
    HealthPacket,
    NavPacket,
    encode_health,
    encode_nav,
)

HEALTH_REPEAT_S = 1.0
"""String-health packets are repeated at least this often (s, flight time)."""


@dataclass(frozen=True)
class Frame:
    """One packet to send: ``send_s`` on the flight-time axis, its APID and sequence count, the bytes."""

    send_s: float
    apid: int
    seq: int
    data: bytes


def navlog_frames(log: NavLog, t_max_s: float = math.inf) -> list[Frame]:
    """Packets for every row of ``log`` with t_s <= t_max_s, in send order (see the module docstring).

    Rows of unknown sources (source -1) are skipped. Sequence counts run per APID from 0.
    """
    seq: Counter[int] = Counter()
    frames: list[Frame] = []
    last_health = None
    last_health_s = -math.inf
    send = np.where(np.isfinite(log.receive_time_s), log.receive_time_s, log.t_s)
    order = np.argsort(send, kind="stable")
    for k in order.tolist():
        t = float(log.t_s[k])
        if not t <= t_max_s or log.source[k] < 0:
            continue
        s = float(send[k])
        if log.health is not None:
            h = tuple(bool(x) for x in log.health[k])
            if h != last_health or s - last_health_s >= HEALTH_REPEAT_S:
                frames.append(
                    Frame(s, APID_HEALTH, seq[APID_HEALTH], encode_health(HealthPacket(s, h), seq[APID_HEALTH]))
                )
                seq[APID_HEALTH] += 1
                last_health, last_health_s = h, s
        nav = NavPacket(
            t,
            tuple(log.r_ecef[k].tolist()),
            tuple(log.v_ecef[k].tolist()),
            tuple(log.q_body_to_ecef[k].tolist()),
            tuple(log.omega_body_rad_s[k].tolist()),
            int(log.source[k]),
            bool(log.valid[k]),
        )
        frames.append(Frame(s, APID_NAV, seq[APID_NAV], encode_nav(nav, seq[APID_NAV])))
        seq[APID_NAV] += 1
    return frames


def sign_frames(frames: list[Frame], signer) -> list[Frame]:
    """The frames with their security trailer (rangeguard.telemetry.auth.Signer), in send order.

    Signed before the link faults are applied: a duplicate is then a replay of the same bytes (the
    receiver counts it ``auth_replay``), a corrupted packet fails the CRC (``malformed``)."""
    return [Frame(f.send_s, f.apid, f.seq, signer.sign(f.data)) for f in frames]


def navlog_from_table(mission, table: pa.Table, where: str = "nav log") -> NavLog:
    """A nav log table checked against the mission's sources and strings."""
    return from_table(table, [s.name for s in mission.nav_sources], [s.name for s in mission.string_specs], where)


@dataclass(frozen=True)
class LinkFaults:
    """Seeded link faults, each an independent probability per packet (0..1), and a fixed delay.

    In order, per packet: lost with ``loss``; else corrupted (1 to 3 random
    bits flipped: CRC-16 detects every such error in a packet this short)
    with ``corrupt``; else sent twice back to back with ``duplicate``; and
    held back behind the next packet with ``reorder``. ``delay_ms`` delays
    every packet by the same amount. The last packet of each APID is always
    sent clean, so the receiver can count the gaps before it.
    """

    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0
    corrupt: float = 0.0
    delay_ms: float = 0.0
    seed: int = 0

    def __post_init__(self):
        for name in ("loss", "duplicate", "reorder", "corrupt"):
            p = getattr(self, name)
            if not 0.0 <= p <= 1.0:
                raise InputError(f"--{name} must be a probability in [0, 1]; got {p}")
        if not self.delay_ms >= 0.0:
            raise InputError(f"--delay-ms must be >= 0; got {self.delay_ms}")


def inject_faults(frames: list[Frame], faults: LinkFaults) -> tuple[list[tuple[float, bytes]], dict]:
    """Apply ``faults`` to ``frames``: (send time, datagram) pairs in send order, and a report.

    Report keys: ``packets`` (frames in), ``datagrams`` (sent), ``lost``,
    ``corrupted``, ``duplicated``, ``reordered`` (intact first copies sent
    after a packet of the same APID with a higher count: what the receiver
    should count as out of order).
    """
    rng = np.random.default_rng(np.random.SeedSequence([faults.seed, 0x5EED]))
    last_of = {f.apid: i for i, f in enumerate(frames)}
    last_index = set(last_of.values())
    out: list[tuple[float, bytes, int, int, bool]] = []  # (time, data, apid, seq, intact first copy)
    held: list = []
    report = Counter(packets=len(frames))
    delay = faults.delay_ms / 1000.0
    for i, f in enumerate(frames):
        u = rng.random(5)
        t = f.send_s + delay
        emitted = []
        if i in last_index:
            emitted.append((t, f.data, f.apid, f.seq, True))
        elif u[0] < faults.loss:
            report["lost"] += 1
        elif u[1] < faults.corrupt:
            data = bytearray(f.data)
            # distinct bits: flipping one bit twice would leave the packet intact, yet counted as corrupted
            for bit in rng.choice(8 * len(data), size=int(rng.integers(1, 4)), replace=False).tolist():
                data[bit // 8] ^= 1 << (bit % 8)
            emitted.append((t, bytes(data), f.apid, f.seq, False))
            report["corrupted"] += 1
        else:
            emitted.append((t, f.data, f.apid, f.seq, True))
            if u[2] < faults.duplicate:
                emitted.append((t, f.data, f.apid, f.seq, False))
                report["duplicated"] += 1
        if held:
            at = emitted[-1][0] if emitted else held[0][0]
            emitted = emitted + [(at, *rest) for _, *rest in held]
            held = []
        elif emitted and i not in last_index and u[3] < faults.reorder:
            held, emitted = emitted, []  # this packet (and its duplicate) goes out after the next one
        out.extend(emitted)
    out.extend(held)
    newest: dict[int, int] = {}
    for _, _, apid, seq, intact in out:
        if not intact:
            continue  # corrupted copies never reach the receiver's counters; second copies are duplicates
        top = newest.get(apid, -1)
        if seq < top:
            report["reordered"] += 1
        newest[apid] = max(top, seq)
    report["datagrams"] = len(out)
    for key in ("lost", "corrupted", "duplicated", "reordered"):
        report.setdefault(key, 0)
    return [(t, d) for t, d, *_ in out], dict(report)


def play(
    datagrams: list[tuple[float, bytes]],
    address: tuple[str, int],
    speed: float | None = 1.0,
    source: tuple[str, int] | None = None,
    stop=None,
) -> dict:
    """Send ``datagrams`` to ``address``: at flight-time pace divided by ``speed`` (None: as fast as possible).

    The first datagram goes out at once; later ones at ``(send_s - first) / speed``
    after it (sleeping, then spinning the last half millisecond). ``stop`` is an
    optional callable polled between packets. Returns the wall time taken (s)
    and how far behind schedule the worst packet went out (ms).
    """
    if speed is not None and not speed > 0:
        raise InputError(f"--speed must be > 0 or 'max'; got {speed}")
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        if source is not None:
            sock.bind(source)
        if not datagrams:
            return {"wall_s": 0.0, "max_late_ms": 0.0}
        t0 = datagrams[0][0]
        start = time.perf_counter()
        late = 0.0
        for t, data in datagrams:
            if stop is not None and stop():
                break
            if speed is not None:
                due = start + (t - t0) / speed
                while True:
                    ahead = due - time.perf_counter()
                    if ahead <= 0:
                        late = max(late, -ahead)
                        break
                    if ahead > 0.0015:
                        time.sleep(ahead - 0.001)
            sock.sendto(data, address)
        return {"wall_s": time.perf_counter() - start, "max_late_ms": late * 1e3}
    finally:
        sock.close()

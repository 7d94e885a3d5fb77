"""The real-time AFSS shell: nav packets in over UDP, engine, terminate command and status out.

:class:`RealtimeAfss` is the thin I/O shell around the pure engine
(rangeguard.engine.Engine): it owns the sockets, the receive clock and the
logs; the engine decides.

Receive clock. The engine takes time from the data; only the data-loss rule
judges against receive time. The shell reads a monotonic clock when each
datagram arrives and maps it onto the mission's flight-time axis, anchored at
the first accepted nav sample: ``receive_time_s = t0_s + time_scale *
(monotonic - monotonic0)``, where t0_s is that sample's time of validity.
``time_scale`` is the playback speed of the source (1 in flight; 20 for a
stream replayed 20 times faster, so the data-loss green time keeps its
meaning). A source played faster than ``time_scale`` makes the receive clock
slow relative to the data, which can only delay a data-loss verdict, never
invent one.

Cycles. Datagrams are read as they come; everything queued is drained at
once. Accepted nav samples with equal time of validity that arrive one after
another form one engine cycle, as ``rangeguard replay`` groups them. A cycle
is stepped as soon as its first sample arrives (no waiting: the terminate
latency counts); when the next sample carries the same time (the other nav
source of the same epoch), the cycle is re-stepped from the state before it
with both samples, and replaces the first result. Once the engine has
terminated, its decision is final: nothing is stepped or recorded after it.

Linger. A flight computer sends each nav source's sample of an epoch back to
back. When a read yields fewer datagrams than there are nav sources, the
shell keeps reading for at most ``linger_s`` (150 us) so that the epoch is
usually stepped once with all its samples rather than stepped and re-stepped;
this adds at most 0.15 ms to the latency of a lone sample and halves the
engine work at high rates (bench/realtime.py).

Backlog policy. If a drained batch holds more than ``max_backlog_cycles``
cycles (the shell fell behind), only the newest that many are stepped; the
older samples are counted as ``superseded`` and are neither stepped nor
recorded (the engine judges the newest data). This bounds the work between
the newest sample's arrival and its verdict to a few engine steps whatever the
load, which keeps the terminate latency target under overload; the cost is
that a stall (scheduler, log flush) drops intermediate samples, never the
newest. bench/realtime.py reports how many were superseded at each rate.

Output. The terminate command (TC) goes to the command address in the cycle
that decides it and is repeated at ``terminate_hz`` until the process stops
(a latched output). Status packets go to the status address at
``status_hz`` and on every state change; a heartbeat with the link counters
once a second. The decision log (rangeguard.replay.DecisionLog) and the nav
log of accepted samples (rangeguard.telemetry.recorder) are written
on exit (and SIGINT/SIGTERM); every ``flush_s`` seconds the nav samples accepted since
the last flush are appended as a new Parquet part (see :meth:`RealtimeAfss.flush`).
"""

from __future__ import annotations

import gc
import math
import select
import socket
import time
from collections import Counter
from pathlib import Path

import numpy as np

from rangeguard.engine import AfssState, Engine
from rangeguard.nav import NavBatch
from rangeguard.replay.decisionlog import DecisionLog
from rangeguard.telemetry.link import SequenceChecker, UdpAddress
from rangeguard.telemetry.packets import (
    APID_HEALTH,
    APID_NAV,
    MAX_PACKET_LEN,
    HealthPacket,
    HeartbeatPacket,
    NavPacket,
    PacketError,
    StatusPacket,
    TerminateCommand,
    decode_packet,
    encode_heartbeat,
    encode_status,
    encode_terminate,
)
from rangeguard.telemetry.recorder import NavRecorder

RCVBUF_BYTES = 4 << 20
"""Requested UDP receive buffer (bytes); the kernel caps it at net.core.rmem_max."""
DRAIN_MAX = 4096
"""Most datagrams read in one drain of the socket."""
POLL_S = 0.05
LINGER_S = 150e-6
"""After reading fewer datagrams than there are nav sources, keep reading this long (s) for the
rest of the epoch: one engine step with every source instead of a step and a re-step."""
"""Longest the loop blocks without checking the stop flag and its timers (s)."""


class RealtimeAfss:
    """The AFSS as a process. Build it, then call :meth:`serve` until :attr:`stop` is set."""

    def __init__(self, mission, listen: UdpAddress, command: UdpAddress, status: UdpAddress | None = None, *,
                 log_path=None, navlog_path=None, allow=frozenset({"127.0.0.1"}), time_scale: float = 1.0,
                 status_hz: float = 10.0, terminate_hz: float = 10.0, heartbeat_hz: float = 1.0,
                 flush_s: float = 1.0, max_backlog_cycles: int = 4,
                 linger_s: float = LINGER_S):
        self.mission = mission
        self.engine = Engine(mission, n=1)
        setup = self.engine.setup
        self.sources = [s.name for s in mission.nav_sources]
        self.strings = list(setup.string_names)
        self.command = command.tuple
        self.status = None if status is None else status.tuple
        self.allow = frozenset(allow)
        self.time_scale = float(time_scale)
        self.log_path = None if log_path is None else Path(log_path)
        self.navlog_path = None if navlog_path is None else Path(navlog_path)
        self.status_dt = 1.0 / status_hz if status_hz > 0 else math.inf
        self.terminate_dt = 1.0 / terminate_hz if terminate_hz > 0 else math.inf
        self.heartbeat_dt = 1.0 / heartbeat_hz if heartbeat_hz > 0 else math.inf
        self.flush_s = flush_s
        self.max_backlog_cycles = max(1, int(max_backlog_cycles))
        self.n_sources = len(self.sources)
        self.linger_ns = int(linger_s * 1e9)
        self.counters: Counter = Counter()
        self.seq = SequenceChecker(self.counters)
        self.dlog = DecisionLog(setup.rule_names)
        self.navlog = NavRecorder(self.sources, self.strings)
        self.health = (True,) * len(self.strings)
        self.stop = False
        self.latency_ns: list[int] = []        # per cycle: last datagram received -> decided (and command sent)
        self.terminate_latency_ns: int | None = None
        self._out_seq = Counter()
        self._anchor: tuple[float, int] | None = None
        self._prev_state = None               # engine state before the open cycle
        self._open: list[tuple[NavPacket, float]] = []  # rows of the open (last stepped) cycle
        self._pending = None                  # decisions of the open cycle, not yet in the decision log
        self._last = None                     # latest decisions
        self._last_nav: NavPacket | None = None
        self._last_state = int(AfssState.SAFE)
        self._terminate: TerminateCommand | None = None
        self._start = time.monotonic()
        now = self._start
        self._due = {"status": now, "terminate": math.inf, "heartbeat": now, "flush": now + flush_s}
        self.rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF_BYTES)
        try:
            self.rx.bind(listen.tuple)
        except OSError as exc:
            self.rx.close()
            from rangeguard.errors import InputError

            raise InputError(f"--listen {listen}: cannot bind ({exc.strerror}); is another process using it?") from None
        self.listen = self.rx.getsockname()
        self.tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._warm_up()
        gc.freeze()  # everything built so far is permanent: keep it out of the collector's scans

    # --- setup -------------------------------------------------------------------

    def _warm_up(self) -> None:
        """Step a throwaway engine once so compiled kernels are loaded before the first packet."""
        from rangeguard.earth import geodetic_to_ecef

        site = self.mission.site
        r = geodetic_to_ecef(site.lat_deg, site.lon_deg, site.alt_m)
        Engine(self.mission, n=1).step(NavBatch.from_arrays(0.0, r, np.zeros(3)), 0.0)

    def close(self) -> None:
        self.rx.close()
        self.tx.close()

    # --- the loop ----------------------------------------------------------------

    def serve(self, max_s: float | None = None) -> None:
        """Run until :attr:`stop` is set (e.g. by a signal handler) or ``max_s`` seconds pass."""
        end = math.inf if max_s is None else time.monotonic() + max_s
        rx = self.rx
        rx.setblocking(False)
        poller = select.poll()
        poller.register(rx.fileno(), select.POLLIN)
        while not self.stop:
            now = time.monotonic()
            if now >= end:
                break
            wait = min(POLL_S, min(self._due.values()) - now, end - now)
            batch = []
            if poller.poll(max(0, math.ceil(wait * 1000.0))):
                linger_end = time.monotonic_ns() + self.linger_ns
                while len(batch) < DRAIN_MAX:
                    try:
                        data, addr = rx.recvfrom(MAX_PACKET_LEN)
                    except (BlockingIOError, InterruptedError):
                        if time.monotonic_ns() < linger_end and len(batch) < self.n_sources:
                            continue  # the other sources' samples of this epoch are usually microseconds behind
                        break
                    batch.append((data, addr, time.monotonic_ns()))
            if batch:
                self.handle(batch)
            self._periodic(time.monotonic())

    def handle(self, batch) -> None:
        """Validate a drained batch of (datagram, address, monotonic_ns) and step the engine on it."""
        c = self.counters
        rows: list[tuple[NavPacket, int, tuple]] = []
        for data, addr, rx_ns in batch:
            c["received"] += 1
            if addr[0] not in self.allow:
                c["rejected_address"] += 1
                continue
            try:
                pkt = decode_packet(data)
            except PacketError as exc:
                c["malformed"] += 1
                c[f"malformed_{exc.kind}"] += 1
                continue
            if isinstance(pkt, NavPacket):
                if self.seq.check(APID_NAV, pkt.seq) is not None:
                    continue
                if pkt.source >= len(self.sources):
                    c["rejected_source_id"] += 1
                    continue
                if not math.isfinite(pkt.t_s):
                    c["rejected_time"] += 1
                    continue
                c["nav_accepted"] += 1
                rows.append((pkt, rx_ns, self.health))
            elif isinstance(pkt, HealthPacket):
                if self.seq.check(APID_HEALTH, pkt.seq) is not None:
                    continue
                if len(pkt.healthy) != len(self.strings):
                    c["rejected_health"] += 1
                    continue
                c["health_accepted"] += 1
                self.health = tuple(pkt.healthy)
            else:
                c["rejected_apid"] += 1
        if not rows:
            return
        if self._terminate is not None:
            c["after_terminate"] += len(rows)
            return
        cycles: list[list] = []
        for row in rows:
            if cycles and cycles[-1][-1][0].t_s == row[0].t_s:
                cycles[-1].append(row)
            else:
                cycles.append([row])
        if len(cycles) > self.max_backlog_cycles:
            dropped = cycles[: -self.max_backlog_cycles]
            c["superseded"] += sum(len(cy) for cy in dropped)
            cycles = cycles[-self.max_backlog_cycles :]
        for cycle in cycles:
            self._step(cycle)
            if self._terminate is not None:
                rest = cycles[cycles.index(cycle) + 1 :]
                c["after_terminate"] += sum(len(cy) for cy in rest)
                break

    def _receive_s(self, nav: NavPacket, rx_ns: int) -> float:
        if self._anchor is None:
            self._anchor = (nav.t_s, rx_ns)
        t0, ns0 = self._anchor
        return t0 + self.time_scale * (rx_ns - ns0) * 1e-9

    def _step(self, cycle) -> None:
        """Step one cycle, merging it into the open cycle if it carries the same time."""
        new = [(nav, self._receive_s(nav, rx_ns), health) for nav, rx_ns, health in cycle]
        if self._open and self._open[-1][0].t_s == new[0][0].t_s and self._prev_state is not None:
            self.engine.state = self._prev_state   # re-step the open cycle with the new samples too
            rows = self._open + new
            self.counters["merged"] += 1
        else:
            if self._pending is not None:
                self.dlog.add(self._pending)
            self._prev_state = self.engine.state
            rows = new
        for nav, recv, health in new:
            self.navlog.add(nav, recv, health)
        navs = [NavBatch.from_arrays(n.t_s, n.r_ecef, n.v_ecef, n.q_body_to_ecef, n.omega_body_rad_s, n.valid,
                                     source=n.source) for n, _, _ in rows]  # fmt: skip
        receive = max(r for _, r, _ in rows)
        health = np.asarray(rows[-1][2], dtype=bool)[None, :] if self.strings else None
        decisions = self.engine.step(navs, receive, health)
        self._open = rows
        self._pending = decisions
        self._last = decisions
        self._last_nav = rows[-1][0]
        self.counters["cycles"] += 1
        if decisions.terminate_now[0]:
            self._terminate = TerminateCommand(float(self.engine.state.t_terminate_s[0]), 0, decisions.fired_by(0))
            self._send_terminate()
            self.terminate_latency_ns = time.monotonic_ns() - cycle[-1][1]
            self._due["terminate"] = time.monotonic() + self.terminate_dt
            self.dlog.add(decisions)  # final: no later sample can change it
            self._pending = None
        self.latency_ns.append(time.monotonic_ns() - cycle[-1][1])
        state = int(decisions.states[0])
        if state != self._last_state:
            self._last_state = state
            self._send_status()

    # --- outputs -----------------------------------------------------------------

    def _next_seq(self, apid: int) -> int:
        s = self._out_seq[apid]
        self._out_seq[apid] = s + 1
        return s

    def _send(self, data: bytes, address) -> bool:
        try:
            self.tx.sendto(data, address)
            return True
        except OSError:
            self.counters["send_errors"] += 1
            return False

    def _send_terminate(self) -> None:
        cmd = self._terminate
        if self._send(encode_terminate(cmd, self._next_seq(0x110)), self.command):
            self.counters["terminate_sent"] += 1
        cmd.repeat += 1

    def status_packet(self) -> StatusPacket:
        """The current status (what the status packets carry)."""
        from rangeguard.earth import ecef_to_geodetic

        d = self._last
        if d is None:
            return StatusPacket(math.nan, "SAFE", None, "no nav yet", {}, counters=dict(self.counters))
        nav = self._last_nav
        with np.errstate(invalid="ignore"):
            lat, lon, h = ecef_to_geodetic(np.asarray(nav.r_ecef))
        margins = {name: float(m) for name, m in zip(d.rule_names, d.margins[0], strict=True)}
        return StatusPacket(
            float(d.t_s[0]), d.state_name(0), d.fired_by(0), d.reason(0), margins,
            float(lat), float(lon), float(h), float(math.sqrt(sum(x * x for x in nav.v_ecef))),
            float(d.iip_lat_deg[0, 0]), float(d.iip_lon_deg[0, 0]), dict(self.counters),
        )  # fmt: skip

    def _send_status(self) -> None:
        if self.status is None:
            return
        if self._send(encode_status(self.status_packet(), self._next_seq(0x102)), self.status):
            self.counters["status_sent"] += 1

    def _periodic(self, now: float) -> None:
        due = self._due
        if now >= due["terminate"] and self._terminate is not None:
            self._send_terminate()
            due["terminate"] = now + self.terminate_dt
        if now >= due["status"]:
            self._send_status()
            due["status"] = now + self.status_dt
        if now >= due["heartbeat"]:
            if self.status is not None:
                t = math.nan if self._anchor is None else self._receive_s(self._last_nav, time.monotonic_ns())
                hb = HeartbeatPacket(t, now - self._start, dict(self.counters))
                self._send(encode_heartbeat(hb, self._next_seq(0x103)), self.status)
            due["heartbeat"] = now + self.heartbeat_dt
        if now >= due["flush"]:
            self.flush()
            due["flush"] = now + self.flush_s

    # --- logs and summary --------------------------------------------------------

    @property
    def parts_dir(self) -> Path | None:
        """Where the periodic nav log parts go: ``<navlog>.parts/`` (None without a nav log)."""
        return None if self.navlog_path is None else self.navlog_path.with_name(self.navlog_path.name + ".parts")

    def flush(self, final: bool = False) -> None:
        """Persist what has been decided.

        Periodic (``final`` False): append the nav samples accepted since the last flush as a new
        part under :attr:`parts_dir`; the cost is bounded by the rows since then, never the whole
        flight. The decision log is a pure function of that nav log (``rangeguard replay``
        reproduces it exactly), so after a crash nothing is lost: replay the parts
        (rangeguard.telemetry.recorder.read_parts).
        Final (on exit and on SIGINT/SIGTERM): close the open cycle, write the decision log and the
        whole nav log atomically, and remove the parts.
        """
        if not final:
            if self.parts_dir is not None:
                self.navlog.write_part(self.parts_dir)
            return
        if self._pending is not None:
            self.dlog.add(self._pending)
            self._pending = None
            self._open = []
            self._prev_state = None
        if self.log_path is not None:
            self.dlog.write(self.log_path)
        if self.navlog_path is not None:
            self.navlog.write(self.navlog_path)
            parts = self.parts_dir
            if parts.is_dir():
                for f in parts.glob("nav-*.parquet"):
                    f.unlink()
                try:
                    parts.rmdir()
                except OSError:
                    pass

    def summary(self) -> dict:
        """Counters, state and latency figures (ms), as printed on exit."""
        lat = np.asarray(self.latency_ns, dtype=np.float64) * 1e-6
        d = self._last
        out = {
            "state": "SAFE" if d is None else d.state_name(0),
            "fired_by": None if d is None else d.fired_by(0),
            "t_terminate_s": None if self._terminate is None else self._terminate.t_terminate_s,
            "terminate_latency_ms": None if self.terminate_latency_ns is None else self.terminate_latency_ns * 1e-6,
            "cycle_latency_p50_ms": float(np.percentile(lat, 50)) if lat.size else None,
            "cycle_latency_p99_ms": float(np.percentile(lat, 99)) if lat.size else None,
            "engine_rejected": int(self.engine.state.rejected[0]),
            "counters": dict(sorted(self.counters.items())),
        }
        return out

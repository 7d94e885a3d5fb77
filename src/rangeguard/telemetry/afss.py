"""The real-time AFSS shell: nav packets in over UDP, engine, terminate command and status out.

:class:`RealtimeAfss` is the thin I/O shell around the pure engine
(rangeguard.engine.Engine): it owns the sockets, the receive clock and the
logs; the engine decides, and rangeguard.engine.driver.CycleDriver decides
when it steps, exactly as ``rangeguard replay`` does.

Receive clock. Each datagram is stamped with its arrival time (the kernel's
receive timestamp where the platform gives one, Linux SO_TIMESTAMPNS, so a
stall of this process does not make waiting data look late; else the time it
was read), and that is mapped onto the mission's flight-time axis, anchored
at the first nav packet: ``receive_time_s = t0_s + time_scale * (monotonic - monotonic0)``,
where t0_s is that packet's time of validity. ``time_scale`` is the playback
speed of the source (1 in flight; 20 for a stream replayed 20 times faster):
it must match the source, because the engine's nav gate rejects samples
whose time runs ahead of (or lags) the receive clock by more than the
mission's ``nav_gate`` allows. Before liftoff (engine SAFE) the anchor is
refined: a nav packet whose time of validity is ahead of the clock was read
with less delay than the anchor, and becomes the anchor; and when
``nav_gate.resync_samples`` nav packets in a row lag the clock by more than
``nav_gate.max_age_s``, the newest becomes the anchor (a glitched packet
before liftoff cannot blind the AFSS). Once armed, the anchor is fixed.

The clock drives the loop. The engine is stepped on every accepted nav
sample and, whenever no sample arrived for one engine cycle (the mission's
``cycle_hz``), on its own: the loop wakes at the receive time the driver
gives and steps a silent cycle, so a source that stops is judged by the
data-loss rule within its green time plus one cycle.

Cycles. Datagrams are read as they come; everything queued is drained at
once. Accepted nav samples with equal time of validity that arrive one after
another form one engine cycle (the driver's data cycle). Linger: when a read
yields fewer datagrams than there are nav sources, the shell keeps reading
for at most ``linger_s`` (150 us) so that an epoch is usually stepped once
with all its samples rather than stepped and re-stepped.

Backlog policy. If a drained batch holds more than ``max_backlog_cycles``
cycles (the shell fell behind), only the newest that many are stepped; the
older samples are counted as ``superseded`` and are neither stepped nor
recorded (the engine judges the newest data).

Output. The terminate command (TC, APID 0x110: the thrust termination
command) goes to the command address in the cycle that decides it and is
repeated at ``terminate_hz`` (at least :data:`MIN_TERMINATE_HZ`) until the
process stops: a latched output, never sent once only. The destruct command
(TC, APID 0x111) goes out the same way in the cycle that decides it (after
the thrust termination when both fire in one cycle) and repeats at the same
rate; the engine keeps stepping after a thrust termination while the
mission's sequence may still destruct. Status packets go to the status address at ``status_hz`` and
on every state change, trimmed to one datagram (rangeguard.telemetry.packets
.fit_margins); a heartbeat with the counters once a second.

Logs. The decision log (rangeguard.formats.decisionlog.DecisionLog) and the nav log of
the samples the engine stepped (rangeguard.telemetry.recorder) are written
on exit (and SIGINT/SIGTERM); every ``flush_s`` seconds the nav samples
since the last flush are appended as a new Parquet part (see
:meth:`RealtimeAfss.flush`). The nav log records where the clock stopped, so
replay reproduces silent cycles to the end. Logging never stops the AFSS: a
failed write is counted (``log_errors``), reported on stderr once per kind
of error, retried at the next flush, and nothing is dropped from memory.

Authentication (rangeguard.telemetry.auth). With a key, every datagram must carry a valid
security trailer (MAC, a configured sender SPI, a fresh anti-replay number) before it is decoded;
one that does not is dropped and counted by reason (``auth_bad_mac``, ``auth_unknown_source``,
``auth_replay``) and changes nothing: not the sequence counts, not the clock, not the engine. Every
packet the AFSS sends is signed with its own SPI. ``insecure`` (lab use only) takes and sends
packets without a trailer, and says so in every status and heartbeat (counter ``insecure_link``,
health bit ``link_authenticated`` clear).

Heartbeat (design/failsafe.md, "Heartbeat"): at ``heartbeat_hz`` on the command channel (to the
flight termination receiver) and on the status channel: state, the sealed load's digest and the
AFSS's own health bits (rangeguard.telemetry.packets.HEALTH_BITS).

Nothing in the loop raises: a cycle that fails inside the engine counts every
string as faulty and the voting policy decides (rangeguard.engine.Engine).
"""

from __future__ import annotations

import gc
import math
import select
import socket
import struct
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from rangeguard import paths
from rangeguard.engine import AfssState, Engine
from rangeguard.engine.decisions import Decisions
from rangeguard.engine.driver import CycleDriver, CycleSample
from rangeguard.engine.state import REJECTION_NAMES
from rangeguard.errors import InputError
from rangeguard.formats.decisionlog import DecisionLog
from rangeguard.keyfile import KeyFile
from rangeguard.nav import NavBatch
from rangeguard.telemetry import warmup
from rangeguard.telemetry.auth import SPI_AFSS, SPI_VEHICLE, TRAILER_LEN, Signer, Verifier, read_packet
from rangeguard.telemetry.link import SequenceChecker, UdpAddress, check_sender
from rangeguard.telemetry.packets import (
    APID_DESTRUCT,
    APID_HEALTH,
    APID_HEARTBEAT,
    APID_NAV,
    APID_STATUS,
    APID_TERMINATE,
    HEALTH_ENGINE_OK,
    HEALTH_LINK_AUTHENTICATED,
    HEALTH_LOAD_SEALED,
    HEALTH_LOGS_OK,
    HEALTH_LOOP_OK,
    HEALTH_READY,
    MAX_DATAGRAM_LEN,
    MAX_PACKET_LEN,
    DestructCommand,
    HealthPacket,
    HeartbeatPacket,
    NavPacket,
    StatusPacket,
    TerminateCommand,
    encode_destruct,
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
"""Longest the loop blocks without checking the stop flag and its timers (s)."""
LINGER_S = 150e-6
"""After reading fewer datagrams than there are nav sources, keep reading this long (s) for the
rest of the epoch: one engine step with every source instead of a step and a re-step."""
TICK_GUARD_NS = 1_000_000
"""Silent cycles are stepped only up to this long (ns) before the latest drain of the socket."""
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35 if sys.platform.startswith("linux") else None)
"""Linux: the kernel stamps each datagram's arrival (CLOCK_REALTIME, struct timespec) as ancillary data."""
_TIMESPEC = struct.Struct("@ll")
_ANC_SPACE = socket.CMSG_SPACE(_TIMESPEC.size)


def _kernel_stamp_ns(ancillary) -> int | None:
    for level, kind, raw in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(raw) >= _TIMESPEC.size:
            sec, nsec = _TIMESPEC.unpack_from(raw)
            return sec * 1_000_000_000 + nsec
    return None


_SAFE = int(AfssState.SAFE)  # a plain int: enum member lookups are slow in the per-packet path

MIN_TERMINATE_HZ = 1.0
MAX_RATE_HZ = 1000.0
"""The terminate command repeats at MIN_TERMINATE_HZ .. MAX_RATE_HZ; status and heartbeat at most MAX_RATE_HZ."""


def check_options(
    *,
    time_scale: float,
    status_hz: float,
    terminate_hz: float,
    heartbeat_hz: float,
    flush_s: float,
    max_backlog_cycles: int,
    listen_host: str,
    allow,
    log_paths=(),
) -> None:
    """Refuse, before anything starts, options the AFSS cannot run with (InputError: what, why, how to fix)."""

    def rate(name: str, value: float, low: float, allow_zero: bool) -> None:
        ok = math.isfinite(value) and (low <= value <= MAX_RATE_HZ or (allow_zero and value == 0))
        if not ok:
            zero = " (0 = only on state changes)" if allow_zero else ""
            raise InputError(f"{name} must be between {low:g} and {MAX_RATE_HZ:g} Hz{zero}; got {value}")

    if not (math.isfinite(time_scale) and time_scale > 0):
        raise InputError(f"--time-scale must be a positive number (1 in flight); got {time_scale}")
    rate("--terminate-hz", terminate_hz, MIN_TERMINATE_HZ, allow_zero=False)
    rate("--status-hz", status_hz, 0.1, allow_zero=True)
    rate("--heartbeat-hz", heartbeat_hz, 0.1, allow_zero=False)  # the termination receiver watches it
    if not (math.isfinite(flush_s) and flush_s > 0):
        raise InputError(f"--flush-s must be a positive number of seconds; got {flush_s}")
    if int(max_backlog_cycles) < 1:
        raise InputError(f"--max-backlog must be at least 1 cycle; got {max_backlog_cycles}")
    for item in sorted(allow):
        check_sender(item, listen_host, "--allow")
    for what, path in log_paths:
        if path is not None:
            paths.output_file(Path(path), what, example="decisions.parquet")


class RealtimeAfss:
    """The AFSS as a process. Build it, then call :meth:`serve` until :attr:`stop` is set."""

    def __init__(
        self,
        mission,
        listen: UdpAddress,
        command: UdpAddress,
        status: UdpAddress | None = None,
        *,
        log_path=None,
        navlog_path=None,
        allow=frozenset({"127.0.0.1"}),
        time_scale: float = 1.0,
        status_hz: float = 10.0,
        terminate_hz: float = 10.0,
        heartbeat_hz: float = 1.0,
        flush_s: float = 1.0,
        max_backlog_cycles: int = 4,
        linger_s: float = LINGER_S,
        err=None,
        key: KeyFile | None = None,
        insecure: bool = False,
        nav_senders=(SPI_VEHICLE,),
        load_sha256: str = "",
    ):
        check_options(time_scale=time_scale, status_hz=status_hz, terminate_hz=terminate_hz,
                      heartbeat_hz=heartbeat_hz, flush_s=flush_s, max_backlog_cycles=max_backlog_cycles,
                      listen_host=listen.host, allow=allow,
                      log_paths=(("--log", log_path), ("--navlog", navlog_path)))  # fmt: skip
        if (key is None) == (not insecure):
            raise InputError(
                "give --key KEYFILE (packets are authenticated), or --insecure for lab use only; not both"
                if key is not None
                else "no key: give --key KEYFILE (make one with `rangeguard keygen -o KEYFILE`), "
                "or --insecure for lab use only (unauthenticated packets)"
            )
        self.verifier = None if key is None else Verifier(key, nav_senders)
        self.signer = None if key is None else Signer(key, SPI_AFSS)
        self.load_sha256 = load_sha256
        self.mission = mission
        self.engine = Engine(mission, n=1)
        setup = self.engine.setup
        self.gate = mission.nav_gate
        self.sources = [s.name for s in mission.nav_sources]
        self.strings = list(setup.string_names)
        self.command = command.tuple
        self.status = None if status is None else status.tuple
        self.allow = frozenset(allow)
        self.time_scale = float(time_scale)
        self.log_path = None if log_path is None else Path(log_path)
        self.navlog_path = None if navlog_path is None else Path(navlog_path)
        self.status_dt = 1.0 / status_hz if status_hz > 0 else math.inf
        self.terminate_dt = 1.0 / terminate_hz
        self.heartbeat_dt = 1.0 / heartbeat_hz if heartbeat_hz > 0 else math.inf
        self.flush_s = flush_s
        self.max_backlog_cycles = int(max_backlog_cycles)
        self.n_sources = len(self.sources)
        self.linger_ns = int(linger_s * 1e9)
        self.err = sys.stderr if err is None else err
        self.counters: Counter = Counter()
        if insecure:
            self.counters["insecure_link"] = 1  # travels in every status and heartbeat
        if not load_sha256:
            self.counters["unsealed_load"] = 1
        self.seq = SequenceChecker(self.counters)
        self.dlog = DecisionLog(setup.rule_names, load_sha256=load_sha256 or None)
        self.navlog = NavRecorder(self.sources, self.strings)
        self.driver = CycleDriver(self.engine, on_samples=self._record, on_cycle=self.dlog.add, on_step=self._decided)
        self.health = (True,) * len(self.strings)
        self.stop = False
        self.latency_ns: list[int] = []  # per stepping: newest datagram arrival (or silent cycle due) -> decided
        self.read_latency_ns: list[int] = []  # per data stepping: newest datagram read off the socket -> decided
        self._read_ns = 0
        self._decided_ns = 0
        self.terminate_latency_ns: int | None = None
        self._out_seq: Counter[int] = Counter()
        self._anchor: tuple[float, int] | None = None
        self._misfits = 0  # consecutive nav packets off the receive clock (before arming)
        self._last_silent_s = -math.inf  # receive time of the latest silent cycle
        self._trigger_ns = 0  # what the cycle being stepped answers: its datagram or its due time
        self._last_nav: NavPacket | None = None
        self._last_state = int(AfssState.SAFE)
        self._terminate: TerminateCommand | None = None
        self._destruct: DestructCommand | None = None
        self._reported: set[str] = set()
        self._start = time.monotonic()
        now = self._start
        self._due = {
            "status": now, "terminate": math.inf, "destruct": math.inf, "heartbeat": now, "flush": now + flush_s
        }  # fmt: skip
        self.rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF_BYTES)
        if SO_TIMESTAMPNS is not None:
            try:
                self.rx.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            except OSError:
                pass  # no kernel timestamps here: arrival is the time of reading
        try:
            self.rx.bind(listen.tuple)
        except OSError as exc:
            self.rx.close()
            raise InputError(f"--listen {listen}: cannot bind ({exc.strerror}); is another process using it?") from None
        self.listen = self.rx.getsockname()
        self.tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.ready = False
        self._send_heartbeat(time.monotonic())  # up, not READY: the range holds the count
        warmup.warm_up_engine(self.mission)
        self._refuse_before_ready()
        self.ready = True
        self.ready_s = time.monotonic() - self._start
        """Seconds from the start of this object's construction to READY."""
        self._send_heartbeat(time.monotonic())
        gc.freeze()  # everything built so far is permanent: keep it out of the collector's scans

    # --- setup -------------------------------------------------------------------

    def _refuse_before_ready(self) -> None:
        """Drop (and count, ``before_ready``) every datagram that arrived while the engine was not READY:
        nothing received before READY may arm the AFSS or change a decision."""
        self.rx.setblocking(False)
        while True:
            try:
                self.rx.recv(MAX_DATAGRAM_LEN)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                self.counters["receive_errors"] += 1
                return
            self.counters["before_ready"] += 1

    def close(self) -> None:
        self.rx.close()
        self.tx.close()

    # --- the clock -----------------------------------------------------------------

    def _clock_s(self, ns: int) -> float:
        """The receive clock (flight-time axis, s) at monotonic time ``ns`` (NaN before the first nav packet)."""
        if self._anchor is None:
            return math.nan
        t0, ns0 = self._anchor
        return t0 + self.time_scale * (ns - ns0) * 1e-9

    def _wall_ns(self, clock_s: float) -> int:
        """The monotonic time (ns) at which the receive clock reads ``clock_s``."""
        assert self._anchor is not None  # callers return early while the clock is not anchored
        t0, ns0 = self._anchor
        return ns0 + int(math.ceil((clock_s - t0) / self.time_scale * 1e9))

    def _nav_receive_s(self, pkt: NavPacket, rx_ns: int) -> float:
        """The receive time of a nav packet; anchors the clock, and re-anchors it before liftoff (see the
        module docstring) when ``nav_gate.resync_samples`` packets in a row disagree with it. Never before
        a silent cycle already stepped (a late-queued datagram is dated after it, as replay will see it)."""
        if self._anchor is None:
            self._anchor = (pkt.t_s, rx_ns)
        receive = self._clock_s(rx_ns)
        if self.engine.state.mode[0] != _SAFE:
            return max(receive, self._last_silent_s)
        if pkt.t_s > receive:
            # read sooner after its time of validity than the anchor was: a better anchor (least delay)
            if pkt.t_s - receive > self.gate.max_time_ahead_s:
                self.counters["clock_reanchored"] += 1
            self._anchor = (pkt.t_s, rx_ns)
            self._misfits = 0
            return pkt.t_s
        self._misfits = self._misfits + 1 if receive - pkt.t_s > self.gate.max_age_s else 0
        if self._misfits >= self.gate.resync_samples:
            self._anchor = (pkt.t_s, rx_ns)
            self._misfits = 0
            self.counters["clock_reanchored"] += 1
            receive = pkt.t_s
        return receive

    # --- the loop ----------------------------------------------------------------

    def serve(self, max_s: float | None = None) -> None:
        """Run until :attr:`stop` is set (e.g. by a signal handler) or ``max_s`` seconds pass.

        Never raises: anything unexpected in one pass of the loop is counted (``loop_errors``),
        reported on stderr, and the loop goes on.
        """
        end = math.inf if max_s is None else time.monotonic() + max_s
        rx = self.rx
        rx.setblocking(False)
        poller = select.poll()
        poller.register(rx.fileno(), select.POLLIN)
        while not self.stop:
            now = time.monotonic()
            if now >= end:
                break
            try:
                wait = min(POLL_S, min(self._due.values()) - now, end - now, self._until_silent_cycle_s(now))
                poller.poll(max(0, math.ceil(wait * 1000.0)))
                drained_ns = time.monotonic_ns()
                batch = self._drain(rx)
                if batch:
                    self.handle(batch)
                # silent cycles only up to shortly before the drain: a datagram that arrived earlier is
                # in the batch just handled, so the cycles follow the arrivals in order (replay agrees)
                self.tick(drained_ns - TICK_GUARD_NS)
                self._periodic(time.monotonic())
            except Exception as exc:  # noqa: BLE001 - the AFSS loop must go on; counted and reported
                self.counters["loop_errors"] += 1
                self._report("loop", f"rangeguard run: error in the loop ({type(exc).__name__}: {exc}); continuing")
        try:  # what arrived before the stop is judged and logged too
            drained_ns = time.monotonic_ns()
            batch = self._drain(rx)
            if batch:
                self.handle(batch)
            self.tick(drained_ns - TICK_GUARD_NS)
        except Exception as exc:  # noqa: BLE001 - stopping must not raise either
            self.counters["loop_errors"] += 1
            self._report("loop", f"rangeguard run: error while stopping ({type(exc).__name__}: {exc})")

    def _drain(self, rx) -> list:
        """Read what is queued: (datagram, address, arrival monotonic_ns) in arrival order.

        The arrival time is the kernel's receive timestamp (SO_TIMESTAMPNS, mapped from the realtime
        clock onto the monotonic one) where the platform gives it, else the time of reading: a stall of
        this process then does not make data that was waiting in the socket look late.
        """
        batch: list[tuple[bytes, tuple[str, int], int]] = []
        now = time.monotonic_ns()
        linger_end = now + self.linger_ns
        realtime_to_mono = time.time_ns() - now
        while len(batch) < DRAIN_MAX:
            try:
                data, anc, _, addr = rx.recvmsg(MAX_PACKET_LEN, _ANC_SPACE)
            except (BlockingIOError, InterruptedError):
                if batch and time.monotonic_ns() < linger_end and len(batch) < self.n_sources:
                    continue  # the other sources' samples of this epoch are usually microseconds behind
                break
            except OSError:
                self.counters["receive_errors"] += 1
                break
            read_ns = time.monotonic_ns()
            stamp = _kernel_stamp_ns(anc)
            arrived = read_ns if stamp is None else min(read_ns, stamp - realtime_to_mono)
            batch.append((data, addr, arrived))
            self._read_ns = read_ns
        return batch

    def _until_silent_cycle_s(self, now: float) -> float:
        """Seconds (monotonic) until the driver's next silent cycle is due (inf: none scheduled)."""
        due = self.driver.next_due_s
        if due is None or self._anchor is None:
            return math.inf
        return (self._wall_ns(due) - time.monotonic_ns()) * 1e-9

    def tick(self, now_ns: int) -> None:
        """Step the silent cycles due by monotonic time ``now_ns`` (the engine's own clock)."""
        if self._anchor is None:
            return
        due = self.driver.next_due_s
        if due is None:
            return
        now_s = self._clock_s(now_ns)
        if not now_s > due:
            return
        self._trigger_ns = self._wall_ns(due)
        before = self.driver.silent_cycles
        self.driver.advance(now_s)
        if self.driver.silent_cycles != before:
            assert self.driver.last_step_s is not None  # the silent cycle just stepped is at it
            self._last_silent_s = self.driver.last_step_s
            self.latency_ns.append(self._decided_ns - self._trigger_ns)
            self._after_step()

    def handle(self, batch) -> None:
        """Validate a drained batch of (datagram, address, monotonic_ns) and step the engine on it."""
        c = self.counters
        rows: list[CycleSample] = []
        verifier = self.verifier
        for data, addr, rx_ns in batch:
            c["received"] += 1
            if addr[0] not in self.allow:
                c["rejected_address"] += 1
                continue
            pkt = read_packet(data, verifier, c)  # None: malformed, not authentic, not a nav sender, a replay
            if pkt is None:
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
                nav = NavBatch.single(
                    pkt.t_s, pkt.r_ecef, pkt.v_ecef, pkt.q_body_to_ecef, pkt.omega_body_rad_s, pkt.valid, pkt.source
                )
                rows.append(CycleSample(nav, self._nav_receive_s(pkt, rx_ns), self.health, (pkt, rx_ns)))
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
        if self.driver.done:
            c["after_terminate"] += len(rows)
            return
        cycles = 1 + sum(1 for a, b in zip(rows, rows[1:], strict=False) if a.t_s != b.t_s)
        if cycles > self.max_backlog_cycles:
            keep = cycles - self.max_backlog_cycles  # cycles to drop from the front
            first = 0
            while keep:
                first += 1
                keep -= rows[first].t_s != rows[first - 1].t_s
            c["superseded"] += first
            rows = rows[first:]
        self._trigger_ns = rows[-1].tag[1]
        after = self.driver.after_terminate
        self.driver.feed(rows)
        c["after_terminate"] += self.driver.after_terminate - after
        done = self._decided_ns
        self.latency_ns.append(done - rows[-1].tag[1])
        self.read_latency_ns.append(done - max(self._read_ns, rows[-1].tag[1]))
        self._after_step()

    def _record(self, samples: list[CycleSample]) -> None:
        """The driver's on_samples: every sample the engine steps goes into the nav log."""
        for s in samples:
            pkt = s.tag[0]
            self.navlog.add(pkt, s.receive_s, s.health)
            self._last_nav = pkt

    def _decided(self, decisions) -> None:
        """The driver's on_step, right after each engine step: a terminate goes out at once (before any
        logging); the time of the decision is kept for the latency figures."""
        if decisions.terminate_now[0] and self._terminate is None:
            self._terminate = TerminateCommand(float(decisions.state.t_terminate_s[0]), 0, decisions.fired_by(0))
            self._send_terminate(self._terminate)
            self.terminate_latency_ns = time.monotonic_ns() - self._trigger_ns
            self._due["terminate"] = time.monotonic() + self.terminate_dt
        if decisions.destruct_now[0] and self._destruct is None:  # after the thrust termination in its cycle
            self._destruct = DestructCommand(float(decisions.state.t_destruct_s[0]), 0, decisions.destructed_by(0))
            self._send_destruct(self._destruct)
            self._due["destruct"] = time.monotonic() + self.terminate_dt
            self._send_status()
        self._decided_ns = time.monotonic_ns()  # in a terminating cycle: after the command's sendto

    def _after_step(self) -> None:
        self.counters["cycles"] = self.driver.cycles
        faults = int(self.engine.state.cycle_faults[0])
        if faults > self.counters["cycle_faults"]:
            self.counters["cycle_faults"] = faults
            error = self.engine.faults[-1][1]
            self._report(
                f"fault:{error}",
                f"rangeguard run: an engine cycle failed ({error}); every string "
                "counted faulty for that cycle and the voting policy decided",
            )
        state = int(self.engine.state.mode[0])
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
            self.tx.sendto(data if self.signer is None else self.signer.sign(data), address)
            return True
        except OSError:
            self.counters["send_errors"] += 1
            return False

    def _send_terminate(self, cmd: TerminateCommand) -> None:
        if self._send(encode_terminate(cmd, self._next_seq(APID_TERMINATE)), self.command):
            self.counters["terminate_sent"] += 1
        cmd.repeat += 1

    def _send_destruct(self, cmd: DestructCommand) -> None:
        if self._send(encode_destruct(cmd, self._next_seq(APID_DESTRUCT)), self.command):
            self.counters["destruct_sent"] += 1
        cmd.repeat += 1

    def status_packet(self) -> StatusPacket:
        """The current status (what the status packets carry)."""
        from rangeguard.earth import ecef_to_geodetic

        d = self.driver.last
        if d is None:
            return StatusPacket(
                math.nan, "SAFE", None, "no nav yet", {}, counters=dict(self.counters), load_sha256=self.load_sha256
            )
        margins = {name: float(m) for name, m in zip(d.rule_names, d.margins[0], strict=True)}
        lat = lon = h = speed = math.nan
        nav = self._last_nav
        if nav is not None:
            with np.errstate(invalid="ignore"):
                lat, lon, h = (float(x) for x in ecef_to_geodetic(np.asarray(nav.r_ecef)))
            speed = float(math.sqrt(sum(x * x for x in nav.v_ecef)))
        return StatusPacket(
            float(d.t_s[0]), _state_name(d), d.fired_by(0), d.destruct_reason(0) or d.reason(0), margins, lat, lon,
            h, speed,
            float(d.iip_lat_deg[0, 0]), float(d.iip_lon_deg[0, 0]), dict(self.counters),
            load_sha256=self.load_sha256,
        )  # fmt: skip

    def _send_status(self) -> None:
        if self.status is None:
            return
        room = MAX_DATAGRAM_LEN - (0 if self.signer is None else TRAILER_LEN)
        if self._send(encode_status(self.status_packet(), self._next_seq(APID_STATUS), room), self.status):
            self.counters["status_sent"] += 1

    def _periodic(self, now: float) -> None:
        due = self._due
        if now >= due["terminate"] and self._terminate is not None:
            self._send_terminate(self._terminate)
            due["terminate"] = now + self.terminate_dt
        if now >= due["destruct"] and self._destruct is not None:
            self._send_destruct(self._destruct)
            due["destruct"] = now + self.terminate_dt
        if now >= due["status"]:
            self._send_status()
            due["status"] = now + self.status_dt
        if now >= due["heartbeat"]:
            self._send_heartbeat(now)
            due["heartbeat"] = now + self.heartbeat_dt
        if now >= due["flush"]:
            self.flush()
            due["flush"] = now + self.flush_s

    def heartbeat_packet(self, now: float) -> HeartbeatPacket:
        """The heartbeat at monotonic time ``now`` (s): clock, uptime, state, health bits, load digest, counters."""
        c = self.counters
        health = (
            (HEALTH_ENGINE_OK if not c["cycle_faults"] else 0)
            | (HEALTH_LOGS_OK if not c["log_errors"] else 0)
            | (HEALTH_LINK_AUTHENTICATED if self.signer is not None else 0)
            | (HEALTH_LOAD_SEALED if self.load_sha256 else 0)
            | (HEALTH_LOOP_OK if not c["loop_errors"] else 0)
            | (HEALTH_READY if self.ready else 0)
        )
        state = "DESTRUCTED" if self._destruct is not None else AfssState(self._last_state).name
        return HeartbeatPacket(
            self._clock_s(time.monotonic_ns()),
            now - self._start,
            dict(c),
            state=state,
            health=health,
            load_sha256=self.load_sha256,
        )

    def _send_heartbeat(self, now: float) -> None:
        """One heartbeat to the flight termination receiver (command channel) and to the status channel."""
        data = encode_heartbeat(self.heartbeat_packet(now), self._next_seq(APID_HEARTBEAT))
        if self._send(data, self.command):
            self.counters["heartbeat_sent"] += 1
        if self.status is not None:
            self._send(data, self.status)

    def _report(self, kind: str, message: str) -> None:
        """One line on stderr per kind of problem (the counters keep the totals)."""
        if kind in self._reported:
            return
        self._reported.add(kind)
        try:
            print(message, file=self.err, flush=True)
        except Exception:  # noqa: BLE001 - reporting must not stop the AFSS (e.g. a closed stderr)
            pass

    # --- logs and summary --------------------------------------------------------

    @property
    def parts_dir(self) -> Path | None:
        """Where the periodic nav log parts go: ``<navlog>.parts/`` (None without a nav log)."""
        return None if self.navlog_path is None else self.navlog_path.with_name(self.navlog_path.name + ".parts")

    def flush(self, final: bool = False) -> None:
        """Persist what has been decided; never raises (a failed write is counted and retried).

        Periodic (``final`` False): append the nav samples stepped since the last flush as a new
        part under :attr:`parts_dir`; the cost is bounded by the rows since then, never the whole
        flight. The decision log is a pure function of that nav log (``rangeguard replay``
        reproduces it exactly, silent cycles included up to the clock end the part records), so
        after a crash nothing is lost: replay the parts (rangeguard.telemetry.recorder.read_parts).
        Final (on exit and on SIGINT/SIGTERM): step the silent cycles due, close the open cycle,
        write the decision log and the whole nav log atomically, and remove the parts.
        """
        now_ns = time.monotonic_ns()
        clock_end = None if self._anchor is None else self._clock_s(now_ns)
        if clock_end is not None:
            self.tick(now_ns)
        if not final:
            if self.parts_dir is not None:
                self._write("nav log part", lambda: self.navlog.write_part(self.parts_dir, clock_end))
            return
        self.driver.close()
        if self.log_path is not None:
            self._write("decision log", lambda: self.dlog.write(self.log_path))
        if self.navlog_path is not None and self._write(
            "nav log", lambda: self.navlog.write(self.navlog_path, clock_end)
        ):
            parts = self.parts_dir
            assert parts is not None  # parts_dir is set whenever navlog_path is
            try:
                for f in parts.glob("nav-*.parquet"):
                    f.unlink()
                parts.rmdir()
            except OSError:
                pass

    def _write(self, what: str, write) -> bool:
        try:
            write()
            return True
        except Exception as exc:  # noqa: BLE001 - logging degrades, the AFSS goes on; kept in memory for a retry
            self.counters["log_errors"] += 1
            self._report(
                f"log:{what}:{type(exc).__name__}",
                f"rangeguard run: cannot write the {what} "
                f"({type(exc).__name__}: {exc}); the AFSS goes on and keeps the data in memory to retry",
            )
            return False

    def summary(self) -> dict:
        """Counters, state and latency figures (ms), as printed on exit."""
        lat = np.asarray(self.latency_ns, dtype=np.float64) * 1e-6
        read = np.asarray(self.read_latency_ns, dtype=np.float64) * 1e-6
        d = self.driver.last
        st = self.engine.state
        return {
            "state": "SAFE" if d is None else _state_name(d),
            "fired_by": None if d is None else d.fired_by(0),
            "t_terminate_s": None if self._terminate is None else self._terminate.t_terminate_s,
            "destructed_by": None if self._destruct is None else self._destruct.fired_by,
            "t_destruct_s": None if self._destruct is None else self._destruct.t_destruct_s,
            "terminate_latency_ms": None if self.terminate_latency_ns is None else self.terminate_latency_ns * 1e-6,
            "cycle_latency_p50_ms": float(np.percentile(lat, 50)) if lat.size else None,
            "cycle_latency_p99_ms": float(np.percentile(lat, 99)) if lat.size else None,
            "read_latency_p50_ms": float(np.percentile(read, 50)) if read.size else None,
            "read_latency_p99_ms": float(np.percentile(read, 99)) if read.size else None,
            "silent_cycles": self.driver.silent_cycles,
            "engine_rejected": int(st.rejected[0]),
            "engine_rejected_by": {name: int(n) for name, n in zip(REJECTION_NAMES, st.rejected_by[0], strict=True)},
            "cycle_faults": int(st.cycle_faults[0]),
            "link_authenticated": self.signer is not None,
            "load_sha256": self.load_sha256 or None,
            "counters": dict(sorted(self.counters.items())),
        }


def _state_name(d: Decisions) -> str:
    """Vehicle 0's state as status and heartbeat packets name it (DESTRUCTED once the destruct command fired)."""
    return "DESTRUCTED" if d.destruct[0] else d.state_name(0)

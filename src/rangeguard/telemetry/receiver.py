"""The flight termination receiver's side of the command link: verify, watch the AFSS heartbeat, act on its loss.

``rangeguard stream --receive udp://HOST:PORT`` runs this against ``rangeguard run --command`` (the
tests use it as the flight termination receiver). :class:`CommandMonitor` is pure: datagrams and
the receiver's clock (any monotonic seconds) go in, counts and at most one action come out, so the
policy is tested without timing.

Policy (design/failsafe.md, "Heartbeat"): the AFSS sends an authenticated heartbeat every
``period_s``. Only an authentic, fresh heartbeat (rangeguard.telemetry.auth.Verifier, SPI of the
AFSS) proves the AFSS alive; anything else is counted by reason and proves nothing (a spoofer
cannot keep a dead AFSS "alive"). When ``missed`` periods pass without one, the heartbeat is lost
and the receiver acts by ``on_loss``:

- ``by-state`` (default): the last state the AFSS reported decides. ARMED or TERMINATED:
  **terminate** (an armed vehicle that nothing watches is what the data-loss rule terminates; the
  receiver applies the same rule to the watcher). SAFE (before liftoff) or SAFED (the vehicle can
  no longer reach a protected area): **safe** (no termination; before launch the range holds).
  Never heard a heartbeat: safe (nothing was ever armed).
- ``terminate`` / ``safe``: the range's fixed choice, whatever the state.

An authentic terminate command (APID 0x110, the thrust termination command) terminates at once
(and is latched); an authentic destruct command (APID 0x111) destructs at once: DESTRUCT is latched
and outranks TERMINATE (a destruct after a thrust termination is the mission's sequence).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from rangeguard.errors import InputError
from rangeguard.telemetry.auth import Verifier, read_packet
from rangeguard.telemetry.packets import DestructCommand, HeartbeatPacket, TerminateCommand

MISSED_HEARTBEATS = 3
"""Heartbeat periods without an authentic heartbeat before the receiver acts: one lost datagram is not
a dead AFSS (the link drops packets), three in a row is. At the default 1 Hz that is 3 s, above the
bundled missions' 2 s data-loss green time plus the AFSS's own reaction, below anything a range would
accept as an unwatched flight."""
ON_LOSS = ("by-state", "terminate", "safe")
TERMINATE = "TERMINATE"
DESTRUCT = "DESTRUCT"
SAFE = "SAFE"
_TERMINATE_STATES = {"ARMED", "TERMINATED", "DESTRUCTED"}


@dataclass
class CommandMonitor:
    """What the flight termination receiver knows of the AFSS. Feed :meth:`datagram`, poll :meth:`check`."""

    verifier: Verifier | None
    period_s: float
    missed: int = MISSED_HEARTBEATS
    on_loss: str = "by-state"
    start_s: float = 0.0
    counters: Counter = field(default_factory=Counter)
    last_heartbeat_s: float | None = None
    last_state: str | None = None
    load_sha256: str | None = None
    action: str | None = None
    action_reason: str = ""
    action_s: float | None = None

    def __post_init__(self) -> None:
        if self.on_loss not in ON_LOSS:
            raise InputError(f"--on-heartbeat-loss must be one of {', '.join(ON_LOSS)}; got {self.on_loss!r}")
        if not (self.period_s > 0 and self.missed >= 1):
            raise InputError("the heartbeat period must be > 0 s and --missed-heartbeats at least 1")

    @property
    def timeout_s(self) -> float:
        return self.period_s * self.missed

    def datagram(self, data: bytes, now_s: float) -> None:
        """Judge one datagram from the command port received at ``now_s``; never raises."""
        c = self.counters
        c["received"] += 1
        pkt = read_packet(data, self.verifier, c)
        if pkt is None:
            return
        if isinstance(pkt, HeartbeatPacket):
            c["heartbeats"] += 1
            self.last_heartbeat_s = now_s
            self.last_state = pkt.state
            self.load_sha256 = pkt.load_sha256 or None
        elif isinstance(pkt, TerminateCommand):
            c["terminate_commands"] += 1
            self._act(TERMINATE, f"terminate command from the AFSS (fired by {pkt.fired_by})", now_s)
        elif isinstance(pkt, DestructCommand):
            c["destruct_commands"] += 1
            self._act(DESTRUCT, f"destruct command from the AFSS (fired by {pkt.fired_by})", now_s)
        else:
            c["other"] += 1

    def check(self, now_s: float) -> str | None:
        """The action taken so far (latched), after judging heartbeat loss at ``now_s``."""
        since = self.start_s if self.last_heartbeat_s is None else self.last_heartbeat_s
        if self.action is None and now_s - since > self.timeout_s:
            self.counters["heartbeat_lost"] += 1
            if self.on_loss == "terminate":
                action = TERMINATE
            elif self.on_loss == "safe":
                action = SAFE
            else:
                action = TERMINATE if self.last_state in _TERMINATE_STATES else SAFE
            heard = "no heartbeat ever" if self.last_state is None else f"last state {self.last_state}"
            lost = f"heartbeat lost: {self.missed} periods of {self.period_s:g} s without one ({heard})"
            self._act(action, lost, now_s)
        return self.action

    def _act(self, action: str, reason: str, now_s: float) -> None:
        if self.action == DESTRUCT or (self.action == TERMINATE and action != DESTRUCT):
            return  # latched (a destruct still follows a thrust termination)
        if self.action is None or action in (TERMINATE, DESTRUCT):
            self.action, self.action_reason, self.action_s = action, reason, now_s

    def report(self) -> dict:
        """The receiver's account, for the stream's JSON line."""
        return {
            "action": self.action,
            "action_reason": self.action_reason,
            "last_state": self.last_state,
            "load_sha256": self.load_sha256,
            "counters": dict(sorted(self.counters.items())),
        }

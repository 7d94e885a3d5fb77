"""The link layer of the real-time AFSS: UDP addresses, sequence-count checking, counters.

Sequence counts (CCSDS 133.0-B-2 section 4.1.3.4.3: a 14-bit count per APID,
incremented by the sender for every packet, wrapping at 2**14) are checked per
APID by :class:`SequenceChecker`:

- a count seen among the last :data:`SEQ_WINDOW` counts is a **duplicate**
  and is rejected;
- a count ahead of the newest by d (1 <= d < 2**13) is accepted and the
  d - 1 counts skipped over are added to **gaps**;
- a count behind the newest (reordered or late) is rejected as
  **out_of_order**: the engine judges the newest data, and a late sample of
  a source is older than one it already has. ``gaps - out_of_order`` is then
  the number of packets that never arrived;
- **resynchronisation**: one packet whose count jumps ahead (a corrupted or
  forged count that passed the CRC) would otherwise make every later genuine
  packet "behind the newest" and blind the receiver. When
  :data:`RESYNC_RUN` consecutive counts behind the newest follow each other
  (c, c + 1, c + 2), they are the live stream: the checker resynchronises to
  them (``resync`` counts it), accepts the last of them and forgets the
  counts it had remembered ahead of it. The packets of that run before the
  last stay rejected (counted out_of_order).
"""

from __future__ import annotations

import ipaddress
import socket
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

from rangeguard.errors import InputError
from rangeguard.telemetry.packets import SEQ_MODULO

RESYNC_RUN = 3
"""Consecutive counts behind the newest (each one after the other) that resynchronise the checker."""
SEQ_WINDOW = 256
"""How many recent sequence counts per APID are remembered to reject duplicates."""
_HALF = SEQ_MODULO // 2


@dataclass(frozen=True)
class UdpAddress:
    """A UDP endpoint ``udp://HOST:PORT`` (IPv4 literal or a name resolving to one)."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str, what: str = "address") -> UdpAddress:
        """Parse ``udp://HOST:PORT``; InputError naming ``what`` and the expected form otherwise."""
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            port = None
            parts = None
        if parts is None or parts.scheme != "udp" or not parts.hostname or port is None:
            raise InputError(f"{what} must look like udp://127.0.0.1:PORT; got {text!r}")
        try:
            host = socket.gethostbyname(parts.hostname)
        except (OSError, UnicodeError):  # UnicodeError: a name the IDNA codec refuses (a label over 63 characters)
            raise InputError(f"{what}: cannot resolve host {parts.hostname!r}") from None
        return cls(host, port)

    @property
    def tuple(self) -> tuple[str, int]:
        return (self.host, self.port)

    def __str__(self) -> str:
        return f"udp://{self.host}:{self.port}"


def parse_allow(text: str) -> frozenset[str]:
    """A comma-separated list of IPv4 source addresses accepted by the listener."""
    out = set()
    for item in (s.strip() for s in text.split(",")):
        if not item:
            continue
        try:  # the dotted quad a sender's address is compared with (socket.inet_aton would also take '0' or '127.1')
            ipaddress.IPv4Address(item)
        except ValueError:
            raise InputError(f"--allow: {item!r} is not an IPv4 address (e.g. 127.0.0.1)") from None
        out.add(item)
    if not out:
        raise InputError("--allow needs at least one source address, e.g. 127.0.0.1")
    return frozenset(out)


def check_sender(address: str, listen_host: str, what: str) -> ipaddress.IPv4Address:
    """``address`` (IPv4) as a sender that can deliver to a socket bound to ``listen_host``; InputError otherwise.

    0.0.0.0, broadcast and multicast addresses are never the source of a packet, and nothing from
    another machine arrives on a loopback address: such an entry can only be a mistake.
    """
    try:
        ip = ipaddress.IPv4Address(address)
    except ValueError:
        raise InputError(f"{what}: {address!r} is not an IPv4 address (e.g. 127.0.0.1)") from None
    if ip.is_unspecified or ip.is_multicast or ip == ipaddress.IPv4Address("255.255.255.255"):
        raise InputError(
            f"{what} {address}: not the address of a sender (never the source of a packet); "
            "give the sender's own IPv4 address, e.g. 127.0.0.1"
        )
    if ipaddress.IPv4Address(listen_host).is_loopback and not ip.is_loopback:
        raise InputError(
            f"{what} {address} can never match: a sender on another machine can never reach "
            f"{listen_host} (loopback). Listen on an address that sender can reach (e.g. "
            "udp://0.0.0.0:PORT), or allow 127.0.0.1"
        )
    return ip


class SequenceChecker:
    """Per-APID sequence-count bookkeeping (see the module docstring). Counts go into ``counters``."""

    def __init__(self, counters: Counter):
        self.counters = counters
        self._last: dict[int, int] = {}
        self._seen: dict[int, set[int]] = {}
        self._order: dict[int, list[int]] = {}
        self._behind: dict[int, tuple[int, int]] = {}  # per APID: (latest count behind the newest, run length)

    def check(self, apid: int, seq: int) -> str | None:
        """None if the packet is new and in order (or resynchronises); else 'duplicate' or 'out_of_order'."""
        last = self._last.get(apid)
        seen = self._seen.setdefault(apid, set())
        if seq in seen:
            self.counters["duplicate"] += 1
            return "duplicate"
        self._remember(apid, seq, seen)
        if last is None:
            self._last[apid] = seq
            return None
        d = (seq - last) % SEQ_MODULO
        if d >= _HALF:
            run = self._behind.get(apid)
            length = run[1] + 1 if run is not None and (seq - run[0]) % SEQ_MODULO == 1 else 1
            if length >= RESYNC_RUN:
                self._resync(apid, seq, seen)
                return None
            self._behind[apid] = (seq, length)
            self.counters["out_of_order"] += 1
            return "out_of_order"
        self._behind.pop(apid, None)
        self.counters["gaps"] += d - 1
        self._last[apid] = seq
        return None

    def _resync(self, apid: int, seq: int, seen: set[int]) -> None:
        """Make ``seq`` the newest count again and forget the remembered counts ahead of it."""
        ahead = {c for c in seen if 0 < (c - seq) % SEQ_MODULO < _HALF}
        seen -= ahead
        self._order[apid] = [c for c in self._order[apid] if c not in ahead]
        self._last[apid] = seq
        self._behind.pop(apid, None)
        self.counters["resync"] += 1

    def _remember(self, apid: int, seq: int, seen: set[int]) -> None:
        order = self._order.setdefault(apid, [])
        order.append(seq)
        seen.add(seq)
        if len(order) > 2 * SEQ_WINDOW:
            for old in order[:-SEQ_WINDOW]:
                seen.discard(old)
            del order[:-SEQ_WINDOW]

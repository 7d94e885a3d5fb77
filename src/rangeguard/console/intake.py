"""Which status datagrams the console believes: size, sender and (later) authentication.

The console shows an operator what the AFSS says, so a datagram reaches the
decoder only when, in this order:

1. it is no longer than ``max_packet_bytes`` (else counted ``oversized``): a
   genuine status packet of the mission fits in :func:`default_max_packet_bytes`;
2. its sender is on the allow-list (``--status-from``; else counted
   ``rejected_sender``): an IPv4 host (any source port) or ``HOST:PORT``;
3. it passes the :class:`Authenticator`, when one is configured (else counted
   ``rejected_auth``). This is the hook for authenticated status packets: an
   authenticator returns the CCSDS packet inside an authenticated datagram
   (e.g. after checking and stripping an HMAC tag) or None.

What an address check can and cannot do: a sender's IP address cannot be
forged towards a loopback socket from another machine, so the default (the
console listening on 127.0.0.1 and accepting 127.0.0.1) already keeps every
other machine out; but every process on this machine sends from 127.0.0.1.
``HOST:PORT`` pins one socket; until packets are authenticated, a second
sender on an allowed address is shown to the operator as an alarm
(:attr:`rangeguard.console.state.ConsoleState.recent_senders`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from rangeguard.errors import InputError
from rangeguard.telemetry.link import check_sender

FIXED_ROOM_BYTES = 16_384
"""Room in a status packet besides the margins table, bytes: the header, position and IIP (71 bytes), a
firing-rule name (at most 1,024 bytes), a reason (a few hundred bytes in practice, 4 KB allowed) and up
to 255 counters with 40-byte names (12.5 KB); rounded up to 16 KiB."""
REJECTIONS = ("oversized", "rejected_sender", "rejected_auth")
"""Counter names of the datagrams :class:`StatusIntake` turns away, in the order it checks."""


def default_max_packet_bytes(mission) -> int:
    """The largest status datagram the console accepts for ``mission``: fixed room plus its margins table.

    Each margin is a u8-counted name and a float64 (docs/telemetry.md), so a mission's table takes
    2 + sum(1 + len(name) + 8) bytes.
    """
    return FIXED_ROOM_BYTES + 2 + sum(9 + len(r.name.encode("utf-8")) for r in mission.rules)


class Authenticator(Protocol):
    """Checks one datagram; returns the CCSDS packet it carries, or None when it is not authentic."""

    def verify(self, datagram: bytes) -> bytes | None: ...


@dataclass(frozen=True)
class SenderAllowList:
    """The senders whose status the console shows: IPv4 hosts (any port) and ``HOST:PORT`` pairs."""

    hosts: frozenset[str]
    endpoints: frozenset[tuple[str, int]]

    @classmethod
    def parse(cls, items, listen_host: str = "127.0.0.1", what: str = "--status-from") -> SenderAllowList:
        """Parse ``HOST`` / ``HOST:PORT`` items (each may be comma-separated); InputError says what to fix.

        A sender must be able to reach ``listen_host``: nothing from another machine arrives on a loopback
        address, so such an entry is a mistake, as are 0.0.0.0 and broadcast addresses (never a source).
        """
        if isinstance(items, str):
            items = [items]
        hosts: set[str] = set()
        endpoints: set[tuple[str, int]] = set()
        for item in (s.strip() for text in items for s in text.split(",")):
            if not item:
                continue
            host, sep, port_text = item.partition(":")
            if item.startswith("[") or item.count(":") > 1:
                raise InputError(
                    f"{what}: {item!r} looks like an IPv6 address; the status link is IPv4 only (e.g. 127.0.0.1)"
                )
            ip = check_sender(host, listen_host, what)  # the same rule as `rangeguard run --allow`
            if sep:
                if not port_text.isdigit() or not 0 < int(port_text) < 65536:
                    raise InputError(f"{what}: {item!r}: the port must be 1..65535 (HOST or HOST:PORT)")
                endpoints.add((str(ip), int(port_text)))
            else:
                hosts.add(str(ip))
        if not hosts and not endpoints:
            raise InputError(f"{what} needs at least one sender address, e.g. 127.0.0.1")
        return cls(frozenset(hosts), frozenset(endpoints))

    def accepts(self, sender: tuple) -> bool:
        """True when ``sender`` (the datagram's ``(host, port)``) is on the list."""
        host, port = sender[0], sender[1]
        return host in self.hosts or (host, port) in self.endpoints

    def __str__(self) -> str:
        return ", ".join(sorted(self.hosts) + [f"{h}:{p}" for h, p in sorted(self.endpoints)])


@dataclass(frozen=True)
class StatusIntake:
    """The checks a datagram passes before it is decoded (module docstring); pure, no I/O."""

    senders: SenderAllowList
    max_packet_bytes: int
    authenticator: Authenticator | None = None

    def __post_init__(self) -> None:
        if not 64 <= self.max_packet_bytes <= 65_507:
            raise InputError(f"--max-packet-bytes must be 64..65507 (a UDP datagram); got {self.max_packet_bytes}")

    def admit(self, datagram: bytes, sender: tuple) -> tuple[bytes | None, str | None]:
        """``(packet, None)`` for a datagram to decode, else ``(None, counter name)`` of the rejection."""
        if len(datagram) > self.max_packet_bytes:
            return None, "oversized"
        if not self.senders.accepts(sender):
            return None, "rejected_sender"
        if self.authenticator is not None:
            packet = self.authenticator.verify(bytes(datagram))
            if packet is None:
                return None, "rejected_auth"
            return packet, None
        return bytes(datagram), None

"""Authenticated packets: a security trailer with an HMAC-SHA256 tag and an anti-replay sequence number.

The layout follows CCSDS 355.0-B-2 (Space Data Link Security, SDLS) in spirit: SDLS puts a security
header (security parameter index, SPI; anti-replay sequence number, ARSN) and a security trailer
(the MAC) around the protected data, authenticates the headers and the data, and checks the ARSN
against a window. rangeguard's space packets have no secondary header, so the SPI and the ARSN ride
in the trailer with the MAC, and the payload offsets stay as they were::

    primary header (6) | payload | SPI u16 | ARSN u64 | MAC (16) | CRC-16 (2)

The primary header's data length counts the trailer. The MAC is HMAC-SHA256 (FIPS 198-1) truncated
to its first :data:`MAC_BYTES` bytes (128 bits: NIST SP 800-107r1 section 5.3.4 allows truncation to
that length, and it is the MAC length of SDLS's baseline suite), computed over every byte before
it: the primary header, the payload, the SPI and the ARSN. The CRC still covers the whole packet: it
detects link corruption, the MAC detects forgery, and a corrupted packet is counted as malformed,
not as an attack.

Anti-replay (SDLS's ARSN window; the sliding bitmap of RFC 4303 section 3.4.3). Per SPI (a sender),
the receiver keeps the highest ARSN it accepted and a bitmap of the :data:`REPLAY_WINDOW` below it.
A packet is accepted when its ARSN is above the highest, or inside the window and not yet seen.
The 14-bit CCSDS sequence count wraps every 16,384 packets (164 s at 100 Hz), too soon to tell a
packet from an old copy; the 64-bit ARSN never wraps (2**64 ns is 584 years). A sender starts its
ARSN at its wall clock in nanoseconds (:func:`time.time_ns`) and adds one per packet, so a restarted
sender continues above every number it used before (as long as it sends less than one packet per
nanosecond and its clock does not step back), and the receiver needs no state across a sender's
restart. A restarted receiver takes the first authentic ARSN of each sender as its start: use a
new key per flight campaign (``rangeguard keygen``) so that recordings made with an older key are
worthless.

Nothing here raises on network input: :meth:`Verifier.open` returns a reason or the opened packet.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from rangeguard.keyfile import LABEL_LINK, KeyFile
from rangeguard.telemetry.packets import (
    CRC_LEN,
    HEADER_LEN,
    Packet,
    PacketError,
    crc16,
    decode_frame,
    decode_packet,
    split_frame,
)

MAC_BYTES = 16
"""Truncated HMAC-SHA256 tag length, bytes (128 bits; see the module docstring)."""
SPI_BYTES = 2
ARSN_BYTES = 8
TRAILER_LEN = SPI_BYTES + ARSN_BYTES + MAC_BYTES
"""Bytes of the security trailer between the payload and the CRC (26)."""
REPLAY_WINDOW = 64
"""ARSNs below the highest accepted that are still accepted once each (RFC 4303's default window size):
covers any reordering the link does (a packet held behind a few others) with a wide margin."""
SPI_VEHICLE = 1
"""Default security parameter index of the vehicle's nav and health sender (``rangeguard stream``)."""
SPI_AFSS = 2
"""Security parameter index of the AFSS's own packets (status, heartbeat, terminate command)."""
MAX_SPI = 0xFFFF

_TRAILER_HEAD = struct.Struct(">HQ")
_HDR = struct.Struct(">HHH")
_U16 = struct.Struct(">H")

REJECT_BAD_MAC = "auth_bad_mac"
"""Counter: no valid MAC (an unauthenticated packet, a forged one, or one made with another key)."""
REJECT_UNKNOWN_SOURCE = "auth_unknown_source"
"""Counter: a valid MAC from a sender (SPI) not configured for this input."""
REJECT_REPLAY = "auth_replay"
"""Counter: an authentic packet whose ARSN was already seen or is older than the window."""
REJECTIONS = (REJECT_BAD_MAC, REJECT_UNKNOWN_SOURCE, REJECT_REPLAY)


class Signer:
    """Adds the security trailer to packets one sender (``spi``) sends; the ARSN counts up from ``arsn_start``."""

    def __init__(self, key: KeyFile, spi: int, arsn_start: int | None = None):
        if not 0 <= spi <= MAX_SPI:
            raise ValueError(f"SPI must be 0..{MAX_SPI}; got {spi}")
        self._mac = hmac.new(key.derive(LABEL_LINK), digestmod=hashlib.sha256)
        self.spi = spi
        self.arsn = time.time_ns() if arsn_start is None else int(arsn_start)

    def sign(self, packet: bytes) -> bytes:
        """The authenticated form of ``packet`` (an encoded packet with its CRC, no trailer)."""
        body = bytearray(packet[:-CRC_LEN])
        word0, word1, dlen = _HDR.unpack_from(body)
        _HDR.pack_into(body, 0, word0, word1, dlen + TRAILER_LEN)
        body += _TRAILER_HEAD.pack(self.spi, self.arsn & 0xFFFFFFFFFFFFFFFF)
        self.arsn += 1
        mac = self._mac.copy()
        mac.update(body)
        body += mac.digest()[:MAC_BYTES]
        body += _U16.pack(crc16(bytes(body)))
        return bytes(body)


@dataclass
class _Window:
    highest: int
    seen: int = 1  # bit k: highest - k was accepted


class Verifier:
    """Checks the trailer of received packets: MAC, sender (SPI) and the anti-replay window.

    ``senders``: the SPIs accepted (any other authentic packet is ``auth_unknown_source``).
    """

    def __init__(self, key: KeyFile, senders: Iterable[int]):
        self._mac = hmac.new(key.derive(LABEL_LINK), digestmod=hashlib.sha256)
        self.senders = frozenset(int(s) for s in senders)
        self._windows: dict[int, _Window] = {}

    def open(self, data: bytes) -> tuple[int, int, bool, memoryview] | str:
        """``(apid, seq, telecommand, payload)`` of an authentic, fresh packet, else the rejection reason.

        Framing and CRC are checked first (PacketError, as for any packet: link corruption is
        ``malformed``, not an attack); then the MAC, the sender, and last the window, which only
        an authentic packet can move.
        """
        apid, seq, tc, payload = split_frame(data, TRAILER_LEN)
        end = len(data) - CRC_LEN
        mac = self._mac.copy()
        mac.update(memoryview(data)[: end - MAC_BYTES])
        if not hmac.compare_digest(mac.digest()[:MAC_BYTES], data[end - MAC_BYTES : end]):
            return REJECT_BAD_MAC
        spi, arsn = _TRAILER_HEAD.unpack_from(data, end - TRAILER_LEN)
        if spi not in self.senders:
            return REJECT_UNKNOWN_SOURCE
        if not self._fresh(spi, arsn):
            return REJECT_REPLAY
        return apid, seq, tc, payload

    def _fresh(self, spi: int, arsn: int) -> bool:
        """Accept ``arsn`` once (sliding window); the window moves only here, after the MAC passed."""
        w = self._windows.get(spi)
        if w is None:
            self._windows[spi] = _Window(arsn)
            return True
        if arsn > w.highest:
            shift = arsn - w.highest
            w.seen = ((w.seen << shift) | 1) & ((1 << REPLAY_WINDOW) - 1) if shift < REPLAY_WINDOW else 1
            w.highest = arsn
            return True
        back = w.highest - arsn
        if back >= REPLAY_WINDOW or w.seen >> back & 1:
            return False
        w.seen |= 1 << back
        return True


def read_packet(data: bytes, verifier: Verifier | None, counters: Counter[str]) -> Packet | None:
    """The packet of one datagram, or None after counting why not: ``malformed`` and ``malformed_<kind>``
    for a bad frame (link corruption), the verifier's reason (``auth_bad_mac``, ``auth_unknown_source``,
    ``auth_replay``) for a packet that is not authentic, not from an accepted sender, or not fresh.
    ``verifier`` None: unauthenticated packets (``--insecure``). Never raises for any input."""
    try:
        if verifier is None:
            return decode_packet(data)
        opened = verifier.open(data)
        if isinstance(opened, str):
            counters[opened] += 1
            return None
        return decode_frame(*opened)
    except PacketError as exc:
        counters["malformed"] += 1
        counters[f"malformed_{exc.kind}"] += 1
        return None


class StatusAuthenticator:
    """The console's authenticator (rangeguard.console.intake.Authenticator): a datagram from the AFSS
    in, the plain CCSDS packet out (trailer removed, length and CRC fixed), or None when it is not
    authentic or not fresh. The reason of the last rejection is in :attr:`last_reason`."""

    def __init__(self, key: KeyFile):
        self.verifier = Verifier(key, (SPI_AFSS,))
        self.last_reason: str | None = None

    def verify(self, datagram: bytes) -> bytes | None:
        try:
            opened = self.verifier.open(datagram)
        except PacketError:
            opened = REJECT_BAD_MAC  # not even a frame: it is no authentic packet either
        if isinstance(opened, str):
            self.last_reason = opened
            return None
        body = bytearray(datagram[: len(datagram) - CRC_LEN - TRAILER_LEN])
        word0, word1, dlen = _HDR.unpack_from(body)
        _HDR.pack_into(body, 0, word0, word1, dlen - TRAILER_LEN)
        body += _U16.pack(crc16(bytes(body)))
        return bytes(body)


def trailer_of(data: bytes) -> tuple[int, int]:
    """(SPI, ARSN) of an authenticated packet (not verified: for tests and diagnostics)."""
    if len(data) < HEADER_LEN + TRAILER_LEN + CRC_LEN:
        raise PacketError("short", "too short to carry a security trailer")
    spi, arsn = _TRAILER_HEAD.unpack_from(data, len(data) - CRC_LEN - TRAILER_LEN)
    return int(spi), int(arsn)

"""CCSDS space packets of the real-time AFSS: nav state, string health, status, terminate, heartbeat.

Every packet is a CCSDS space packet (CCSDS 133.0-B-2, Space Packet
Protocol): a 6-byte primary header (version 0, packet type TM for data and
TC for the terminate command, no secondary header, sequence flags
"unsegmented", 14-bit per-APID sequence count, data length = data field
bytes - 1), then a big-endian payload, then a 16-bit packet error control
field: CRC-16/CCITT (polynomial 0x1021, initial value 0xFFFF, no reflection,
no final XOR; ECSS-E-ST-70-41C annex B.1, "CRC-16/IBM-3740") computed over the
whole packet before it. A packet whose CRC over all its bytes is not zero is
rejected.

Encoding and decoding use ``struct`` directly (the fast path: see
docs/telemetry.md for the measurement); the tests check every packet type
against the ``spacepackets`` library's header codec and CRC, and
:func:`encode_header_spacepackets` builds the same header with that library.

Strings (rule names, reasons, the firing rule) are length-prefixed UTF-8: a
big-endian u16 byte count then the bytes; the count 0xFFFF stands for None.
Rule names in the margins table use a u8 count (names are short). Floats are
IEEE 754 binary64, big-endian; NaN is a legal value everywhere a float may be
unknown. The layouts are tabulated in docs/telemetry.md.
"""

from __future__ import annotations

import binascii
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from rangeguard.errors import RangeguardError

# --- identifiers -------------------------------------------------------------------

APID_NAV = 0x100
"""Nav state from one nav source (TM)."""
APID_HEALTH = 0x101
"""AFTS string self-reported health (TM)."""
APID_STATUS = 0x102
"""AFSS status: state, firing rule, margins, position and IIP (TM)."""
APID_HEARTBEAT = 0x103
"""AFSS process heartbeat with link counters (TM)."""
APID_TERMINATE = 0x110
"""Thrust termination command (TC; the "terminate" command of earlier versions, same layout), latched: repeated
until the process stops."""
APID_DESTRUCT = 0x111
"""Destruct command (TC), latched like the thrust termination command; follows it (or comes in the same cycle)."""
COMMAND_APIDS = (APID_TERMINATE, APID_DESTRUCT)
"""The telecommands (packet type 1); every other APID is telemetry."""

APID_NAMES = {
    APID_NAV: "nav", APID_HEALTH: "health", APID_STATUS: "status",
    APID_HEARTBEAT: "heartbeat", APID_TERMINATE: "terminate", APID_DESTRUCT: "destruct",
}  # fmt: skip

STATES = ("SAFE", "ARMED", "TERMINATED", "SAFED", "DESTRUCTED")
"""Status and heartbeat state codes (u8 index): the names of rangeguard.engine.AfssState, then DESTRUCTED
(a TERMINATED vehicle whose destruct command has fired)."""

HEADER_LEN = 6
CRC_LEN = 2
SEQ_MODULO = 1 << 14
MAX_PACKET_LEN = 65542  # 6 + 65536: the largest CCSDS space packet
MAX_FIRED_BY_LEN = 1024
"""Longest ``fired_by`` text a status packet carries, bytes (a rule name; longer ones are cut)."""
MAX_DATAGRAM_LEN = 65507
"""The largest UDP payload over IPv4 (65535 - 8 UDP header - 20 IP header bytes): no packet we send is longer."""
_NONE_LEN = 0xFFFF

_HDR = struct.Struct(">HHH")
_NAV = struct.Struct(">d3d3d4d3dBB")
_HEALTH = struct.Struct(">dBI")
_STATUS_HEAD = struct.Struct(">dB6d32s")
_TERM_HEAD = struct.Struct(">dI")
_HB_HEAD = struct.Struct(">ddBB32s")
_F64 = struct.Struct(">d")
_U16 = struct.Struct(">H")
_U64 = struct.Struct(">Q")

NAV_FLAG_VALID = 0x01
"""Nav flags bit 0: the source's own validity flag."""
NAV_FLAGS_KNOWN = NAV_FLAG_VALID

DIGEST_LEN = 32
"""Bytes of the mission load's SHA-256 digest in status and heartbeat packets (all zero: no sealed load)."""
_NO_DIGEST = bytes(DIGEST_LEN)

HEALTH_ENGINE_OK = 0x01
"""Heartbeat health bit 0: no engine cycle has failed (``cycle_faults`` is 0)."""
HEALTH_LOGS_OK = 0x02
"""Heartbeat health bit 1: every log write so far succeeded (``log_errors`` is 0)."""
HEALTH_LINK_AUTHENTICATED = 0x04
"""Heartbeat health bit 2: packets are authenticated (clear: ``--insecure``, lab use only)."""
HEALTH_LOAD_SEALED = 0x08
"""Heartbeat health bit 3: the mission is a verified sealed load (clear: ``--unsealed``, lab use only)."""
HEALTH_LOOP_OK = 0x10
"""Heartbeat health bit 4: no error in the AFSS loop (``loop_errors`` is 0)."""
HEALTH_READY = 0x20
"""Heartbeat health bit 5: READY, the engine can decide (its kernels are loaded and it has stepped once);
until then the AFSS takes no packet and cannot arm."""
HEALTH_BITS = {
    "engine_ok": HEALTH_ENGINE_OK, "logs_ok": HEALTH_LOGS_OK, "link_authenticated": HEALTH_LINK_AUTHENTICATED,
    "load_sealed": HEALTH_LOAD_SEALED, "loop_ok": HEALTH_LOOP_OK, "ready": HEALTH_READY,
}  # fmt: skip


def _digest_bytes(hex_digest: str) -> bytes:
    if not hex_digest:
        return _NO_DIGEST
    try:
        raw = bytes.fromhex(hex_digest)
    except ValueError:
        raise PacketError("payload", f"load digest must be {DIGEST_LEN} bytes of hex; got {hex_digest!r}") from None
    if len(raw) != DIGEST_LEN:
        raise PacketError("payload", f"load digest must be {DIGEST_LEN} bytes of hex; got {hex_digest!r}")
    return raw


def _digest_hex(raw: bytes) -> str:
    return "" if raw == _NO_DIGEST else raw.hex()


class PacketError(RangeguardError):
    """A datagram that is not a valid rangeguard packet. ``kind`` says why, for counting:

    ``short`` (fewer bytes than a header and CRC), ``length`` (header length
    field disagrees with the datagram), ``crc`` (packet error control
    mismatch), ``header`` (version, type or sequence flags not ours),
    ``apid`` (unknown APID), ``payload`` (payload does not parse).
    """

    def __init__(self, kind: str, message: str):
        super().__init__(f"bad packet ({kind}): {message}")
        self.kind = kind


# --- packet types ------------------------------------------------------------------


@dataclass(slots=True)
class NavPacket:
    """One nav sample from one source. Units and frames as rangeguard.nav.NavBatch.

    ``t_s`` time of validity (T+ s); ``r_ecef`` (m), ``v_ecef`` (m/s,
    Earth-relative) WGS84 ECEF; ``q_body_to_ecef`` (w, x, y, z) Hamilton,
    NaN if unknown; ``omega_body_rad_s`` body rates (rad/s), NaN if unknown;
    ``source`` index into mission.nav_sources; ``valid`` the source's flag.
    """

    t_s: float
    r_ecef: tuple[float, float, float]
    v_ecef: tuple[float, float, float]
    q_body_to_ecef: tuple[float, float, float, float] = (math.nan,) * 4
    omega_body_rad_s: tuple[float, float, float] = (math.nan,) * 3
    source: int = 0
    valid: bool = True
    seq: int = 0


@dataclass(slots=True)
class HealthPacket:
    """AFTS strings' self-reported health: ``healthy[k]`` for string k (mission order); ``t_s`` report time."""

    t_s: float
    healthy: tuple[bool, ...]
    seq: int = 0


@dataclass(slots=True)
class StatusPacket:
    """What the AFSS is doing, for the range (and the live console).

    ``t_s`` data time of the decision (T+ s); ``state`` one of :data:`STATES`;
    ``fired_by`` the rule (or string-fault:NAME) that terminated, else None;
    ``reason`` the engine's readable account (may be empty); ``margins`` rule
    name -> margin in the rule's unit (NaN where not judged); vehicle position
    ``lat_deg``, ``lon_deg`` (geodetic WGS84), ``alt_m`` (ellipsoidal), ground
    speed ``speed_mps`` (Earth-relative); vacuum IIP ``iip_lat_deg``,
    ``iip_lon_deg``; ``counters`` link counters (name -> count); ``load_sha256`` the hex SHA-256
    digest of the sealed mission load that flies ("" when the mission is not a sealed load).
    """

    t_s: float
    state: str
    fired_by: str | None = None
    reason: str = ""
    margins: dict[str, float] = field(default_factory=dict)
    lat_deg: float = math.nan
    lon_deg: float = math.nan
    alt_m: float = math.nan
    speed_mps: float = math.nan
    iip_lat_deg: float = math.nan
    iip_lon_deg: float = math.nan
    counters: dict[str, int] = field(default_factory=dict)
    seq: int = 0
    load_sha256: str = ""


@dataclass(slots=True)
class TerminateCommand:
    """The flight termination command. ``t_terminate_s`` data time of the decision (T+ s);
    ``repeat`` how many times it has been sent before (0 = first); ``fired_by`` what fired."""

    t_terminate_s: float
    repeat: int = 0
    fired_by: str | None = None
    seq: int = 0


@dataclass(slots=True)
class DestructCommand:
    """The destruct command. ``t_destruct_s`` data time of the decision (T+ s); ``repeat`` how many
    times it has been sent before (0 = first); ``fired_by`` what fired it (a destruct rule, or
    destruct-after:SECONDS)."""

    t_destruct_s: float
    repeat: int = 0
    fired_by: str | None = None
    seq: int = 0


@dataclass(slots=True)
class HeartbeatPacket:
    """The AFSS process is alive. ``t_s`` receive clock on the flight-time axis (NaN before the
    first nav sample); ``uptime_s`` monotonic seconds since start; ``counters`` link counters;
    ``state`` one of :data:`STATES`; ``health`` the AFSS's own health bits (:data:`HEALTH_BITS`);
    ``load_sha256`` the hex digest of the sealed load ("" when unsealed)."""

    t_s: float
    uptime_s: float
    counters: dict[str, int] = field(default_factory=dict)
    seq: int = 0
    state: str = "SAFE"
    health: int = 0
    load_sha256: str = ""


Packet = NavPacket | HealthPacket | StatusPacket | TerminateCommand | DestructCommand | HeartbeatPacket


# --- framing -----------------------------------------------------------------------


def crc16(data: bytes, value: int = 0xFFFF) -> int:
    """CRC-16/CCITT as ECSS packet error control (poly 0x1021, init 0xFFFF; binascii.crc_hqx)."""
    return binascii.crc_hqx(data, value)


def _frame(apid: int, seq: int, payload: bytes, telecommand: bool = False) -> bytes:
    """Primary header + payload + CRC. ``seq`` is taken modulo 2**14."""
    word0 = (int(telecommand) << 12) | (apid & 0x7FF)
    word1 = (0b11 << 14) | (seq % SEQ_MODULO)
    head = _HDR.pack(word0, word1, len(payload) + CRC_LEN - 1)
    body = head + payload
    return body + _U16.pack(binascii.crc_hqx(body, 0xFFFF))


def encode_header_spacepackets(apid: int, seq: int, payload_len: int, telecommand: bool = False) -> bytes:
    """The same 6-byte primary header built by the ``spacepackets`` library (reference codec)."""
    from spacepackets.ccsds import PacketType, SpacePacketHeader

    ptype = PacketType.TC if telecommand else PacketType.TM
    return bytes(SpacePacketHeader(ptype, apid, seq % SEQ_MODULO, payload_len + CRC_LEN - 1).pack())


def split_frame(data: bytes, trailer_len: int = 0) -> tuple[int, int, bool, memoryview]:
    """Check a datagram's framing and CRC; return (apid, seq, telecommand, payload). Raises PacketError.

    ``trailer_len``: bytes of security trailer (rangeguard.telemetry.auth) between the payload and the
    CRC; the payload returned excludes it (a packet too short to hold one is ``short``)."""
    n = len(data)
    if n < HEADER_LEN + CRC_LEN + trailer_len:
        raise PacketError("short", f"{n} bytes; a packet has at least {HEADER_LEN + CRC_LEN + trailer_len}")
    word0, word1, dlen = _HDR.unpack_from(data)
    if dlen + 1 + HEADER_LEN != n:
        raise PacketError("length", f"header says {dlen + 1 + HEADER_LEN} bytes, datagram has {n}")
    if binascii.crc_hqx(data, 0xFFFF) != 0:
        raise PacketError("crc", "packet error control (CRC-16/CCITT) mismatch")
    if word0 >> 13 != 0 or word0 & 0x0800 or word1 >> 14 != 0b11:
        raise PacketError("header", "not a version-0, unsegmented space packet without secondary header")
    payload = memoryview(data)[HEADER_LEN : n - CRC_LEN - trailer_len]
    return word0 & 0x7FF, word1 & 0x3FFF, bool(word0 & 0x1000), payload


# --- strings and tables ------------------------------------------------------------


def _put_str(out: bytearray, text: str | None) -> None:
    if text is None:
        out += _U16.pack(_NONE_LEN)
        return
    raw = text.encode("utf-8")
    if len(raw) >= _NONE_LEN:
        raw = raw[: _NONE_LEN - 1].decode("utf-8", "ignore").encode("utf-8")
    out += _U16.pack(len(raw))
    out += raw


def _get_str(buf: memoryview, pos: int) -> tuple[str | None, int]:
    (k,) = _U16.unpack_from(buf, pos)
    pos += 2
    if k == _NONE_LEN:
        return None, pos
    if pos + k > len(buf):
        raise PacketError("payload", "string runs past the end of the packet")
    try:
        return bytes(buf[pos : pos + k]).decode("utf-8"), pos + k
    except UnicodeDecodeError:
        raise PacketError("payload", "string is not UTF-8") from None


def _put_name(out: bytearray, name: str) -> None:
    raw = name.encode("utf-8")[:255]
    out.append(len(raw))
    out += raw


def _get_name(buf: memoryview, pos: int) -> tuple[str, int]:
    k = buf[pos]
    pos += 1
    if pos + k > len(buf):
        raise PacketError("payload", "name runs past the end of the packet")
    try:
        return bytes(buf[pos : pos + k]).decode("utf-8"), pos + k
    except UnicodeDecodeError:
        raise PacketError("payload", "name is not UTF-8") from None


def _put_margins(out: bytearray, margins: dict[str, float]) -> None:
    out += _U16.pack(len(margins))
    for name, value in margins.items():
        _put_name(out, name)
        out += _F64.pack(float(value))


def _get_margins(buf: memoryview, pos: int) -> tuple[dict[str, float], int]:
    (count,) = _U16.unpack_from(buf, pos)
    pos += 2
    out = {}
    for _ in range(count):
        name, pos = _get_name(buf, pos)
        (out[name],) = _F64.unpack_from(buf, pos)
        pos += 8
    return out, pos


def _put_counters(out: bytearray, counters: dict[str, int]) -> None:
    out.append(min(len(counters), 255))
    for name, value in list(counters.items())[:255]:
        _put_name(out, name)
        out += _U64.pack(max(0, int(value)) & 0xFFFFFFFFFFFFFFFF)


def _get_counters(buf: memoryview, pos: int) -> tuple[dict[str, int], int]:
    count = buf[pos]
    pos += 1
    out = {}
    for _ in range(count):
        name, pos = _get_name(buf, pos)
        (out[name],) = _U64.unpack_from(buf, pos)
        pos += 8
    return out, pos


# --- encoders ----------------------------------------------------------------------


def encode_nav(nav: NavPacket, seq: int) -> bytes:
    """A nav packet (APID_NAV): 114-byte payload, 122 bytes in all."""
    payload = _NAV.pack(
        nav.t_s, *nav.r_ecef, *nav.v_ecef, *nav.q_body_to_ecef, *nav.omega_body_rad_s,
        nav.source & 0xFF, NAV_FLAG_VALID if nav.valid else 0,
    )  # fmt: skip
    return _frame(APID_NAV, seq, payload)


def encode_health(health: HealthPacket, seq: int) -> bytes:
    """A string-health packet (APID_HEALTH): t_s, string count (u8), healthy bitmask (u32, bit k = string k)."""
    if len(health.healthy) > 32:
        raise PacketError("payload", f"at most 32 strings fit a health packet; got {len(health.healthy)}")
    mask = 0
    for k, ok in enumerate(health.healthy):
        mask |= int(bool(ok)) << k
    return _frame(APID_HEALTH, seq, _HEALTH.pack(health.t_s, len(health.healthy), mask))


def fit_margins(status: StatusPacket, max_len: int = MAX_DATAGRAM_LEN) -> tuple[dict[str, float], int]:
    """The margins of ``status`` that fit a status packet of at most ``max_len`` bytes, and how many were left out.

    A mission may have more rules than one datagram can list. Left out first: rules not judged
    (NaN), then passing rules from the last one up; violated rules (negative margins) stay as
    long as anything can. The count of omitted margins goes into the ``margins_omitted`` counter.
    """
    fixed = HEADER_LEN + CRC_LEN + _STATUS_HEAD.size + 2 + 2 + 8 + 32  # head, string lengths, counter slack
    fixed += _str_len(status.fired_by) + _str_len(status.reason) + _counters_len(status.counters)
    items = list(status.margins.items())
    sizes = [1 + len(name.encode("utf-8")[:255]) + 8 for name, _ in items]
    budget = max_len - fixed
    if sum(sizes) <= budget:
        return dict(items), 0
    order = sorted(range(len(items)), key=lambda j: (not math.isnan(items[j][1]), items[j][1] < 0, -j))
    keep = set(range(len(items)))
    total = sum(sizes)
    for j in order:
        if total <= budget:
            break
        keep.discard(j)
        total -= sizes[j]
    return {items[j][0]: items[j][1] for j in sorted(keep)}, len(items) - len(keep)


def _str_len(text: str | None) -> int:
    return 2 if text is None else 2 + min(len(text.encode("utf-8")), _NONE_LEN - 1)


def _counters_len(counters: dict[str, int]) -> int:
    return 1 + sum(1 + len(name.encode("utf-8")[:255]) + 8 for name in list(counters)[:255])


def encode_status(status: StatusPacket, seq: int, max_len: int = MAX_DATAGRAM_LEN) -> bytes:
    """A status packet (APID_STATUS) of at most ``max_len`` bytes; the layout is in docs/telemetry.md.

    Margins that do not fit are left out (:func:`fit_margins`) and counted in the
    ``margins_omitted`` counter; a reason longer than the room left is cut.
    """
    try:
        code = STATES.index(status.state)
    except ValueError:
        raise PacketError("payload", f"status state must be one of {', '.join(STATES)}; got {status.state!r}") from None
    if status.fired_by is not None and len(status.fired_by.encode("utf-8")) > MAX_FIRED_BY_LEN:
        status = replace(status, fired_by=status.fired_by.encode("utf-8")[:MAX_FIRED_BY_LEN].decode("utf-8", "ignore"))
    margins, omitted = fit_margins(status, max_len)
    counters = dict(status.counters)
    if omitted:
        counters["margins_omitted"] = omitted
    reason = status.reason
    room = max_len - (
        HEADER_LEN
        + CRC_LEN
        + _STATUS_HEAD.size
        + _str_len(status.fired_by)
        + 2
        + _counters_len(counters)
        + 2
        + sum(1 + len(n.encode("utf-8")[:255]) + 8 for n in margins)
    )
    if len(reason.encode("utf-8")) > max(0, room):
        reason = reason.encode("utf-8")[: max(0, room)].decode("utf-8", "ignore")
    out = bytearray(
        _STATUS_HEAD.pack(
            status.t_s, code, status.lat_deg, status.lon_deg, status.alt_m, status.speed_mps,
            status.iip_lat_deg, status.iip_lon_deg, _digest_bytes(status.load_sha256),
        )
    )  # fmt: skip
    _put_str(out, status.fired_by)
    _put_str(out, reason)
    _put_margins(out, margins)
    _put_counters(out, counters)
    return _frame(APID_STATUS, seq, bytes(out))


def encode_terminate(cmd: TerminateCommand, seq: int) -> bytes:
    """The terminate command (TC, APID_TERMINATE): t_terminate_s, repeat (u32), fired_by."""
    out = bytearray(_TERM_HEAD.pack(cmd.t_terminate_s, cmd.repeat & 0xFFFFFFFF))
    _put_str(out, cmd.fired_by)
    return _frame(APID_TERMINATE, seq, bytes(out), telecommand=True)


def encode_destruct(cmd: DestructCommand, seq: int) -> bytes:
    """The destruct command (TC, APID_DESTRUCT): t_destruct_s, repeat (u32), fired_by (the terminate layout)."""
    out = bytearray(_TERM_HEAD.pack(cmd.t_destruct_s, cmd.repeat & 0xFFFFFFFF))
    _put_str(out, cmd.fired_by)
    return _frame(APID_DESTRUCT, seq, bytes(out), telecommand=True)


def encode_heartbeat(hb: HeartbeatPacket, seq: int) -> bytes:
    """A heartbeat (APID_HEARTBEAT): t_s, uptime_s, state (u8), health bits (u8), load digest (32 bytes), counters."""
    try:
        code = STATES.index(hb.state)
    except ValueError:
        raise PacketError("payload", f"heartbeat state must be one of {', '.join(STATES)}; got {hb.state!r}") from None
    out = bytearray(_HB_HEAD.pack(hb.t_s, hb.uptime_s, code, hb.health & 0xFF, _digest_bytes(hb.load_sha256)))
    _put_counters(out, hb.counters)
    return _frame(APID_HEARTBEAT, seq, bytes(out))


def encode_packet(packet: Packet, seq: int) -> bytes:
    """Encode any packet type."""
    return _ENCODERS[type(packet)](packet, seq)


# --- decoder -----------------------------------------------------------------------


def _decode_payload(apid: int, telecommand: bool, seq: int, p: memoryview) -> Packet:
    if apid == APID_NAV:
        if len(p) != _NAV.size:
            raise PacketError("payload", f"nav payload must be {_NAV.size} bytes; got {len(p)}")
        v = _NAV.unpack(p)
        flags = v[15]
        if flags & ~NAV_FLAGS_KNOWN:
            raise PacketError("payload", f"nav flags 0x{flags:02x} set unknown bits")
        return NavPacket(v[0], v[1:4], v[4:7], v[7:11], v[11:14], v[14], bool(flags & NAV_FLAG_VALID), seq)
    if apid == APID_HEALTH:
        if len(p) != _HEALTH.size:
            raise PacketError("payload", f"health payload must be {_HEALTH.size} bytes; got {len(p)}")
        t, count, mask = _HEALTH.unpack(p)
        if count > 32:
            raise PacketError("payload", f"health packet claims {count} strings; at most 32")
        return HealthPacket(t, tuple(bool(mask >> k & 1) for k in range(count)), seq)
    if apid == APID_STATUS:
        head = _STATUS_HEAD.unpack_from(p)
        if head[1] >= len(STATES):
            raise PacketError("payload", f"status state code {head[1]} unknown")
        pos = _STATUS_HEAD.size
        fired, pos = _get_str(p, pos)
        reason, pos = _get_str(p, pos)
        margins, pos = _get_margins(p, pos)
        counters, pos = _get_counters(p, pos)
        if pos != len(p):
            raise PacketError("payload", f"{len(p) - pos} stray bytes after the status fields")
        lat, lon, alt, speed, iip_lat, iip_lon = head[2:8]
        digest = _digest_hex(head[8])
        return StatusPacket(
            head[0],
            STATES[head[1]],
            fired,
            reason or "",
            margins,
            lat,
            lon,
            alt,
            speed,
            iip_lat,
            iip_lon,
            counters,
            seq,
            digest,
        )
    if apid in (APID_TERMINATE, APID_DESTRUCT):
        name, kind = ("terminate", TerminateCommand) if apid == APID_TERMINATE else ("destruct", DestructCommand)
        if not telecommand:
            raise PacketError("header", f"the {name} command must be a telecommand (packet type 1)")
        t, repeat = _TERM_HEAD.unpack_from(p)
        fired, pos = _get_str(p, _TERM_HEAD.size)
        if pos != len(p):
            raise PacketError("payload", f"{len(p) - pos} stray bytes after the {name} fields")
        return kind(t, repeat, fired, seq)
    if apid == APID_HEARTBEAT:
        t, up, code, health, digest = _HB_HEAD.unpack_from(p)
        if code >= len(STATES):
            raise PacketError("payload", f"heartbeat state code {code} unknown")
        counters, pos = _get_counters(p, _HB_HEAD.size)
        if pos != len(p):
            raise PacketError("payload", f"{len(p) - pos} stray bytes after the heartbeat fields")
        return HeartbeatPacket(t, up, counters, seq, STATES[code], health, _digest_hex(digest))
    raise PacketError("apid", f"APID 0x{apid:03x} is not one of {', '.join(f'0x{a:03x}' for a in APID_NAMES)}")


def decode_packet(data: bytes, trailer_len: int = 0) -> Packet:
    """Decode one datagram into its packet object (``seq`` filled from the header).

    Raises :class:`PacketError` (with ``kind``) for anything that is not a
    valid packet: short, wrong length, CRC mismatch, foreign header, unknown
    APID, or a payload that does not parse. Never any other exception.
    ``trailer_len``: skip a security trailer of that many bytes before the CRC (it is NOT checked
    here: rangeguard.telemetry.auth.Verifier checks it).
    """
    return decode_frame(*split_frame(data, trailer_len))


def decode_frame(apid: int, seq: int, tc: bool, payload: memoryview) -> Packet:
    """Decode the parts :func:`split_frame` returns. Raises :class:`PacketError` only."""
    if tc and apid not in COMMAND_APIDS:
        raise PacketError("header", f"APID 0x{apid:03x} must be telemetry (packet type 0)")
    try:
        return _decode_payload(apid, tc, seq, payload)
    except struct.error as exc:
        raise PacketError("payload", f"{APID_NAMES.get(apid, 'packet')} payload too short: {exc}") from None
    except IndexError:
        raise PacketError("payload", f"{APID_NAMES.get(apid, 'packet')} payload truncated") from None


_ENCODERS: dict[type, Callable[[Any, int], bytes]] = {
    NavPacket: encode_nav, HealthPacket: encode_health, StatusPacket: encode_status,
    TerminateCommand: encode_terminate, DestructCommand: encode_destruct, HeartbeatPacket: encode_heartbeat,
}  # fmt: skip

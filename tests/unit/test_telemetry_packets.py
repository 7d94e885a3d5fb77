"""CCSDS packet codec: round trips, the header against the spacepackets library, CRC-16 against
fastcrc and the published check value, and rejection of every damaged packet."""

from __future__ import annotations

import math
import struct
from dataclasses import replace

import pytest
from fastcrc import crc16 as fast_crc16
from hypothesis import given, settings
from hypothesis import strategies as st
from spacepackets.ccsds import PacketType, SpacePacketHeader

from rangeguard.telemetry.packets import (
    APID_DESTRUCT,
    APID_HEALTH,
    APID_HEARTBEAT,
    APID_NAV,
    APID_STATUS,
    APID_TERMINATE,
    DestructCommand,
    HealthPacket,
    HeartbeatPacket,
    NavPacket,
    PacketError,
    StatusPacket,
    TerminateCommand,
    crc16,
    decode_packet,
    encode_header_spacepackets,
    encode_nav,
    encode_packet,
    encode_status,
)

floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
names = st.text(min_size=0, max_size=40)


def _same(a, b) -> bool:
    """Equality where NaN equals NaN (floats compared by bit pattern of their value)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, tuple | list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return a == b


def _fields(p):
    return [getattr(p, f) for f in p.__slots__]


def test_crc_is_ccitt_false_check_value_and_agrees_with_fastcrc():
    """CRC-16/CCITT-FALSE (IBM-3740) of b'123456789' is 0x29B1 (the catalogue check value)."""
    assert crc16(b"123456789") == 0x29B1
    assert fast_crc16.ibm_3740(b"123456789") == 0x29B1
    data = bytes(range(256)) * 3
    assert crc16(data) == fast_crc16.ibm_3740(data)


SAMPLES = [
    NavPacket(103.25, (-3.7e6, 3.6e6, 3.5e6), (1.0, -2.0, 3.0), (1.0, 0.0, 0.0, 0.0), (0.1, 0.2, 0.3), 1, False, 0),
    HealthPacket(68.8, (True, False), 5),
    StatusPacket(
        12.5,
        "ARMED",
        None,
        "ARMED since T+0.10 s",
        {"iip-corridor": 1.5e3, "nav-loss": math.nan},
        33.5,
        135.9,
        1000.0,
        300.0,
        30.0,
        134.0,
        {"received": 7},
        9,
    ),
    TerminateCommand(103.18, 3, "iip-corridor", 16383),
    DestructCommand(105.18, 0, "destruct-after:2", 12),
    HeartbeatPacket(math.nan, 2.5, {"gaps": 2, "malformed": 1}, 77),
    HeartbeatPacket(110.0, 9.5, {}, 78, "DESTRUCTED"),
]


@pytest.mark.parametrize("packet", SAMPLES, ids=lambda p: type(p).__name__)
def test_round_trip_and_header_matches_spacepackets(packet):
    data = encode_packet(packet, packet.seq)
    back = decode_packet(data)
    assert type(back) is type(packet) and _same(_fields(back), _fields(packet))
    head = SpacePacketHeader.unpack(data)
    apid = {
        NavPacket: APID_NAV,
        HealthPacket: APID_HEALTH,
        StatusPacket: APID_STATUS,
        TerminateCommand: APID_TERMINATE,
        DestructCommand: APID_DESTRUCT,
        HeartbeatPacket: APID_HEARTBEAT,
    }[type(packet)]
    command = apid in (APID_TERMINATE, APID_DESTRUCT)
    assert head.apid == apid and head.seq_count == packet.seq
    assert head.packet_type == (PacketType.TC if command else PacketType.TM)
    assert head.packet_len == len(data)  # data length field = bytes after the header - 1
    assert encode_header_spacepackets(apid, packet.seq, len(data) - 8, command) == data[:6]
    # packet error control: the last two bytes are the CRC of everything before them
    assert struct.unpack(">H", data[-2:])[0] == fast_crc16.ibm_3740(data[:-2])


def test_nav_layout_by_hand():
    """Nav payload: 14 big-endian doubles (t, r, v, q, omega), source u8, flags u8 = 114 bytes."""
    nav = SAMPLES[0]
    data = encode_nav(nav, 42)
    assert len(data) == 6 + 114 + 2
    values = struct.unpack(">14dBB", data[6:-2])
    assert values[0] == 103.25 and values[1:4] == nav.r_ecef and values[14] == 1 and values[15] == 0


@settings(max_examples=150, deadline=None)
@given(
    t=floats, r=st.tuples(floats, floats, floats), src=st.integers(0, 255), ok=st.booleans(), seq=st.integers(0, 10**6)
)
def test_nav_round_trip_property(t, r, src, ok, seq):
    nav = NavPacket(t, r, r, (t, t, t, t), r, src, ok)
    back = decode_packet(encode_nav(nav, seq))
    assert back.seq == seq % (1 << 14)
    assert _same(_fields(back)[:-1], _fields(nav)[:-1])


@settings(max_examples=150, deadline=None)
@given(
    state=st.sampled_from(["SAFE", "ARMED", "TERMINATED", "SAFED"]),
    fired=st.none() | names,
    reason=names,
    margins=st.dictionaries(st.text(min_size=1, max_size=30), floats, max_size=20),
    t=floats,
)
def test_status_round_trip_property(state, fired, reason, margins, t):
    status = StatusPacket(t, state, fired, reason, margins, t, t, t, t, t, t)
    back = decode_packet(encode_status(status, 3))
    assert _same(_fields(back), _fields(replace(status, seq=3)))


def test_every_single_bit_flip_is_rejected():
    """CRC-16/CCITT has Hamming distance 4 at these lengths: every 1-bit error is caught."""
    for packet in SAMPLES:
        data = encode_packet(packet, packet.seq)
        for bit in range(8 * len(data)):
            bad = bytearray(data)
            bad[bit // 8] ^= 1 << (bit % 8)
            with pytest.raises(PacketError):
                decode_packet(bytes(bad))


def test_truncated_and_extended_packets_are_rejected_with_kind():
    data = encode_packet(SAMPLES[2], 1)
    for n in range(len(data)):
        with pytest.raises(PacketError) as err:
            decode_packet(data[:n])
        assert err.value.kind in ("short", "length")
    with pytest.raises(PacketError) as err:
        decode_packet(data + b"\x00")
    assert err.value.kind == "length"


def test_unknown_apid_and_bad_state_are_clear_errors():
    from rangeguard.telemetry.packets import _frame

    with pytest.raises(PacketError, match="APID 0x7ff"):
        decode_packet(_frame(0x7FF, 0, b"abc"))
    with pytest.raises(PacketError, match="must be one of SAFE"):
        encode_status(StatusPacket(0.0, "EXPLODED"), 0)
    with pytest.raises(PacketError, match="telecommand"):
        decode_packet(_frame(APID_TERMINATE, 0, struct.pack(">dIH", 1.0, 0, 0xFFFF)))


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_only_ever_raise_packet_error(data):
    try:
        decode_packet(data)
    except PacketError:
        pass


@settings(max_examples=400, deadline=None)
@given(
    which=st.integers(0, len(SAMPLES) - 1),
    cut=st.integers(0, 200),
    junk=st.binary(max_size=40),
    apid=st.sampled_from([APID_NAV, APID_HEALTH, APID_STATUS, APID_HEARTBEAT, APID_TERMINATE]),
)
def test_reframed_mutated_payloads_never_crash_the_decoder(which, cut, junk, apid):
    """Payload damage behind a *valid* CRC (the CRC cannot help): a packet or a PacketError, nothing else."""
    from rangeguard.telemetry.packets import _frame

    payload = encode_packet(SAMPLES[which], 0)[6:-2]
    mutated = payload[:cut] + junk + payload[cut + len(junk) :]
    try:
        decode_packet(_frame(apid, 1, mutated, telecommand=apid == APID_TERMINATE))
    except PacketError:
        pass


def test_destruct_is_apid_0x111_a_telecommand_and_a_telemetry_copy_is_refused():
    """The destruct command (APID 0x111) has the terminate command's layout by hand: t (double), repeat (u32),
    fired_by (u16 length + UTF-8); sent as telemetry (packet type 0) it is refused."""
    data = encode_packet(DestructCommand(7.5, 2, "breakup"), 3)
    head = SpacePacketHeader.unpack(data)
    assert head.apid == 0x111 and head.packet_type == PacketType.TC
    t, repeat = struct.unpack(">dI", data[6:18])
    assert (t, repeat) == (7.5, 2) and data[18:-2].endswith(b"breakup")
    tm = bytearray(data)
    tm[0] &= ~0x10  # packet type bit -> telemetry
    tm[-2:] = struct.pack(">H", fast_crc16.ibm_3740(bytes(tm[:-2])))
    with pytest.raises(PacketError, match="telecommand"):
        decode_packet(bytes(tm))

"""Authenticated packets (rangeguard.telemetry.auth) and key files (rangeguard.keyfile): layout, MAC,
sender, anti-replay window, and the key file's checks. No sockets, no timing."""

from __future__ import annotations

import hashlib
import hmac
import os
import struct

import pytest

from rangeguard.errors import InputError
from rangeguard.keyfile import LABEL_LINK, LABEL_SEAL, read_key_file, write_key_file
from rangeguard.telemetry.auth import (
    MAC_BYTES,
    REJECT_BAD_MAC,
    REJECT_REPLAY,
    REJECT_UNKNOWN_SOURCE,
    REPLAY_WINDOW,
    SPI_AFSS,
    SPI_VEHICLE,
    TRAILER_LEN,
    Signer,
    Verifier,
    trailer_of,
)
from rangeguard.telemetry.packets import (
    HeartbeatPacket,
    NavPacket,
    PacketError,
    StatusPacket,
    TerminateCommand,
    crc16,
    decode_frame,
    encode_heartbeat,
    encode_nav,
    encode_packet,
    split_frame,
)

NAV = NavPacket(12.5, (1.0, 2.0, 3.0), (4.0, 5.0, 6.0), source=1)
SAMPLES = [
    NAV,
    StatusPacket(3.0, "ARMED", margins={"a": 1.0}, counters={"auth_bad_mac": 2}, load_sha256="ab" * 32),
    TerminateCommand(101.0, 3, "iip-corridor"),
    HeartbeatPacket(4.0, 5.0, {"received": 9}, state="ARMED", health=0x1F, load_sha256="cd" * 32),
]


@pytest.fixture()
def key(tmp_path):
    return write_key_file(tmp_path / "link.key")


def test_layout_follows_the_documented_trailer(key):
    plain = encode_nav(NAV, 42)
    signed = Signer(key, SPI_VEHICLE, arsn_start=1000).sign(plain)
    assert len(signed) == len(plain) + TRAILER_LEN == 122 + 26
    assert signed[:4] == plain[:4]  # version, type, APID, sequence count unchanged
    assert struct.unpack(">H", signed[4:6])[0] == len(signed) - 7  # data length counts the trailer
    assert signed[6 : 6 + 114] == plain[6:-2]  # payload at the same offset
    spi, arsn = struct.unpack(">HQ", signed[-2 - TRAILER_LEN : -2 - MAC_BYTES])
    assert (spi, arsn) == (SPI_VEHICLE, 1000) == trailer_of(signed)
    # MAC: HMAC-SHA256 with the derived link key over every byte before it, first 16 bytes
    link_key = hmac.new(key.key, LABEL_LINK, hashlib.sha256).digest()
    mac = hmac.new(link_key, signed[: -2 - MAC_BYTES], hashlib.sha256).digest()[:MAC_BYTES]
    assert signed[-2 - MAC_BYTES : -2] == mac
    assert crc16(signed) == 0  # the CRC still covers the whole packet
    assert key.derive(LABEL_LINK) != key.derive(LABEL_SEAL)


@pytest.mark.parametrize("packet", SAMPLES, ids=lambda p: type(p).__name__)
def test_every_packet_type_round_trips_signed(key, packet):
    data = Signer(key, SPI_AFSS).sign(encode_packet(packet, 7))
    opened = Verifier(key, {SPI_AFSS}).open(data)
    assert not isinstance(opened, str)
    back = decode_frame(*opened)
    assert type(back) is type(packet) and back.seq == 7
    if isinstance(packet, StatusPacket | HeartbeatPacket):
        assert back.load_sha256 == packet.load_sha256


def test_unsigned_forged_wrong_key_and_unknown_sender_are_rejected_by_reason(key, tmp_path):
    v = Verifier(key, {SPI_VEHICLE})
    plain = encode_nav(NAV, 1)
    # a well-formed packet without a trailer: its last 26 bytes are no MAC
    assert v.open(plain) == REJECT_BAD_MAC
    other = write_key_file(tmp_path / "other.key")
    assert v.open(Signer(other, SPI_VEHICLE).sign(plain)) == REJECT_BAD_MAC
    assert v.open(Signer(key, 9).sign(plain)) == REJECT_UNKNOWN_SOURCE
    # a payload changed after signing, CRC recomputed (a forger who knows the CRC but not the key)
    signed = bytearray(Signer(key, SPI_VEHICLE).sign(plain))
    signed[10] ^= 0x40
    signed[-2:] = struct.pack(">H", crc16(bytes(signed[:-2])))
    assert v.open(bytes(signed)) == REJECT_BAD_MAC
    # the SPI changed (the trailer is authenticated too)
    signed = bytearray(Signer(key, SPI_VEHICLE).sign(plain))
    signed[-2 - TRAILER_LEN + 1] ^= 0x08
    signed[-2:] = struct.pack(">H", crc16(bytes(signed[:-2])))
    assert v.open(bytes(signed)) == REJECT_BAD_MAC
    # link corruption is a CRC error (malformed), not an attack
    signed = bytearray(Signer(key, SPI_VEHICLE).sign(plain))
    signed[20] ^= 1
    with pytest.raises(PacketError) as err:
        v.open(bytes(signed))
    assert err.value.kind == "crc"


def test_anti_replay_window(key):
    s, v = Signer(key, SPI_VEHICLE, arsn_start=10**12), Verifier(key, {SPI_VEHICLE})
    packets = [s.sign(encode_nav(NAV, k)) for k in range(3 * REPLAY_WINDOW)]
    assert not isinstance(v.open(packets[0]), str)
    assert v.open(packets[0]) == REJECT_REPLAY  # the same bytes again
    assert not isinstance(v.open(packets[2]), str)
    assert not isinstance(v.open(packets[1]), str)  # reordered inside the window: taken once
    assert v.open(packets[1]) == REJECT_REPLAY
    assert not isinstance(v.open(packets[2 + REPLAY_WINDOW]), str)  # a jump ahead (packets lost)
    assert v.open(packets[2]) == REJECT_REPLAY  # now older than the window
    assert not isinstance(v.open(packets[3 + 1]), str)  # inside the window, never seen: taken
    for p in packets[3 + REPLAY_WINDOW :]:
        assert not isinstance(v.open(p), str)
    assert all(v.open(p) == REJECT_REPLAY for p in packets)  # every one of them, once more


def test_the_window_is_per_sender_and_a_restarted_sender_continues_above(key):
    v = Verifier(key, {1, 2})
    a, b = Signer(key, 1, arsn_start=5000), Signer(key, 2, arsn_start=10)
    assert not isinstance(v.open(a.sign(encode_nav(NAV, 0))), str)
    assert not isinstance(v.open(b.sign(encode_nav(NAV, 0))), str)  # far below sender 1's numbers: its own window
    restarted = Signer(key, 1)  # starts at the wall clock in ns, far above 5000
    assert restarted.arsn > a.arsn
    assert not isinstance(v.open(restarted.sign(encode_nav(NAV, 0))), str)  # the 14-bit count restarted at 0: fine


def test_the_14_bit_count_may_wrap_and_repeat_without_a_replay(key):
    s, v = Signer(key, SPI_VEHICLE, arsn_start=0), Verifier(key, {SPI_VEHICLE})
    first = s.sign(encode_nav(NAV, 5))
    again = s.sign(encode_nav(NAV, 5 + 16384))  # the same 14-bit count after a wrap: a new ARSN
    assert first[2:4] == again[2:4]
    assert not isinstance(v.open(first), str) and not isinstance(v.open(again), str)


def test_key_file_checks(tmp_path):
    k = write_key_file(tmp_path / "k")
    assert os.stat(tmp_path / "k").st_mode & 0o777 == 0o600
    assert read_key_file(tmp_path / "k").key == k.key and len(k.fingerprint) == 16
    with pytest.raises(InputError, match="never overwritten"):
        write_key_file(tmp_path / "k")
    os.chmod(tmp_path / "k", 0o644)
    with pytest.raises(InputError, match="chmod 600"):
        read_key_file(tmp_path / "k")
    bad = tmp_path / "bad"
    bad.write_text("rangeguard-key-v1 1234\n")
    os.chmod(bad, 0o600)
    with pytest.raises(InputError, match="64 hex digits"):
        read_key_file(bad)
    bad.write_text("hello\n")
    with pytest.raises(InputError, match="not a rangeguard key file"):
        read_key_file(bad)
    with pytest.raises(InputError, match="rangeguard keygen"):
        read_key_file(tmp_path / "missing")


def test_heartbeat_carries_state_health_and_digest():
    data = encode_heartbeat(
        HeartbeatPacket(1.0, 2.0, {"x": 1}, state="TERMINATED", health=0x15, load_sha256="0f" * 32), 3
    )
    back = decode_frame(*split_frame(data))
    assert isinstance(back, HeartbeatPacket)
    assert (back.state, back.health, back.load_sha256, back.counters) == ("TERMINATED", 0x15, "0f" * 32, {"x": 1})


def test_the_console_believes_only_status_the_afss_signed(key, tmp_path):
    from rangeguard.bundled import mission_path
    from rangeguard.console.intake import SenderAllowList, StatusIntake
    from rangeguard.console.state import ConsoleState
    from rangeguard.mission import load_mission
    from rangeguard.telemetry.auth import StatusAuthenticator
    from rangeguard.telemetry.packets import encode_status

    m = load_mission(mission_path("sounding"))
    intake = StatusIntake(SenderAllowList.parse("127.0.0.1"), 16_384, StatusAuthenticator(key))
    st = ConsoleState(m, intake)
    afss, sender = Signer(key, SPI_AFSS), ("127.0.0.1", 40_000)
    status = StatusPacket(3.0, "ARMED", counters={"auth_bad_mac": 4}, load_sha256="ab" * 32)
    msg = st.ingest(afss.sign(encode_status(status, 1)), sender, 0.0)
    assert msg is not None and msg["state"] == "ARMED" and msg["load_sha256"] == "ab" * 32
    assert msg["link"]["auth_bad_mac"] == 4  # the AFSS's own drop counts reach the page
    forged = StatusPacket(4.0, "SAFED")
    assert st.ingest(encode_status(forged, 2), sender, 0.1) is None  # unsigned
    assert (
        st.ingest(Signer(write_key_file(tmp_path / "x.key"), SPI_AFSS).sign(encode_status(forged, 3)), sender, 0.2)
        is None
    )
    assert st.ingest(Signer(key, SPI_VEHICLE).sign(encode_status(forged, 4)), sender, 0.3) is None  # not the AFSS
    assert st.counters["rejected_auth"] == 3 and st.latest["state"] == "ARMED"
    assert st.intake_report()["authenticated"] is True

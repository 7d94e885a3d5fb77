"""The flight termination receiver's heartbeat policy (rangeguard.telemetry.receiver.CommandMonitor):
datagrams and clock readings in, the action out; no sockets, no timing."""

from __future__ import annotations

import pytest

from rangeguard.errors import InputError
from rangeguard.keyfile import write_key_file
from rangeguard.telemetry.auth import SPI_AFSS, Signer, Verifier
from rangeguard.telemetry.packets import HeartbeatPacket, TerminateCommand, encode_heartbeat, encode_terminate
from rangeguard.telemetry.receiver import SAFE, TERMINATE, CommandMonitor

PERIOD_S = 1.0


@pytest.fixture()
def key(tmp_path):
    return write_key_file(tmp_path / "link.key")


def _beat(signer, state, seq=0):
    data = encode_heartbeat(HeartbeatPacket(1.0, 2.0, {}, state=state, health=0x1F, load_sha256="ab" * 32), seq)
    return data if signer is None else signer.sign(data)


def _monitor(key, **kw):
    return CommandMonitor(Verifier(key, {SPI_AFSS}), PERIOD_S, **kw)


@pytest.mark.parametrize(
    "state, action", [("ARMED", TERMINATE), ("TERMINATED", TERMINATE), ("SAFE", SAFE), ("SAFED", SAFE)]
)
def test_heartbeat_loss_acts_on_the_last_authentic_state(key, state, action):
    mon, afss = _monitor(key), Signer(key, SPI_AFSS)
    for k in range(5):
        mon.datagram(_beat(afss, state, k), float(k))
        assert mon.check(float(k) + 0.5) is None
    assert mon.check(4.0 + 3 * PERIOD_S) is None  # exactly three periods: not yet
    assert mon.check(4.0 + 3 * PERIOD_S + 0.01) == action
    assert mon.report()["last_state"] == state and mon.load_sha256 == "ab" * 32
    assert mon.counters["heartbeat_lost"] == 1 and "heartbeat lost" in mon.action_reason


def test_forged_heartbeats_do_not_keep_a_dead_afss_alive(key, tmp_path):
    mon, afss = _monitor(key), Signer(key, SPI_AFSS)
    mon.datagram(_beat(afss, "ARMED"), 0.0)
    other = Signer(write_key_file(tmp_path / "other.key"), SPI_AFSS)
    for k in range(1, 40):
        t = 0.1 * k
        mon.datagram(_beat(None, "SAFE"), t)  # unsigned
        mon.datagram(_beat(other, "SAFE"), t)  # another key
        mon.datagram(Signer(key, 5).sign(encode_heartbeat(HeartbeatPacket(t, t), 0)), t)  # not the AFSS
        mon.check(t)
    assert mon.action == TERMINATE and mon.last_state == "ARMED"
    c = mon.counters
    assert c["auth_bad_mac"] == 2 * 39 and c["auth_unknown_source"] == 39 and c["heartbeats"] == 1


def test_a_replayed_heartbeat_is_no_heartbeat(key):
    mon, afss = _monitor(key), Signer(key, SPI_AFSS)
    beat = _beat(afss, "ARMED")
    mon.datagram(beat, 0.0)
    for t in (1.0, 2.0, 3.0):
        mon.datagram(beat, t)
    assert mon.counters["auth_replay"] == 3
    assert mon.check(3.5) == TERMINATE


def test_never_heard_is_safe_and_a_terminate_command_latches(key):
    mon = _monitor(key)
    assert mon.check(3.5) == SAFE and "no heartbeat ever" in mon.action_reason
    mon = _monitor(key)
    mon.datagram(Signer(key, SPI_AFSS).sign(encode_terminate(TerminateCommand(103.0, 0, "iip-corridor"), 0)), 0.5)
    assert mon.action == TERMINATE and mon.check(100.0) == TERMINATE
    assert mon.counters["terminate_commands"] == 1 and mon.counters["heartbeat_lost"] == 0


def test_fixed_policies_and_option_checks(key):
    afss = Signer(key, SPI_AFSS)
    for policy, action in (("terminate", TERMINATE), ("safe", SAFE)):
        mon = _monitor(key, on_loss=policy)
        mon.datagram(_beat(afss, "SAFE" if policy == "terminate" else "ARMED"), 0.0)
        assert mon.check(10.0) == action
    with pytest.raises(InputError, match="on-heartbeat-loss"):
        _monitor(key, on_loss="explode")
    mon = CommandMonitor(None, PERIOD_S, missed=2)  # insecure (lab): plain packets
    mon.datagram(_beat(None, "ARMED"), 0.0)
    assert mon.check(2.5) == TERMINATE and mon.counters["heartbeats"] == 1


def test_a_destruct_command_follows_the_thrust_termination_and_latches(key):
    """Authentic 0x110 then 0x111: TERMINATE, then DESTRUCT (it outranks TERMINATE), then nothing undoes it; a
    forged destruct (unsigned) is dropped and counted."""
    from rangeguard.telemetry.packets import DestructCommand, encode_destruct
    from rangeguard.telemetry.receiver import DESTRUCT

    signer = Signer(key, SPI_AFSS)
    mon = _monitor(key)
    mon.datagram(encode_destruct(DestructCommand(104.0, 0, "forged"), 9), 0.2)
    assert mon.action is None and mon.counters["destruct_commands"] == 0
    mon.datagram(signer.sign(encode_terminate(TerminateCommand(103.0, 0, "iip-corridor"), 0)), 0.5)
    assert mon.action == TERMINATE
    mon.datagram(signer.sign(encode_destruct(DestructCommand(104.0, 0, "destruct-after:1"), 0)), 1.5)
    assert mon.action == DESTRUCT and "destruct-after:1" in mon.action_reason and mon.action_s == 1.5
    mon.datagram(signer.sign(encode_terminate(TerminateCommand(103.0, 1, "iip-corridor"), 1)), 1.6)
    assert mon.check(100.0) == DESTRUCT and mon.counters["destruct_commands"] == 1

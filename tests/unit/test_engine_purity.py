"""The decision function is pure: a cycle writes none of its inputs and none of the previous state's
arrays, whatever it does (arming, rejected, jumping and re-acquired samples, sources the mission does
not know, terminations of every cause, safing), for one vehicle (whose cycle copies only the arrays it
changes, starting its ingest over when a sample needs more) as for a batch; and a batch large enough for
the parallel loops decides exactly as the serial loops do.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_engine import batch_inputs, batch_mission
from test_engine_properties import BASES, MISSIONS

from rangeguard.engine import AfssState, Engine
from rangeguard.jit import PARALLEL_MIN_ROWS
from rangeguard.nav import NavBatch

_NAV_FIELDS = ("t_s", "r_ecef", "v_ecef", "q_body_to_ecef", "omega_body_rad_s", "valid", "present")


def _bytes(a):
    a = np.asarray(a)
    return a.dtype.str, a.shape, a.tobytes()


def _state_bytes(state):
    return {
        name: tuple(None if m is None else _bytes(m) for m in value) if name == "memory" else _bytes(value)
        for name, value in vars(state).items()
    }


def _nav_bytes(navs):
    return [
        (nav.source, *(None if getattr(nav, f) is None else _bytes(getattr(nav, f)) for f in _NAV_FIELDS))
        for nav in navs
    ]


def _batch(rng, n, source, t):
    """Samples near the property test's base states: noise, occasional NaN, inf, jumps, invalid rows, silence."""
    base = (np.arange(n) + int(rng.integers(0, 2))) % len(BASES)
    r = np.stack([BASES[i][0] + BASES[i][1] * max(t, 0.0) for i in base]) + rng.normal(0.0, 3.0, (n, 3))
    v = np.stack([BASES[i][1] for i in base]) + rng.normal(0.0, 0.5, (n, 3))
    if rng.random() < 0.1:
        r[rng.integers(0, n)] += rng.normal(0.0, 5e4, 3)  # a jump (rejected, then re-acquired if it persists)
    if rng.random() < 0.05:
        r[rng.integers(0, n), rng.integers(0, 3)] = rng.choice([math.nan, math.inf, 0.0])
    q = rng.normal(0.0, 1.0, (n, 4)) if rng.random() < 0.5 else None
    w = rng.normal(0.0, 0.3, (n, 3)) if rng.random() < 0.5 else None
    nav = NavBatch.from_arrays(np.full(n, t), r, v, q, w, rng.random(n) < 0.97, source=source)
    if rng.random() < 0.1:  # some rows silent
        fields = [getattr(nav, f) for f in _NAV_FIELDS[:-1]]
        nav = NavBatch(*fields, nav.source, rng.random(n) < 0.7)
    return nav


def _cycles(rng, n, count):
    t = -1.0
    for _ in range(count):
        t += 0.1 if rng.random() < 0.9 else rng.uniform(-0.3, 1.5)
        navs = [_batch(rng, n, s, t) for s in (0, 1) if rng.random() < 0.9]
        if rng.random() < 0.03:
            navs.append(_batch(rng, n, int(rng.choice([2, -1])), t))  # a source the mission does not know
        receive = t + 0.005 if rng.random() < 0.8 else t + rng.uniform(0.0, 0.05, n)
        health = None if rng.random() < 0.7 else rng.random((n, 2)) < 0.9
        yield navs, receive, health


@pytest.mark.parametrize("n", [1, 3])
@pytest.mark.parametrize("key", sorted(MISSIONS))
def test_a_cycle_writes_neither_its_inputs_nor_the_previous_state(key, n):
    rng = np.random.default_rng(7)
    engine = Engine(MISSIONS[key], n=n)
    seen = {"rejected": False, "terminated": False}
    for _ in range(4):  # a fresh vehicle a few times: most runs end in a termination early
        engine = Engine(MISSIONS[key], n=n)
        for navs, receive, health in _cycles(rng, n, 60):
            before = engine.state
            state_bytes, nav_bytes = _state_bytes(before), _nav_bytes(navs)
            other_bytes = (_bytes(receive), None if health is None else _bytes(health))
            d = engine.step(navs, receive, health)
            assert _state_bytes(before) == state_bytes
            assert _nav_bytes(navs) == nav_bytes
            assert (_bytes(receive), None if health is None else _bytes(health)) == other_bytes
            assert engine.faults == []
            seen["rejected"] |= bool(d.state.rejected.any())
            seen["terminated"] |= bool((d.states == AfssState.TERMINATED).any())
    assert all(seen.values()), seen  # the run did reach the paths that write the state's rarer arrays


def test_a_batch_on_the_parallel_loops_decides_exactly_as_on_the_serial_ones():
    """The six designed vehicles of test_engine's batch, alone in a batch (serial loops) and repeated
    past PARALLEL_MIN_ROWS (parallel loops): every vehicle's copy decides as the vehicle does."""
    small = 6
    big = PARALLEL_MIN_ROWS + small
    which = np.arange(big) % small
    m = batch_mission()
    alone, many = Engine(m, n=small), Engine(m, n=big)
    for t, navs, health in batch_inputs(small, 220, np.random.default_rng(3)):
        d = alone.step(navs, t, health=health)
        db = many.step([nav.take(which) for nav in navs], t, health=health[which])
        a, b = vars(d.state), vars(db.state)
        for name in ("mode", "t_terminate_s", "t_safed_s", "cause", "fired_rule", "fired_string", "fired_margin",
                     "fired_held_s", "degrade_rule", "first_violation_t_s", "min_margin", "samples", "rejected",
                     "rejected_by", "resynced", "string_fault_t_s", "event_t_s"):  # fmt: skip
            np.testing.assert_array_equal(b[name], a[name][which], err_msg=name)
        for name in ("src_store", "src_has", "src_cand_n"):
            np.testing.assert_array_equal(b[name], a[name][:, which], err_msg=name)
        rules, k = a["viol_since"].shape[0], 2
        np.testing.assert_array_equal(
            b["viol_since"].reshape(rules, k, big), a["viol_since"].reshape(rules, k, small)[:, :, which]
        )
        np.testing.assert_array_equal(db.margin, d.margin[:, which])
        np.testing.assert_array_equal(db.violated, d.violated[:, which])
        np.testing.assert_array_equal(db.active, d.active[:, which])
        np.testing.assert_array_equal(db.health, d.health[which])
        np.testing.assert_array_equal(db.t_s, d.t_s[which])
    assert [db.fired_by(i) for i in range(small)] == [d.fired_by(i) for i in range(small)]
    assert (d.states == AfssState.TERMINATED).any()

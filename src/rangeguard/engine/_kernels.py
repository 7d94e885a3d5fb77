"""Compiled inner loops of the decision function (persistence, votes, statistics).

Arrays are (R, M): rules by rows, rows string-major (row = string * N + vehicle).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeAlias

import numpy as np
from numpy.typing import NDArray

from rangeguard.engine.state import ST_CAND_R, ST_CAND_T, ST_CAND_V, ST_Q, ST_R, ST_RECV, ST_T, ST_V, ST_W
from rangeguard.jit import PARALLEL_MIN_ROWS, kernel, rows_kernel

_F64: TypeAlias = NDArray[np.float64]
_Bool: TypeAlias = NDArray[np.bool_]
_I64: TypeAlias = NDArray[np.int64]
_I16: TypeAlias = NDArray[np.int16]
_I8: TypeAlias = NDArray[np.int8]
_VoteArrays: TypeAlias = tuple[_Bool, _I64, _F64, _F64, _Bool, _I16, _F64, _Bool, _I64, _F64, _F64]


@kernel(inline="always")
def _vote_arrays(n: int, k_strings: int) -> _VoteArrays:
    """The per (vehicle, string) outputs: vote, its rule, held time, margin; degrade, its rule, margin;
    destruct vote, its rule, held time, margin."""
    return (
        np.zeros((n, k_strings), np.bool_),
        np.full((n, k_strings), -1, np.int64),
        np.full((n, k_strings), np.nan),
        np.full((n, k_strings), np.nan),
        np.zeros((n, k_strings), np.bool_),
        np.full((n, k_strings), -1, np.int16),
        np.full((n, k_strings), np.nan),
        np.zeros((n, k_strings), np.bool_),
        np.full((n, k_strings), -1, np.int64),
        np.full((n, k_strings), np.nan),
        np.full((n, k_strings), np.nan),
    )


@rows_kernel()
def _votes(
    active: _Bool, violated: _Bool, margin: _F64, since: _F64, t_rows: _F64, t_est: _F64,
    receive_clock: _Bool | _I64, persistence_s: _F64, action: _I64, n_vehicles: int, k_strings: int, tol_s: float,
    t_vehicle: _F64, first_violation_t_s: _F64, min_margin: _F64, vote: _Bool, vote_rule: _I64, vote_held: _F64,
    vote_margin: _F64, degrade: _Bool, degrade_rule: _I16, degrade_margin: _F64, dvote: _Bool, dvote_rule: _I64,
    dvote_held: _F64, dvote_margin: _F64, lo: int, hi: int,
) -> None:  # fmt: skip
    """Persistence, votes and statistics of vehicles lo..hi-1 (each vehicle's rows on every string, rules
    in index order)."""
    for i in range(lo, hi):
        for s in range(k_strings):
            m = s * n_vehicles + i
            for j in range(active.shape[0]):
                if not active[j, m]:
                    since[j, m] = math.nan
                    continue
                t = t_est[m] if receive_clock[j] else t_rows[m]
                mg = margin[j, m]
                if violated[j, m]:
                    if math.isnan(since[j, m]):
                        since[j, m] = t
                    held = t - since[j, m]
                    if held >= persistence_s[j] - tol_s:
                        if action[j] == 0 and not vote[i, s]:
                            vote[i, s] = True
                            vote_rule[i, s] = j
                            vote_held[i, s] = held
                            vote_margin[i, s] = mg
                        elif action[j] == 1 and not degrade[i, s]:
                            degrade[i, s] = True
                            degrade_rule[i, s] = j
                            degrade_margin[i, s] = mg
                        elif action[j] == 3 and not dvote[i, s]:
                            dvote[i, s] = True
                            dvote_rule[i, s] = j
                            dvote_held[i, s] = held
                            dvote_margin[i, s] = mg
                    if math.isnan(first_violation_t_s[i, j]):
                        first_violation_t_s[i, j] = t_vehicle[i]
                elif not math.isnan(mg):
                    since[j, m] = math.nan
                if mg < min_margin[i, j]:
                    min_margin[i, j] = mg


_votes_serial = _votes.serial  # a plain dispatcher: what a kernel can call


@kernel()
def _new_vote_arrays(n: int, k_strings: int) -> _VoteArrays:
    return _vote_arrays(n, k_strings)


_PersistenceAndVotes: TypeAlias = Callable[
    [_Bool, _Bool, _F64, _F64, _F64, _F64, _F64, _I64, float, _F64, _F64, _F64, _Bool, _I8, _F64, _I64, _F64, _I16,
     _Bool, _Bool, _F64, float, _F64, _F64, _Bool],
    int,
]  # fmt: skip
"""The argument types of :func:`persistence_and_votes`' functions, in order."""


def persistence_and_votes(n: int) -> _PersistenceAndVotes:
    """Steps 5-6 of a cycle for ``n`` vehicles: the function ``f(active, violated, margin, since, t_rows, t_est,
    rule_f, rule_i, tol_s, t_vehicle, first_violation_t_s, min_margin, declared_ok, mode, receive_s, vote_i,
    fault_t, degrade_rule, health_ok, terminate_now, latch, destruct_after_s, t_term, t_destruct, destruct_now) ->
    int`` (persistence, votes, statistics, policy, the destruct sequence).

    Arrays are (R, M) (rules by rows) and (N, R) for the statistics. A judged
    sample (finite margin or violated) that violates starts (or continues)
    the violation clock; a judged clean sample clears it; a row out of the
    rule's window forgets it; an unjudged row holds it. A violation counts
    once it has held ``persistence_s`` on the rule's clock (sample time, or
    estimated flight time ``t_est`` for receive-clock rules). Per (vehicle,
    string) the first (lowest-index) counted terminate (thrust termination)
    rule is the string's vote, the first counted destruct rule its destruct
    vote, and the first counted degrade rule degrades it (``degrade_rule``
    (N, K) int16, -1 none); monitor rules only feed the statistics
    ``first_violation_t_s`` and ``min_margin`` (updated in place, like
    ``since``). Then :func:`vote` applies the policy (``health_ok``,
    ``terminate_now``, ``destruct_now``, ``fault_t`` and the ``latch`` record). ``f`` returns
    :data:`ANY_TERMINATE` | :data:`ANY_DESTRUCT` (0: no command this cycle).

    ``rule_f`` / ``rule_i`` are the rules' tables (``RULE_*`` columns), ``vote_i`` the policy
    (``VOTE_*``). Vehicles are independent: a batch of at least ``PARALLEL_MIN_ROWS`` runs the
    persistence loop in parallel chunks (:func:`_votes`), which gives the serial loop's results
    exactly; a smaller one (an onboard cycle) runs it and the policy in one compiled call, with
    its scratch arrays allocated there.
    """
    return _persistence_and_votes_serial if n < PARALLEL_MIN_ROWS else _persistence_and_votes_parallel


def _persistence_and_votes_parallel(
    active: _Bool, violated: _Bool, margin: _F64, since: _F64, t_rows: _F64, t_est: _F64, rule_f: _F64, rule_i: _I64,
    tol_s: float, t_vehicle: _F64, first_violation_t_s: _F64, min_margin: _F64, declared_ok: _Bool, mode: _I8,
    receive_s: _F64, vote_i: _I64, fault_t: _F64, degrade_rule: _I16, health_ok: _Bool, terminate_now: _Bool,
    latch: _F64, destruct_after_s: float, t_term: _F64, t_destruct: _F64, destruct_now: _Bool,
) -> int:  # fmt: skip
    """:func:`persistence_and_votes` of a batch: the parallel chunked loop, then the policy."""
    n, k_strings = health_ok.shape
    rule_vote, vote_rule, vote_held, vote_margin, degraded, _, degrade_margin, dv, dv_rule, dv_held, dv_margin = (
        _new_vote_arrays(n, k_strings)
    )
    degrade_rule.fill(-1)
    _votes(
        n, active, violated, margin, since, t_rows, t_est, rule_i[:, RULE_RECEIVE_CLOCK], rule_f[:, RULE_PERSISTENCE],
        rule_i[:, RULE_ACTION], n, k_strings, tol_s, t_vehicle, first_violation_t_s, min_margin, rule_vote, vote_rule,
        vote_held, vote_margin, degraded, degrade_rule, degrade_margin, dv, dv_rule, dv_held, dv_margin,
    )  # fmt: skip
    return vote(
        rule_vote, degraded, vote_rule, vote_held, vote_margin, degrade_rule, degrade_margin, declared_ok, mode,
        t_vehicle, receive_s, t_est, vote_i, fault_t, health_ok, terminate_now, latch, dv, dv_rule, dv_held, dv_margin,
        destruct_after_s, tol_s, t_term, t_destruct, destruct_now,
    )  # fmt: skip


@kernel()
def _persistence_and_votes_serial(
    active: _Bool, violated: _Bool, margin: _F64, since: _F64, t_rows: _F64, t_est: _F64, rule_f: _F64, rule_i: _I64,
    tol_s: float, t_vehicle: _F64, first_violation_t_s: _F64, min_margin: _F64, declared_ok: _Bool, mode: _I8,
    receive_s: _F64, vote_i: _I64, fault_t: _F64, degrade_rule: _I16, health_ok: _Bool, terminate_now: _Bool,
    latch: _F64, destruct_after_s: float, t_term: _F64, t_destruct: _F64, destruct_now: _Bool,
) -> int:  # fmt: skip
    """:func:`persistence_and_votes` of a small batch in one call: the serial loop, then the policy."""
    n, k_strings = health_ok.shape
    rule_vote, vote_rule, vote_held, vote_margin, degraded, _, degrade_margin, dv, dv_rule, dv_held, dv_margin = (
        _vote_arrays(n, k_strings)
    )
    degrade_rule[:] = -1
    _votes_serial(
        active, violated, margin, since, t_rows, t_est, rule_i[:, RULE_RECEIVE_CLOCK], rule_f[:, RULE_PERSISTENCE],
        rule_i[:, RULE_ACTION], n, k_strings, tol_s, t_vehicle, first_violation_t_s, min_margin, rule_vote, vote_rule,
        vote_held, vote_margin, degraded, degrade_rule, degrade_margin, dv, dv_rule, dv_held, dv_margin, 0, n,
    )  # fmt: skip
    return vote(
        rule_vote, degraded, vote_rule, vote_held, vote_margin, degrade_rule, degrade_margin, declared_ok, mode,
        t_vehicle, receive_s, t_est, vote_i, fault_t, health_ok, terminate_now, latch, dv, dv_rule, dv_held, dv_margin,
        destruct_after_s, tol_s, t_term, t_destruct, destruct_now,
    )  # fmt: skip


# Rejection reasons (columns of EngineState.rejected_by; rangeguard.engine.state.Rejection).
_INVALID, _IMPLAUSIBLE, _NOT_NEWER, _TIME_AHEAD, _STALE, _JUMP = 0, 1, 2, 3, 4, 5


@kernel(inline="always")
def _jumped(
    t0: float, r0: _F64, v0: _F64, t1: float, r1: _F64, v1: _F64, a_max: float, r_tol: float, v_tol: float
) -> bool:
    """True if going from (t0, r0, v0) to (t1, r1, v1) needs more than ``a_max`` (m/s^2).

    Velocity: |v1 - v0| <= v_tol + a_max dt. Position against the trapezoid
    r0 + (v0 + v1) dt / 2 (exact for constant acceleration; with |a| <= a_max
    the error is at most a_max dt^2 / 2): |r1 - prediction| <= r_tol + a_max dt^2 / 2.
    """
    dt = t1 - t0
    dv2 = 0.0
    dr2 = 0.0
    for c in range(3):
        dv = v1[c] - v0[c]
        dr = r1[c] - (r0[c] + 0.5 * (v0[c] + v1[c]) * dt)
        dv2 += dv * dv
        dr2 += dr * dr
    bound_v = v_tol + a_max * dt
    bound_r = r_tol + 0.5 * a_max * dt * dt
    return not (dv2 <= bound_v * bound_v and dr2 <= bound_r * bound_r)


GATE_R_MIN, GATE_R_MAX, GATE_V_MAX, GATE_MAX_AHEAD, GATE_MAX_AGE, GATE_A_MAX, GATE_R_TOL, GATE_V_TOL = range(8)
GATE_LIMITS = (
    "r_min_m",
    "r_max_m",
    "v_max_mps",
    "max_time_ahead_s",
    "max_age_s",
    "max_accel_mps2",
    "position_tolerance_m",
    "velocity_tolerance_mps",
)
"""The nav gate's limits as :func:`ingest_source` takes them: the gross-error bounds, then the
mission's ``nav_gate`` fields of these names."""


@kernel()
def ingest_source(
    s: int, t_s: _F64, r: _F64, v: _F64, q: _F64, w: _F64, valid: _Bool, present: _Bool, receive_s: _F64, store: _F64,
    has: _Bool, cand_n: _I64, samples: _I64, rejected: _I64, rejected_by: _I64, resynced: _I64, limits: _F64,
    resync_n: int, own: bool,
) -> bool:  # fmt: skip
    """The nav gate: accept source ``s``'s samples into the per-source store in place, or reject and count.

    Rows with ``present`` False carry no sample (silence) and are skipped uncounted. A present
    sample is rejected, in this order, when it is: flagged invalid or not finite; implausible
    (|r| outside [r_min_m, r_max_m] or |v| > v_max_mps); ahead of the receive clock by more
    than ``max_ahead_s`` (far future) or older than ``max_age_s`` (stale); not after the source's
    last accepted sample; or moved further from it than ``a_max`` allows (:func:`_jumped`).
    The receive-clock window bounds every time jump: two accepted samples' times differ from
    the receive time between them by at most ``max_ahead_s + max_age_s``. A stored sample that
    is itself ahead of the receive clock (the clock was re-anchored) is no reference: the next
    plausible sample replaces it.

    Jump-rejected samples are kept as a candidate track: once ``resync_n`` consecutive ones
    agree with each other, the newest is accepted (the source is re-acquired; ``resynced``
    counts it). A rejected sample changes nothing else: no clock, no reference.

    ``store`` is the sample store (S, N, STORE_COLS) (:class:`rangeguard.engine.state.EngineState`);
    ``limits`` holds the gate's limits in ``GATE_*`` order (:data:`GATE_LIMITS`).

    ``store`` and ``samples`` are written by every accepted sample; ``has``, ``cand_n``, ``rejected``,
    ``rejected_by`` and ``resynced`` only by a source's first sample, a rejected one or one that ends a
    candidate track. Unless ``own`` says those five are the caller's to write, the kernel stops at the
    first sample that would write them, before writing anything of it, and returns False (the caller
    starts over with copies); otherwise it returns True.
    """
    src_t, recv, cand_t = store[:, :, ST_T], store[:, :, ST_RECV], store[:, :, ST_CAND_T]
    src_r, src_v = store[:, :, ST_R : ST_R + 3], store[:, :, ST_V : ST_V + 3]
    src_q, src_w = store[:, :, ST_Q : ST_Q + 4], store[:, :, ST_W : ST_W + 3]
    cand_r, cand_v = store[:, :, ST_CAND_R : ST_CAND_R + 3], store[:, :, ST_CAND_V : ST_CAND_V + 3]
    r_min_m, r_max_m, v_max_mps = limits[GATE_R_MIN], limits[GATE_R_MAX], limits[GATE_V_MAX]
    max_ahead_s, max_age_s = limits[GATE_MAX_AHEAD], limits[GATE_MAX_AGE]
    a_max, r_tol, v_tol = limits[GATE_A_MAX], limits[GATE_R_TOL], limits[GATE_V_TOL]
    r_min2 = r_min_m * r_min_m
    r_max2 = r_max_m * r_max_m
    v_max2 = v_max_mps * v_max_mps
    for i in range(t_s.shape[0]):
        if not present[i]:
            continue
        t = t_s[i]
        now = receive_s[i]
        r2 = r[i, 0] * r[i, 0] + r[i, 1] * r[i, 1] + r[i, 2] * r[i, 2]
        v2 = v[i, 0] * v[i, 0] + v[i, 1] * v[i, 1] + v[i, 2] * v[i, 2]
        reference = has[s, i] and not (src_t[s, i] - now > max_ahead_s)
        reason = -1
        if not (valid[i] and t == t and r2 == r2 and v2 == v2):
            reason = _INVALID
        elif not (r2 >= r_min2 and r2 <= r_max2 and v2 <= v_max2):
            reason = _IMPLAUSIBLE
        elif t - now > max_ahead_s:
            reason = _TIME_AHEAD
        elif now - t > max_age_s:
            reason = _STALE
        elif reference and not t > src_t[s, i]:
            reason = _NOT_NEWER
        elif reference and _jumped(src_t[s, i], src_r[s, i], src_v[s, i], t, r[i], v[i], a_max, r_tol, v_tol):
            if not own:
                return False
            agrees = (
                cand_n[s, i] > 0
                and t > cand_t[s, i]
                and not _jumped(cand_t[s, i], cand_r[s, i], cand_v[s, i], t, r[i], v[i], a_max, r_tol, v_tol)
            )
            cand_n[s, i] = cand_n[s, i] + 1 if agrees else 1
            cand_t[s, i] = t
            for c in range(3):
                cand_r[s, i, c] = r[i, c]
                cand_v[s, i, c] = v[i, c]
            if cand_n[s, i] >= resync_n:
                resynced[i] += 1
            else:
                reason = _JUMP
        if reason >= 0:
            if not own:
                return False
            rejected[i] += 1
            rejected_by[i, reason] += 1
            continue
        if cand_n[s, i] != 0 or not has[s, i]:
            if not own:
                return False
            cand_n[s, i] = 0
            has[s, i] = True
        src_t[s, i] = t
        for c in range(3):
            src_r[s, i, c] = r[i, c]
            src_v[s, i, c] = v[i, c]
            src_w[s, i, c] = w[i, c]
        for c in range(4):
            src_q[s, i, c] = q[i, c]
        recv[s, i] = now
        samples[i] += 1
    return True


@kernel()
def safing_timer(
    candidates: _Bool,
    use: _Bool,
    row_cond: _Bool,
    since: _F64,
    t_vehicle: _F64,
    persistence_s: float,
    tol_s: float,
    already: _Bool,
) -> _Bool:
    """One safing condition's timer, per vehicle, updated in place; returns the vehicles it safes now.

    The condition holds for vehicle i when it is a candidate, at least one of its strings may
    vote (``use`` (K, N): a valid sample from a healthy string) and every such string sees the
    condition (``row_cond`` (K, N)). ``since`` is when it started holding (NaN: not holding);
    it safes once it has held ``persistence_s``, unless ``already`` safed by another condition.
    """
    k_strings, n = use.shape
    done = np.zeros(n, np.bool_)
    for i in range(n):
        usable = False
        holds = True
        for s in range(k_strings):
            if use[s, i]:
                usable = True
                holds = holds and row_cond[s, i]
        if candidates[i] and usable and holds:
            if math.isnan(since[i]):
                since[i] = t_vehicle[i]
            done[i] = not already[i] and t_vehicle[i] - since[i] >= persistence_s - tol_s
        else:
            since[i] = math.nan
    return done


# AFSS modes (rangeguard.engine.state.AfssState) as the front kernel compares them.
_MODE_SAFE, _MODE_ARMED, _MODE_TERMINATED = 0, 1, 2
# rule actions (rangeguard.engine.setup.ACTIONS): terminate and thrust_termination share code 0
ACTION_TERMINATE, ACTION_DEGRADE, ACTION_MONITOR, ACTION_DESTRUCT = 0, 1, 2, 3
# arming parameters (``arm`` of :func:`front`): not before (s), liftoff height above the pad (m),
# liftoff speed (m/s), the pad's height (m); and the kinematics columns of height and speed
ARM_NOT_BEFORE, ARM_HEIGHT, ARM_SPEED, ARM_PAD_ALT, ARM_H_COL, ARM_SPEED_COL = range(6)
# The setup's tables as the kernels take them (rangeguard.engine.setup.EngineSetup), one row per rule, event
# or phase. Rules, floats: window start and end (s), persistence (s); ints: on the receive clock (0/1), has a
# window (0/1), after event, until event, phase (indices, -1: none), action (ACTION_* of the setup module).
RULE_FROM, RULE_TO, RULE_PERSISTENCE = range(3)
RULE_RECEIVE_CLOCK, RULE_WINDOWED, RULE_AFTER, RULE_UNTIL, RULE_PHASE, RULE_ACTION = range(6)
# Events, floats: scheduled time (NaN: detected), threshold; ints: kinematics column (-1: scheduled), above (0/1).
EVENT_SCHED, EVENT_THRESHOLD = range(2)
EVENT_COL, EVENT_ABOVE = range(2)
# Phases, floats: from and to (s); ints: start event, end event (-1: none).
PHASE_FROM, PHASE_TO = range(2)
PHASE_START, PHASE_END = range(2)


@kernel()
def front(
    mode: _I8, event_t: _F64, store: _F64, has: _Bool, ok: _Bool, receive_s: _F64, string_source: _I64, arm: _F64,
    rule_f: _F64, rule_i: _I64, ev_f: _F64, ev_i: _I64, ph_f: _F64, ph_i: _I64, values: _F64, t_vehicle: _F64,
    t_rows: _F64, src_t: _F64, since: _F64, flight_t: _F64, active: _Bool,
) -> None:  # fmt: skip
    """Steps 1-3 of a cycle, in place: the rows' times, arming, events, the row clocks and which rules are active.

    ``mode`` (N,), ``event_t`` (N, E) and the sample store ``store`` (S, N, STORE_COLS) are the
    cycle's copies of the state's arrays and are updated: a SAFE vehicle arms at its earliest row
    with a liftoff cue (height above the pad or speed, not before ``arm[ARM_NOT_BEFORE]``), which
    is liftoff (event 0), and its sources without a valid sample yet (``has`` (S, N)) start their
    data-loss clock at the receive time; an armed vehicle's pending events occur at their scheduled
    time or at the earliest row whose quantity (kinematics column, ``values``) is above or below
    the threshold. Outputs: each source's latest sample time ``src_t`` (S, N) and each row's
    ``t_rows`` (M,) (NaN: none; ``ok`` (M,) marks the rows with a sample), each vehicle's latest
    sample time ``t_vehicle`` (N,) (NaN: none), each row's receive time since its last valid
    sample ``since`` (M,), its estimated flight time ``flight_t`` (M,) (the sample time plus
    ``since``; the vehicle's time without a sample) and ``active`` (R, M): data-clock rules judge
    armed rows with a sample, receive-clock rules every armed row; rules with a window, an event
    or a phase only inside it, on the row's sample time or (receive clock) its estimated flight
    time. ``rule_*``, ``ev_*`` and ``ph_*`` are the setup's tables (``RULE_*``, ``EVENT_*``,
    ``PHASE_*`` columns).
    """
    n = mode.shape[0]
    k_strings = string_source.shape[0]
    n_sources = has.shape[0]
    for src in range(n_sources):
        for i in range(n):
            src_t[src, i] = store[src, i, ST_T] if has[src, i] else math.nan
    for s in range(k_strings):
        for i in range(n):
            t_rows[s * n + i] = src_t[string_source[s], i]
    for i in range(n):
        best = math.nan
        for s in range(k_strings):
            t = t_rows[s * n + i]
            if t == t and not (best >= t):
                best = t
        t_vehicle[i] = best
    # 1. arming at detected liftoff
    h_col, speed_col = np.int64(arm[ARM_H_COL]), np.int64(arm[ARM_SPEED_COL])
    for i in range(n):
        if mode[i] != _MODE_SAFE:
            continue
        t_cue = math.inf
        for s in range(k_strings):
            m = s * n + i
            if (
                ok[m]
                and t_rows[m] >= arm[ARM_NOT_BEFORE]
                and (values[m, h_col] - arm[ARM_PAD_ALT] > arm[ARM_HEIGHT] or values[m, speed_col] > arm[ARM_SPEED])
            ):
                t_cue = min(t_cue, t_rows[m])
        if t_cue < math.inf:
            mode[i] = _MODE_ARMED
            event_t[i, 0] = t_cue
            for src in range(n_sources):
                if not has[src, i]:
                    store[src, i, ST_RECV] = receive_s[i]
    for s in range(k_strings):
        for i in range(n):
            since[s * n + i] = receive_s[i] - store[string_source[s], i, ST_RECV]
    # 2. events
    for e in range(1, event_t.shape[1]):
        col = ev_i[e, EVENT_COL]
        threshold = ev_f[e, EVENT_THRESHOLD]
        for i in range(n):
            if mode[i] != _MODE_ARMED or event_t[i, e] == event_t[i, e]:
                continue
            if col < 0:
                if t_vehicle[i] >= ev_f[e, EVENT_SCHED]:
                    event_t[i, e] = ev_f[e, EVENT_SCHED]
                continue
            t_hit = math.inf
            for s in range(k_strings):
                m = s * n + i
                value = values[m, col]
                if ok[m] and ((value > threshold) if ev_i[e, EVENT_ABOVE] else (value < threshold)):
                    t_hit = min(t_hit, t_rows[m])
            if t_hit < math.inf:
                event_t[i, e] = t_hit
    # 3. row clocks and active rules (rows string-major: row s * n + i; no division in the loops)
    for s in range(k_strings):
        for i in range(n):
            m = s * n + i
            flight_t[m] = t_rows[m] + since[m] if ok[m] else t_vehicle[i]
    for j in range(active.shape[0]):
        rc = rule_i[j, RULE_RECEIVE_CLOCK] != 0
        windowed = rule_i[j, RULE_WINDOWED] != 0
        from_t, to_t = rule_f[j, RULE_FROM], rule_f[j, RULE_TO]
        after_ev, until_ev, p = rule_i[j, RULE_AFTER], rule_i[j, RULE_UNTIL], rule_i[j, RULE_PHASE]
        destruct_rule = rule_i[j, RULE_ACTION] == ACTION_DESTRUCT
        for s in range(k_strings):
            for i in range(n):
                m = s * n + i
                # destruct rules are judged after a thrust termination too (the vote ignores them once destructed)
                flying = mode[i] == _MODE_ARMED or (mode[i] == _MODE_TERMINATED and destruct_rule)
                on = flying if rc else flying and ok[m]
                if on and windowed:
                    t = flight_t[m] if rc else t_rows[m]
                    on = t >= from_t and t < to_t
                    if on and after_ev >= 0:
                        on = event_t[i, after_ev] <= t
                    if on and until_ev >= 0:
                        on = not event_t[i, until_ev] <= t
                    if on and p >= 0:
                        start, end = ph_i[p, PHASE_START], ph_i[p, PHASE_END]
                        on = event_t[i, start] <= t and t >= ph_f[p, PHASE_FROM] and t <= ph_f[p, PHASE_TO]
                        if on and end >= 0:
                            on = not event_t[i, end] <= t
                active[j, m] = on


POLICY_1OO2, POLICY_2OO2, POLICY_HEALTH_DEGRADED = range(3)
POLICIES = {"1oo2": POLICY_1OO2, "2oo2": POLICY_2OO2, "health_degraded": POLICY_HEALTH_DEGRADED}
# causes of a termination (rangeguard.engine.state.Cause)
_CAUSE_NONE, _CAUSE_RULE, _CAUSE_FAULTY, _CAUSE_NO_HEALTHY = 0, 1, 2, 3
_CAUSE_DESTRUCT_DELAY = 7  # destruct: termination.destruct_after_s elapsed since the thrust termination
# what persistence_and_votes and vote return: which commands some vehicle issues this cycle (bits)
ANY_TERMINATE, ANY_DESTRUCT = 1, 2


# The latch record of a vehicle terminating now (``latch`` of :func:`vote`, one row per vehicle): its cause
# (Cause value), the string whose vote fired (or the faulty string), the rule (-1: none; for a faulty string the
# rule that degraded it), its margin and held time, and the decision time.
LATCH_CAUSE, LATCH_STRING, LATCH_RULE, LATCH_MARGIN, LATCH_HELD, LATCH_T = range(6)
# and of a vehicle destructing now: its cause (Cause.RULE or DESTRUCT_DELAY), string, rule (-1: the delay), margin
# and held time of that rule, and the decision time
LATCH_D_CAUSE, LATCH_D_STRING, LATCH_D_RULE, LATCH_D_MARGIN, LATCH_D_HELD, LATCH_D_T = range(6, 12)
LATCH_COLS = 12
# the voting policy (``vote_i`` of :func:`vote`): POLICY_*, a faulty string votes (0/1), terminate when no
# healthy string is left (0/1)
VOTE_POLICY, VOTE_FAULTY, VOTE_NO_HEALTHY = range(3)


@kernel()
def vote(
    rule_vote: _Bool, degraded: _Bool, vote_rule: _I64, vote_held: _F64, vote_margin: _F64, degrade_rule: _I16,
    degrade_margin: _F64, declared_ok: _Bool, mode: _I8, t_vehicle: _F64, receive_s: _F64, t_est: _F64, vote_i: _I64,
    fault_t: _F64, health_ok: _Bool, terminate_now: _Bool, latch: _F64, dvote: _Bool, dvote_rule: _I64,
    dvote_held: _F64, dvote_margin: _F64, destruct_after_s: float, tol_s: float, t_term: _F64, t_destruct: _F64,
    destruct_now: _Bool,
) -> int:  # fmt: skip
    """Step 6 of a cycle: the voting policy, per vehicle (outputs written in place).

    A string is healthy when it declares itself so and none of its own rules degraded it
    (``health_ok`` (N, K)); the first time it declares itself faulty is recorded in ``fault_t``
    (its vehicle's time, or the receive time before any sample). Under ``health_degraded`` only
    healthy strings' rule votes count, and with no healthy string left ``vote_i[VOTE_NO_HEALTHY]``
    decides; under 1oo2 (any) and 2oo2 (all) every string's rule vote counts, and a faulty string
    votes when ``vote_i[VOTE_FAULTY]``. Only ARMED vehicles terminate (``terminate_now``).

    For each vehicle terminating now, its ``latch`` row (``LATCH_*`` columns) says why: a rule
    vote names the first string whose vote counts, its rule, margin (``vote_margin``) and held
    time (``vote_held``); otherwise the first faulty string and, if one of its own rules degraded
    it, that rule and margin (held NaN). The decision time is the vehicle's estimated flight time,
    the latest over its rows (``t_est`` (M,)), or the receive time where no row has one. Other
    rows of ``latch`` are not written.

    Destruct (``destruct_now``), once per vehicle (``t_destruct`` NaN until then), for an armed or
    thrust-terminated vehicle: a destruct rule vote (``dvote``) counts like a rule vote (health_degraded:
    a healthy string's; 1oo2: any string's; 2oo2: every string's, a faulty string's counting when
    ``vote_i[VOTE_FAULTY]``, and at least one rule vote); or, for a thrust-terminated vehicle (also one
    terminating now), ``destruct_after_s`` (NaN: never) has elapsed since ``t_term`` on the decision
    time. An armed vehicle that destructs by a rule cuts thrust in the same cycle (its thrust
    termination is that rule's). The ``LATCH_D_*`` columns say why. Returns :data:`ANY_TERMINATE` |
    :data:`ANY_DESTRUCT` for the commands issued this cycle (0: none).
    """
    n, k_strings = rule_vote.shape
    policy = vote_i[VOTE_POLICY]
    faulty_string_votes = vote_i[VOTE_FAULTY] != 0
    terminate_if_no_healthy = vote_i[VOTE_NO_HEALTHY] != 0
    anyone = False
    anyone_d = False
    for i in range(n):
        any_healthy = False
        any_counting = False
        any_vote = False
        all_vote = True
        any_rule = False
        first_counting = -1
        first_faulty = -1
        for s in range(k_strings):
            healthy = declared_ok[i, s] and not degraded[i, s]
            health_ok[i, s] = healthy
            if not healthy and first_faulty < 0:
                first_faulty = s
            if not declared_ok[i, s] and fault_t[i, s] != fault_t[i, s]:
                fault_t[i, s] = receive_s[i] if t_vehicle[i] != t_vehicle[i] else t_vehicle[i]
            any_healthy = any_healthy or healthy
            any_rule = any_rule or rule_vote[i, s]
            if policy == POLICY_HEALTH_DEGRADED:
                counting = rule_vote[i, s] and healthy
                any_counting = any_counting or counting
            else:
                counting = rule_vote[i, s]
                v = rule_vote[i, s] or (not healthy and faulty_string_votes)
                any_vote = any_vote or v
                all_vote = all_vote and v
            if counting and first_counting < 0:
                first_counting = s
        if policy == POLICY_HEALTH_DEGRADED:
            now = any_counting or (not any_healthy and terminate_if_no_healthy)
            cause = _CAUSE_RULE if any_counting else _CAUSE_NO_HEALTHY if now else _CAUSE_NONE
        else:
            now = any_vote if policy == POLICY_1OO2 else all_vote
            cause = _CAUSE_RULE if now and any_rule else _CAUSE_FAULTY if now else _CAUSE_NONE
        armed = mode[i] == _MODE_ARMED
        # destruct: a rule vote under the policy, or the delay after a thrust termination
        d_now = False
        d_first = -1
        if t_destruct[i] != t_destruct[i] and (armed or mode[i] == _MODE_TERMINATED):
            d_all = True
            for s in range(k_strings):
                healthy = health_ok[i, s]
                if policy == POLICY_HEALTH_DEGRADED:
                    counting = dvote[i, s] and healthy
                else:
                    counting = dvote[i, s]
                    d_all = d_all and (dvote[i, s] or (not healthy and faulty_string_votes))
                if counting and d_first < 0:
                    d_first = s
            d_now = d_first >= 0 and (policy != POLICY_2OO2 or d_all)
        terminate_now[i] = (now or d_now) and armed
        destruct_now[i] = d_now
        t_now = -math.inf
        if terminate_now[i] or d_now or destruct_after_s == destruct_after_s:
            for s in range(k_strings):
                t = t_est[s * n + i]
                if math.isfinite(t) and t > t_now:
                    t_now = t
            t_now = t_now if math.isfinite(t_now) else receive_s[i]
        if d_now:
            anyone_d = True
            latch[i, LATCH_D_CAUSE] = _CAUSE_RULE
            latch[i, LATCH_D_STRING] = d_first
            latch[i, LATCH_D_RULE] = dvote_rule[i, d_first]
            latch[i, LATCH_D_MARGIN] = dvote_margin[i, d_first]
            latch[i, LATCH_D_HELD] = dvote_held[i, d_first]
            latch[i, LATCH_D_T] = t_now
            if not now:  # an armed vehicle destructed by a rule: its thrust termination is that rule's
                cause = _CAUSE_RULE
                for s in range(k_strings):
                    vote_rule[i, s] = dvote_rule[i, s]
                    vote_margin[i, s] = dvote_margin[i, s]
                    vote_held[i, s] = dvote_held[i, s]
                first_counting = d_first
        elif t_destruct[i] != t_destruct[i] and destruct_after_s == destruct_after_s:
            started = terminate_now[i] or (mode[i] == _MODE_TERMINATED and t_term[i] == t_term[i])
            t0 = t_now if terminate_now[i] else t_term[i]
            if started and t_now >= t0 + destruct_after_s - tol_s:  # on the decision time
                destruct_now[i] = True
                anyone_d = True
                latch[i, LATCH_D_CAUSE] = _CAUSE_DESTRUCT_DELAY
                latch[i, LATCH_D_STRING] = -1
                latch[i, LATCH_D_RULE] = -1
                latch[i, LATCH_D_MARGIN] = math.nan
                latch[i, LATCH_D_HELD] = math.nan
                latch[i, LATCH_D_T] = t_now
        if not terminate_now[i]:
            continue
        anyone = True
        latch[i, LATCH_CAUSE] = cause
        if cause == _CAUSE_RULE:
            s = max(first_counting, 0)
            latch[i, LATCH_RULE] = vote_rule[i, s]
            latch[i, LATCH_MARGIN] = vote_margin[i, s]
            latch[i, LATCH_HELD] = vote_held[i, s]
        else:  # a faulty string's vote, or no healthy string left
            s = max(first_faulty, 0)
            latch[i, LATCH_RULE] = degrade_rule[i, s] if degraded[i, s] else -1
            latch[i, LATCH_MARGIN] = degrade_margin[i, s]
            latch[i, LATCH_HELD] = math.nan
        latch[i, LATCH_STRING] = s
        latch[i, LATCH_T] = t_now
    return (ANY_TERMINATE if anyone else 0) | (ANY_DESTRUCT if anyone_d else 0)

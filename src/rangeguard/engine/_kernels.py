"""Compiled inner loops of the decision function (persistence, votes, statistics).

Arrays are (R, M): rules by rows, rows string-major (row = string * N + vehicle).
"""

from __future__ import annotations

import math

import numpy as np

from rangeguard.engine.state import ST_CAND_R, ST_CAND_T, ST_CAND_V, ST_Q, ST_R, ST_RECV, ST_T, ST_V, ST_W
from rangeguard.jit import PARALLEL_MIN_ROWS, kernel, rows_kernel


@kernel(inline="always")
def _vote_arrays(n, k_strings):
    """The per (vehicle, string) outputs: vote, its rule, held time, margin; degrade, its rule, margin."""
    return (
        np.zeros((n, k_strings), np.bool_),
        np.full((n, k_strings), -1, np.int64),
        np.full((n, k_strings), np.nan),
        np.full((n, k_strings), np.nan),
        np.zeros((n, k_strings), np.bool_),
        np.full((n, k_strings), -1, np.int16),
        np.full((n, k_strings), np.nan),
    )


@rows_kernel()
def _votes(
    active, violated, margin, since, t_rows, t_est, receive_clock, persistence_s, action, n_vehicles, k_strings, tol_s,
    t_vehicle, first_violation_t_s, min_margin, vote, vote_rule, vote_held, vote_margin, degrade, degrade_rule,
    degrade_margin, lo, hi,
):  # fmt: skip
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
                    if math.isnan(first_violation_t_s[i, j]):
                        first_violation_t_s[i, j] = t_vehicle[i]
                elif not math.isnan(mg):
                    since[j, m] = math.nan
                if mg < min_margin[i, j]:
                    min_margin[i, j] = mg


@kernel()
def _new_vote_arrays(n, k_strings):
    return _vote_arrays(n, k_strings)


def persistence_and_votes(
    active, violated, margin, since, t_rows, t_est, receive_clock, persistence_s, action, n, k_strings, tol_s,
    t_vehicle, first_violation_t_s, min_margin,
):  # fmt: skip
    """Update violation start times in place and gather each string's vote.

    Arrays are (R, M) (rules by rows) and (N, R) for the statistics. A judged
    sample (finite margin or violated) that violates starts (or continues)
    the violation clock; a judged clean sample clears it; a row out of the
    rule's window forgets it; an unjudged row holds it. A violation counts
    once it has held ``persistence_s`` on the rule's clock (sample time, or
    estimated flight time for receive-clock rules).

    Returns per (vehicle, string): the terminate vote, the first
    (lowest-index) counted terminate rule, how long it had held and its
    margin; and the degrade flag with its first rule. Monitor rules only feed
    the statistics. Also updates the per-vehicle statistics
    ``first_violation_t_s`` and ``min_margin`` in place. Vehicles are
    independent, so the parallel loop (over vehicles) gives the serial one's
    results exactly.
    """
    out = _new_vote_arrays(n, k_strings)
    args = (
        active,
        violated,
        margin,
        since,
        t_rows,
        t_est,
        receive_clock,
        persistence_s,
        action,
        n,
        k_strings,
        tol_s,
        t_vehicle,
        first_violation_t_s,
        min_margin,
        *out,
    )
    if n < PARALLEL_MIN_ROWS:  # an onboard cycle: the serial loop directly
        _votes.serial(*args, 0, n)
    else:
        _votes(n, *args)
    return out


# Rejection reasons (columns of EngineState.rejected_by; rangeguard.engine.state.Rejection).
_INVALID, _IMPLAUSIBLE, _NOT_NEWER, _TIME_AHEAD, _STALE, _JUMP = 0, 1, 2, 3, 4, 5


@kernel(inline="always")
def _jumped(t0, r0, v0, t1, r1, v1, a_max, r_tol, v_tol):
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
    s, t_s, r, v, q, w, valid, present, receive_s, store, has, cand_n, samples, rejected, rejected_by, resynced, limits,
    resync_n,
):  # fmt: skip
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
            rejected[i] += 1
            rejected_by[i, reason] += 1
            continue
        cand_n[s, i] = 0
        src_t[s, i] = t
        for c in range(3):
            src_r[s, i, c] = r[i, c]
            src_v[s, i, c] = v[i, c]
            src_w[s, i, c] = w[i, c]
        for c in range(4):
            src_q[s, i, c] = q[i, c]
        has[s, i] = True
        recv[s, i] = now
        samples[i] += 1


@kernel()
def safing_timer(candidates, use, row_cond, since, t_vehicle, persistence_s, tol_s, already):
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
_MODE_SAFE, _MODE_ARMED = 0, 1
# arming parameters (``arm`` of :func:`front`): not before (s), liftoff height above the pad (m),
# liftoff speed (m/s), the pad's height (m); and the kinematics columns of height and speed
ARM_NOT_BEFORE, ARM_HEIGHT, ARM_SPEED, ARM_PAD_ALT, ARM_H_COL, ARM_SPEED_COL = range(6)


@kernel()
def front(
    mode, event_t, recv, has, string_source, receive_s, ok, t_rows, values, arm, ev_sched, ev_col, ev_above,
    ev_threshold, windowed, receive_clock, from_t, to_t, after_ev, until_ev, phase, ph_start, ph_end, ph_from, ph_to,
    t_vehicle, since, flight_t, active,
):  # fmt: skip
    """Steps 1-3 of a cycle, in place: arming, events, the row clocks and which rules are active.

    ``mode`` (N,), ``event_t`` (N, E) and ``recv`` (S, N) are the cycle's copies of the state's
    arrays and are updated: a SAFE vehicle arms at its earliest row with a liftoff cue (height
    above the pad or speed, not before ``arm[ARM_NOT_BEFORE]``), which is liftoff (event 0), and
    its sources without a valid sample yet start their data-loss clock at the receive time; an
    armed vehicle's pending events occur at their scheduled time (``ev_col`` -1) or at the
    earliest row whose quantity (kinematics column ``ev_col``) is above (``ev_above``) or below
    ``ev_threshold``. Outputs: each vehicle's latest sample time ``t_vehicle`` (N,) (NaN: none),
    each row's receive time since its last valid sample ``since`` (M,), its estimated flight
    time ``flight_t`` (M,) (the sample time plus ``since``; the vehicle's time without a sample)
    and ``active`` (R, M): data-clock rules judge armed rows with a sample, receive-clock rules
    every armed row; rules with a window, an event or a phase (``windowed``) only inside it, on
    the row's sample time or (receive clock) its estimated flight time.
    """
    n = mode.shape[0]
    k_strings = string_source.shape[0]
    n_sources = has.shape[0]
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
                    recv[src, i] = receive_s[i]
    for s in range(k_strings):
        for i in range(n):
            since[s * n + i] = receive_s[i] - recv[string_source[s], i]
    # 2. events
    for e in range(1, event_t.shape[1]):
        col = ev_col[e]
        for i in range(n):
            if mode[i] != _MODE_ARMED or event_t[i, e] == event_t[i, e]:
                continue
            if col < 0:
                if t_vehicle[i] >= ev_sched[e]:
                    event_t[i, e] = ev_sched[e]
                continue
            t_hit = math.inf
            for s in range(k_strings):
                m = s * n + i
                value = values[m, col]
                if ok[m] and ((value > ev_threshold[e]) if ev_above[e] else (value < ev_threshold[e])):
                    t_hit = min(t_hit, t_rows[m])
            if t_hit < math.inf:
                event_t[i, e] = t_hit
    # 3. row clocks and active rules (rows string-major: row s * n + i; no division in the loops)
    for s in range(k_strings):
        for i in range(n):
            m = s * n + i
            flight_t[m] = t_rows[m] + since[m] if ok[m] else t_vehicle[i]
    for j in range(active.shape[0]):
        rc = receive_clock[j]
        for s in range(k_strings):
            for i in range(n):
                m = s * n + i
                flying = mode[i] == _MODE_ARMED
                on = flying if rc else flying and ok[m]
                if on and windowed[j]:
                    t = flight_t[m] if rc else t_rows[m]
                    on = t >= from_t[j] and t < to_t[j]
                    if on and after_ev[j] >= 0:
                        on = event_t[i, after_ev[j]] <= t
                    if on and until_ev[j] >= 0:
                        on = not event_t[i, until_ev[j]] <= t
                    p = phase[j]
                    if on and p >= 0:
                        on = event_t[i, ph_start[p]] <= t and t >= ph_from[p] and t <= ph_to[p]
                        if on and ph_end[p] >= 0:
                            on = not event_t[i, ph_end[p]] <= t
                active[j, m] = on


POLICY_1OO2, POLICY_2OO2, POLICY_HEALTH_DEGRADED = range(3)
POLICIES = {"1oo2": POLICY_1OO2, "2oo2": POLICY_2OO2, "health_degraded": POLICY_HEALTH_DEGRADED}
# causes of a termination (rangeguard.engine.state.Cause)
_CAUSE_NONE, _CAUSE_RULE, _CAUSE_FAULTY, _CAUSE_NO_HEALTHY = 0, 1, 2, 3


@kernel()
def vote(
    rule_vote, degraded, declared_ok, mode, t_vehicle, receive_s, policy, faulty_string_votes, terminate_if_no_healthy,
    fault_t, health_ok, counting, terminate_now, cause_now,
):  # fmt: skip
    """Step 6 of a cycle: the voting policy, per vehicle (outputs written in place).

    A string is healthy when it declares itself so and none of its own rules degraded it
    (``health_ok`` (N, K)); the first time it declares itself faulty is recorded in ``fault_t``
    (its vehicle's time, or the receive time before any sample). Under ``health_degraded`` only
    healthy strings' rule votes count (``counting``), and with no healthy string left
    ``terminate_if_no_healthy`` decides; under 1oo2 (any) and 2oo2 (all) every string's rule vote
    counts, and a faulty string votes when ``faulty_string_votes``. Only ARMED vehicles terminate
    (``terminate_now``); ``cause_now`` says why (``Cause`` values). Returns whether any vehicle
    terminates now.
    """
    n, k_strings = rule_vote.shape
    anyone = False
    for i in range(n):
        any_healthy = False
        any_counting = False
        any_vote = False
        all_vote = True
        any_rule = False
        for s in range(k_strings):
            healthy = declared_ok[i, s] and not degraded[i, s]
            health_ok[i, s] = healthy
            if not declared_ok[i, s] and fault_t[i, s] != fault_t[i, s]:
                fault_t[i, s] = receive_s[i] if t_vehicle[i] != t_vehicle[i] else t_vehicle[i]
            any_healthy = any_healthy or healthy
            any_rule = any_rule or rule_vote[i, s]
            if policy == POLICY_HEALTH_DEGRADED:
                counting[i, s] = rule_vote[i, s] and healthy
                any_counting = any_counting or counting[i, s]
            else:
                counting[i, s] = rule_vote[i, s]
                v = rule_vote[i, s] or (not healthy and faulty_string_votes)
                any_vote = any_vote or v
                all_vote = all_vote and v
        if policy == POLICY_HEALTH_DEGRADED:
            now = any_counting or (not any_healthy and terminate_if_no_healthy)
            cause = _CAUSE_RULE if any_counting else _CAUSE_NO_HEALTHY if now else _CAUSE_NONE
        else:
            now = any_vote if policy == POLICY_1OO2 else all_vote
            cause = _CAUSE_RULE if now and any_rule else _CAUSE_FAULTY if now else _CAUSE_NONE
        terminate_now[i] = now and mode[i] == _MODE_ARMED
        cause_now[i] = cause
        anyone = anyone or terminate_now[i]
    return anyone

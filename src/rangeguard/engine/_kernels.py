"""Compiled inner loops of the decision function (persistence, votes, statistics).

Arrays are (R, M): rules by rows, rows string-major (row = string * N + vehicle).
"""

from __future__ import annotations

import math

import numpy as np
from numba import prange

from rangeguard.jit import kernel


@kernel(inline="always")
def _vehicle(i, active, violated, margin, since, t_rows, t_est, receive_clock, persistence_s, action, n, k_strings,
             tol_s, t_vehicle, first_violation_t_s, min_margin, vote, vote_rule, vote_held, vote_margin, degrade,
             degrade_rule, degrade_margin):
    """Persistence, votes and statistics of vehicle i (its rows on every string, rules in index order)."""
    for s in range(k_strings):
        m = s * n + i
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


def _vote_arrays(n, k_strings):
    """The per (vehicle, string) outputs: vote, its rule, held time, margin; degrade, its rule, margin."""
    return (np.zeros((n, k_strings), np.bool_), np.full((n, k_strings), -1, np.int64),
            np.full((n, k_strings), np.nan), np.full((n, k_strings), np.nan), np.zeros((n, k_strings), np.bool_),
            np.full((n, k_strings), -1, np.int64), np.full((n, k_strings), np.nan))


@kernel()
def _votes_range(active, violated, margin, since, t_rows, t_est, receive_clock, persistence_s, action, n, k_strings,
                 tol_s, t_vehicle, first_violation_t_s, min_margin, vote, vote_rule, vote_held, vote_margin, degrade,
                 degrade_rule, degrade_margin, lo, hi):
    for i in range(lo, hi):
        _vehicle(i, active, violated, margin, since, t_rows, t_est, receive_clock, persistence_s, action, n,
                 k_strings, tol_s, t_vehicle, first_violation_t_s, min_margin, vote, vote_rule, vote_held,
                 vote_margin, degrade, degrade_rule, degrade_margin)


@kernel(parallel=True)
def _votes_chunks(active, violated, margin, since, t_rows, t_est, receive_clock, persistence_s, action, n,
                  k_strings, tol_s, t_vehicle, first_violation_t_s, min_margin, vote, vote_rule, vote_held,
                  vote_margin, degrade, degrade_rule, degrade_margin):
    for c in prange((n + CHUNK_VEHICLES - 1) // CHUNK_VEHICLES):
        lo = np.int64(c) * CHUNK_VEHICLES  # the serial call's argument types: one compiled _votes_range
        _votes_range(active, violated, margin, since, t_rows, t_est, receive_clock, persistence_s, action, n,
                     k_strings, tol_s, t_vehicle, first_violation_t_s, min_margin, vote, vote_rule, vote_held,
                     vote_margin, degrade, degrade_rule, degrade_margin, lo, min(np.int64(n), lo + CHUNK_VEHICLES))


def _votes_serial(active, violated, margin, since, t_rows, t_est, receive_clock, persistence_s, action, n, k_strings,
                  tol_s, t_vehicle, first_violation_t_s, min_margin):
    out = _vote_arrays(n, k_strings)
    _votes_range(active, violated, margin, since, t_rows, t_est, receive_clock, persistence_s, action, n, k_strings,
                 tol_s, t_vehicle, first_violation_t_s, min_margin, *out, 0, n)
    return out


def _votes_parallel(active, violated, margin, since, t_rows, t_est, receive_clock, persistence_s, action, n,
                    k_strings, tol_s, t_vehicle, first_violation_t_s, min_margin):
    out = _vote_arrays(n, k_strings)
    _votes_chunks(active, violated, margin, since, t_rows, t_est, receive_clock, persistence_s, action, n, k_strings,
                  tol_s, t_vehicle, first_violation_t_s, min_margin, *out)
    return out


CHUNK_VEHICLES = 1024
"""Vehicles per parallel task."""
PARALLEL_MIN_VEHICLES = 2048
"""Below this many vehicles the serial loop is faster than starting the thread pool."""


def persistence_and_votes(active, violated, margin, since, t_rows, t_est, receive_clock, persistence_s, action, n,
                          k_strings, tol_s, t_vehicle, first_violation_t_s, min_margin):
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
    run = _votes_parallel if n >= PARALLEL_MIN_VEHICLES else _votes_serial
    return run(active, violated, margin, since, t_rows, t_est, receive_clock, persistence_s, action, n,
                  k_strings, tol_s, t_vehicle, first_violation_t_s, min_margin)


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


@kernel()
def ingest_source(s, t_s, r, v, q, w, valid, present, receive_s, src_t, src_r, src_v, src_q, src_w, has, recv,
                  cand_t, cand_r, cand_v, cand_n, samples, rejected, rejected_by, resynced, r_min_m, r_max_m,
                  v_max_mps, max_ahead_s, max_age_s, a_max, r_tol, v_tol, resync_n):
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
    """
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
            agrees = cand_n[s, i] > 0 and t > cand_t[s, i] and not _jumped(
                cand_t[s, i], cand_r[s, i], cand_v[s, i], t, r[i], v[i], a_max, r_tol, v_tol)
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

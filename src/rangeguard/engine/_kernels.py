"""Compiled inner loops of the decision function (persistence, votes, statistics).

Arrays are (R, M): rules by rows, rows string-major (row = string * N + vehicle).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(cache=True, inline="always")
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


@njit(cache=True)
def _votes_range(active, violated, margin, since, t_rows, t_est, receive_clock, persistence_s, action, n, k_strings,
                 tol_s, t_vehicle, first_violation_t_s, min_margin, vote, vote_rule, vote_held, vote_margin, degrade,
                 degrade_rule, degrade_margin, lo, hi):
    for i in range(lo, hi):
        _vehicle(i, active, violated, margin, since, t_rows, t_est, receive_clock, persistence_s, action, n,
                 k_strings, tol_s, t_vehicle, first_violation_t_s, min_margin, vote, vote_rule, vote_held,
                 vote_margin, degrade, degrade_rule, degrade_margin)


@njit(cache=True, parallel=True)
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
    kernel = _votes_parallel if n >= PARALLEL_MIN_VEHICLES else _votes_serial
    return kernel(active, violated, margin, since, t_rows, t_est, receive_clock, persistence_s, action, n,
                  k_strings, tol_s, t_vehicle, first_violation_t_s, min_margin)


@njit(cache=True)
def ingest_source(s, t_s, r, v, q, w, valid, receive_s, src_t, src_r, src_v, src_q, src_w, has, recv, samples,
                  rejected, r_min_m, r_max_m, v_max_mps):
    """Accept source ``s``'s samples into the per-source store in place; count accepted and rejected.

    A sample is accepted when flagged valid, plausible (|r| within [r_min_m, r_max_m], |v| <=
    v_max_mps; NaN is not plausible) and newer than the source's last accepted sample.
    """
    r_min2 = r_min_m * r_min_m
    r_max2 = r_max_m * r_max_m
    v_max2 = v_max_mps * v_max_mps
    for i in range(t_s.shape[0]):
        r2 = r[i, 0] * r[i, 0] + r[i, 1] * r[i, 1] + r[i, 2] * r[i, 2]
        v2 = v[i, 0] * v[i, 0] + v[i, 1] * v[i, 1] + v[i, 2] * v[i, 2]
        if valid[i] and r2 >= r_min2 and r2 <= r_max2 and v2 <= v_max2 and t_s[i] > src_t[s, i]:
            src_t[s, i] = t_s[i]
            for c in range(3):
                src_r[s, i, c] = r[i, c]
                src_v[s, i, c] = v[i, c]
                src_w[s, i, c] = w[i, c]
            for c in range(4):
                src_q[s, i, c] = q[i, c]
            has[s, i] = True
            recv[s, i] = receive_s[i]
            samples[i] += 1
        else:
            rejected[i] += 1


@njit(cache=True)
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

"""Compiled inner loops of the decision function (persistence, votes, statistics).

Arrays are (R, M): rules by rows, rows string-major (row = string * N + vehicle).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def persistence_and_votes(active, violated, margin, since, t_rows, t_est, receive_clock, persistence_s, action, n,
                          k_strings, tol_s, t_vehicle, first_violation_t_s, min_margin):
    """Update violation start times in place and gather each string's vote.

    A judged sample (finite margin or violated) that violates starts (or
    continues) the violation clock; a judged clean sample clears it; a row
    out of the rule's window forgets it; an unjudged row holds it. A
    violation counts once it has held ``persistence_s`` on the rule's clock
    (sample time, or estimated flight time for receive-clock rules).

    Returns per (vehicle, string): the terminate vote, the first
    (lowest-index) counted terminate rule, how long it had held and its
    margin; and the degrade flag with its first rule. Monitor rules only feed
    the statistics. Also updates the per-vehicle statistics
    ``first_violation_t_s`` and ``min_margin`` in place.
    """
    n_rules, m_rows = active.shape
    vote = np.zeros((n, k_strings), np.bool_)
    vote_rule = np.full((n, k_strings), -1, np.int64)
    vote_held = np.full((n, k_strings), np.nan)
    vote_margin = np.full((n, k_strings), np.nan)
    degrade = np.zeros((n, k_strings), np.bool_)
    degrade_rule = np.full((n, k_strings), -1, np.int64)
    degrade_margin = np.full((n, k_strings), np.nan)
    for j in range(n_rules):
        for m in range(m_rows):
            if not active[j, m]:
                since[j, m] = math.nan
                continue
            t = t_est[m] if receive_clock[j] else t_rows[m]
            v = violated[j, m]
            mg = margin[j, m]
            i = m % n
            if v:
                if math.isnan(since[j, m]):
                    since[j, m] = t
                held = t - since[j, m]
                if held >= persistence_s[j] - tol_s:
                    s = m // n
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
    return vote, vote_rule, vote_held, vote_margin, degrade, degrade_rule, degrade_margin

"""The decision function: (setup, state, nav samples, receive time, health) -> (new state, decisions).

Pure: it reads no clock, does no I/O and never mutates its inputs. The
semantics follow DESIGN.md "Rule semantics":

1. arming at detected liftoff (height above the pad or speed above a threshold);
2. phases and windows: a rule is judged only while active;
3. persistence: a violation counts once it has held ``persistence_s`` on the
   rule's clock (nav time of validity; the data-loss rule uses receive time);
   rows without a usable sample hold their history, a clean sample clears it;
4. voting among AFTS strings (1oo2, 2oo2, health_degraded);
5. latching: TERMINATED and SAFED are final;
6. safing: orbit (no impact point) or IIP beyond every protected area for good.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

from rangeguard.engine._kernels import front, ingest_source, persistence_and_votes, safing_timer, vote
from rangeguard.engine.decisions import Decisions
from rangeguard.engine.setup import EngineSetup
from rangeguard.engine.state import (
    ST_Q,
    ST_R,
    ST_RECV,
    ST_T,
    ST_V,
    ST_W,
    STORE_COLS,
    AfssState,
    Cause,
    EngineState,
    Rejection,
)
from rangeguard.errors import InputError
from rangeguard.rules import kinematics, quantities
from rangeguard.rules.base import RuleContext

_TOL_S = 1e-9  # persistence comparisons tolerate float rounding of sample times

# plain ints for array code (numpy converts enum members on a slow path)
_SAFE, _ARMED, _TERMINATED, _SAFED = (
    int(s) for s in (AfssState.SAFE, AfssState.ARMED, AfssState.TERMINATED, AfssState.SAFED)
)
_NONE, _RULE, _FAULTY, _NO_HEALTHY, _ORBIT, _IIP_CLEAR = (
    int(c) for c in (Cause.NONE, Cause.RULE, Cause.FAULTY_STRING, Cause.NO_HEALTHY_STRING, Cause.ORBIT, Cause.IIP_CLEAR)
)


class _Store(NamedTuple):
    """The per-source sample store after this cycle's ingest (copies of the state's arrays)."""

    store: np.ndarray  # (S, N, STORE_COLS), see rangeguard.engine.state
    has: np.ndarray
    cand_n: np.ndarray
    samples: np.ndarray
    rejected: np.ndarray
    rejected_by: np.ndarray
    resynced: np.ndarray


def _ingest(setup: EngineSetup, state: EngineState, navs, receive_s: np.ndarray) -> _Store:
    """Pass each source's new samples through the nav gate into the store; count the rejected ones."""
    n = state.mode.shape[0]
    st = _Store(
        state.src_store.copy(), state.src_has.copy(), state.src_cand_n.copy(), state.samples.copy(),
        state.rejected.copy(), state.rejected_by.copy(), state.resynced.copy(),
    )  # fmt: skip
    limits, resync_n = setup.gate_limits, setup.nav_gate.resync_samples
    for nav in navs:
        if nav.n != n:
            raise InputError(f"nav batch has {nav.n} rows; this engine steps {n} vehicles (one row per vehicle)")
        present = _all_present(n) if nav.present is None else np.ascontiguousarray(nav.present, dtype=np.bool_)
        s = nav.source
        if not 0 <= s < st.store.shape[0]:  # a source the mission does not know
            st.rejected[present] += 1
            st.rejected_by[present, int(Rejection.INVALID)] += 1
            continue
        ingest_source(
            s, nav.t_s, nav.r_ecef, nav.v_ecef, nav.q_body_to_ecef, nav.omega_body_rad_s, nav.valid, present,
            receive_s, st.store, st.has, st.cand_n, st.samples, st.rejected, st.rejected_by, st.resynced, limits,
            resync_n,
        )  # fmt: skip
    return st


@lru_cache(maxsize=16)
def _all_healthy(n: int, k: int) -> np.ndarray:
    out = np.ones((n, k), np.bool_)
    out.flags.writeable = False
    return out


@lru_cache(maxsize=16)
def _all_present(n: int) -> np.ndarray:
    out = np.ones(n, np.bool_)
    out.flags.writeable = False
    return out


class _Rows(NamedTuple):
    """The store seen by the strings: one row per (string, vehicle), string-major."""

    ok: np.ndarray
    t_s: np.ndarray  # NaN without a sample
    r_ecef: np.ndarray
    v_ecef: np.ndarray
    q: np.ndarray
    w: np.ndarray
    recv_s: np.ndarray  # receive time of the row's last valid sample


def _string_rows(setup: EngineSetup, src: _Store) -> _Rows:
    """Each string's view of the store (a reshaped view when string s reads source s)."""
    if setup.strings_are_sources:
        ok = src.has.reshape(-1)
        rows = src.store.reshape(-1, STORE_COLS)
    else:
        k = setup.string_source
        ok = src.has[k].reshape(-1)
        rows = src.store[k].reshape(-1, STORE_COLS)
    return _Rows(
        ok,
        np.where(ok, rows[:, ST_T], np.nan),
        rows[:, ST_R : ST_R + 3],
        rows[:, ST_V : ST_V + 3],
        rows[:, ST_Q : ST_Q + 4],
        rows[:, ST_W : ST_W + 3],
        rows[:, ST_RECV],
    )


def _per_vehicle(values: np.ndarray, n: int, reducer) -> np.ndarray:
    """Reduce (M,) row values (string-major) to (N,) per vehicle."""
    return reducer(values.reshape(-1, n), axis=0)


def decide(setup: EngineSetup, state: EngineState, navs, receive_time_s, health=None):
    """One engine cycle. Returns ``(new_state, Decisions)``; see the module docstring.

    NaN (no sample, no impact point) is an expected value throughout, so
    comparisons with it are not warned about.
    """
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return _decide(setup, state, navs, receive_time_s, health)


def _decide(setup: EngineSetup, state: EngineState, navs, receive_time_s, health):
    n = state.mode.shape[0]
    k_strings = len(setup.string_names)
    if isinstance(receive_time_s, float | int):  # the usual scalar clock: no broadcasting machinery
        receive_s = np.empty(n)
        receive_s.fill(receive_time_s)
    else:
        receive_s = np.ascontiguousarray(np.broadcast_to(np.asarray(receive_time_s, dtype=np.float64), (n,)))
    src = _ingest(setup, state, navs, receive_s)
    rows = _string_rows(setup, src)
    kin = kinematics.kinematics(rows.r_ecef, rows.v_ecef, setup.site, setup.needs_iip_range)
    ok = rows.ok
    t_rows = rows.t_s

    # --- 1-3. arming, events, row clocks, which rules are active (compiled) ------
    mode = state.mode.copy()
    event_t = state.event_t_s.copy()
    m_rows = t_rows.shape[0]
    n_rules = len(setup.rules)
    t_vehicle, since_valid_s, flight_time_s = np.empty(n), np.empty(m_rows), np.empty(m_rows)
    active = np.empty((n_rules, m_rows), np.bool_)
    front(
        mode, event_t, src.store[:, :, ST_RECV], src.has, setup.string_source, receive_s, ok, t_rows, kin.table,
        setup.arm_params, setup.event_sched_t_s, setup.event_col, setup.event_above, setup.event_threshold,
        setup.windowed,
        setup.receive_clock, setup.from_t_s, setup.to_t_s, setup.after_event, setup.until_event, setup.phase,
        setup.phase_start, setup.phase_end, setup.phase_from_t_s, setup.phase_to_t_s, t_vehicle, since_valid_s,
        flight_time_s, active,
    )  # fmt: skip
    flying = mode == _ARMED
    ctx = RuleContext(
        setup.site,
        kin,
        ok,
        t_rows,
        since_valid_s,
        flight_time_s,
        rows.q,
        rows.w,
        np.where(src.has, src.store[:, :, ST_T], np.nan),
        src.store[:, :, ST_R : ST_R + 3],
        src.store[:, :, ST_V : ST_V + 3],
    )

    # --- 4. evaluate the rules -------------------------------------------------
    violated = np.zeros((n_rules, m_rows), bool)
    margin = np.empty((n_rules, m_rows))
    margin.fill(np.nan)
    memory = list(state.memory)
    setup.program.evaluate(ctx.rows(), active, margin, violated)
    for j in setup.unpacked:
        if not active[j].any():
            continue
        out = setup.rules[j].evaluate(ctx, memory[j])
        row = active[j]
        np.logical_and(out.violated, row, out=violated[j])
        np.copyto(margin[j], out.margin, where=row)
        if out.memory is not None:
            keep = row.reshape((-1,) + (1,) * (out.memory.ndim - 1))
            memory[j] = np.where(keep, out.memory, memory[j])

    # --- 5. persistence, votes and statistics (compiled loop) -------------------
    since = state.viol_since.copy()
    first_v = state.first_violation_t_s.copy()
    min_margin = state.min_margin.copy()
    rule_vote, vote_rule, vote_held, vote_margin, degraded, degrade_rule, degrade_margin = persistence_and_votes(
        active, violated, margin, since, t_rows, flight_time_s, setup.receive_clock, setup.persistence_s, setup.action,
        n, k_strings, _TOL_S, t_vehicle, first_v, min_margin,
    )  # fmt: skip

    # --- 6. the voting policy --------------------------------------------------------
    if health is None:
        declared_ok = _all_healthy(n, k_strings)
    elif isinstance(health, np.ndarray) and health.dtype == np.bool_ and health.shape == (n, k_strings):
        declared_ok = health  # the engine's own check made it an (N, K) bool array
    else:
        declared_ok = np.broadcast_to(np.asarray(health, bool), (n, k_strings))
    # a string degraded by its own rules (e.g. its nav is lost) counts as faulty this cycle
    fault_t = state.string_fault_t_s.copy()
    health_ok, counting = np.empty((n, k_strings), np.bool_), np.empty((n, k_strings), np.bool_)
    terminate_now, cause_now = np.empty(n, np.bool_), np.empty(n, np.int8)
    terminating = vote(
        rule_vote, degraded, declared_ok, mode, t_vehicle, receive_s, setup.policy_code, setup.faulty_string_votes,
        setup.terminate_if_no_healthy, fault_t, health_ok, counting, terminate_now, cause_now,
    )  # fmt: skip

    # --- 7. safing (only vehicles not terminating now) ----------------------------------
    orbit_since, clear_since, safe_now, safe_cause = _safing(
        setup, state, ctx, flying & ~terminate_now, health_ok, t_vehicle, n
    )

    # --- 8. latch ------------------------------------------------------------------------
    t_term, t_safed, cause = state.t_terminate_s, state.t_safed_s, state.cause
    fired_rule, fired_string, fired_margin, fired_held = (
        state.fired_rule,
        state.fired_string,
        state.fired_margin,
        state.fired_held_s,
    )
    safing = safe_now is not None
    if terminating or safing:  # the state's arrays are never written: copied before a change
        t_term, t_safed, cause = t_term.copy(), t_safed.copy(), cause.copy()
        fired_rule, fired_string = fired_rule.copy(), fired_string.copy()
        fired_margin, fired_held = fired_margin.copy(), fired_held.copy()
    if terminating:
        idx = np.nonzero(terminate_now)[0]
        mode[idx] = _TERMINATED
        t_decided = _decision_time(flight_time_s, receive_s, n)
        cause[idx] = cause_now[idx]
        for i in idx:
            if cause_now[i] == _RULE:
                s = int(np.argmax(counting[i]))  # the first string whose vote counts
                fired_rule[i], fired_string[i] = vote_rule[i, s], s
                fired_margin[i], fired_held[i] = vote_margin[i, s], vote_held[i, s]
            else:  # a faulty string's vote, or no healthy string left
                s = int(np.argmax(~health_ok[i]))
                fired_string[i] = s
                if degraded[i, s]:  # faulty because one of its own rules degraded it
                    fired_rule[i] = degrade_rule[i, s]
                    fired_margin[i] = degrade_margin[i, s]
            # a violation of the data is dated by the data; anything judged on the receive clock
            # (data loss, string health) by the estimated flight time at which it was decided
            by_data = fired_rule[i] >= 0 and not setup.receive_clock[fired_rule[i]] and np.isfinite(t_vehicle[i])
            t_term[i] = t_vehicle[i] if by_data else t_decided[i]
    if safing:
        mode[safe_now] = _SAFED
        t_safed[safe_now] = t_vehicle[safe_now]
        cause[safe_now] = safe_cause[safe_now]

    new_state = state.evolve(
        mode=mode,
        event_t_s=event_t,
        t_terminate_s=t_term,
        t_safed_s=t_safed,
        cause=cause,
        fired_rule=fired_rule,
        degrade_rule=degrade_rule,
        fired_string=fired_string,
        fired_margin=fired_margin,
        fired_held_s=fired_held,
        src_store=src.store,
        src_has=src.has,
        src_cand_n=src.cand_n,
        samples=src.samples,
        rejected=src.rejected,
        rejected_by=src.rejected_by,
        resynced=src.resynced,
        viol_since=since,
        memory=tuple(memory),
        orbit_since=orbit_since,
        clear_since=clear_since,
        string_fault_t_s=fault_t,
        first_violation_t_s=first_v,
        min_margin=min_margin,
    )
    decisions = Decisions(
        setup=setup,
        state=new_state,
        t_s=t_vehicle,
        receive_time_s=receive_s,
        terminate_now=terminate_now,
        margin_rm=margin,
        violated_rm=violated,
        active_rm=active,
        iip_lat_deg=ctx.iip_lat_deg.reshape(k_strings, n),
        iip_lon_deg=ctx.iip_lon_deg.reshape(k_strings, n),
        health=health_ok,
    )
    return new_state, decisions


def _decision_time(flight_time_s: np.ndarray, receive_s: np.ndarray, n: int) -> np.ndarray:
    """(N,) the estimated flight time of this cycle per vehicle: the latest over its rows of the last
    sample's time plus the receive time elapsed since it arrived; the receive time where no row has one."""
    rows = np.where(np.isfinite(flight_time_s), flight_time_s, -np.inf)
    latest = _per_vehicle(rows, n, np.max)
    return np.where(np.isfinite(latest), latest, receive_s)


def _safing(setup, state, ctx, candidates, health_ok, t_vehicle, n):
    """Orbit and IIP-clear safing timers; returns (orbit_since, clear_since, safe_now, cause), with
    ``safe_now`` None when no vehicle safes now."""
    orbit_cfg = setup.safing.orbit
    clear_cfg = setup.safing.iip_clear
    if not (orbit_cfg.enabled or (clear_cfg.enabled and setup.protected_polygons)) or not candidates.any():
        return state.orbit_since, state.clear_since, None, None  # no timer changes: nothing copied
    safe_now = np.zeros(n, bool)
    cause = np.zeros(n, np.int8)
    orbit_since = state.orbit_since.copy()
    clear_since = state.clear_since.copy()
    k = len(setup.string_names)
    use = np.ascontiguousarray(ctx.ok.reshape(k, n) & health_ok.T)  # rows that may vote for safing
    if orbit_cfg.enabled:
        row_orbit = ~np.isfinite(ctx.iip_lat_deg) & (ctx.h_m > orbit_cfg.min_altitude_m)
        done = safing_timer(
            candidates, use, row_orbit.reshape(k, n), orbit_since, t_vehicle, orbit_cfg.persistence_s, _TOL_S, safe_now
        )
        safe_now |= done
        cause[done] = _ORBIT
    if clear_cfg.enabled and setup.protected_polygons:
        rng = quantities.get(ctx, "iip_range_m")
        far = rng >= setup.clear_min_range_m
        row_clear = far.copy()
        if far.any():
            for poly in setup.protected_polygons:
                d = poly.signed_distance_m(ctx.iip_lat_deg[far], ctx.iip_lon_deg[far])
                row_clear[np.nonzero(far)[0]] &= -d >= clear_cfg.clearance_m
        done = safing_timer(
            candidates, use, row_clear.reshape(k, n), clear_since, t_vehicle, clear_cfg.persistence_s, _TOL_S, safe_now
        )
        safe_now |= done
        cause[done] = _IIP_CLEAR
    return orbit_since, clear_since, (safe_now if safe_now.any() else None), cause


def fault_cycle(setup: EngineSetup, state: EngineState, receive_s: np.ndarray):
    """The cycle's answer when :func:`decide` failed: every string counts as faulty, the policy decides.

    Nothing of the cycle's input is used (it may be what made it fail): the sample store and the
    rule histories are kept as they were. Under health_degraded no healthy string is left, so
    ``termination.all_strings_faulty`` decides; under 1oo2/2oo2 each faulty string votes to
    terminate when ``termination.faulty_string_votes`` says so. Only armed vehicles terminate.
    Returns ``(new_state, Decisions)`` like :func:`decide`.
    """
    n = state.mode.shape[0]
    k_strings = len(setup.string_names)
    if setup.policy == "health_degraded":
        votes = setup.terminate_if_no_healthy
    else:
        votes = setup.faulty_string_votes  # every string is faulty: 1oo2 and 2oo2 agree
    terminate_now = (state.mode == _ARMED) & bool(votes)
    mode = state.mode.copy()
    t_term = state.t_terminate_s.copy()
    cause = state.cause.copy()
    fired_string = state.fired_string.copy()
    mode[terminate_now] = _TERMINATED
    t_term[terminate_now] = receive_s[terminate_now]
    cause[terminate_now] = int(Cause.CYCLE_FAULT)
    fired_string[terminate_now] = 0
    new_state = state.evolve(
        mode=mode, t_terminate_s=t_term, cause=cause, fired_string=fired_string,
        cycle_faults=state.cycle_faults + 1,
    )  # fmt: skip
    n_rules = len(setup.rules)
    nan_rows = np.full((k_strings, n), np.nan)
    decisions = Decisions(
        setup=setup,
        state=new_state,
        t_s=np.full(n, np.nan),
        receive_time_s=np.array(receive_s, dtype=np.float64),
        terminate_now=terminate_now,
        margin_rm=np.full((n_rules, k_strings * n), np.nan),
        violated_rm=np.zeros((n_rules, k_strings * n), bool),
        active_rm=np.zeros((n_rules, k_strings * n), bool),
        iip_lat_deg=nan_rows,
        iip_lon_deg=nan_rows.copy(),
        health=np.zeros((n, k_strings), bool),
    )
    return new_state, decisions

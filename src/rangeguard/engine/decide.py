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

from dataclasses import replace
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from rangeguard.constants import WGS84_B_M
from rangeguard.engine._kernels import ingest_source, persistence_and_votes, safing_timer
from rangeguard.engine.decisions import Decisions
from rangeguard.engine.setup import EngineSetup
from rangeguard.engine.state import AfssState, Cause, EngineState, Rejection
from rangeguard.errors import InputError
from rangeguard.nav import NavBatch
from rangeguard.rules import kinematics, quantities
from rangeguard.rules.base import RuleContext

_TOL_S = 1e-9  # persistence comparisons tolerate float rounding of sample times

# plain ints for array code (numpy converts enum members on a slow path)
_SAFE, _ARMED, _TERMINATED, _SAFED = (int(s) for s in (AfssState.SAFE, AfssState.ARMED, AfssState.TERMINATED,
                                                       AfssState.SAFED))
_NONE, _RULE, _FAULTY, _NO_HEALTHY, _ORBIT, _IIP_CLEAR = (int(c) for c in (
    Cause.NONE, Cause.RULE, Cause.FAULTY_STRING, Cause.NO_HEALTHY_STRING, Cause.ORBIT, Cause.IIP_CLEAR))


def _rows_of(values: np.ndarray, k: int) -> np.ndarray:
    """Per-vehicle values (N, ...) repeated for each of k strings: (k N, ...), string-major."""
    return values if k == 1 else np.concatenate([values] * k)


def _any_string(flags: np.ndarray) -> np.ndarray:
    """(N, K) -> (N,): any string (column by column; numpy's reduction over a short last axis is slow)."""
    out = flags[:, 0].copy()
    for s in range(1, flags.shape[1]):
        out |= flags[:, s]
    return out


def _all_strings(flags: np.ndarray) -> np.ndarray:
    """(N, K) -> (N,): every string."""
    out = flags[:, 0].copy()
    for s in range(1, flags.shape[1]):
        out &= flags[:, s]
    return out


@lru_cache(maxsize=16)
def _row_vehicles(n: int, k: int) -> np.ndarray:
    """Vehicle index of each row (read-only, shared between cycles)."""
    out = np.tile(np.arange(n), k)
    out.flags.writeable = False
    return out

# Gross-error limits of the nav gate (a failed unit often reports zeros or garbage):
# a position inside the Earth's core or beyond the Moon, or a speed far above
# escape speed, is not a navigation solution; such samples are rejected and
# counted like NaN ones, and the data-loss rule judges the gap. The mission's
# nav_gate section sets the finer checks (time against the receive clock, jumps).
_R_MIN_M = 0.5 * WGS84_B_M
_R_MAX_M = 1.0e9
_V_MAX_MPS = 1.0e5


class _Store(NamedTuple):
    """The per-source sample store after this cycle's ingest (copies of the state's arrays)."""

    t_s: np.ndarray
    r_ecef: np.ndarray
    v_ecef: np.ndarray
    q: np.ndarray
    w: np.ndarray
    has: np.ndarray
    recv_s: np.ndarray
    cand_t_s: np.ndarray
    cand_r_ecef: np.ndarray
    cand_v_ecef: np.ndarray
    cand_n: np.ndarray
    samples: np.ndarray
    rejected: np.ndarray
    rejected_by: np.ndarray
    resynced: np.ndarray


def _ingest(setup: EngineSetup, state: EngineState, navs, receive_s: np.ndarray) -> _Store:
    """Pass each source's new samples through the nav gate into the store; count the rejected ones."""
    n = state.mode.shape[0]
    st = _Store(
        state.src_t_s.copy(), state.src_r_ecef.copy(), state.src_v_ecef.copy(), state.src_q.copy(),
        state.src_w.copy(), state.src_has.copy(), state.src_recv_s.copy(), state.src_cand_t_s.copy(),
        state.src_cand_r_ecef.copy(), state.src_cand_v_ecef.copy(), state.src_cand_n.copy(), state.samples.copy(),
        state.rejected.copy(), state.rejected_by.copy(), state.resynced.copy(),
    )  # fmt: skip
    gate = setup.nav_gate
    for nav in navs:
        if nav.n != n:
            raise InputError(f"nav batch has {nav.n} rows; this engine steps {n} vehicles (one row per vehicle)")
        present = _all_present(n) if nav.present is None else np.ascontiguousarray(nav.present, dtype=np.bool_)
        s = nav.source
        if not 0 <= s < st.t_s.shape[0]:  # a source the mission does not know
            st.rejected[present] += 1
            st.rejected_by[present, int(Rejection.INVALID)] += 1
            continue
        ingest_source(
            s, nav.t_s, nav.r_ecef, nav.v_ecef, nav.q_body_to_ecef, nav.omega_body_rad_s, nav.valid, present,
            receive_s, st.t_s, st.r_ecef, st.v_ecef, st.q, st.w, st.has, st.recv_s, st.cand_t_s, st.cand_r_ecef,
            st.cand_v_ecef, st.cand_n, st.samples, st.rejected, st.rejected_by, st.resynced, _R_MIN_M, _R_MAX_M,
            _V_MAX_MPS, gate.max_time_ahead_s, gate.max_age_s, gate.max_accel_mps2, gate.position_tolerance_m,
            gate.velocity_tolerance_mps, gate.resync_samples,
        )  # fmt: skip
    return st


@lru_cache(maxsize=16)
def _all_present(n: int) -> np.ndarray:
    out = np.ones(n, np.bool_)
    out.flags.writeable = False
    return out


def _context(setup: EngineSetup, src: _Store, receive_s: np.ndarray) -> RuleContext:
    k = setup.string_source
    n = src.t_s.shape[1]
    t = src.t_s[k].reshape(-1)
    r = src.r_ecef[k].reshape(-1, 3)
    v = src.v_ecef[k].reshape(-1, 3)
    ok = src.has[k].reshape(-1)
    nav = NavBatch(t, r, v, src.q[k].reshape(-1, 4), src.w[k].reshape(-1, 3), ok, -1)
    kin = kinematics.kinematics(r, v, setup.site, setup.needs_iip_range)
    recv_rows = _rows_of(receive_s, len(k))
    since = recv_rows - src.recv_s[k].reshape(-1)
    source_navs = [
        NavBatch(src.t_s[s], src.r_ecef[s], src.v_ecef[s], src.q[s], src.w[s], src.has[s], s)
        for s in range(src.t_s.shape[0])
    ]
    ctx = RuleContext(
        nav=nav,
        ok=ok,
        t_s=np.where(ok, t, np.nan),
        lat_deg=kin.table[:, kinematics.LAT],
        lon_deg=kin.table[:, kinematics.LON],
        h_m=kin.table[:, kinematics.H],
        iip_lat_deg=kin.table[:, kinematics.IIP_LAT],
        iip_lon_deg=kin.table[:, kinematics.IIP_LON],
        iip_tof_s=kin.table[:, kinematics.IIP_TOF],
        since_valid_s=since,
        receive_time_s=receive_s,
        vehicle=_row_vehicles(n, len(k)),
        source_navs=source_navs,
        source_t_s=np.where(src.has, src.t_s, np.nan),
        site=setup.site,
        source_index={name: i for i, name in enumerate(setup.source_names)},
    )
    kinematics.fill_cache(ctx.cache, kin, setup.needs_iip_range)
    return ctx


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
        receive_s = np.full(n, float(receive_time_s))
    else:
        receive_s = np.ascontiguousarray(np.broadcast_to(np.asarray(receive_time_s, dtype=np.float64), (n,)))
    src = _ingest(setup, state, navs, receive_s)
    ctx = _context(setup, src, receive_s)
    ok = ctx.ok
    mode = state.mode.copy()
    t_rows = ctx.t_s
    t_vehicle = _per_vehicle(np.where(ok, t_rows, -np.inf), n, np.max)
    t_vehicle = np.where(np.isfinite(t_vehicle), t_vehicle, np.nan)

    # --- 1. arming at detected liftoff -----------------------------------------
    event_t = state.event_t_s.copy()
    arm = setup.arming
    safe = mode == _SAFE
    if safe.any():
        cue = ok & (t_rows >= arm.not_before_t_s) & (
            (ctx.h_m - setup.site.alt_m > arm.liftoff_height_m)
            | (quantities.get(ctx, "speed_mps") > arm.liftoff_speed_mps)
        )
        t_cue = _per_vehicle(np.where(cue, t_rows, np.inf), n, np.min)
        armed_now = safe & np.isfinite(t_cue)
        mode[armed_now] = _ARMED
        event_t[armed_now, 0] = t_cue[armed_now]
        # a source with no valid sample yet starts its data-loss clock at arming
        recv = src.recv_s
        silent = ~src.has & armed_now[None, :]
        if silent.any():
            recv[silent] = np.broadcast_to(receive_s, recv.shape)[silent]
            ctx.since_valid_s = _rows_of(receive_s, len(setup.string_source)) - recv[setup.string_source].reshape(-1)

    # --- 2. events -------------------------------------------------------------
    flying = mode == _ARMED
    for e in range(1, len(setup.event_names)):
        pending = flying & np.isnan(event_t[:, e])
        if not pending.any():
            continue
        detect = setup.event_detect[e]
        if detect is None:
            hit = pending & (t_vehicle >= setup.event_sched_t_s[e])
            event_t[hit, e] = setup.event_sched_t_s[e]
        else:
            quantity, above, below = detect
            value = quantities.get(ctx, quantity)
            cond = ok & ((value > above) if above is not None else (value < below))
            t_hit = _per_vehicle(np.where(cond, t_rows, np.inf), n, np.min)
            hit = pending & np.isfinite(t_hit)
            event_t[hit, e] = t_hit[hit]

    # --- 3. which rules are active on which rows (R, M) -----------------------
    ctx.flight_time_s = np.where(ok, t_rows + ctx.since_valid_s, _rows_of(t_vehicle, k_strings))
    flying_rows = _rows_of(flying, k_strings)
    ev_rows = _rows_of(event_t, k_strings) if setup.windowed else None
    active = _active(setup, flying_rows, ok, t_rows, ctx.flight_time_s, ev_rows)

    # --- 4. evaluate the rules -------------------------------------------------
    m_rows = t_rows.shape[0]
    n_rules = len(setup.rules)
    violated = np.zeros((n_rules, m_rows), bool)
    margin = np.full((n_rules, m_rows), np.nan)
    memory = list(state.memory)
    any_active = active.any(axis=1)
    setup.thresholds.evaluate(ctx, ctx.cache["kinematics"], active, margin, violated)
    for j, rule in enumerate(setup.rules):
        if setup.fused[j] or not any_active[j]:
            continue
        out = rule.evaluate(ctx, memory[j])
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
        active, violated, margin, since, t_rows, ctx.flight_time_s, setup.receive_clock, setup.persistence_s,
        setup.action, n, k_strings, _TOL_S, t_vehicle, first_v, min_margin,
    )

    # --- 6. the voting policy --------------------------------------------------------
    declared_ok = np.ones((n, k_strings), bool) if health is None else np.broadcast_to(np.asarray(health, bool), (n, k_strings))
    # a string degraded by its own rules (e.g. its nav is lost) counts as faulty this cycle
    health_ok = declared_ok & ~degraded
    fault_t = state.string_fault_t_s.copy()
    newly_faulty = ~declared_ok & np.isnan(fault_t)
    if newly_faulty.any():
        fault_t[newly_faulty] = np.where(np.isnan(t_vehicle), receive_s, t_vehicle)[np.nonzero(newly_faulty)[0]]
    faulty = ~health_ok
    if setup.policy == "health_degraded":
        counting = rule_vote & health_ok
        healthy_vote = _any_string(counting)
        none_healthy = ~_any_string(health_ok)
        terminate_now = healthy_vote | (none_healthy & setup.terminate_if_no_healthy)
        cause_now = np.where(healthy_vote, _RULE, np.where(terminate_now, _NO_HEALTHY, _NONE))
    else:
        counting = rule_vote
        fault_vote = faulty & setup.faulty_string_votes
        vote = rule_vote | fault_vote
        terminate_now = _any_string(vote) if setup.policy == "1oo2" else _all_strings(vote)
        by_rule = _any_string(rule_vote)
        cause_now = np.where(terminate_now & by_rule, _RULE, np.where(terminate_now, _FAULTY, _NONE))
    terminate_now &= flying

    # --- 7. safing (only vehicles not terminating now) ----------------------------------
    orbit_since, clear_since, safe_now, safe_cause = _safing(setup, state, ctx, flying & ~terminate_now, health_ok, t_vehicle, n)

    # --- 8. latch ------------------------------------------------------------------------
    t_term = state.t_terminate_s.copy()
    t_safed = state.t_safed_s.copy()
    cause = state.cause.copy()
    fired_rule = state.fired_rule.copy()
    fired_string = state.fired_string.copy()
    fired_margin = state.fired_margin.copy()
    fired_held = state.fired_held_s.copy()
    if terminate_now.any():
        idx = np.nonzero(terminate_now)[0]
        mode[idx] = _TERMINATED
        t_decided = _decision_time(ctx.flight_time_s, receive_s, n)
        cause[idx] = cause_now[idx]
        for i in idx:
            if cause_now[i] == _RULE:
                s = int(np.argmax(counting[i]))  # the first string whose vote counts
                fired_rule[i], fired_string[i] = vote_rule[i, s], s
                fired_margin[i], fired_held[i] = vote_margin[i, s], vote_held[i, s]
            else:  # a faulty string's vote, or no healthy string left
                s = int(np.argmax(faulty[i]))
                fired_string[i] = s
                if degraded[i, s]:  # faulty because one of its own rules degraded it
                    fired_rule[i] = degrade_rule[i, s]
                    fired_margin[i] = degrade_margin[i, s]
            # a violation of the data is dated by the data; anything judged on the receive clock
            # (data loss, string health) by the estimated flight time at which it was decided
            by_data = fired_rule[i] >= 0 and not setup.receive_clock[fired_rule[i]] and np.isfinite(t_vehicle[i])
            t_term[i] = t_vehicle[i] if by_data else t_decided[i]
    if safe_now.any():
        mode[safe_now] = _SAFED
        t_safed[safe_now] = t_vehicle[safe_now]
        cause[safe_now] = safe_cause[safe_now]

    new_state = replace(
        state,
        mode=mode,
        event_t_s=event_t,
        t_terminate_s=t_term,
        t_safed_s=t_safed,
        cause=cause,
        fired_rule=fired_rule,
        degrade_rule=np.where(degraded, degrade_rule, -1).astype(np.int16),
        fired_string=fired_string,
        fired_margin=fired_margin,
        fired_held_s=fired_held,
        src_t_s=src.t_s,
        src_r_ecef=src.r_ecef,
        src_v_ecef=src.v_ecef,
        src_q=src.q,
        src_w=src.w,
        src_has=src.has,
        src_recv_s=src.recv_s,
        src_cand_t_s=src.cand_t_s,
        src_cand_r_ecef=src.cand_r_ecef,
        src_cand_v_ecef=src.cand_v_ecef,
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


def _active(setup: EngineSetup, flying_rows, ok, t_rows, t_est, ev_rows) -> np.ndarray:
    """(R, M): is each rule judged on each row this cycle.

    Data-clock rules need a valid sample on the row and are windowed on its
    time; receive-clock rules (data loss) also judge silent rows, windowed on
    the estimated flight time. Rules without windows, events or phases (most
    of them) cost nothing here.
    """
    active = np.empty((len(setup.rules), t_rows.shape[0]), bool)
    base = flying_rows & ok
    active[:] = base
    if setup.receive_clock.any():
        active[setup.receive_clock] = flying_rows
    for j in setup.windowed:
        t = t_est if setup.receive_clock[j] else t_rows
        row = active[j] & (t >= setup.from_t_s[j]) & (t < setup.to_t_s[j])
        if setup.after_event[j] >= 0:
            row &= ev_rows[:, setup.after_event[j]] <= t
        if setup.until_event[j] >= 0:
            row &= ~(ev_rows[:, setup.until_event[j]] <= t)
        p = setup.phase[j]
        if p >= 0:
            start = ev_rows[:, setup.phase_start[p]] <= t
            end = setup.phase_end[p]
            row &= start & (t >= setup.phase_from_t_s[p]) & (t <= setup.phase_to_t_s[p])
            if end >= 0:
                row &= ~(ev_rows[:, end] <= t)
        active[j] = row
    return active


def _safing(setup, state, ctx, candidates, health_ok, t_vehicle, n):
    """Orbit and IIP-clear safing timers; returns (orbit_since, clear_since, safe_now, cause)."""
    orbit_since = state.orbit_since.copy()
    clear_since = state.clear_since.copy()
    safe_now = np.zeros(n, bool)
    cause = np.zeros(n, np.int8)
    if not candidates.any():
        return orbit_since, clear_since, safe_now, cause
    k = len(setup.string_names)
    use = np.ascontiguousarray(ctx.ok.reshape(k, n) & health_ok.T)  # rows that may vote for safing
    orbit_cfg = setup.safing.orbit
    if orbit_cfg.enabled:
        row_orbit = ~np.isfinite(ctx.iip_lat_deg) & (ctx.h_m > orbit_cfg.min_altitude_m)
        done = safing_timer(candidates, use, row_orbit.reshape(k, n), orbit_since, t_vehicle, orbit_cfg.persistence_s,
                            _TOL_S, safe_now)
        safe_now |= done
        cause[done] = _ORBIT
    clear_cfg = setup.safing.iip_clear
    if clear_cfg.enabled and setup.protected_polygons:
        rng = quantities.get(ctx, "iip_range_m")
        far = rng >= setup.clear_min_range_m
        row_clear = far.copy()
        if far.any():
            for poly in setup.protected_polygons:
                d = poly.signed_distance_m(ctx.iip_lat_deg[far], ctx.iip_lon_deg[far])
                row_clear[np.nonzero(far)[0]] &= -d >= clear_cfg.clearance_m
        done = safing_timer(candidates, use, row_clear.reshape(k, n), clear_since, t_vehicle, clear_cfg.persistence_s,
                            _TOL_S, safe_now)
        safe_now |= done
        cause[done] = _IIP_CLEAR
    return orbit_since, clear_since, safe_now, cause


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
    new_state = replace(
        state, mode=mode, t_terminate_s=t_term, cause=cause, fired_string=fired_string,
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

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

from collections.abc import Sequence
from functools import lru_cache
from typing import Any, TypeAlias

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rangeguard.engine._kernels import (
    ANY_DESTRUCT,
    ANY_TERMINATE,
    LATCH_COLS,
    LATCH_D_CAUSE,
    LATCH_D_T,
    front,
    ingest_source,
    persistence_and_votes,
    safing_timer,
)
from rangeguard.engine.decisions import Decisions
from rangeguard.engine.setup import EngineSetup
from rangeguard.engine.state import (
    ST_Q,
    ST_R,
    ST_V,
    ST_W,
    STORE_COLS,
    AfssState,
    Cause,
    EngineState,
    Rejection,
)
from rangeguard.errors import InputError
from rangeguard.nav import NavBatch
from rangeguard.rules import kinematics, quantities
from rangeguard.rules.base import RuleContext

_Stored: TypeAlias = tuple[
    NDArray[np.float64], NDArray[np.bool_], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64],
    NDArray[np.int64], NDArray[np.int64],
]  # fmt: skip
"""What the ingest gives: the sample store, src_has, src_cand_n, samples, rejected, rejected_by, resynced."""
_Safed: TypeAlias = tuple[NDArray[np.bool_], NDArray[np.int8]]
"""The vehicles that safe now and why (Cause values)."""

_TOL_S = 1e-9  # persistence comparisons tolerate float rounding of sample times

# plain ints for array code (numpy converts enum members on a slow path)
_SAFE, _ARMED, _TERMINATED, _SAFED = (
    int(s) for s in (AfssState.SAFE, AfssState.ARMED, AfssState.TERMINATED, AfssState.SAFED)
)
_NONE, _RULE, _FAULTY, _NO_HEALTHY, _ORBIT, _IIP_CLEAR = (
    int(c) for c in (Cause.NONE, Cause.RULE, Cause.FAULTY_STRING, Cause.NO_HEALTHY_STRING, Cause.ORBIT, Cause.IIP_CLEAR)
)


def _ingest(
    setup: EngineSetup, state: EngineState, navs: Sequence[NavBatch], receive_s: NDArray[np.float64]
) -> _Stored:
    """Pass each source's new samples through the nav gate into the store; count the rejected ones.

    Returns the cycle's sample store, ``src_has``, ``src_cand_n``, ``samples``, ``rejected``,
    ``rejected_by`` and ``resynced``: copies of the state's, updated, or the state's own arrays
    where the cycle does not change them.
    """
    # One vehicle: the arrays only a first, rejected or re-acquired sample writes are copied only when
    # a sample does (the pass stops before writing them and runs again with copies). A batch copies
    # them at once: some of its vehicles' samples usually do.
    stored = _ingest_pass(setup, state, navs, receive_s, state.mode.shape[0] > 1)
    if stored is None:
        stored = _ingest_pass(setup, state, navs, receive_s, True)
        assert stored is not None  # with its own copies a pass never stops
    return stored


def _ingest_pass(
    setup: EngineSetup, state: EngineState, navs: Sequence[NavBatch], receive_s: NDArray[np.float64], own: bool
) -> _Stored | None:
    """:func:`_ingest` with ``own`` copies of the rarely written arrays, or None when a sample needs them."""
    n = state.mode.shape[0]
    store, samples = state.src_store.copy(), state.samples.copy()
    has, cand_n, rejected, rejected_by, resynced = (
        state.src_has, state.src_cand_n, state.rejected, state.rejected_by, state.resynced
    )  # fmt: skip
    if own:
        has, cand_n, rejected, rejected_by, resynced = (
            has.copy(), cand_n.copy(), rejected.copy(), rejected_by.copy(), resynced.copy()
        )  # fmt: skip
    limits, resync_n = setup.gate_limits, setup.resync_n
    n_sources = store.shape[0]
    for nav in navs:
        if nav.n != n:
            raise InputError(f"nav batch has {nav.n} rows; this engine steps {n} vehicles (one row per vehicle)")
        present = _all_present(n) if nav.present is None else np.ascontiguousarray(nav.present, dtype=np.bool_)
        s = nav.source
        if not 0 <= s < n_sources:  # a source the mission does not know
            if not own:
                return None
            rejected[present] += 1
            rejected_by[present, int(Rejection.INVALID)] += 1
            continue
        if not ingest_source(
            s, nav.t_s, nav.r_ecef, nav.v_ecef, nav.q_body_to_ecef, nav.omega_body_rad_s, nav.valid, present,
            receive_s, store, has, cand_n, samples, rejected, rejected_by, resynced, limits, resync_n, own,
        ):  # fmt: skip
            return None
    return store, has, cand_n, samples, rejected, rejected_by, resynced


def _read_only_rows(health: ArrayLike, n: int, k: int) -> NDArray[np.bool_]:
    """The declared health as the kernels take it: (N, K) bool, C-contiguous and read-only, as
    :func:`_all_healthy` is. One array type on every path means one compiled specialisation of each
    kernel (numba types read-only and writable arrays apart): the warm-up before READY loads the same
    code a flight runs (a second specialisation compiled mid-flight stalled a cycle for seconds)."""
    rows = np.ascontiguousarray(np.broadcast_to(np.asarray(health, np.bool_), (n, k)))
    view = rows.view()
    view.flags.writeable = False
    return view


@lru_cache(maxsize=16)
def _all_healthy(n: int, k: int) -> NDArray[np.bool_]:
    out = np.ones((n, k), np.bool_)
    out.flags.writeable = False
    return out


@lru_cache(maxsize=16)
def _all_present(n: int) -> NDArray[np.bool_]:
    out = np.ones(n, np.bool_)
    out.flags.writeable = False
    return out


def decide(
    setup: EngineSetup,
    state: EngineState,
    navs: Sequence[NavBatch],
    receive_time_s: ArrayLike,
    health: ArrayLike | None = None,
) -> tuple[EngineState, Decisions]:
    """One engine cycle. Returns ``(new_state, Decisions)``; see the module docstring.

    NaN (no sample, no impact point) is an expected value throughout, so
    comparisons with it are not warned about.
    """
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return _decide(setup, state, navs, receive_time_s, health)


def _decide(
    setup: EngineSetup,
    state: EngineState,
    navs: Sequence[NavBatch],
    receive_time_s: ArrayLike,
    health: ArrayLike | None,
) -> tuple[EngineState, Decisions]:
    n = state.mode.shape[0]
    k_strings = len(setup.string_names)
    if isinstance(receive_time_s, float | int):  # the usual scalar clock: no broadcasting machinery
        receive_s = np.empty(n)
        receive_s.fill(receive_time_s)
    else:
        receive_s = np.ascontiguousarray(np.broadcast_to(np.asarray(receive_time_s, dtype=np.float64), (n,)))
    store, has, cand_n, samples, rejected, rejected_by, resynced = _ingest(setup, state, navs, receive_s)
    # each string's view of the store: one row per (string, vehicle), string-major (a reshaped view when
    # string s reads source s)
    if setup.strings_are_sources:
        ok = has.reshape(-1)
        rows = store.reshape(-1, STORE_COLS)
    else:
        ok = has[setup.string_source].reshape(-1)
        rows = store[setup.string_source].reshape(-1, STORE_COLS)
    kin = kinematics.kinematics(rows[:, ST_R : ST_R + 3], rows[:, ST_V : ST_V + 3], setup.site, setup.needs_iip_range)

    # --- 1-3. arming, events, row clocks, which rules are active (compiled) ------
    mode = state.mode.copy()
    event_t = state.event_t_s.copy()
    m_rows = ok.shape[0]
    n_rules = len(setup.rules)
    t_vehicle, t_rows, since_valid_s, flight_time_s = np.empty(n), np.empty(m_rows), np.empty(m_rows), np.empty(m_rows)
    src_t = np.empty(has.shape)
    active = np.empty((n_rules, m_rows), np.bool_)
    front(
        mode, event_t, store, has, ok, receive_s, setup.string_source, setup.arm_params, setup.rule_f, setup.rule_i,
        setup.event_f, setup.event_i, setup.phase_f, setup.phase_i, kin.table, t_vehicle, t_rows, src_t,
        since_valid_s, flight_time_s, active,
    )  # fmt: skip
    ctx = RuleContext(
        setup.site, kin, ok, t_rows, since_valid_s, flight_time_s, rows[:, ST_Q : ST_Q + 4], rows[:, ST_W : ST_W + 3],
        src_t, store[:, :, ST_R : ST_R + 3], store[:, :, ST_V : ST_V + 3],
    )  # fmt: skip

    # --- 4. evaluate the rules -------------------------------------------------
    violated = np.zeros((n_rules, m_rows), np.bool_)
    margin = np.empty((n_rules, m_rows))
    margin.fill(np.nan)
    setup.program.evaluate(ctx.rows(), active, margin, violated)
    memory = state.memory
    if setup.unpacked:
        memory = _evaluate_unpacked(setup, ctx, active, margin, violated, memory)

    # --- 5-6. persistence, votes, statistics and the voting policy (compiled) -------
    if health is None:
        declared_ok = _all_healthy(n, k_strings)
        fault_t = state.string_fault_t_s  # every string healthy: no fault time to record, nothing written
    else:
        declared_ok = _read_only_rows(health, n, k_strings)
        fault_t = state.string_fault_t_s.copy()
    since = state.viol_since.copy()
    first_v = state.first_violation_t_s.copy()
    min_margin = state.min_margin.copy()
    degrade_rule, health_ok = np.empty((n, k_strings), np.int16), np.empty((n, k_strings), np.bool_)
    terminate_now, destruct_now, latch = np.empty(n, np.bool_), np.empty(n, np.bool_), np.empty((n, LATCH_COLS))
    commands = persistence_and_votes(n)(
        active, violated, margin, since, t_rows, flight_time_s, setup.rule_f, setup.rule_i, _TOL_S, t_vehicle, first_v,
        min_margin, declared_ok, mode, receive_s, setup.vote_i, fault_t, degrade_rule, health_ok, terminate_now, latch,
        setup.destruct_after_s, state.t_terminate_s, state.t_destruct_s, destruct_now,
    )  # fmt: skip
    terminating = commands & ANY_TERMINATE

    # --- 7. safing (only vehicles not terminating now) ----------------------------------
    orbit_since, clear_since, safed = state.orbit_since, state.clear_since, None
    if setup.safes:
        orbit_since, clear_since, safed = _safing(
            setup, state, ctx, (mode == _ARMED) & ~terminate_now, health_ok, t_vehicle, n
        )

    # --- 8. latch ------------------------------------------------------------------------
    t_term, t_safed, cause = state.t_terminate_s, state.t_safed_s, state.cause
    fired_rule, fired_string = state.fired_rule, state.fired_string
    fired_margin, fired_held = state.fired_margin, state.fired_held_s
    if terminating or safed is not None:  # the state's arrays are never written: copied before a change
        t_term, t_safed, cause = t_term.copy(), t_safed.copy(), cause.copy()
        fired_rule, fired_string = fired_rule.copy(), fired_string.copy()
        fired_margin, fired_held = fired_margin.copy(), fired_held.copy()
    if terminating:
        idx = np.nonzero(terminate_now)[0]
        mode[idx] = _TERMINATED
        for i in idx:
            why, s, rule, rule_margin, held, t_decided = latch[i, :LATCH_D_CAUSE].tolist()
            cause[i], fired_string[i] = int(why), int(s)
            if why == _RULE:
                fired_rule[i], fired_margin[i], fired_held[i] = int(rule), rule_margin, held
            elif rule >= 0:  # faulty because one of its own rules degraded it
                fired_rule[i], fired_margin[i] = int(rule), rule_margin
            # a violation of the data is dated by the data; anything judged on the receive clock
            # (data loss, string health) by the estimated flight time at which it was decided
            by_data = fired_rule[i] >= 0 and not setup.receive_clock[fired_rule[i]] and np.isfinite(t_vehicle[i])
            t_term[i] = t_vehicle[i] if by_data else t_decided
    t_destruct, d_cause, d_rule, d_string = (
        state.t_destruct_s, state.destruct_cause, state.destruct_rule, state.destruct_string
    )  # fmt: skip
    if commands & ANY_DESTRUCT:
        t_destruct, d_cause, d_rule, d_string = t_destruct.copy(), d_cause.copy(), d_rule.copy(), d_string.copy()
        for i in np.nonzero(destruct_now)[0]:
            why, s, rule, _, _, t_decided = latch[i, LATCH_D_CAUSE : LATCH_D_T + 1].tolist()
            d_cause[i], d_string[i], d_rule[i] = int(why), int(s), int(rule)
            by_data = rule >= 0 and not setup.receive_clock[int(rule)] and np.isfinite(t_vehicle[i])
            t_destruct[i] = t_vehicle[i] if by_data else t_decided
    if safed is not None:
        safe_now, safe_cause = safed
        mode[safe_now] = _SAFED
        t_safed[safe_now] = t_vehicle[safe_now]
        cause[safe_now] = safe_cause[safe_now]

    fields = state.fields()  # the next state: every field but cycle_faults is the cycle's
    fields["mode"] = mode
    fields["event_t_s"] = event_t
    fields["t_terminate_s"] = t_term
    fields["t_safed_s"] = t_safed
    fields["cause"] = cause
    fields["fired_rule"] = fired_rule
    fields["fired_string"] = fired_string
    fields["degrade_rule"] = degrade_rule
    fields["fired_margin"] = fired_margin
    fields["fired_held_s"] = fired_held
    fields["t_destruct_s"] = t_destruct
    fields["destruct_cause"] = d_cause
    fields["destruct_rule"] = d_rule
    fields["destruct_string"] = d_string
    fields["src_store"] = store
    fields["src_has"] = has
    fields["src_cand_n"] = cand_n
    fields["viol_since"] = since
    fields["memory"] = memory
    fields["orbit_since"] = orbit_since
    fields["clear_since"] = clear_since
    fields["string_fault_t_s"] = fault_t
    fields["first_violation_t_s"] = first_v
    fields["min_margin"] = min_margin
    fields["samples"] = samples
    fields["rejected"] = rejected
    fields["rejected_by"] = rejected_by
    fields["resynced"] = resynced
    new_state = EngineState.of(fields)
    decisions = Decisions.of(
        setup, new_state, t_vehicle, receive_s, terminate_now, destruct_now, margin, violated, active,
        ctx.iip_lat_deg.reshape(k_strings, n), ctx.iip_lon_deg.reshape(k_strings, n), health_ok,
    )  # fmt: skip
    return new_state, decisions


_Memory: TypeAlias = tuple[NDArray[np.float64] | None, ...]


def _evaluate_unpacked(
    setup: EngineSetup,
    ctx: RuleContext,
    active: NDArray[np.bool_],
    margin: NDArray[np.float64],
    violated: NDArray[np.bool_],
    memory: _Memory,
) -> _Memory:
    """The rules that evaluate themselves (stateful ones), where active; returns the rules' new memories."""
    new_memory: list[Any] = list(memory)  # each rule's own (RuleOutput.memory)
    for j in setup.unpacked:
        if not active[j].any():
            continue
        out = setup.rules[j].evaluate(ctx, new_memory[j])
        row = active[j]
        np.logical_and(out.violated, row, out=violated[j])
        np.copyto(margin[j], out.margin, where=row)
        if out.memory is not None:
            keep = row.reshape((-1,) + (1,) * (out.memory.ndim - 1))
            new_memory[j] = np.where(keep, out.memory, new_memory[j])
    return tuple(new_memory)


def _safing(
    setup: EngineSetup,
    state: EngineState,
    ctx: RuleContext,
    candidates: NDArray[np.bool_],
    health_ok: NDArray[np.bool_],
    t_vehicle: NDArray[np.float64],
    n: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64], _Safed | None]:
    """Orbit and IIP-clear safing timers; returns (orbit_since, clear_since, safed): ``safed`` the vehicles
    that safe now and their cause, None when none does."""
    orbit_cfg = setup.safing.orbit
    clear_cfg = setup.safing.iip_clear
    if not (orbit_cfg.enabled or (clear_cfg.enabled and setup.protected_polygons)) or not candidates.any():
        return state.orbit_since, state.clear_since, None  # no timer changes: nothing copied
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
    return orbit_since, clear_since, ((safe_now, cause) if safe_now.any() else None)


def fault_cycle(
    setup: EngineSetup, state: EngineState, receive_s: NDArray[np.float64]
) -> tuple[EngineState, Decisions]:
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
        destruct_now=np.zeros(n, bool),
        margin_rm=np.full((n_rules, k_strings * n), np.nan),
        violated_rm=np.zeros((n_rules, k_strings * n), bool),
        active_rm=np.zeros((n_rules, k_strings * n), bool),
        iip_lat_deg=nan_rows,
        iip_lon_deg=nan_rows.copy(),
        health=np.zeros((n, k_strings), bool),
    )
    return new_state, decisions

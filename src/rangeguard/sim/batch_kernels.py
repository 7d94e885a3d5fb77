"""The simulator's batch driver: the entry points Python calls (:func:`advance`, :func:`terminate_at`,
:func:`drain_events`), the step with dense output and event location, and the state slots they share.

The physics they step (equations of motion, guidance, the RK4 step, the discrete events) and the
layouts of the packed arrays are :mod:`rangeguard.sim.kernels`; see its docstring and design/sim.md.
"""

from __future__ import annotations

import math

from rangeguard.jit import kernel, rows_kernel
from rangeguard.sim.kernel_math import ENTRY_JIT, HELPER_JIT
from rangeguard.sim.kernels import (
    _EPS_T,
    ATT_CONING,
    ATT_HARDOVER,
    ATT_TUMBLE,
    C_FAIRING_M,
    C_ORBIT_HP,
    EV_CUTOFF,
    EV_FAIRING,
    EV_IMPACT,
    EV_ORBIT,
    EV_TERMINATION,
    F_ATT_MODE,
    F_WX,
    F_WY,
    F_WZ,
    FINAL,
    FINAL_ATT_HOLD,
    G_FINAL_ATT,
    I_ACTIVE,
    I_FAIRING,
    I_LIFTED,
    I_PHASE,
    I_STAGE,
    I_STATUS,
    IMPACTED,
    IN_ORBIT,
    T_IMPACT,
    _log,
    apply_time_events,
    deriv,
    next_time_event,
    perigee_altitude,
    rk4_step,
    state_event_values,
)

# ---------------------------------------------------------------- batch driver
# Per-vehicle float storage ST[i, slot, :] (11 wide):
XI_, XP_, AI_, AP_, XR_, OQI_, OQP_, OQR_ = range(8)
# (OQ* slots hold [omega_body (3), q_cmd (4)] at the integrator, previous and reported times.)
NST = 8
# TT[i, :] = integrator time, previous time.
# REP[i, :] = reported stage, phase, active.


@kernel(**HELPER_JIT)
def _end_derivative(i, t, IS, FS, SC, THR_T, THR_F, THR_OFF, STAB, WIND, ATM, VC, GP, PROG, PAD, PS, PV, FP, ST):
    """Derivative, rates and command at the integrator state, as seen by the next step."""
    oq = ST[i, OQI_]
    deriv(
        ST[i, XI_],
        t,
        t + 1e-7,
        i,
        IS,
        FS,
        SC,
        THR_T,
        THR_F,
        THR_OFF,
        STAB,
        WIND,
        ATM,
        VC,
        GP,
        PROG,
        PAD,
        PS,
        PV,
        FP,
        ST[i, AI_],
        oq[0:3],
        oq[3:7],
    )


@kernel(**HELPER_JIT)
def _step_length(i, dt, coast_dt, IS, GP, FP):
    """dt in powered or attitude-tracking flight (also the ballistic flight of a vehicle whose final
    coast attitude tracks a command); coast_dt in ballistic flight (shortened so a prescribed tumble
    turns at most 0.2 rad per step)."""
    if IS[i, I_PHASE] != FINAL or GP[G_FINAL_ATT] != FINAL_ATT_HOLD:
        return dt
    h = coast_dt
    if FP[i, F_ATT_MODE] == ATT_HARDOVER or FP[i, F_ATT_MODE] == ATT_TUMBLE:
        w = math.sqrt(FP[i, F_WX] ** 2 + FP[i, F_WY] ** 2 + FP[i, F_WZ] ** 2)
        if w > 0.0:
            h = min(h, max(dt, 0.2 / w))
    elif FP[i, F_ATT_MODE] == ATT_CONING:
        h = dt
    return h


@kernel(**HELPER_JIT)
def _one_step(
    i, dt, coast_dt, IS, FS, SC, THR_T, THR_F, THR_OFF, STAB, WIND, ATM, VC, GP, PROG, PAD, PS, PV, FP, ST,
    TT, EVC, EVT, EVK, SCR, WK,
):  # fmt: skip
    """One step of vehicle i from its integrator time: to the next grid point or event,
    with state events (impact, altitude jettison, guided cutoff) located by regula falsi."""
    t = TT[i, 0]
    y = ST[i, XI_]
    scr = SCR[i]
    wk = WK[i]
    y0 = scr[5]
    y1 = scr[6]
    g0 = wk[0:3]
    g1 = wk[3:6]
    gm = wk[6:9]
    om = wk[9:12]
    qc = wk[12:16]
    hc = _step_length(i, dt, coast_dt, IS, GP, FP)
    t_grid = hc * (math.floor(t / hc + 1e-7) + 1.0)
    te = next_time_event(i, t, IS, FS, SC, THR_T, THR_OFF, STAB, VC, GP, PROG, PS, FP)
    h = min(t_grid, te) - t
    ai = ST[i, AI_]
    k1 = scr[0]
    for j in range(11):
        y0[j] = y[j]
        k1[j] = ai[j]
    state_event_values(y0, i, IS, SC, VC, GP, g0)
    rk4_step(
        y0, t, h, i, IS, FS, SC, THR_T, THR_F, THR_OFF, STAB, WIND, ATM, VC, GP, PROG, PAD, PS, PV, FP, y1,
        scr, om, qc, True,
    )  # fmt: skip
    state_event_values(y1, i, IS, SC, VC, GP, g1)
    hit = -1
    h_hit = h
    for e in range(3):
        if g0[e] < 0.0 and g1[e] >= 0.0:
            # Illinois regula falsi on the step length
            lo, hi = 0.0, h
            glo, ghi = g0[e], g1[e]
            hm = h
            side = 0
            for _ in range(40):
                hm = lo - glo * (hi - lo) / (ghi - glo)
                rk4_step(
                    y0, t, hm, i, IS, FS, SC, THR_T, THR_F, THR_OFF, STAB, WIND, ATM, VC, GP, PROG, PAD, PS,
                    PV, FP, y1, scr, om, qc, True,
                )  # fmt: skip
                state_event_values(y1, i, IS, SC, VC, GP, gm)
                gv = gm[e]
                if abs(gv) < 1e-6 or (hi - lo) < 1e-10:
                    break
                if gv < 0.0:
                    lo, glo = hm, gv
                    if side == -1:
                        ghi *= 0.5
                    side = -1
                else:
                    hi, ghi = hm, gv
                    if side == 1:
                        glo *= 0.5
                    side = 1
            if hm < h_hit:
                h_hit = hm
                hit = e
    if hit >= 0:
        rk4_step(
            y0, t, h_hit, i, IS, FS, SC, THR_T, THR_F, THR_OFF, STAB, WIND, ATM, VC, GP, PROG, PAD, PS, PV,
            FP, y1, scr, om, qc, True,
        )  # fmt: skip
        h = h_hit
    for j in range(11):
        y[j] = y1[j]
    t = t + h
    TT[i, 0] = t
    if IS[i, I_LIFTED] == 0 and (y[3] * y[0] + y[4] * y[1] + y[5] * y[2]) > 0.0:
        IS[i, I_LIFTED] = 1
    if hit == 0:
        IS[i, I_ACTIVE] = 0
        IS[i, I_STATUS] = IMPACTED
        FS[i, T_IMPACT] = t
        _log(i, t, EV_IMPACT, EVC, EVT, EVK)
        return
    elif hit == 1:
        IS[i, I_FAIRING] = 0
        y[6] -= VC[C_FAIRING_M]
        _log(i, t, EV_FAIRING, EVC, EVT, EVK)
    elif hit == 2:
        IS[i, I_PHASE] = FINAL
        _log(i, t, EV_CUTOFF, EVC, EVT, EVK)
    apply_time_events(i, t, y, IS, FS, SC, THR_T, THR_OFF, VC, PS, FP, EVC, EVT, EVK)
    if IS[i, I_PHASE] == FINAL and perigee_altitude(y) > VC[C_ORBIT_HP]:
        IS[i, I_ACTIVE] = 0
        IS[i, I_STATUS] = IN_ORBIT
        _log(i, t, EV_ORBIT, EVC, EVT, EVK)


@kernel(**HELPER_JIT)
def _report(i, t1, ST, TT, IS, IS_prev, REP):
    """Reported state at t1: the integrator state, or the cubic Hermite interpolant between the
    previous and the integrator state (position, velocity, mass and quaternion use their
    derivatives at both ends; rates and command are interpolated linearly)."""
    ti, tp = TT[i, 0], TT[i, 1]
    xr = ST[i, XR_]
    oqr = ST[i, OQR_]
    if t1 >= ti - _EPS_T or ti - tp <= _EPS_T:
        for j in range(11):
            xr[j] = ST[i, XI_, j]
            oqr[j] = ST[i, OQI_, j]
        REP[i, 0] = IS[i, I_STAGE]
        REP[i, 1] = IS[i, I_PHASE]
        REP[i, 2] = IS[i, I_ACTIVE]
        return
    hh = ti - tp
    s = (t1 - tp) / hh
    s2 = s * s
    s3 = s2 * s
    h00 = 2.0 * s3 - 3.0 * s2 + 1.0
    h10 = s3 - 2.0 * s2 + s
    h01 = -2.0 * s3 + 3.0 * s2
    h11 = s3 - s2
    xp, xi, ap, ai = ST[i, XP_], ST[i, XI_], ST[i, AP_], ST[i, AI_]
    for j in range(11):
        xr[j] = h00 * xp[j] + h10 * hh * ap[j] + h01 * xi[j] + h11 * hh * ai[j]
    qn = math.sqrt(xr[7] ** 2 + xr[8] ** 2 + xr[9] ** 2 + xr[10] ** 2)
    for j in range(7, 11):
        xr[j] /= qn
    oqp, oqi = ST[i, OQP_], ST[i, OQI_]
    for j in range(3):
        oqr[j] = (1.0 - s) * oqp[j] + s * oqi[j]
    sg = 1.0 if (oqp[3] * oqi[3] + oqp[4] * oqi[4] + oqp[5] * oqi[5] + oqp[6] * oqi[6]) >= 0.0 else -1.0
    for j in range(3, 7):
        oqr[j] = (1.0 - s) * oqp[j] + s * sg * oqi[j]
    qn = math.sqrt(oqr[3] ** 2 + oqr[4] ** 2 + oqr[5] ** 2 + oqr[6] ** 2)
    for j in range(3, 7):
        oqr[j] /= qn
    REP[i, 0] = IS_prev[i, I_STAGE]
    REP[i, 1] = IS_prev[i, I_PHASE]
    REP[i, 2] = 1


@rows_kernel(**ENTRY_JIT)
def advance(t1, dt, coast_dt, init, state, vehicle, dispersions, scratch, lo, hi):
    """Advance vehicles lo..hi-1's integrators past t1 (steps of dt, coast_dt when ballistic, ending
    on every event) and report their state at t1 (dense output).

    ``state`` :class:`BatchState`, ``vehicle`` :class:`VehicleTables`, ``dispersions``
    :class:`VehicleDispersions`, ``scratch`` :class:`Scratch`; call as
    ``advance(n, t1, dt, coast_dt, init, state, vehicle, dispersions, scratch, parallel=...)``
    (:func:`rangeguard.jit.rows_kernel`). ``init``: apply the events due at the start time first.
    """
    ST, TT, IS, IS_prev, FS, FS_prev, EVC, EVC_prev, REP, EVT, EVK = state
    SC, THR_T, THR_F, THR_OFF, STAB, WIND, ATM, VC, GP, PROG, PAD = vehicle
    PS, PV, FP = dispersions
    SCR, WK = scratch
    for i in range(lo, hi):
        if REP[i, 2] == 0:
            continue
        if init:
            apply_time_events(i, TT[i, 0], ST[i, XI_], IS, FS, SC, THR_T, THR_OFF, VC, PS, FP, EVC, EVT, EVK)
            _end_derivative(
                i, TT[i, 0], IS, FS, SC, THR_T, THR_F, THR_OFF, STAB, WIND, ATM, VC, GP, PROG, PAD, PS, PV, FP, ST,
            )  # fmt: skip
        while TT[i, 0] < t1 - _EPS_T and IS[i, I_ACTIVE] == 1:
            for j in range(11):
                ST[i, XP_, j] = ST[i, XI_, j]
                ST[i, AP_, j] = ST[i, AI_, j]
                ST[i, OQP_, j] = ST[i, OQI_, j]
            TT[i, 1] = TT[i, 0]
            for j in range(IS.shape[1]):
                IS_prev[i, j] = IS[i, j]
            for j in range(FS.shape[1]):
                FS_prev[i, j] = FS[i, j]
            EVC_prev[i] = EVC[i]
            _one_step(
                i, dt, coast_dt, IS, FS, SC, THR_T, THR_F, THR_OFF, STAB, WIND, ATM, VC, GP, PROG, PAD, PS,
                PV, FP, ST, TT, EVC, EVT, EVK, SCR, WK,
            )  # fmt: skip
            _end_derivative(
                i, TT[i, 0], IS, FS, SC, THR_T, THR_F, THR_OFF, STAB, WIND, ATM, VC, GP, PROG, PAD, PS, PV, FP, ST,
            )  # fmt: skip
        _report(i, t1, ST, TT, IS, IS_prev, REP)


@kernel(**ENTRY_JIT)
def terminate_at(t, mask, state, vehicle, dispersions, scratch):
    """Thrust off at time t for the masked, still-flying vehicles: undo any look-ahead past t,
    integrate exactly to t, switch to ballistic flight. Returns nothing; logs EV_TERMINATION.
    (Arguments as for :func:`advance`.)"""
    ST, TT, IS, IS_prev, FS, FS_prev, EVC, EVC_prev, REP, EVT, EVK = state
    SC, THR_T, THR_F, THR_OFF, STAB, WIND, ATM, VC, GP, PROG, PAD = vehicle
    PS, PV, FP = dispersions
    SCR, WK = scratch
    for i in range(ST.shape[0]):
        if not mask[i] or REP[i, 2] == 0:
            continue
        if TT[i, 0] > t + _EPS_T:
            for j in range(11):
                ST[i, XI_, j] = ST[i, XP_, j]
                ST[i, AI_, j] = ST[i, AP_, j]
                ST[i, OQI_, j] = ST[i, OQP_, j]
            TT[i, 0] = TT[i, 1]
            for j in range(IS.shape[1]):
                IS[i, j] = IS_prev[i, j]
            for j in range(FS.shape[1]):
                FS[i, j] = FS_prev[i, j]
            EVC[i] = EVC_prev[i]
            h = t - TT[i, 0]
            if h > _EPS_T:
                scr = SCR[i]
                wk = WK[i]
                rk4_step(
                    ST[i, XP_],
                    TT[i, 0],
                    h,
                    i,
                    IS,
                    FS,
                    SC,
                    THR_T,
                    THR_F,
                    THR_OFF,
                    STAB,
                    WIND,
                    ATM,
                    VC,
                    GP,
                    PROG,
                    PAD,
                    PS,
                    PV,
                    FP,
                    ST[i, XI_],
                    scr,
                    wk[9:12],
                    wk[12:16],
                )
            TT[i, 0] = t
        IS[i, I_PHASE] = FINAL
        _log(i, t, EV_TERMINATION, EVC, EVT, EVK)
        _end_derivative(i, t, IS, FS, SC, THR_T, THR_F, THR_OFF, STAB, WIND, ATM, VC, GP, PROG, PAD, PS, PV, FP, ST)
        TT[i, 1] = t
        for j in range(11):
            ST[i, XP_, j] = ST[i, XI_, j]
            ST[i, AP_, j] = ST[i, AI_, j]
            ST[i, OQP_, j] = ST[i, OQI_, j]
        _report(i, t, ST, TT, IS, IS_prev, REP)


@kernel(**ENTRY_JIT)
def drain_events(t, EVC, EVT, EVK, EVC_prev, out_i, out_t, out_k):
    """Move the logged events with time <= t into the out arrays (compacting the rest); returns the count."""
    m = 0
    for i in range(EVC.shape[0]):
        n = EVC[i]
        if n == 0:
            continue
        keep = 0
        for j in range(n):
            if EVT[i, j] <= t + _EPS_T and m < out_i.shape[0]:
                out_i[m] = i
                out_t[m] = EVT[i, j]
                out_k[m] = EVK[i, j]
                m += 1
            else:
                EVT[i, keep] = EVT[i, j]
                EVK[i, keep] = EVK[i, j]
                keep += 1
        released = n - keep
        EVC[i] = keep
        EVC_prev[i] = max(0, EVC_prev[i] - released)
    return m

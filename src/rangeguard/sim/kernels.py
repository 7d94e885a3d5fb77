"""Numba kernels of the simulator: equations of motion, guidance, RK4 step, events. The batch
driver that steps them (dense output, the entry points Python calls) is :mod:`rangeguard.sim.batch_kernels`.

(The small helpers and the numba options live in :mod:`rangeguard.sim.kernel_math`.
Every kernel called only from another kernel is compiled with
``kernel_math.HELPER_JIT``, without numba's reference counting: see there
why that made a step 3.5x faster.)

Everything here works on one vehicle at a time with plain floats and small
arrays, so the batch loop (:func:`advance`, a :func:`rangeguard.jit.rows_kernel`)
can run the N vehicles in parallel. Frames and units (see design/sim.md):

- state ``y`` (11,): r_ecef (m), v_ecef (m/s, Earth-relative), mass (kg),
  q_body_to_ecef (scalar-first Hamilton; body +x is the thrust axis);
- equations of motion in the rotating ECEF frame:
  ``a = g_J2(r) + (F_thrust + F_aero)/m - 2 w x v - w x (w x r)``;
- attitude: ``q' = 1/2 q (x) (0, w_rel)`` with ``w_rel`` the body rate
  relative to ECEF; ``w_rel = rotvec(q^-1 (x) q_cmd) / tau`` (first-order lag)
  unless a failure prescribes the rates. Body rates reported to the outside
  are inertial: ``w_body = w_rel + C^T w_earth``.

Discrete quantities (stage, burning, failure onsets, guidance segments) are
decided once per step at the step's mid-time, so a switch at an event time
is seen exactly from the step that starts there (the steps hit every event).

Layouts of the packed arrays are given by the index constants below; the
builder in :mod:`rangeguard.sim.build` fills them.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from rangeguard.constants import G0_MPS2, MU_EARTH_M3_S2, OMEGA_EARTH_RAD_S, WGS84_A_M
from rangeguard.jit import kernel
from rangeguard.sim.aerodynamics import (  # noqa: F401 (AX_* and AERO_* are part of the SC layout, re-exported)
    AERO_BALLISTIC,
    AERO_BODY_AXES,
    AERO_VEHICLE,
    AX_ALPHA,
    AX_CN,
    AX_CN_MACH,
    AX_CN_NA,
    AX_CN_NM,
    AX_COEF,
    AX_MACH,
    AX_MODEL,
    AX_N,
    AX_SREF,
    NAX,
    stage_aero_accel,
    table_1d,
)

_MU = MU_EARTH_M3_S2
_W = OMEGA_EARTH_RAD_S
_A = WGS84_A_M
_G0 = G0_MPS2
_EPS_T = 1e-9  # s: two times closer than this are the same event time
_NEAR_GROUND_M = 1000.0  # m above the ground height: below it the impact function uses the exact geodetic height

# --- phases ---------------------------------------------------------------
BURN = 0  # current stage burning
COAST_SEP = 1  # burned out, waiting for separation
COAST_IGN = 2  # separated, waiting for the ignition of `stage`
FINAL = 3  # ballistic: no more propulsive events
# --- status ---------------------------------------------------------------
FLYING = 0
IMPACTED = 1
IN_ORBIT = 2
# --- event codes (names in rangeguard.sim.simulator.EVENT_NAMES) -----------
EV_IGNITION, EV_BURNOUT, EV_SEPARATION, EV_FAIRING, EV_IMPACT, EV_ORBIT = 1, 2, 3, 4, 5, 6
EV_CUTOFF, EV_TERMINATION, EV_THRUST_LOSS, EV_EARLY_CUTOFF = 7, 8, 9, 10
EV_IGNITION_FAILURE, EV_SEPARATION_FAILURE, EV_ATTITUDE_FAILURE, EV_THRUST_SCALE = 11, 12, 13, 14
# --- stage scalar columns: SC[k, :] ----------------------------------------
S_DRY, S_PROP, S_ISP_VAC, S_AE, S_IGN_DELAY, S_SEP_DELAY, S_T_END, S_GUIDED_CUTOFF, S_MEAN_THRUST = range(9)
# SC[k, 9:]: the stage's tables in the flat array STAB (offsets and lengths, integers stored as floats):
# two aerodynamic blocks (powered at S_AERO_POWERED, coasting at S_AERO_COASTING), each NAX wide with the
# AX_* layout of rangeguard.sim.aerodynamics, then the Isp table's.
S_AERO_POWERED, S_AERO_COASTING = 9, 9 + NAX
S_ISP_T, S_ISP, S_ISP_N = 9 + 2 * NAX, 10 + 2 * NAX, 11 + 2 * NAX  # Isp table: offsets of t (s) and Isp (s); length
NSC = 12 + 2 * NAX
# --- per-vehicle stage parameters: PS[i, k, :] -------------------------------
P_THRUST, P_BURN_RATE, P_ISP_SCALE, P_DRY, P_PROP = range(5)
# --- per-vehicle scalar parameters: PV[i, :] --------------------------------
V_CD, V_WIND_SCALE, V_WIND_ROT, V_BIAS_PITCH, V_BIAS_YAW, V_MIS_PITCH, V_MIS_YAW = range(7)
V_QB = 7  # PV[i, 7:11]: bias quaternion Ry(pitch) (x) Rz(yaw), precomputed
NPV = 11
# --- vehicle constants: VC[:] ------------------------------------------------
(
    C_PAYLOAD, C_FAIRING_M, C_FAIRING_T, C_FAIRING_H, C_SREF, C_TAU, C_ATM_H0, C_ATM_DH, C_NSTAGE, C_ORBIT_HP, C_J2_ON,
    C_GROUND_H,
) = range(12)  # fmt: skip
NVC = 12
# --- guidance parameters: GP[:] ----------------------------------------------
(
    G_MODE, G_AZ0, G_T_RISE, G_KICK, G_KICK_DUR, G_STEER, G_STEER_FROM, G_R_T, G_V_T, G_E_T, G_COS_I, G_CAZ, G_SAZ,
    G_SIN_ELK, G_PROG_LOCAL, G_FINAL_ATT,
) = range(16)  # fmt: skip
NGP = 16
# GP[G_FINAL_ATT]: the attitude after the last burn (GuidanceSpec.final_coast_attitude)
FINAL_ATT_HOLD, FINAL_ATT_ALONG_VELOCITY, FINAL_ATT_COMMAND = 0.0, 1.0, 2.0
# --- failure parameters: FP[i, :] ---------------------------------------------
(
    F_SCALE, F_SCALE_T, F_SCALE_STAGE, F_LOSS_T, F_LOSS_STAGE, F_LOSS_KIND, F_ATT_MODE, F_ATT_T, F_WX, F_WY, F_WZ,
    F_CONE_HALF, F_CONE_RATE, F_IGN_FAIL, F_SEP_FAIL,
) = range(15)  # fmt: skip
NFP = 15
# --- integer state: IS[i, :] ---------------------------------------------------
I_STAGE, I_PHASE, I_ACTIVE, I_STATUS, I_FAIRING, I_ATT_LOGGED, I_SCALE_LOGGED, I_LIFTED = range(8)
NIS = 8
# --- float discrete state: FS[i, :] ---------------------------------------------
T_IGN, T_BURNOUT, T_EVT, M_EMPTY, T_IMPACT = range(5)
NFS = 5

ATT_NONE, ATT_HARDOVER, ATT_TUMBLE, ATT_CONING = 0, 1, 2, 3


# --- the entry points' arguments, grouped -------------------------------------------
# (The helpers below take the arrays themselves: passing the groups down to deriv and rk4_step
# measured 3 % slower on a 500-vehicle sounding batch.)
class VehicleTables(NamedTuple):
    """One vehicle design and its launch site: read-only arrays, filled by :mod:`rangeguard.sim.build`.

    (The short names in brackets are the kernels' local names.)
    """

    stages: np.ndarray  # [SC] (S, NSC): per-stage scalars and table offsets into STAB, columns S_*
    thrust_t_s: np.ndarray  # [THR_T] thrust-curve times, every stage's curve one after another, s
    thrust_n: np.ndarray  # [THR_F] thrust-curve vacuum thrust at those times, N
    thrust_offsets: np.ndarray  # [THR_OFF] (S + 1,) int: stage k's curve is rows THR_OFF[k] .. THR_OFF[k+1]-1
    tables: np.ndarray  # [STAB] flat float tables: the aerodynamics (vehicle-wide and per stage), Isp (offsets in SC)
    wind: np.ndarray  # [WIND] (W, 3): altitude (m), east and north wind (m/s, the air's motion)
    atmosphere: np.ndarray  # [ATM] (H, 3): density, pressure, speed of sound every VC[C_ATM_DH] m
    constants: np.ndarray  # [VC] vehicle constants, C_* columns
    guidance: np.ndarray  # [GP] guidance parameters, G_* columns
    programme: np.ndarray  # [PROG] (P, 3): time (s), azimuth, elevation (rad) of a programme
    pad_enu: np.ndarray  # [PAD] (3, 3): rows east, north, up at the pad, ECEF axes


class VehicleDispersions(NamedTuple):
    """What each of the N vehicles differs by (rangeguard.sim.build)."""

    stage_scales: np.ndarray  # [PS] (N, S, 5): per-stage multipliers, P_* columns
    vehicle_params: np.ndarray  # [PV] (N, NPV): per-vehicle scalars, V_* columns
    failures: np.ndarray  # [FP] (N, NFP): failure parameters, F_* columns (F_LOSS_T set to inf once applied)


class BatchState(NamedTuple):
    """The N vehicles' integration state, written by the kernels; ``*_prev`` hold the values before
    the last step (terminate_at rolls back to them)."""

    floats: np.ndarray  # [ST] (N, NST, 11): state, derivative, rates and command slots XI_ .. OQR_
    times: np.ndarray  # [TT] (N, 2): integrator time, previous time, s
    ints: np.ndarray  # [IS] (N, NIS) int: stage, phase, ... (I_* columns)
    ints_prev: np.ndarray  # [IS_prev] IS before the last step
    events_t: np.ndarray  # [FS] (N, NFS): event times and empty mass (T_IGN .. T_IMPACT columns)
    events_t_prev: np.ndarray  # [FS_prev] FS before the last step
    log_count: np.ndarray  # [EVC] (N,) int: events logged and not yet drained
    log_count_prev: np.ndarray  # [EVC_prev] EVC before the last step
    reported: np.ndarray  # [REP] (N, 3) int: reported stage, phase, active
    log_t: np.ndarray  # [EVT] (N, slots): logged event times, s
    log_kind: np.ndarray  # [EVK] (N, slots) int: logged event codes EV_*


class Scratch(NamedTuple):
    """Per-vehicle work space of the step (never read between steps)."""

    rk4: np.ndarray  # [SCR] (N, 7, 11): stage derivatives and states of rk4_step and _one_step
    work: np.ndarray  # [WK] (N, 16): event-function values, rates and command


# Small helpers (interpolation, quaternions, gravity, heights, directions): rangeguard.sim.kernel_math.
from rangeguard.sim.kernel_math import (  # noqa: E402 (after the layout constants it documents)
    HELPER_JIT,
    _enu_dir,
    azimuth_of,
    geodetic_height,
    gravity_j2,
    height_fast,
    interp_clamped,
    local_or_velocity_command,
    q_from_direction,
    qmul,
    qrot,
    rk4_combine_nb,
    rk4_stage_nb,
)

# ---------------------------------------------------------------- guidance


@kernel(**HELPER_JIT)
def explicit_steering(y, m, thrust_vac, ve, mean_thrust, t_rem, GP):
    """Explicit upper-stage steering direction (unit, ECEF axes) - see design/sim.md.

    Radial channel: radial thrust acceleration A + mu/r^2 - v_h^2/r with
    A = 6 (r_t - r)/T^2 - 4 v_r/T (radial acceleration linear in time that
    brings r to r_t with zero radial rate after T = time to go). Horizontal
    channel: along the velocity still to be gained, v_t * (target-plane
    horizontal) - current horizontal inertial velocity. T is the rocket-equation
    time to gain that velocity, capped by ``t_rem`` (the burn time left in a
    stage that cannot be shut down).
    """
    r0, r1, r2 = y[0], y[1], y[2]
    rn = math.sqrt(r0 * r0 + r1 * r1 + r2 * r2)
    ux, uy, uz = r0 / rn, r1 / rn, r2 / rn
    vi0 = y[3] - _W * r1
    vi1 = y[4] + _W * r0
    vi2 = y[5]
    vr = vi0 * ux + vi1 * uy + vi2 * uz
    vh0, vh1, vh2 = vi0 - vr * ux, vi1 - vr * uy, vi2 - vr * uz
    vh2n = vh0 * vh0 + vh1 * vh1 + vh2 * vh2
    rho = math.sqrt(ux * ux + uy * uy)  # cos(geocentric latitude)
    ex, ey = -uy / rho, ux / rho  # east (ez = 0)
    nx, ny, nz = -uz * ey, uz * ex, ux * ey - uy * ex  # north = up x east
    sp = min(1.0, max(-1.0, GP[G_COS_I] / rho))
    cp = math.sqrt(1.0 - sp * sp)
    # Two candidate plane normals n = +-cp east + sp north; keep the one nearer the current.
    hx, hy = r1 * vi2 - r2 * vi1, r2 * vi0 - r0 * vi2  # angular momentum; its z part is not needed
    he = ex * hx + ey * hy
    c = cp if he >= 0.0 else -cp
    px, py, pz = c * ex + sp * nx, c * ey + sp * ny, sp * nz
    tx, ty, tz = py * uz - pz * uy, pz * ux - px * uz, px * uy - py * ux  # n x up
    vt = GP[G_V_T]
    g0_, g1_, g2_ = vt * tx - vh0, vt * ty - vh1, vt * tz - vh2
    gn = math.sqrt(g0_ * g0_ + g1_ * g1_ + g2_ * g2_)
    if gn < 1e-3:
        g0_, g1_, g2_, gn = tx, ty, tz, 1.0
    f = thrust_vac if thrust_vac > 0.0 else mean_thrust
    a_t = f / m
    dv_go = math.sqrt(gn * gn + vr * vr)
    t_go = min(m * ve / f * (1.0 - math.exp(-dv_go / ve)), t_rem)
    tg = max(t_go, 5.0)
    a_rad = 6.0 * (GP[G_R_T] - rn) / (tg * tg) - 4.0 * vr / tg
    a_req = a_rad + _MU / (rn * rn) - vh2n / rn
    s = min(0.7, max(-0.7, a_req / a_t))
    cs = math.sqrt(1.0 - s * s)
    return s * ux + cs * g0_ / gn, s * uy + cs * g1_ / gn, s * uz + cs * g2_ / gn


@kernel(**HELPER_JIT)
def isp_vac(tau, sc, STAB):
    """Vacuum Isp (s) of a stage (its SC row) at tau seconds of its (burn-rate scaled) curve, from its Isp table."""
    n = int(sc[S_ISP_N])
    o_t, o_i = int(sc[S_ISP_T]), int(sc[S_ISP])
    return interp_clamped(tau, STAB[o_t : o_t + n], STAB[o_i : o_i + n], 0, n)


# ---------------------------------------------------------------- dynamics


@kernel(**HELPER_JIT)
def deriv(y, t, tm, i, IS, FS, SC, THR_T, THR_F, THR_OFF, STAB, WIND, ATM, VC, GP, PROG, PAD, PS, PV, FP, dy, om, qc):
    """Time derivative of the state ``y`` of vehicle ``i`` at time ``t``.

    ``tm`` is the step's mid-time (discrete decisions). Writes ``dy`` (11,),
    inertial body rates ``om`` (3,) and the commanded attitude ``qc`` (4,).
    """
    x0, x1, x2 = y[0], y[1], y[2]
    v0, v1, v2 = y[3], y[4], y[5]
    m = y[6]
    qn = math.sqrt(y[7] * y[7] + y[8] * y[8] + y[9] * y[9] + y[10] * y[10])
    q0, q1, q2, q3 = y[7] / qn, y[8] / qn, y[9] / qn, y[10] / qn
    stage = IS[i, I_STAGE]
    phase = IS[i, I_PHASE]
    rn = math.sqrt(x0 * x0 + x1 * x1 + x2 * x2)
    g0, g1, g2 = gravity_j2(x0, x1, x2, VC[C_J2_ON])
    h = height_fast(x0, x1, x2, rn)

    # --- atmosphere (USSA76 tabulated every 25 m, linear) ---
    rho = 0.0
    p_amb = 0.0
    c_snd = 300.0
    u = (h - VC[C_ATM_H0]) / VC[C_ATM_DH]
    if u < ATM.shape[0] - 1:
        if u < 0.0:
            u = 0.0
        j = int(u)
        f = u - j
        rho = ATM[j, 0] + f * (ATM[j + 1, 0] - ATM[j, 0])
        p_amb = ATM[j, 1] + f * (ATM[j + 1, 1] - ATM[j, 1])
        c_snd = ATM[j, 2] + f * (ATM[j + 1, 2] - ATM[j, 2])

    # --- wind and air-relative velocity ---
    va0, va1, va2 = v0, v1, v2
    nw = WIND.shape[0]
    if nw > 0 and rho > 0.0:
        we = interp_clamped(h, WIND[:, 0], WIND[:, 1], 0, nw)
        wn = interp_clamped(h, WIND[:, 0], WIND[:, 2], 0, nw)
        rot = PV[i, V_WIND_ROT]
        sc = PV[i, V_WIND_SCALE]
        cr, sr = math.cos(rot), math.sin(rot)
        # rotate clockwise seen from above by rot: (e, n) -> (e cos + n sin, -e sin + n cos)
        we2 = sc * (we * cr + wn * sr)
        wn2 = sc * (-we * sr + wn * cr)
        ux, uy, uz = x0 / rn, x1 / rn, x2 / rn
        rho_xy = math.sqrt(ux * ux + uy * uy)
        ex, ey = -uy / rho_xy, ux / rho_xy
        nx, ny, nz = -uz * ey, uz * ex, ux * ey - uy * ex
        va0 -= we2 * ex + wn2 * nx
        va1 -= we2 * ey + wn2 * ny
        va2 -= wn2 * nz
    vair = math.sqrt(va0 * va0 + va1 * va1 + va2 * va2)

    # --- aerodynamics of the stack in this phase: the stage's own model, or the vehicle-wide axial
    # coefficient along the relative wind (design/sim.md "Vehicle model") ---
    a0 = a1 = a2 = 0.0
    if rho > 0.0 and vair > 0.0:
        col = S_AERO_POWERED if phase == BURN else S_AERO_COASTING
        if SC[stage, col + AX_MODEL] == AERO_VEHICLE:
            cd = table_1d(vair / c_snd, SC[stage], col, STAB) * PV[i, V_CD]
            drag = 0.5 * rho * vair * VC[C_SREF] * cd / m  # divided by vair once already
            a0 -= drag * va0
            a1 -= drag * va1
            a2 -= drag * va2
        else:
            a0, a1, a2 = stage_aero_accel(
                va0, va1, va2, vair, rho, vair / c_snd, q0, q1, q2, q3, m, PV[i, V_CD], SC[stage], col, STAB
            )

    # --- thrust ---
    f_vac = 0.0
    mdot = 0.0
    isp_k = SC[stage, S_ISP_VAC]
    if phase == BURN:
        k = stage
        br = PS[i, k, P_BURN_RATE]
        tau = (t - FS[i, T_IGN]) * br
        f_vac = interp_clamped(tau, THR_T, THR_F, THR_OFF[k], THR_OFF[k + 1] - THR_OFF[k]) * PS[i, k, P_THRUST] * br
        if (
            FP[i, F_SCALE] != 1.0
            and tm >= FP[i, F_SCALE_T]
            and (FP[i, F_SCALE_STAGE] < 0.0 or FP[i, F_SCALE_STAGE] == k)
        ):
            f_vac *= FP[i, F_SCALE]
        if m <= FS[i, M_EMPTY]:
            f_vac = 0.0
        if SC[k, S_ISP_N] > 0.0:  # an Isp table (else the constant, SC[k, S_ISP_VAC])
            isp_k = isp_vac(tau, SC[k], STAB)
        mdot = f_vac / (isp_k * PS[i, k, P_ISP_SCALE] * _G0)
        f_del = f_vac - SC[k, S_AE] * p_amb
        if f_del > 0.0:
            b1 = PV[i, V_MIS_YAW]
            b2 = -PV[i, V_MIS_PITCH]
            tn = f_del / m / math.sqrt(1.0 + b1 * b1 + b2 * b2)
            te0, te1, te2 = qrot(q0, q1, q2, q3, tn, tn * b1, tn * b2)
            a0 += te0
            a1 += te1
            a2 += te2

    # --- translational derivative; rotating frame: Coriolis and centrifugal ---
    dy[0] = v0
    dy[1] = v1
    dy[2] = v2
    dy[3] = g0 + a0 + 2.0 * _W * v1 + _W * _W * x0
    dy[4] = g1 + a1 - 2.0 * _W * v0 + _W * _W * x1
    dy[5] = g2 + a2
    dy[6] = -mdot
    if IS[i, I_LIFTED] == 0:
        # held on the pad until the net force points up (launcher / hold-down)
        if (dy[3] * x0 + dy[4] * x1 + dy[5] * x2) <= 0.0 and (v0 * x0 + v1 * x1 + v2 * x2) <= 0.0:
            for j in range(6):
                dy[j] = 0.0

    # --- guidance: commanded attitude ---
    along = phase == FINAL and GP[G_FINAL_ATT] == FINAL_ATT_ALONG_VELOCITY
    if along or GP[G_PROG_LOCAL] == 1.0:  # the vehicle model's commands (issue 16), out of the hot path
        c0, c1, c2, c3 = local_or_velocity_command(t, x0, x1, x2, va0, va1, va2, vair, q0, q1, q2, q3, along, PROG, PAD)
    elif GP[G_MODE] == 1.0:  # explicit programme in the launch frame
        n = PROG.shape[0]
        az = interp_clamped(t, PROG[:, 0], PROG[:, 1], 0, n)
        el = interp_clamped(t, PROG[:, 0], PROG[:, 2], 0, n)
        ca, sa = math.cos(az), math.sin(az)
        d0, d1, d2 = _enu_dir(ca, sa, el, PAD)
        c0, c1, c2, c3 = q_from_direction(d0, d1, d2, ca, sa, PAD)
    else:
        ca, sa = GP[G_CAZ], GP[G_SAZ]
        from_d = False
        if GP[G_STEER] == 1.0 and stage >= GP[G_STEER_FROM]:
            k = stage
            t_rem = np.inf
            if phase == BURN and SC[k, S_GUIDED_CUTOFF] == 0.0:
                t_rem = FS[i, T_BURNOUT] - t
            d0, d1, d2 = explicit_steering(
                y,
                m,
                f_vac,
                isp_k * PS[i, k, P_ISP_SCALE] * _G0,
                SC[k, S_MEAN_THRUST] * PS[i, k, P_THRUST] * PS[i, k, P_BURN_RATE],
                t_rem,
                GP,
            )
            from_d = True
        elif tm < GP[G_T_RISE] + GP[G_KICK_DUR]:
            el = 0.5 * math.pi
            if tm >= GP[G_T_RISE]:
                el -= GP[G_KICK] * (t - GP[G_T_RISE]) / GP[G_KICK_DUR]
            d0, d1, d2 = _enu_dir(ca, sa, el, PAD)
        else:
            # zero angle of attack: along the air-relative velocity, but hold the kicked
            # attitude until the velocity has tilted as far (so the turn does not undo the kick)
            if vair > 1.0:
                d0, d1, d2 = va0 / vair, va1 / vair, va2 / vair
            else:  # no relative wind yet: keep the body axis
                d0, d1, d2 = qrot(q0, q1, q2, q3, 1.0, 0.0, 0.0)
            from_d = True
            if d0 * PAD[2, 0] + d1 * PAD[2, 1] + d2 * PAD[2, 2] > GP[G_SIN_ELK]:
                d0, d1, d2 = _enu_dir(ca, sa, 0.5 * math.pi - GP[G_KICK], PAD)
                from_d = False
        if from_d:  # roll reference: the azimuth of d itself
            ca, sa = azimuth_of(d0, d1, d2, ca, sa, PAD)
        c0, c1, c2, c3 = q_from_direction(d0, d1, d2, ca, sa, PAD)
    if PV[i, V_BIAS_PITCH] != 0.0 or PV[i, V_BIAS_YAW] != 0.0:
        c0, c1, c2, c3 = qmul(c0, c1, c2, c3, PV[i, V_QB], PV[i, V_QB + 1], PV[i, V_QB + 2], PV[i, V_QB + 3])

    # --- attitude kinematics ---
    web0, web1, web2 = qrot(q0, -q1, -q2, -q3, 0.0, 0.0, _W)  # Earth rate in body axes
    att_mode = 0
    if FP[i, F_ATT_MODE] > 0.0 and tm >= FP[i, F_ATT_T]:
        att_mode = int(FP[i, F_ATT_MODE])
    if att_mode == ATT_HARDOVER or att_mode == ATT_TUMBLE:
        om[0], om[1], om[2] = FP[i, F_WX], FP[i, F_WY], FP[i, F_WZ]
        w0, w1, w2 = om[0] - web0, om[1] - web1, om[2] - web2
    elif phase == FINAL and att_mode != ATT_CONING and GP[G_FINAL_ATT] == FINAL_ATT_HOLD:
        om[0] = om[1] = om[2] = 0.0  # no torque: inertial hold
        w0, w1, w2 = -web0, -web1, -web2
    else:
        if att_mode == ATT_CONING:
            # cone about the commanded x axis: q_cmd (x) Rx(phi) (x) Ry(alpha) (x) Rx(-phi)
            ph = 0.5 * FP[i, F_CONE_RATE] * (t - FP[i, F_ATT_T])
            ha = 0.5 * FP[i, F_CONE_HALF]
            c0, c1, c2, c3 = qmul(c0, c1, c2, c3, math.cos(ph), math.sin(ph), 0.0, 0.0)
            c0, c1, c2, c3 = qmul(c0, c1, c2, c3, math.cos(ha), 0.0, math.sin(ha), 0.0)
            c0, c1, c2, c3 = qmul(c0, c1, c2, c3, math.cos(ph), -math.sin(ph), 0.0, 0.0)
        e0, e1, e2, e3 = qmul(q0, -q1, -q2, -q3, c0, c1, c2, c3)  # q^-1 (x) q_cmd
        if e0 < 0.0:
            e0, e1, e2, e3 = -e0, -e1, -e2, -e3
        sn = math.sqrt(e1 * e1 + e2 * e2 + e3 * e3)
        # rotation angle / sin(angle/2) = 2 atan2(sn, e0) / sn; series for small angles
        x = sn / e0 if e0 > 0.0 else 1e9
        if x < 0.05:
            x2 = x * x
            kf = 2.0 / e0 * (1.0 - x2 * (1.0 / 3.0 - x2 * (0.2 - x2 / 7.0))) / VC[C_TAU]
        else:
            kf = 2.0 * math.atan2(sn, e0) / sn / VC[C_TAU]
        w0, w1, w2 = kf * e1, kf * e2, kf * e3
        om[0], om[1], om[2] = w0 + web0, w1 + web1, w2 + web2
    qc[0], qc[1], qc[2], qc[3] = c0, c1, c2, c3
    # q' = 1/2 q (x) (0, w_rel)
    dy[7] = 0.5 * (-q1 * w0 - q2 * w1 - q3 * w2)
    dy[8] = 0.5 * (q0 * w0 + q2 * w2 - q3 * w1)
    dy[9] = 0.5 * (q0 * w1 - q1 * w2 + q3 * w0)
    dy[10] = 0.5 * (q0 * w2 + q1 * w1 - q2 * w0)


@kernel(**HELPER_JIT)
def rk4_step(
    y0,
    t0,
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
    y1,
    scr,
    om,
    qc,
    k1_ready=False,
):
    """One classical RK4 step of length h from (t0, y0) into y1; scr is (>=5, 11) scratch.

    ``k1_ready``: scr[0] already holds the derivative at (t0, y0) (first same as last).
    """
    tm = t0 + 0.5 * h
    k1, k2, k3, k4, yt = scr[0], scr[1], scr[2], scr[3], scr[4]
    if not k1_ready:
        deriv(
            y0, t0, tm, i, IS, FS, SC, THR_T, THR_F, THR_OFF, STAB, WIND, ATM, VC, GP, PROG, PAD, PS, PV, FP, k1, om,
            qc,
        )  # fmt: skip
    for j in range(11):
        yt[j] = rk4_stage_nb(y0[j], 0.5 * h, k1[j])
    deriv(
        yt, tm, tm, i, IS, FS, SC, THR_T, THR_F, THR_OFF, STAB, WIND, ATM, VC, GP, PROG, PAD, PS, PV, FP, k2, om, qc,
    )  # fmt: skip
    for j in range(11):
        yt[j] = rk4_stage_nb(y0[j], 0.5 * h, k2[j])
    deriv(
        yt, tm, tm, i, IS, FS, SC, THR_T, THR_F, THR_OFF, STAB, WIND, ATM, VC, GP, PROG, PAD, PS, PV, FP, k3, om, qc,
    )  # fmt: skip
    for j in range(11):
        yt[j] = rk4_stage_nb(y0[j], h, k3[j])
    deriv(
        yt, t0 + h, tm, i, IS, FS, SC, THR_T, THR_F, THR_OFF, STAB, WIND, ATM, VC, GP, PROG, PAD, PS, PV, FP, k4, om,
        qc,
    )  # fmt: skip
    for j in range(11):
        y1[j] = rk4_combine_nb(y0[j], h, k1[j], k2[j], k3[j], k4[j])
    qn = math.sqrt(y1[7] * y1[7] + y1[8] * y1[8] + y1[9] * y1[9] + y1[10] * y1[10])
    for j in range(7, 11):
        y1[j] /= qn


# ---------------------------------------------------------------- events


@kernel(**HELPER_JIT)
def _log(i, t, code, EVC, EVT, EVK):
    n = EVC[i]
    if n < EVT.shape[1]:
        EVT[i, n] = t
        EVK[i, n] = code
        EVC[i] = n + 1


@kernel(**HELPER_JIT)
def upper_mass(i, k, IS, SC, PS, VC):
    """Mass above stage k (stages k+1.., payload, fairing if still on), kg."""
    m = VC[C_PAYLOAD]
    if IS[i, I_FAIRING] == 1:
        m += VC[C_FAIRING_M]
    for j in range(k + 1, SC.shape[0]):
        m += SC[j, S_DRY] * PS[i, j, P_DRY] + SC[j, S_PROP] * PS[i, j, P_PROP]
    return m


@kernel(**HELPER_JIT)
def next_time_event(i, t, IS, FS, SC, THR_T, THR_OFF, STAB, VC, GP, PROG, PS, FP):
    """Earliest scheduled time after t at which vehicle i must end a step, s."""
    best = np.inf
    phase = IS[i, I_PHASE]
    k = IS[i, I_STAGE]
    lim = t + _EPS_T
    if phase == BURN:
        tb = FS[i, T_BURNOUT]
        if tb > lim:
            best = min(best, tb)
        br = PS[i, k, P_BURN_RATE]
        for j in range(THR_OFF[k], THR_OFF[k + 1]):
            tj = FS[i, T_IGN] + THR_T[j] / br
            if tj > lim:
                best = min(best, tj)
                break
        o_isp = int(SC[k, S_ISP_T])
        for j in range(o_isp, o_isp + int(SC[k, S_ISP_N])):  # the Isp table's breakpoints too
            tj = FS[i, T_IGN] + STAB[j] / br
            if tj > lim:
                best = min(best, tj)
                break
        if FP[i, F_LOSS_T] > lim:
            best = min(best, FP[i, F_LOSS_T])
        if FP[i, F_SCALE] != 1.0 and FP[i, F_SCALE_T] > lim:
            best = min(best, FP[i, F_SCALE_T])
    elif phase == COAST_SEP or phase == COAST_IGN:
        if FS[i, T_EVT] > lim:
            best = min(best, FS[i, T_EVT])
    if IS[i, I_FAIRING] == 1 and VC[C_FAIRING_T] > lim:
        best = min(best, VC[C_FAIRING_T])
    if FP[i, F_ATT_MODE] > 0.0 and FP[i, F_ATT_T] > lim:
        best = min(best, FP[i, F_ATT_T])
    if GP[G_MODE] == 0.0:
        if GP[G_T_RISE] > lim:
            best = min(best, GP[G_T_RISE])
        tk = GP[G_T_RISE] + GP[G_KICK_DUR]
        if tk > lim:
            best = min(best, tk)
    else:
        for j in range(PROG.shape[0]):
            if PROG[j, 0] > lim:
                best = min(best, PROG[j, 0])
                break
    return best


@kernel(**HELPER_JIT)
def apply_time_events(i, t, y, IS, FS, SC, THR_T, THR_OFF, VC, PS, FP, EVC, EVT, EVK):
    """Apply every discrete event of vehicle i due at time t (ignition, burnout, ...)."""
    nst = SC.shape[0]
    for _ in range(4 * nst + 8):
        changed = False
        phase = IS[i, I_PHASE]
        k = IS[i, I_STAGE]
        if phase == BURN and FP[i, F_LOSS_T] <= t + _EPS_T and (FP[i, F_LOSS_STAGE] < 0.0 or FP[i, F_LOSS_STAGE] == k):
            FP[i, F_LOSS_T] = np.inf
            if FP[i, F_LOSS_KIND] == 1.0:
                IS[i, I_PHASE] = FINAL
                _log(i, t, EV_THRUST_LOSS, EVC, EVT, EVK)
            else:
                _log(i, t, EV_EARLY_CUTOFF, EVC, EVT, EVK)
                FS[i, T_BURNOUT] = t
            changed = True
        elif phase == BURN and FS[i, T_BURNOUT] <= t + _EPS_T:
            _log(i, t, EV_BURNOUT, EVC, EVT, EVK)
            if k == nst - 1:
                IS[i, I_PHASE] = FINAL
            else:
                IS[i, I_PHASE] = COAST_SEP
                FS[i, T_EVT] = t + SC[k, S_SEP_DELAY]
            changed = True
        elif phase == COAST_SEP and FS[i, T_EVT] <= t + _EPS_T:
            if FP[i, F_SEP_FAIL] == k:
                _log(i, t, EV_SEPARATION_FAILURE, EVC, EVT, EVK)
            else:
                y[6] = upper_mass(i, k, IS, SC, PS, VC)
                _log(i, t, EV_SEPARATION, EVC, EVT, EVK)
            IS[i, I_STAGE] = k + 1
            if FP[i, F_IGN_FAIL] == k + 1:
                _log(i, t, EV_IGNITION_FAILURE, EVC, EVT, EVK)
                IS[i, I_PHASE] = FINAL
            else:
                IS[i, I_PHASE] = COAST_IGN
                FS[i, T_EVT] = t + SC[k + 1, S_IGN_DELAY]
            changed = True
        elif phase == COAST_IGN and FS[i, T_EVT] <= t + _EPS_T:
            IS[i, I_PHASE] = BURN
            FS[i, T_IGN] = t
            FS[i, T_BURNOUT] = t + SC[k, S_T_END] / PS[i, k, P_BURN_RATE]
            FS[i, M_EMPTY] = y[6] - SC[k, S_PROP] * PS[i, k, P_PROP]
            _log(i, t, EV_IGNITION, EVC, EVT, EVK)
            changed = True
        if IS[i, I_FAIRING] == 1 and VC[C_FAIRING_T] <= t + _EPS_T:
            IS[i, I_FAIRING] = 0
            y[6] -= VC[C_FAIRING_M]
            _log(i, t, EV_FAIRING, EVC, EVT, EVK)
            changed = True
        if IS[i, I_ATT_LOGGED] == 0 and FP[i, F_ATT_MODE] > 0.0 and FP[i, F_ATT_T] <= t + _EPS_T:
            IS[i, I_ATT_LOGGED] = 1
            _log(i, t, EV_ATTITUDE_FAILURE, EVC, EVT, EVK)
        if IS[i, I_SCALE_LOGGED] == 0 and FP[i, F_SCALE] != 1.0 and FP[i, F_SCALE_T] <= t + _EPS_T:
            IS[i, I_SCALE_LOGGED] = 1
            _log(i, t, EV_THRUST_SCALE, EVC, EVT, EVK)
        if not changed:
            break


@kernel(**HELPER_JIT)
def state_event_values(y, i, IS, SC, VC, GP, g):
    """Values of the state-event functions (a crossing from < 0 to >= 0 triggers).

    g[0] impact: ground height VC[C_GROUND_H] - geodetic height while descending (computed exactly only near
    the ground);
    g[1] fairing altitude jettison: height - jettison height;
    g[2] guided cutoff: orbital energy - target energy.
    """
    rn = math.sqrt(y[0] * y[0] + y[1] * y[1] + y[2] * y[2])
    hf = height_fast(y[0], y[1], y[2], rn)
    g[0] = -1.0
    if hf < VC[C_GROUND_H] + _NEAR_GROUND_M:
        vup = (y[3] * y[0] + y[4] * y[1] + y[5] * y[2]) / rn
        if vup < 0.0:
            g[0] = -(geodetic_height(y) - VC[C_GROUND_H])
    g[1] = -1.0
    if IS[i, I_FAIRING] == 1 and VC[C_FAIRING_H] < np.inf:
        g[1] = (geodetic_height(y) if hf < VC[C_FAIRING_H] + 2000.0 else hf) - VC[C_FAIRING_H]
    g[2] = -1.0
    k = IS[i, I_STAGE]
    if IS[i, I_PHASE] == BURN and SC[k, S_GUIDED_CUTOFF] == 1.0 and GP[G_STEER] == 1.0 and k >= GP[G_STEER_FROM]:
        vi0 = y[3] - _W * y[1]
        vi1 = y[4] + _W * y[0]
        vi2 = y[5]
        g[2] = 0.5 * (vi0 * vi0 + vi1 * vi1 + vi2 * vi2) - _MU / rn - GP[G_E_T]


@kernel(**HELPER_JIT)
def perigee_altitude(y):
    """Osculating perigee radius minus the WGS84 equatorial radius (point-mass Kepler), m."""
    r0, r1, r2 = y[0], y[1], y[2]
    vi0 = y[3] - _W * r1
    vi1 = y[4] + _W * r0
    vi2 = y[5]
    rn = math.sqrt(r0 * r0 + r1 * r1 + r2 * r2)
    v2 = vi0 * vi0 + vi1 * vi1 + vi2 * vi2
    en = 0.5 * v2 - _MU / rn
    if en >= 0.0:
        return np.inf
    a = -_MU / (2.0 * en)
    hx, hy, hz = r1 * vi2 - r2 * vi1, r2 * vi0 - r0 * vi2, r0 * vi1 - r1 * vi0
    h2 = hx * hx + hy * hy + hz * hz
    e = math.sqrt(max(0.0, 1.0 - h2 / (_MU * a)))
    return a * (1.0 - e) - _A

"""Compiled aerodynamic forces of the per-stage models (issue 16; design/sim.md "Vehicle model"):
body-axes CA/CN tables, a ballistic coefficient, and the table look-up the vehicle-wide axial
coefficient shares with them.

The tables live in the simulator's flat float array ``STAB``; each stage's row of ``SC``
(:mod:`rangeguard.sim.kernels`) holds, per phase block (powered, coasting), the AX_* entries below:
integers stored as floats. One vehicle at a time, plain floats, as the other kernels.
"""

from __future__ import annotations

import math

from rangeguard.jit import kernel
from rangeguard.sim.kernel_math import HELPER_JIT, bilinear_clamped, interp_clamped, qrot

# --- one phase block of a stage's SC row: the model, then offsets into STAB and lengths -------------
# The reference area (m^2), the Mach column and the coefficient column (vehicle-wide CA, body-axes CA,
# or beta in kg/m^2) of length AX_N, and the CN table: AX_CN_NM Mach rows by AX_CN_NA angles of attack
# (rad), row-major at AX_CN (AX_CN_NM = 0: no normal force).
AX_MODEL, AX_SREF, AX_MACH, AX_COEF, AX_N, AX_CN_MACH, AX_CN_NM, AX_ALPHA, AX_CN_NA, AX_CN = range(10)
NAX = 10
AERO_VEHICLE, AERO_BODY_AXES, AERO_BALLISTIC = 0, 1, 2  # the AX_MODEL codes


@kernel(inline="always", **HELPER_JIT)
def table_1d(x, sc, col, STAB):
    """The 1-D table of phase block ``col`` of a stage's SC row (Mach -> coefficient) at x, held outside."""
    n = int(sc[col + AX_N])
    o_m = int(sc[col + AX_MACH])
    o_c = int(sc[col + AX_COEF])
    return interp_clamped(x, STAB[o_m : o_m + n], STAB[o_c : o_c + n], 0, n)


@kernel(**HELPER_JIT)
def body_axes_accel(va0, va1, va2, vair, rho, mach, q0, q1, q2, q3, m, scale, sc, col, STAB):
    """Aerodynamic acceleration (ECEF axes, m/s^2) of a body_axes model: axial -CA q S along body x,
    normal CN q S against the air-relative velocity's component across the body axis (so a nose-up
    body is pushed up), CN bilinear in Mach and the total angle of attack. ``sc`` is the stage's SC
    row, ``col`` its phase block (S_AERO_POWERED or S_AERO_COASTING); ``scale`` multiplies both forces."""
    ca = table_1d(mach, sc, col, STAB)
    qs_m = 0.5 * rho * vair * vair * STAB[int(sc[col + AX_SREF])] * scale / m  # q S / m
    bx0, bx1, bx2 = qrot(q0, q1, q2, q3, 1.0, 0.0, 0.0)
    a0, a1, a2 = -ca * qs_m * bx0, -ca * qs_m * bx1, -ca * qs_m * bx2
    n_cm = int(sc[col + AX_CN_NM])
    if n_cm > 0:
        u = bx0 * va0 + bx1 * va1 + bx2 * va2  # vair cos(alpha)
        p0, p1, p2 = va0 - u * bx0, va1 - u * bx1, va2 - u * bx2  # across the body axis
        pn = math.sqrt(p0 * p0 + p1 * p1 + p2 * p2)  # vair sin(alpha)
        if pn > 0.0:
            n_al = int(sc[col + AX_CN_NA])
            o_cm, o_al, o_cn = int(sc[col + AX_CN_MACH]), int(sc[col + AX_ALPHA]), int(sc[col + AX_CN])
            cn = bilinear_clamped(
                mach,
                math.atan2(pn, u),
                STAB[o_cm : o_cm + n_cm],
                STAB[o_al : o_al + n_al],
                STAB[o_cn : o_cn + n_cm * n_al],
            )
            fn = cn * qs_m / pn
            a0 -= fn * p0
            a1 -= fn * p1
            a2 -= fn * p2
    return a0, a1, a2


@kernel(**HELPER_JIT)
def stage_aero_accel(va0, va1, va2, vair, rho, mach, q0, q1, q2, q3, m, scale, sc, col, STAB):
    """Aerodynamic acceleration (ECEF axes, m/s^2) of a stage's own model in the phase block ``col``:
    body axes (:func:`body_axes_accel`) or ballistic, q / beta against the air-relative velocity with
    beta (kg/m^2) linear in Mach (``scale`` multiplies 1 / beta)."""
    if sc[col + AX_MODEL] == AERO_BODY_AXES:
        return body_axes_accel(va0, va1, va2, vair, rho, mach, q0, q1, q2, q3, m, scale, sc, col, STAB)
    k = 0.5 * rho * vair * scale / table_1d(mach, sc, col, STAB)  # q / (beta vair)
    return -k * va0, -k * va1, -k * va2

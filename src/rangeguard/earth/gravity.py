"""Earth gravitation: point mass and the J2 zonal term, in ECEF axes.

What this module returns is the *gravitational* acceleration only (Newton's
attraction of the Earth's mass, plus the oblateness term J2), expressed in the
Earth-fixed (ECEF) axes. It does not contain the centrifugal or Coriolis terms
of the rotating frame; the simulator adds ``-w x (w x r)`` and ``-2 w x v``
itself when it integrates in ECEF. (So at the equator this is about
9.814 m/s^2, not the 9.780 m/s^2 "normal gravity" a plumb line feels.)

Formulas (D. A. Vallado, *Fundamentals of Astrodynamics and Applications*,
4th ed., 2013, sec. 8.6.1, eq. 8-30 and the J2 acceleration that follows it;
also O. Montenbruck & E. Gill, *Satellite Orbits*, 2000, sec. 3.2):

potential energy per unit mass (this module's sign convention: ``a = -grad V``)::

    V(r) = -mu / r + mu J2 R^2 / (2 r^3) * (3 z^2 / r^2 - 1)

acceleration::

    a_x = -mu x / r^3 * [1 + 3/2 J2 (R/r)^2 (1 - 5 z^2 / r^2)]
    a_y = -mu y / r^3 * [1 + 3/2 J2 (R/r)^2 (1 - 5 z^2 / r^2)]
    a_z = -mu z / r^3 * [1 + 3/2 J2 (R/r)^2 (3 - 5 z^2 / r^2)]

with mu = GM (:data:`~rangeguard.constants.MU_EARTH_M3_S2`), R the WGS84
semi-major axis (the reference radius of the EGM96 J2) and J2 from
:mod:`rangeguard.constants`.

Shapes: ``r_ecef`` is ``(3,)`` or ``(N, 3)`` in metres; accelerations have the
same shape (m/s^2); potentials are ``()`` or ``(N,)`` (J/kg = m^2/s^2). NaN in
gives NaN out; the Earth's centre (r = 0) gives inf/NaN without a warning.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rangeguard.constants import J2_EARTH, MU_EARTH_M3_S2, WGS84_A_M
from rangeguard.errors import InputError
from rangeguard.jit import kernel

_MU = MU_EARTH_M3_S2
_J2R2_15 = 1.5 * J2_EARTH * WGS84_A_M * WGS84_A_M  # 3/2 J2 R^2, m^2

_X = TypeVar("_X", float, NDArray[np.float64])
"""A coordinate: a float (compiled) or an array of them (numpy)."""


def _as_positions(r_ecef: ArrayLike) -> NDArray[np.float64]:
    r = np.asarray(r_ecef, dtype=np.float64)
    if r.ndim not in (1, 2) or r.shape[-1] != 3:
        raise InputError(
            f"r_ecef must be an ECEF position of shape (3,) or a batch of shape (N, 3), in metres; "
            f"got shape {r.shape}. Stack positions as rows, e.g. np.column_stack([x, y, z])."
        )
    return r


def gravity_point_mass_ecef(r_ecef: ArrayLike) -> NDArray[np.float64]:
    """Point-mass gravitational acceleration ``-mu r / |r|^3`` (m/s^2, ECEF axes).

    ``r_ecef``: ECEF position(s), m, shape ``(3,)`` or ``(N, 3)``. Returns the same
    shape. Gravitation only; no centrifugal or Coriolis term (see module docstring).
    """
    r = _as_positions(r_ecef)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2: NDArray[np.float64] = np.einsum("...i,...i->...", r, r)  # a numpy scalar for one position
        c = -_MU / (r2 * np.sqrt(r2))
        return r * c[..., None]


def _gravity_j2(x: _X, y: _X, z: _X, r2: _X, j2_on: float) -> tuple[_X, _X, _X]:
    """Point mass + J2 gravitation (m/s^2, ECEF axes) at (x, y, z) m with r2 = x^2 + y^2 + z^2, as
    a 3-tuple; ``j2_on`` 1.0 (J2) or 0.0 (point mass only). The formulas of the module docstring
    (Vallado 2013 sec. 8.6.1).

    Written once, with arithmetic and ``np.sqrt`` only, so the same source runs on numpy arrays
    (:func:`gravity_j2_ecef`) and compiled by numba on floats inside other kernels
    (:func:`gravity_j2_nb`, inlined into the simulator's equations of motion). ``r2`` is the
    caller's: numpy sums it with ``einsum``, whose rounding differs from ``x*x + y*y + z*z``.
    """
    inv_r2 = 1.0 / r2
    mu_r3 = _MU * inv_r2 * np.sqrt(inv_r2)  # mu / r^3
    k = _J2R2_15 * inv_r2 * j2_on  # 3/2 J2 (R/r)^2
    s = 5.0 * z * z * inv_r2  # 5 z^2 / r^2
    c = -mu_r3 * (1.0 + k * (1.0 - s))  # common factor of x and y
    # a_z has (3 - s) where x and y have (1 - s): subtract the extra 2k.
    return c * x, c * y, c * z - 2.0 * k * mu_r3 * z


_gravity_j2_compiled = kernel(inline="always")(_gravity_j2)


@kernel(inline="always")
def gravity_j2_nb(x: float, y: float, z: float, j2_on: float = 1.0) -> tuple[float, float, float]:
    """Scalar numba kernel: (x_m, y_m, z_m, j2_on) -> (ax, ay, az) m/s^2, ECEF axes; ``j2_on`` 0.0
    gives point mass only (see ``_gravity_j2``)."""
    return _gravity_j2_compiled(x, y, z, x * x + y * y + z * z, j2_on)


def gravity_j2_ecef(r_ecef: ArrayLike) -> NDArray[np.float64]:
    """Point-mass plus J2 gravitational acceleration (m/s^2, ECEF axes).

    Vallado (2013) sec. 8.6.1; the formulas are in the module docstring.
    ``r_ecef``: ECEF position(s), m, shape ``(3,)`` or ``(N, 3)``; returns the
    same shape. Gravitation only: the rotating-frame centrifugal and Coriolis
    terms are the caller's (the simulator's) job.

    A handful of whole-array numpy operations (``_gravity_j2`` on the columns).
    """
    r = _as_positions(r_ecef)
    a = np.empty_like(r)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.einsum("...i,...i->...", r, r)
        a[..., 0], a[..., 1], a[..., 2] = _gravity_j2(r[..., 0], r[..., 1], r[..., 2], r2, 1.0)
    return a


def potential_point_mass(r_ecef: ArrayLike) -> NDArray[np.float64]:
    """Point-mass gravitational potential energy per unit mass ``-mu / r`` (J/kg).

    Sign convention: ``a = -grad V`` (V is negative, zero at infinity).
    ``r_ecef`` ``(3,)`` or ``(N, 3)`` m; returns ``()`` or ``(N,)``.
    """
    r = _as_positions(r_ecef)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2: NDArray[np.float64] = np.einsum("...i,...i->...", r, r)  # a numpy scalar for one position
        return -_MU / np.sqrt(r2)


def potential_j2(r_ecef: ArrayLike) -> NDArray[np.float64]:
    """Point-mass plus J2 potential energy per unit mass (J/kg), ``a = -grad V``.

    ``V = -mu/r + mu J2 R^2 / (2 r^3) (3 z^2/r^2 - 1)`` (Vallado 2013, eq. 8-30
    with the sign flipped from the astronomers' potential U = -V).
    ``r_ecef`` ``(3,)`` or ``(N, 3)`` m; returns ``()`` or ``(N,)``.
    """
    r = _as_positions(r_ecef)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2: NDArray[np.float64] = np.einsum("...i,...i->...", r, r)  # a numpy scalar for one position
        rn = np.sqrt(r2)
        sin2 = r[..., 2] ** 2 / r2
        return -_MU / rn * (1.0 - (_J2R2_15 / 1.5) / (2.0 * r2) * (3.0 * sin2 - 1.0))

"""The classical fourth-order Runge-Kutta step's arithmetic, written once.

Both integrators of motion in the rotating ECEF frame use it: the simulator's
compiled step (:func:`rangeguard.sim.kernels.rk4_step`, one vehicle, floats)
and the drag-corrected impact point (:mod:`rangeguard.iip.drag`, numpy arrays
of states). Each supplies its own derivative; these functions hold the
Butcher tableau (Hairer, Norsett & Wanner, *Solving Ordinary Differential
Equations I*, 2nd ed., 1993, sec. II.1, Table 1.2)::

    k1 = f(t, y)
    k2 = f(t + h/2, y + h/2 k1)
    k3 = f(t + h/2, y + h/2 k2)
    k4 = f(t + h,   y + h k3)
    y(t + h) = y + h/6 (k1 + 2 k2 + 2 k3 + k4)

They use arithmetic only, so the same source runs on numpy arrays and, as
numba kernels inlined into the caller (``*_nb``), on floats; the operation
order is fixed here, so both callers round alike.
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from rangeguard.jit import kernel

_Y = TypeVar("_Y", float, NDArray[np.float64])
"""A state: a float (one component, compiled) or an array of states (numpy)."""


def rk4_stage(y0: _Y, h: float | _Y, k: _Y) -> _Y:
    """The state at which a stage's derivative is taken: ``y0 + h k`` (h = h/2 for k2, k3; h for k4)."""
    return y0 + h * k


def rk4_combine(y0: _Y, h: float | _Y, k1: _Y, k2: _Y, k3: _Y, k4: _Y) -> _Y:
    """The state after the step: ``y0 + h/6 (k1 + 2 k2 + 2 k3 + k4)``."""
    return y0 + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


rk4_stage_nb = kernel(inline="always")(rk4_stage)
"""Scalar numba kernel of :func:`rk4_stage`."""

rk4_combine_nb = kernel(inline="always")(rk4_combine)
"""Scalar numba kernel of :func:`rk4_combine`."""

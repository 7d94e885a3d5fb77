"""The one decorator family for rangeguard's compiled flight kernels (numba).

Every kernel of the flight path (earth, iip, rules, engine) is compiled by
:func:`kernel`, so they share one set of options:

- ``cache=True``: compiled once per machine, loaded from disk afterwards;
- ``error_model="numpy"``: a division by zero or a domain error gives inf or
  NaN as numpy would, never a Python exception out of the compiled loop. The
  flight logic judges NaN explicitly (a row it cannot judge holds its
  history); an exception inside a cycle would be a failure of the AFSS
  (numba's default "python" model raises ZeroDivisionError, e.g. on a zero
  attitude quaternion).

Options particular to a kernel (``inline="always"``, ``parallel=True``,
``fastmath=False``) are passed through.
"""

from __future__ import annotations

from numba import njit


def kernel(**options):
    """numba's ``njit`` with the flight options (see the module docstring) plus ``options``."""
    return njit(cache=True, error_model="numpy", **options)

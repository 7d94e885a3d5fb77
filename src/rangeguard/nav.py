"""Navigation samples as the engine sees them: one row per vehicle.

A :class:`NavBatch` is one navigation sample from one nav source for each of
N vehicles (N = 1 onboard, N = 10 000 in a Monte Carlo run). Frames and units:

- ``t_s``: time of validity, seconds relative to the planned liftoff epoch
  (T+; negative before liftoff). Rule tables are indexed by this time.
- ``r_ecef`` (m) and ``v_ecef`` (m/s): WGS84 ECEF position and Earth-relative
  velocity.
- ``q_body_to_ecef``: attitude quaternion, scalar first ``(w, x, y, z)``,
  Hamilton convention, rotating body-frame vectors into ECEF. Body +x is the
  vehicle's longitudinal (thrust) axis. NaN where the source has no attitude.
- ``omega_body_rad_s``: body angular rates about body x, y, z (rad/s); NaN
  where unavailable.
- ``valid``: the source's own validity flag. Rows with non-finite time,
  position or velocity are forced invalid by :meth:`NavBatch.from_arrays`.
- ``source``: index of the nav source (into ``mission.nav_sources``).
- ``present``: which rows carry a sample at all (None: every row). A row
  that is not present is silence, not a bad sample: the engine skips it
  without counting it as rejected (a simulated link drops a packet for some
  vehicles of a batch and not others).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rangeguard.errors import InputError


def _rows(value, n: int, width: int, name: str, fill: float = np.nan) -> np.ndarray:
    if value is None:
        shape = (n,) if width == 0 else (n, width)
        return np.full(shape, fill, dtype=np.float64)
    arr = np.asarray(value, dtype=np.float64)
    want = (n,) if width == 0 else (n, width)
    if width and arr.shape == (width,):
        arr = np.broadcast_to(arr, want)
    elif width == 0 and arr.shape == ():
        arr = np.broadcast_to(arr, want)
    if arr.shape != want:
        raise InputError(f"{name} must have shape {want} (or {want[1:]} for one vehicle); got {arr.shape}")
    return np.ascontiguousarray(arr)


def usable_rows(valid, t_s: np.ndarray, r_ecef: np.ndarray, v_ecef: np.ndarray) -> np.ndarray:
    """(N,) bool: the source's flag, and a finite time, position and velocity (the rule every batch obeys)."""
    return valid & np.isfinite(t_s) & np.isfinite(r_ecef).all(axis=1) & np.isfinite(v_ecef).all(axis=1)


@dataclass(frozen=True, slots=True, eq=False)
class NavBatch:
    """One nav sample per vehicle from one source. See the module docstring."""

    t_s: np.ndarray
    r_ecef: np.ndarray
    v_ecef: np.ndarray
    q_body_to_ecef: np.ndarray
    omega_body_rad_s: np.ndarray
    valid: np.ndarray
    source: int = 0
    present: np.ndarray | None = None

    @classmethod
    def from_arrays(
        cls,
        t_s,
        r_ecef,
        v_ecef,
        q_body_to_ecef=None,
        omega_body_rad_s=None,
        valid=None,
        source: int = 0,
    ) -> NavBatch:
        """Build a batch, broadcasting single-vehicle inputs and checking shapes.

        Rows whose time, position or velocity are not finite are marked
        invalid (never an exception): bad data is an answer, not a crash.
        """
        r = np.asarray(r_ecef, dtype=np.float64)
        n = 1 if r.ndim == 1 else r.shape[0]
        r = _rows(r, n, 3, "r_ecef")
        v = _rows(v_ecef, n, 3, "v_ecef")
        t = _rows(t_s, n, 0, "t_s")
        q = _rows(q_body_to_ecef, n, 4, "q_body_to_ecef")
        w = _rows(omega_body_rad_s, n, 3, "omega_body_rad_s")
        if valid is None:
            ok = np.ones(n, dtype=bool)
        else:
            given = np.asarray(valid, dtype=bool)
            if given.shape not in ((), (n,)):
                raise InputError(f"valid must have shape ({n},); got {np.shape(valid)}")
            ok = np.broadcast_to(given, (n,)).copy()
        return cls(t, r, v, q, w, usable_rows(ok, t, r, v), int(source))

    @classmethod
    def single(
        cls, t_s: float, r_ecef, v_ecef, q_body_to_ecef, omega_body_rad_s, valid: bool, source: int = 0
    ) -> NavBatch:
        """One vehicle's sample from plain numbers (a decoded packet): :meth:`from_arrays` without
        the broadcasting, for the real-time path. Same rule: a non-finite time, position or
        velocity makes the row invalid."""
        r = np.array([r_ecef], dtype=np.float64)
        v = np.array([v_ecef], dtype=np.float64)
        t = np.array([t_s], dtype=np.float64)
        return cls(
            t,
            r,
            v,
            np.array([q_body_to_ecef], dtype=np.float64),
            np.array([omega_body_rad_s], dtype=np.float64),
            usable_rows(bool(valid), t, r, v),
            int(source),
        )

    @property
    def n(self) -> int:
        """Number of vehicles (rows)."""
        return self.t_s.shape[0]

    def take(self, index) -> NavBatch:
        """Rows ``index`` (an int array, slice or boolean mask) as a new batch."""
        return NavBatch(
            self.t_s[index], self.r_ecef[index], self.v_ecef[index], self.q_body_to_ecef[index],
            self.omega_body_rad_s[index], self.valid[index], self.source,
            None if self.present is None else self.present[index],
        )  # fmt: skip

    @staticmethod
    def concat(batches: list[NavBatch]) -> NavBatch:
        """Stack batches row-wise (the source of the first is kept)."""
        present = None
        if any(b.present is not None for b in batches):
            present = np.concatenate([np.ones(b.n, bool) if b.present is None else b.present for b in batches])
        return NavBatch(
            np.concatenate([b.t_s for b in batches]),
            np.concatenate([b.r_ecef for b in batches]),
            np.concatenate([b.v_ecef for b in batches]),
            np.concatenate([b.q_body_to_ecef for b in batches]),
            np.concatenate([b.omega_body_rad_s for b in batches]),
            np.concatenate([b.valid for b in batches]),
            batches[0].source,
            present,
        )

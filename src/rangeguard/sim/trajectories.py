"""Recorded trajectories, their Parquet form, and osculating orbit elements."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from rangeguard.constants import MU_EARTH_M3_S2, OMEGA_EARTH_RAD_S, WGS84_A_M
from rangeguard.errors import InputError

ORBIT_MIN_PERIGEE_KM = 100.0
"""Below this perigee altitude (km above the equatorial radius) a trajectory is suborbital."""


class OrbitElements(NamedTuple):
    """Osculating orbit: perigee and apogee altitudes above the WGS84 equatorial radius (km),
    inclination (deg). NaN for suborbital or escape trajectories."""

    perigee_km: np.ndarray
    apogee_km: np.ndarray
    inclination_deg: np.ndarray


def orbit_elements(r_ecef, v_ecef) -> OrbitElements:
    """Two-body (point-mass) osculating elements from ECEF position (m) and Earth-relative velocity (m/s).

    The inertial velocity is v_ecef + w x r (w the Earth's rotation) in the
    axes of the ECEF frame at that instant; the inclination does not depend
    on the node, so no sidereal time is needed. ``(3,)``/``(N, 3)`` in,
    ``()``/``(N,)`` out. Suborbital (perigee under 100 km) or hyperbolic: NaN.
    Vallado (2013), algorithm 9 (RV2COE).
    """
    r = np.asarray(r_ecef, dtype=np.float64)
    v = np.asarray(v_ecef, dtype=np.float64)
    if r.shape[-1:] != (3,) or v.shape != r.shape:
        raise InputError(f"r_ecef and v_ecef must both be (3,) or (N, 3); got {r.shape} and {v.shape}")
    w = np.array([0.0, 0.0, OMEGA_EARTH_RAD_S])
    with np.errstate(invalid="ignore", divide="ignore"):
        vi = v + np.cross(w, r)
        rn = np.linalg.norm(r, axis=-1)
        en = 0.5 * np.einsum("...i,...i->...", vi, vi) - MU_EARTH_M3_S2 / rn
        a = -MU_EARTH_M3_S2 / (2.0 * en)
        h = np.cross(r, vi)
        hn = np.linalg.norm(h, axis=-1)
        e = np.sqrt(np.maximum(0.0, 1.0 - hn**2 / (MU_EARTH_M3_S2 * a)))
        rp = (a * (1.0 - e) - WGS84_A_M) / 1e3
        ra = (a * (1.0 + e) - WGS84_A_M) / 1e3
        inc = np.degrees(np.arccos(np.clip(h[..., 2] / hn, -1.0, 1.0)))
        bad = ~((en < 0.0) & (rp >= ORBIT_MIN_PERIGEE_KM))
    rp = np.where(bad, np.nan, rp)
    ra = np.where(bad, np.nan, ra)
    inc = np.where(bad, np.nan, inc)
    return OrbitElements(rp[()], ra[()], inc[()])


@dataclass
class Trajectories:
    """Recorded flights of N vehicles at T common times.

    t_s (T,); r_ecef, v_ecef (N, T, 3) m, m/s (Earth-relative); mass_kg (N, T);
    q_body_to_ecef, q_cmd_body_to_ecef (N, T, 4); omega_body_rad_s (N, T, 3);
    stage (N, T) int; events: list of (vehicle, t_s, name); impact_t_s (N,)
    (NaN where no impact); terminated, in_orbit (N,) bool. Vehicles that
    impacted or reached orbit keep their final state in later samples.
    """

    t_s: np.ndarray
    r_ecef: np.ndarray
    v_ecef: np.ndarray
    mass_kg: np.ndarray
    q_body_to_ecef: np.ndarray
    omega_body_rad_s: np.ndarray
    q_cmd_body_to_ecef: np.ndarray
    stage: np.ndarray
    events: list = field(default_factory=list)
    impact_t_s: np.ndarray | None = None
    terminated: np.ndarray | None = None
    in_orbit: np.ndarray | None = None

    @property
    def n(self) -> int:
        """Number of vehicles."""
        return self.r_ecef.shape[0]

    @property
    def orbit(self) -> OrbitElements:
        """Osculating elements at the last sample, (N,) each; NaN where suborbital."""
        return orbit_elements(self.r_ecef[:, -1], self.v_ecef[:, -1])

    def orbit_dict(self, k: int = 0) -> dict | None:
        """Vehicle k's final orbit as {"perigee_km", "apogee_km", "inclination_deg"}, or None if suborbital."""
        el = self.orbit
        if not np.isfinite(el.perigee_km[k]):
            return None
        return {
            "perigee_km": float(el.perigee_km[k]),
            "apogee_km": float(el.apogee_km[k]),
            "inclination_deg": float(el.inclination_deg[k]),
        }

    def events_of(self, k: int) -> list[tuple[float, str]]:
        """Events of vehicle k as (t_s, name), in time order."""
        return [(t, name) for i, t, name in self.events if i == k]

    # ---------------------------------------------------------------- Parquet
    _VEC = {
        "r_ecef": ("x_ecef_m", "y_ecef_m", "z_ecef_m"),
        "v_ecef": ("vx_ecef_mps", "vy_ecef_mps", "vz_ecef_mps"),
        "q_body_to_ecef": ("qw", "qx", "qy", "qz"),
        "q_cmd_body_to_ecef": ("qcmd_w", "qcmd_x", "qcmd_y", "qcmd_z"),
        "omega_body_rad_s": ("p_rad_s", "q_rad_s", "r_rad_s"),
    }

    def to_parquet(self, path: str | os.PathLike) -> None:
        """Write long format (one row per vehicle and time, a ``vehicle`` column) with pyarrow.

        Events, impact times and flags go into the file's key-value metadata.
        """
        import pyarrow as pa
        import pyarrow.parquet as pq

        n, t = self.mass_kg.shape
        cols = {"vehicle": np.repeat(np.arange(n, dtype=np.int32), t), "t_s": np.tile(self.t_s, n)}
        for name, cnames in self._VEC.items():
            arr = getattr(self, name).reshape(n * t, -1)
            for j, c in enumerate(cnames):
                cols[c] = arr[:, j]
        cols["mass_kg"] = self.mass_kg.reshape(-1)
        cols["stage"] = self.stage.reshape(-1).astype(np.int16)
        table = pa.table(cols)
        meta = {
            "events": [[int(i), float(tt), str(nm)] for i, tt, nm in self.events],
            "impact_t_s": [
                None if not np.isfinite(x) else float(x)
                for x in (self.impact_t_s if self.impact_t_s is not None else np.full(n, np.nan))
            ],
            "terminated": [bool(x) for x in (self.terminated if self.terminated is not None else np.zeros(n, bool))],
            "in_orbit": [bool(x) for x in (self.in_orbit if self.in_orbit is not None else np.zeros(n, bool))],
        }
        table = table.replace_schema_metadata({"rangeguard.trajectories": json.dumps(meta)})
        pq.write_table(table, str(path))

    @classmethod
    def from_parquet(cls, path: str | os.PathLike) -> Trajectories:
        """Read a file written by :meth:`to_parquet`."""
        import pyarrow.parquet as pq

        table = pq.read_table(str(path))
        md = table.schema.metadata or {}
        raw = md.get(b"rangeguard.trajectories")
        if raw is None:
            raise InputError(f"{path}: not a rangeguard trajectories file (no 'rangeguard.trajectories' metadata)")
        meta = json.loads(raw)
        veh = table.column("vehicle").to_numpy()
        n = int(veh.max()) + 1 if veh.size else 0
        t = veh.size // max(n, 1)

        def col(c):
            return table.column(c).to_numpy().reshape(n, t)

        kw = {}
        for name, cnames in cls._VEC.items():
            kw[name] = np.stack([col(c) for c in cnames], axis=-1)
        return cls(
            t_s=col("t_s")[0].copy(),
            mass_kg=col("mass_kg"),
            stage=col("stage").astype(np.int64),
            events=[(int(i), float(tt), str(nm)) for i, tt, nm in meta["events"]],
            impact_t_s=np.array([np.nan if x is None else x for x in meta["impact_t_s"]], dtype=float),
            terminated=np.array(meta["terminated"], dtype=bool),
            in_orbit=np.array(meta["in_orbit"], dtype=bool),
            **kw,
        )

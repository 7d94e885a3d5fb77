"""Recorded trajectories, their Parquet form, and osculating orbit elements."""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from scipy.optimize import minimize_scalar

from rangeguard.constants import MU_EARTH_M3_S2, OMEGA_EARTH_RAD_S, WGS84_A_M
from rangeguard.earth import ecef_to_enu_matrix, ecef_to_geodetic, geodetic_to_ecef
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


# ---------------------------------------------------------------- one vehicle's recorded flight

THRUST_END_EVENTS = ("burnout", "guided_cutoff", "early_cutoff", "thrust_loss", "termination")
"""Events after which a burning stage no longer thrusts (the end of its burn, whatever the cause)."""

ELLIPSE_PROBABILITY = 0.95
"""Probability content of the impact-dispersion ellipse (a 2-D normal fitted to the impact points)."""


@dataclass
class EventState:
    """A vehicle's state at one of its events: t_s, event name, r_ecef (3,) m, v_ecef (3,) m/s
    (Earth-relative), mass_kg, stage (lowest attached stage, after the event)."""

    t_s: float
    name: str
    r_ecef: np.ndarray
    v_ecef: np.ndarray
    mass_kg: float
    stage: int


@dataclass
class VehicleRecord:
    """One vehicle's recorded flight (:func:`rangeguard.sim.api.record_flight`): samples t_s (T,),
    r_ecef, v_ecef (T, 3), mass_kg (T,) from liftoff, every record interval, ending with the stop
    (impact or orbit insertion) when ``stopped``; the exact state at each event in ``events``."""

    vehicle: int
    t_s: np.ndarray
    r_ecef: np.ndarray
    v_ecef: np.ndarray
    mass_kg: np.ndarray
    events: list[EventState]
    stopped: bool

    def event(self, name: str) -> EventState | None:
        """The first event called ``name``, or None."""
        return next((e for e in self.events if e.name == name), None)

    def burnouts(self) -> list[EventState]:
        """The end of each burn, in order: for every ignition the first thrust-ending event after it
        (:data:`THRUST_END_EVENTS`; a termination ends the burn it cuts)."""
        out: list[EventState] = []
        burning = False
        for e in self.events:
            if e.name == "ignition":
                burning = True
            elif burning and e.name in THRUST_END_EVENTS:
                out.append(e)
                burning = False
        return out

    def apogee(self) -> dict:
        """Highest geodetic height of the record: t_s, height_m, lat_deg, lon_deg.

        Between samples the position is the cubic Hermite interpolant of r_ecef with its
        derivative v_ecef (exact for a cubic; over a 1 s coast its error is millimetres), and
        the maximum of the height on the two intervals around the highest sample is found by
        scipy's bounded scalar minimiser (Brent's method, to 1 us).
        """
        h = ecef_to_geodetic(self.r_ecef)[2]
        j = int(np.argmax(h))
        lo, hi = max(j - 1, 0), min(j + 1, self.t_s.size - 1)
        a, b = float(self.t_s[lo]), float(self.t_s[hi])

        def height(t: float) -> float:
            return float(ecef_to_geodetic(self.position_at(t))[2])

        t_apo = float(self.t_s[j])
        if b > a:
            best = minimize_scalar(lambda t: -height(t), bounds=(a, b), method="bounded", options={"xatol": 1e-6})
            t_apo = float(best.x)
        if height(t_apo) < h[j]:  # the highest sample itself (an end of the record)
            t_apo = float(self.t_s[j])
        lat, lon, alt = ecef_to_geodetic(self.position_at(t_apo))
        return {"t_s": t_apo, "height_m": float(alt), "lat_deg": float(lat), "lon_deg": float(lon)}

    def position_at(self, t_s: float) -> np.ndarray:
        """r_ecef (3,) at ``t_s``: cubic Hermite between the samples around it (their v_ecef as slopes)."""
        t = self.t_s
        k = int(np.clip(np.searchsorted(t, t_s, side="right") - 1, 0, t.size - 2))
        hh = t[k + 1] - t[k]
        s = (t_s - t[k]) / hh
        h00, h10, h01, h11 = 2 * s**3 - 3 * s**2 + 1, s**3 - 2 * s**2 + s, -2 * s**3 + 3 * s**2, s**3 - s**2
        return (
            h00 * self.r_ecef[k] + h10 * hh * self.v_ecef[k] + h01 * self.r_ecef[k + 1] + h11 * hh * self.v_ecef[k + 1]
        )


def state_summary(r_ecef, v_ecef) -> dict:
    """Geodetic position (lat_deg, lon_deg, alt_m), Earth-relative speed (m/s) and flight-path angle
    (deg above the local geodetic horizontal) of one ECEF state."""
    r = np.asarray(r_ecef, dtype=np.float64)
    v = np.asarray(v_ecef, dtype=np.float64)
    lat, lon, alt = ecef_to_geodetic(r)
    up = ecef_to_enu_matrix(float(lat), float(lon))[2]
    speed = float(np.linalg.norm(v))
    fpa = math.degrees(math.asin(float(np.clip(up @ v / speed, -1.0, 1.0)))) if speed > 0 else 0.0
    return {
        "lat_deg": float(lat),
        "lon_deg": float(lon),
        "alt_m": float(alt),
        "speed_mps": speed,
        "flight_path_angle_deg": fpa,
    }


def impact_dispersion(lat_deg, lon_deg, probability: float = ELLIPSE_PROBABILITY) -> dict | None:
    """Mean, standard deviations and the ``probability`` ellipse of impact points (degrees).

    A 2-D normal is fitted to the points in the local east/north plane (metres, tangent
    to the WGS84 ellipsoid at the mean point): sample mean and covariance (n - 1). The
    ellipse {x : x^T C^-1 x <= k^2} holds ``probability`` of that normal with
    k^2 = -2 ln(1 - probability) (chi-square, 2 degrees of freedom; 5.99 for 95 %).
    Returns None for fewer than 3 finite points. ``outline_lat_deg``/``outline_lon_deg``
    trace the ellipse (73 points, closed) for a map.
    """
    lat = np.asarray(lat_deg, dtype=np.float64)
    lon = np.asarray(lon_deg, dtype=np.float64)
    ok = np.isfinite(lat) & np.isfinite(lon)
    if ok.sum() < 3:
        return None
    lat, lon = lat[ok], lon[ok]
    r = geodetic_to_ecef(lat, lon, np.zeros_like(lat))
    lat0, lon0, _ = ecef_to_geodetic(r.mean(axis=0))
    r0 = geodetic_to_ecef(float(lat0), float(lon0), 0.0)
    enu = ecef_to_enu_matrix(float(lat0), float(lon0))
    en = (r - r0) @ enu[:2].T  # (n, 2) east, north, m
    mean = en.mean(axis=0)
    cov = np.cov(en, rowvar=False)
    w, vec = np.linalg.eigh(cov)
    k2 = -2.0 * math.log(1.0 - probability)
    semi = np.sqrt(np.maximum(w, 0.0) * k2)  # minor, major
    major = vec[:, 1]
    az = math.degrees(math.atan2(major[0], major[1])) % 180.0
    ang = np.linspace(0.0, 2.0 * math.pi, 73)
    pts = mean + np.outer(np.cos(ang), semi[1] * vec[:, 1]) + np.outer(np.sin(ang), semi[0] * vec[:, 0])
    o_lat, o_lon, _ = ecef_to_geodetic(r0 + pts @ enu[:2])
    c_lat, c_lon, _ = ecef_to_geodetic(r0 + mean @ enu[:2])
    return {
        "n": int(lat.size),
        "mean_lat_deg": float(c_lat),
        "mean_lon_deg": float(c_lon),
        "std_east_m": float(math.sqrt(cov[0, 0])),
        "std_north_m": float(math.sqrt(cov[1, 1])),
        "correlation": float(cov[0, 1] / math.sqrt(cov[0, 0] * cov[1, 1])) if cov[0, 0] * cov[1, 1] > 0 else 0.0,
        "ellipse": {
            "probability": probability,
            "fit": "2-D normal (sample mean and covariance) in the local east/north plane",
            "semi_major_m": float(semi[1]),
            "semi_minor_m": float(semi[0]),
            "major_axis_azimuth_deg": az,
            "outline_lat_deg": [float(x) for x in o_lat],
            "outline_lon_deg": [float(x) for x in o_lon],
        },
    }

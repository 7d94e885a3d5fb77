"""Nav-side failure injection: what each nav fault does to a source's output.

The specs live in :mod:`rangeguard.mission.sensors` (``NavFaultSpec``). This
module compiles a list of them against the mission's nav source and AFTS
string names (:class:`NavFaults`) and answers, for one source and one time of
validity, the questions :class:`rangeguard.sim.sensors.SensorModel` asks:

- is the source in a GPS dropout window (all samples invalid)?
- by how much is its noise multiplied (``noise_increase``)?
- what position offset (``position_jump``, ``position_bias``) is added, in ECEF?
- is its output frozen, and is the time tag frozen too?
- with what probability is its sample missing (``nav_silence`` on the
  source, ``link_outage`` on every source; 1 inside a total silence)?

and, for the strings, which have declared themselves faulty by a given time.
Windows are half-open ``[from, to)`` in flight time (T+ seconds). Every vehicle
of a batch gets the same faults (they are scenario events, not dispersions);
only which samples an intermittent silence drops is drawn per vehicle (by the
sensor model).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import cast

import numpy as np

from rangeguard.earth.geodesy import ecef_to_enu_matrix, ecef_to_geodetic
from rangeguard.errors import InputError
from rangeguard.mission.sensors import (
    NAV_FAULT_ADAPTER,
    FrozenOutputFault,
    GpsDropoutFault,
    LinkOutageFault,
    NavSilenceFault,
    NoiseIncreaseFault,
    PositionBiasFault,
    PositionJumpFault,
    StringFault,
    check_nav_fault_names,
)

# Named directions as (row of the ECEF->ENU matrix, sign); velocity directions separately.
_ENU_AXIS = {
    "east": (0, 1.0),
    "west": (0, -1.0),
    "north": (1, 1.0),
    "south": (1, -1.0),
    "up": (2, 1.0),
    "down": (2, -1.0),
}


def _enu_rows(r_ecef: np.ndarray) -> np.ndarray:
    """(N, 3, 3) ECEF->ENU matrices at the geodetic position of each row (NaN rows give NaN)."""
    with np.errstate(invalid="ignore"):
        lat_deg, lon_deg, _ = ecef_to_geodetic(r_ecef)
    return ecef_to_enu_matrix(np.atleast_1d(lat_deg), np.atleast_1d(lon_deg))


def offset_ecef(fault: PositionJumpFault | PositionBiasFault, r_ecef: np.ndarray, v_ecef: np.ndarray) -> np.ndarray:
    """The position offset of ``fault`` in ECEF, m, shape ``(N, 3)``.

    ``r_ecef`` and ``v_ecef`` (N, 3) are the vehicles' true position and
    Earth-relative velocity, which fix the local ENU axes (WGS84 geodetic
    normal at the position) and the velocity direction. Where the velocity is
    zero, a velocity-direction offset is zero (its direction is undefined);
    NaN truth gives a NaN offset.
    """
    r = np.asarray(r_ecef, dtype=np.float64).reshape(-1, 3)
    v = np.asarray(v_ecef, dtype=np.float64).reshape(-1, 3)
    if fault.offset_m is not None:
        vec = np.asarray(fault.offset_m, dtype=np.float64)
        if fault.frame == "ecef":
            return np.broadcast_to(vec, r.shape).copy()
        return np.einsum("i,nij->nj", vec, _enu_rows(r))
    direction, magnitude = fault.direction, float(cast(float, fault.magnitude_m))  # required with a direction
    if direction in _ENU_AXIS:
        row, sign = _ENU_AXIS[direction]
        return sign * magnitude * _enu_rows(r)[:, row, :]
    speed = np.linalg.norm(v, axis=1, keepdims=True)
    sign = 1.0 if direction == "along_velocity" else -1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        unit = np.where(speed > 0.0, v / speed, 0.0)
    return sign * magnitude * unit


class NavFaults:
    """Nav faults compiled against the source and string names of a mission.

    ``faults`` are ``NavFaultSpec`` models (or dicts, validated here). A
    fault naming an unknown source or string raises :class:`InputError`
    listing the allowed names.
    """

    def __init__(self, faults: Iterable, sources: Sequence[str], strings: Sequence[str]):
        parsed = []
        for i, f in enumerate(faults):
            if isinstance(f, dict):
                try:
                    f = NAV_FAULT_ADAPTER.validate_python(f)
                except ValueError as exc:
                    raise InputError(f"nav fault {i} is not valid: {exc}") from exc
            parsed.append(f)
        self.sources = list(sources)
        self.strings = list(strings)
        try:
            check_nav_fault_names(parsed, self.sources, self.strings)
        except ValueError as exc:
            raise InputError(str(exc)) from exc
        self.faults = tuple(parsed)
        self._by_source: list[list] = [[] for _ in self.sources]
        self._string_fault_t_s = np.full(len(self.strings), np.inf)
        self._outages: list[LinkOutageFault] = []
        for f in parsed:
            if isinstance(f, StringFault):
                k = self.strings.index(f.string)
                self._string_fault_t_s[k] = min(self._string_fault_t_s[k], f.at_t_s)
            elif isinstance(f, LinkOutageFault):
                self._outages.append(f)  # every source
            else:
                self._by_source[self.sources.index(f.source)].append(f)
        # What silences each source: its own nav_silence faults and every link_outage.
        self._silences = [[f for f in fs if isinstance(f, NavSilenceFault)] + self._outages for fs in self._by_source]

    def has_faults(self, source: int) -> bool:
        """True if any fault acts on source index ``source``."""
        return bool(self._by_source[source])

    def has_frozen(self, source: int) -> bool:
        """True if a frozen_output fault acts on source index ``source``."""
        return any(isinstance(f, FrozenOutputFault) for f in self._by_source[source])

    def dropped(self, source: int, t_s: float) -> bool:
        """True if source ``source`` is in a gps_dropout window at time of validity ``t_s``."""
        return any(isinstance(f, GpsDropoutFault) and f.from_t_s <= t_s < f.to_t_s for f in self._by_source[source])

    def has_intermittent_silence(self, source: int) -> bool:
        """True if a nav_silence or link_outage with missing_probability below 1 can act on the source
        (its samples are then missing at random, one uniform draw per sample and vehicle)."""
        return any(f.missing_probability < 1.0 for f in self._silences[source])

    def missing_probability(self, source: int, t_s: float) -> float:
        """Probability that the source's sample of time of validity ``t_s`` is missing.

        The active silences (nav_silence of the source, every link_outage) act
        independently: ``1 - prod(1 - p)`` over them, 0.0 when none is active
        and exactly 1.0 inside a total silence (nothing arrives).
        """
        keep = 1.0
        for f in self._silences[source]:
            if f.from_t_s <= t_s < f.to_t_s:
                keep *= 1.0 - f.missing_probability
        return 1.0 - keep

    def noise_factor(self, source: int, t_s: float) -> float:
        """Product of the active noise_increase factors (1.0 when none)."""
        factor = 1.0
        for f in self._by_source[source]:
            if isinstance(f, NoiseIncreaseFault) and f.from_t_s <= t_s < f.to_t_s:
                factor *= f.factor
        return factor

    def frozen(self, source: int, t_s: float) -> FrozenOutputFault | None:
        """The active frozen_output fault of the source (the earliest-starting one), or None."""
        active = [
            f for f in self._by_source[source] if isinstance(f, FrozenOutputFault) and f.from_t_s <= t_s < f.to_t_s
        ]
        return min(active, key=lambda f: f.from_t_s) if active else None

    def position_offset(self, source: int, t_s: float, r_ecef: np.ndarray, v_ecef: np.ndarray) -> np.ndarray | None:
        """Sum of the active position offsets in ECEF (N, 3), m, or None when none is active."""
        total = None
        for f in self._by_source[source]:
            if isinstance(f, PositionJumpFault):
                end = np.inf if f.duration_s is None else f.at_t_s + f.duration_s
                active = f.at_t_s <= t_s < end
            elif isinstance(f, PositionBiasFault):
                active = f.from_t_s <= t_s < f.to_t_s
            else:
                continue
            if active:
                d = offset_ecef(f, r_ecef, v_ecef)
                total = d if total is None else total + d
        return total

    def string_healthy(self, t_s: float) -> np.ndarray:
        """(n_strings,) bool: False for each string that has declared itself faulty by ``t_s`` (latched)."""
        return ~(self._string_fault_t_s <= t_s)

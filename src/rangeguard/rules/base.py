"""What every rule shares: the evaluation context and the Rule base class.

The engine evaluates all rules on M rows at once, one row per (vehicle, AFTS
string): each string reads its own nav source, so the same vehicle can see
two slightly different states. A rule is pure: it gets the context and its
own per-row memory and returns (violated, margin, new memory). The margin is
the signed distance to the rule's limit in the rule's unit, negative when
violated; rows where the rule cannot be judged (no valid nav) return
``violated = False`` and ``margin = NaN`` and the engine holds their history.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from rangeguard.earth.geodesy import ecef_to_enu_matrix, geodetic_to_ecef
from rangeguard.mission.rules_spec import rule_unit
from rangeguard.nav import NavBatch


@dataclass(frozen=True)
class Site:
    """The launch site, precomputed for the rules (pad position, ENU axes, azimuth)."""

    lat_deg: float
    lon_deg: float
    alt_m: float
    azimuth_deg: float
    r_ecef: np.ndarray = field(repr=False)
    enu_from_ecef: np.ndarray = field(repr=False)
    downrange_enu: np.ndarray = field(repr=False)
    crossrange_enu: np.ndarray = field(repr=False)
    down_cross_ecef: np.ndarray = field(init=False, repr=False)
    """(2, 3): the downrange and crossrange unit vectors in ECEF (rows)."""
    pad_vec: np.ndarray = field(init=False, repr=False)
    """(5,): pad ECEF position (m), then its latitude and longitude (rad), as compiled kernels take it."""

    def __post_init__(self):
        axes = np.ascontiguousarray(np.stack([self.downrange_enu, self.crossrange_enu]) @ self.enu_from_ecef)
        pad = np.array([*self.r_ecef, math.radians(self.lat_deg), math.radians(self.lon_deg)])
        object.__setattr__(self, "down_cross_ecef", axes)
        object.__setattr__(self, "pad_vec", pad)

    @classmethod
    def from_spec(cls, spec) -> Site:
        az = np.radians(spec.launch_azimuth_deg)
        down = np.array([np.sin(az), np.cos(az), 0.0])
        cross = np.array([np.cos(az), -np.sin(az), 0.0])  # right of the flight direction
        return cls(
            spec.lat_deg, spec.lon_deg, spec.alt_m, spec.launch_azimuth_deg,
            geodetic_to_ecef(spec.lat_deg, spec.lon_deg, spec.alt_m),
            ecef_to_enu_matrix(spec.lat_deg, spec.lon_deg),
            down, cross,
        )


@dataclass
class RuleContext:
    """Everything a rule may read for one engine cycle; arrays have M rows.

    ``nav`` is each row's latest valid sample; ``ok`` marks rows that have
    one. Present position (``lat_deg``, ``lon_deg``, ``h_m``) and the vacuum
    IIP (``iip_*``, NaN where there is no impact) are computed once per cycle
    by the engine. ``since_valid_s`` is receive time minus the receive time of
    the row's last valid sample (inf if none yet). ``source_navs`` holds the
    latest valid sample of every nav source for every vehicle (N rows each),
    with ``source_t_s`` (S, N) their data times; ``vehicle`` maps rows to
    vehicles. ``cache`` holds derived quantities shared between rules.
    """

    nav: NavBatch
    ok: np.ndarray
    t_s: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    h_m: np.ndarray
    iip_lat_deg: np.ndarray
    iip_lon_deg: np.ndarray
    iip_tof_s: np.ndarray
    since_valid_s: np.ndarray
    receive_time_s: float
    vehicle: np.ndarray
    source_navs: list[NavBatch]
    source_t_s: np.ndarray
    site: Site
    source_index: dict[str, int]
    flight_time_s: np.ndarray | None = None
    """(M,) best estimate of the current flight time per row: the row's sample time plus the
    receive time elapsed since it arrived, or the vehicle's time for rows without a sample."""
    cache: dict[str, np.ndarray] = field(default_factory=dict)


class RuleOutput(NamedTuple):
    violated: np.ndarray
    margin: np.ndarray
    memory: Any


class Rule:
    """Base class: a rule built from its mission spec. Subclasses implement ``evaluate``."""

    stateful = False
    clock = "data"
    """Time base for persistence: "data" (nav time of validity) or "receive" (data-loss rules)."""

    def __init__(self, spec, mission):
        self.spec = spec
        self.name: str = spec.name
        self.type: str = spec.type
        self.unit: str = rule_unit(spec)

    def initial_memory(self, m: int):
        """Per-row memory for stateful rules (None for stateless ones)."""
        return None

    def evaluate(self, ctx: RuleContext, memory) -> RuleOutput:  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self, margin: float) -> str:
        """A readable sentence for a violation with this margin."""
        return f"{self.type} rule '{self.name}' margin {margin:.6g} {self.unit}"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def table_array(values) -> np.ndarray:
    """A limit list from the mission (None = no limit) as floats with NaN for None."""
    if values is None:
        return None
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)

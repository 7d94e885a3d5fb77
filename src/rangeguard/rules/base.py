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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rangeguard.earth.geodesy import ecef_to_enu_matrix, geodetic_to_ecef
from rangeguard.rules import kinematics
from rangeguard.rules._program_kernels import Rows
from rangeguard.rules.kinematics import Kinematics
from rangeguard.rules.program import Entry, evaluate_alone, kernel_id

if TYPE_CHECKING:
    from rangeguard.earth.polygon import GreatCirclePolygon
    from rangeguard.mission.model import Mission
    from rangeguard.mission.rule_types import RuleType
    from rangeguard.mission.site import SiteSpec


@dataclass(frozen=True)
class Site:
    """The launch site, precomputed for the rules (pad position, ENU axes, azimuth)."""

    lat_deg: float
    lon_deg: float
    alt_m: float
    azimuth_deg: float
    r_ecef: NDArray[np.float64] = field(repr=False)
    enu_from_ecef: NDArray[np.float64] = field(repr=False)
    downrange_enu: NDArray[np.float64] = field(repr=False)
    crossrange_enu: NDArray[np.float64] = field(repr=False)
    ground_height_m: float = 0.0
    """Geodetic height of the ground the IIP lands on, m (the mission's ``site.impact_height_m``)."""
    down_cross_ecef: NDArray[np.float64] = field(init=False, repr=False)
    """(2, 3): the downrange and crossrange unit vectors in ECEF (rows)."""
    pad_vec: NDArray[np.float64] = field(init=False, repr=False)
    """(6,): pad ECEF position (m), its latitude and longitude (rad), then the ground height (m), as compiled
    kernels take it."""

    def __post_init__(self) -> None:
        axes = np.ascontiguousarray(np.stack([self.downrange_enu, self.crossrange_enu]) @ self.enu_from_ecef)
        pad = np.array(
            [*self.r_ecef, math.radians(self.lat_deg), math.radians(self.lon_deg), float(self.ground_height_m)]
        )
        object.__setattr__(self, "down_cross_ecef", axes)
        object.__setattr__(self, "pad_vec", pad)

    @classmethod
    def from_spec(cls, spec: SiteSpec) -> Site:
        az = np.radians(spec.launch_azimuth_deg)
        down = np.array([np.sin(az), np.cos(az), 0.0])
        cross = np.array([np.cos(az), -np.sin(az), 0.0])  # right of the flight direction
        return cls(
            spec.lat_deg,
            spec.lon_deg,
            spec.alt_m,
            spec.launch_azimuth_deg,
            geodetic_to_ecef(spec.lat_deg, spec.lon_deg, spec.alt_m),
            ecef_to_enu_matrix(spec.lat_deg, spec.lon_deg),
            down,
            cross,
            spec.impact_height_m,
        )


@dataclass(frozen=True, eq=False)
class RuleContext:
    """Everything a rule may read for one engine cycle; arrays have M rows (vehicle x string,
    string-major: row ``s * N + i`` is string s of vehicle i).

    Each row holds its string's latest valid sample; ``ok`` marks rows that have one
    (``t_s`` is NaN elsewhere). ``kin`` holds the row kinematics computed once per cycle
    (present position, vacuum IIP, the derived quantities and the polygon kernels' unit
    vectors; :mod:`rangeguard.rules.kinematics`). ``since_valid_s`` is the receive time
    minus the receive time of the row's last valid sample (inf if none yet);
    ``flight_time_s`` the best estimate of the current flight time (the sample time plus
    that, or the vehicle's time for rows without a sample). ``source_*`` hold every nav
    source's latest valid sample per vehicle, (S, N, ...), with NaN times where a source
    has none. Build one with :func:`rule_context`.
    """

    site: Site
    kin: Kinematics
    ok: NDArray[np.bool_]
    t_s: NDArray[np.float64]
    since_valid_s: NDArray[np.float64]
    flight_time_s: NDArray[np.float64]
    q_body_to_ecef: NDArray[np.float64]
    omega_body_rad_s: NDArray[np.float64]
    source_t_s: NDArray[np.float64]
    source_r_ecef: NDArray[np.float64]
    source_v_ecef: NDArray[np.float64]

    @property
    def lat_deg(self) -> NDArray[np.float64]:
        return self.kin.table[:, kinematics.LAT]

    @property
    def lon_deg(self) -> NDArray[np.float64]:
        return self.kin.table[:, kinematics.LON]

    @property
    def h_m(self) -> NDArray[np.float64]:
        return self.kin.table[:, kinematics.H]

    @property
    def iip_lat_deg(self) -> NDArray[np.float64]:
        return self.kin.table[:, kinematics.IIP_LAT]

    @property
    def iip_lon_deg(self) -> NDArray[np.float64]:
        return self.kin.table[:, kinematics.IIP_LON]

    @property
    def iip_tof_s(self) -> NDArray[np.float64]:
        return self.kin.table[:, kinematics.IIP_TOF]

    def rows(self) -> Rows:
        """The compiled rule pass's view of this context."""
        return Rows(
            self.kin.table, self.kin.pos_unit, self.kin.iip_unit, self.ok, self.t_s, self.flight_time_s,
            self.since_valid_s, self.q_body_to_ecef, self.omega_body_rad_s, self.source_t_s, self.source_r_ecef,
            self.source_v_ecef,
        )  # fmt: skip


def rule_context(
    site: Site,
    t_s: ArrayLike,
    r_ecef: ArrayLike,
    v_ecef: ArrayLike,
    q_body_to_ecef: ArrayLike,
    omega_body_rad_s: ArrayLike,
    ok: ArrayLike,
    since_valid_s: ArrayLike,
    *,
    flight_time_s: ArrayLike | None = None,
    source_t_s: ArrayLike | None = None,
    source_r_ecef: ArrayLike | None = None,
    source_v_ecef: ArrayLike | None = None,
    need_iip_range: bool = True,
) -> RuleContext:
    """The context of M rows: their samples (``ok`` marks valid ones), each row's time since its
    last valid sample, and the nav sources' latest samples (S, N, ...; by default the rows
    themselves are the one source, N = M). ``flight_time_s`` defaults to ``t_s +
    since_valid_s``. The kinematics are computed here, in one compiled pass;
    ``need_iip_range=False`` leaves the costly IIP-range column NaN when nothing reads it.
    """
    f64 = np.float64
    ok = np.ascontiguousarray(ok, dtype=np.bool_)
    t_s = np.ascontiguousarray(np.where(ok, t_s, np.nan), dtype=f64)
    since_valid_s = np.ascontiguousarray(since_valid_s, dtype=f64)
    if flight_time_s is None:
        with np.errstate(invalid="ignore"):
            flight_time_s = t_s + since_valid_s
    r_ecef = np.ascontiguousarray(r_ecef, dtype=f64)
    v_ecef = np.ascontiguousarray(v_ecef, dtype=f64)
    if source_t_s is None:
        source_t_s, source_r_ecef, source_v_ecef = t_s[None], r_ecef[None], v_ecef[None]
    return RuleContext(
        site=site,
        kin=kinematics.kinematics(r_ecef, v_ecef, site, need_iip_range),
        ok=ok,
        t_s=t_s,
        since_valid_s=since_valid_s,
        flight_time_s=np.ascontiguousarray(flight_time_s, dtype=f64),
        q_body_to_ecef=np.ascontiguousarray(q_body_to_ecef, dtype=f64),
        omega_body_rad_s=np.ascontiguousarray(omega_body_rad_s, dtype=f64),
        source_t_s=np.ascontiguousarray(source_t_s, dtype=f64),
        source_r_ecef=np.ascontiguousarray(source_r_ecef, dtype=f64),
        source_v_ecef=np.ascontiguousarray(source_v_ecef, dtype=f64),
    )


class RuleOutput(NamedTuple):
    violated: NDArray[np.bool_]
    margin: NDArray[np.float64]
    memory: Any


class Rule:
    """One enabled rule of a mission, ready for the engine.

    The rule's type (:mod:`rangeguard.mission.rule_types`) says everything about it: its unit,
    default action, clock, its kernel in the compiled pass and how it packs for it. The engine
    evaluates all packed rules in one compiled pass (:mod:`rangeguard.rules.program`); :meth:`evaluate`
    runs the same pass on this rule alone. A type whose kernel is not the compiled pass's (the
    stateful gate) has a subclass here that evaluates itself (``kind = None``).
    """

    stateful = False

    def __init__(self, spec: RuleType, mission: Mission, polygons: Mapping[str, GreatCirclePolygon]) -> None:
        """``polygons``: the mission's area polygons by name (:func:`rangeguard.rules.boundary.area_polygons`)."""
        self.spec = spec
        self.name: str = spec.name
        self.type: str = spec.type_name()
        self.unit: str = spec.margin_unit()
        self.clock: str = spec.clock
        """Time base for persistence: "data" (nav time of validity) or "receive" (data-loss rules)."""
        self.action: str = spec.effective_action
        self.kind: int | None = None if self.stateful else kernel_id(spec.kernel)
        """The compiled pass's kind (``_program_kernels.KIND_*``), or None: the rule evaluates itself."""
        self.polygons = polygons
        self.source_names = tuple(s.name for s in mission.nav_sources)
        self._mission = mission

    def initial_memory(self, m: int) -> NDArray[np.float64] | None:
        """Per-row memory for stateful rules (None for stateless ones)."""
        return None

    def pack(self, entry: Entry) -> None:
        """Write this rule's parameters into its :class:`~rangeguard.rules.program.Entry`."""
        self.spec.pack(entry, self._mission)

    def evaluate(self, ctx: RuleContext, memory: Any) -> RuleOutput:
        """(violated, margin, new memory) on every row of ``ctx``: the compiled pass on this rule alone."""
        return RuleOutput(*evaluate_alone(self, ctx), None)

    def describe(self, margin: float) -> str:
        """A readable sentence for a violation with this margin."""
        return self.spec.describe(margin, self._mission)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.type} {self.name!r}>"

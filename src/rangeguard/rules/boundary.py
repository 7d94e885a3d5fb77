"""Boundary rules: the IIP or the present position against areas, and gates.

Areas are :class:`~rangeguard.earth.polygon.GreatCirclePolygon` objects:
edges are great-circle arcs, distances are metres along the Earth's surface,
positive inside.
"""

from __future__ import annotations

import functools

import numpy as np

from rangeguard.constants import WGS84_A_M, WGS84_B_M
from rangeguard.earth.polygon import GreatCirclePolygon, unit_vectors
from rangeguard.rules import _kernels
from rangeguard.rules import _program_kernels as pk
from rangeguard.rules.base import Rule, RuleContext, RuleOutput


def area_polygons(mission) -> dict[str, GreatCirclePolygon]:
    """The polygon of every area of ``mission``, by name (built once per outline and process)."""
    return {name: _polygon(name, tuple(lat), tuple(lon)) for name, (lat, lon) in mission.outlines.items()}


@functools.lru_cache(maxsize=64)
def _polygon(name: str, lat_deg: tuple[float, ...], lon_deg: tuple[float, ...]) -> GreatCirclePolygon:
    """Polygons are immutable and their grid and edge tree cost milliseconds to seconds to build
    (coastlines of thousands of vertices): a Monte Carlo run's engines share them."""
    return GreatCirclePolygon(list(lat_deg), list(lon_deg), name=name)


def _mode(spec, mission) -> str:
    if spec.mode is not None:
        return spec.mode
    return "exclusion" if mission.area(spec.area).kind == "protected" else "inclusion"


class IipPolygonRule(Rule):
    """IIP inside a protected area (exclusion) or outside a corridor (inclusion). Margin: m.

    Without an IIP (orbit) the margin is NaN and the rule passes, or violates where the mission
    says ``no_impact: violate``.
    """

    kind = pk.KIND_IIP_POLYGON

    def __init__(self, spec, mission, polygons):
        super().__init__(spec, mission, polygons)
        self.polygon = polygons[spec.area]
        self.exclusion = _mode(spec, mission) == "exclusion"
        self.violate_without_iip = spec.no_impact == "violate"

    def pack(self, entry) -> None:
        entry.set(col=entry.polygon(self.polygon), flag_a=self.exclusion, flag_b=self.violate_without_iip)

    def describe(self, margin: float) -> str:
        where = "inside protected area" if self.exclusion else "outside corridor"
        return f"IIP {where} '{self.spec.area}' by {-margin / 1e3:.3f} km"


class PositionPolygonRule(Rule):
    """Present position against a prism (area x altitude band). Margin: m.

    Signed distance to the prism: min(horizontal distance inside the
    outline, height above the bottom, depth below the top); positive inside.
    """

    kind = pk.KIND_POSITION_POLYGON

    def __init__(self, spec, mission, polygons):
        super().__init__(spec, mission, polygons)
        self.polygon = polygons[spec.area]
        self.exclusion = _mode(spec, mission) == "exclusion"
        self.alt_min_m = spec.alt_min_m
        self.alt_max_m = spec.alt_max_m

    def pack(self, entry) -> None:
        entry.set(col=entry.polygon(self.polygon), flag_a=self.exclusion, low=self.alt_min_m, high=self.alt_max_m)

    def describe(self, margin: float) -> str:
        where = "inside keep-out volume" if self.exclusion else "outside its corridor volume"
        return f"vehicle {where} '{self.spec.area}' by {-margin / 1e3:.3f} km"


class GateRule(Rule):
    """The IIP must cross a gate line (a great-circle segment) within its time window. Margin: m.

    Before the crossing the margin is the along-gate distance of the IIP's
    foot on the gate's great circle from the nearer end (negative beyond the
    ends); at the crossing it is frozen. Violations latch in the rule's
    memory: a crossing beyond the ends or before ``open_t_s``, or no crossing
    by ``close_t_s`` (then the margin is minus the IIP's distance short of the
    gate line).
    """

    stateful = True

    def __init__(self, spec, mission, polygons):
        super().__init__(spec, mission, polygons)
        a = unit_vectors(spec.start_lat_deg, spec.start_lon_deg)
        b = unit_vectors(spec.end_lat_deg, spec.end_lon_deg)
        n = np.cross(a, b)
        self.normal = n / np.linalg.norm(n)
        self.a = a
        self.in_plane = np.cross(self.normal, a)  # completes (a, in_plane) as a basis of the gate's plane
        self.length_rad = float(np.arctan2(np.linalg.norm(np.cross(a, b)), a @ b))
        mid = (a + b) / np.linalg.norm(a + b)
        # geocentric radius of the ellipsoid in the direction of the gate's midpoint
        self.radius_m = float(1.0 / np.sqrt((mid[0] ** 2 + mid[1] ** 2) / WGS84_A_M**2 + mid[2] ** 2 / WGS84_B_M**2))
        self.open_t_s = spec.open_t_s
        self.close_t_s = spec.close_t_s

    def initial_memory(self, m: int):
        mem = np.zeros((m, 4))
        return mem

    def evaluate(self, ctx: RuleContext, memory) -> RuleOutput:
        u = ctx.kin.iip_unit
        m_rows = u.shape[0]
        mem = np.empty((m_rows, 4))
        failed = np.empty(m_rows, bool)
        margin = np.empty(m_rows)
        args = (
            np.ascontiguousarray(u, dtype=np.float64),
            np.ascontiguousarray(ctx.ok, dtype=bool),
            np.ascontiguousarray(ctx.t_s, dtype=np.float64),
            np.ascontiguousarray(memory, dtype=np.float64),
            self.normal,
            self.in_plane,
            self.a,
            self.length_rad,
            self.radius_m,
            self.open_t_s,
            self.close_t_s,
            mem,
            failed,
            margin,
        )
        _kernels.gate_rows(m_rows, *args)
        return RuleOutput(failed, margin, mem)

    def describe(self, margin: float) -> str:
        window = f"T+{self.open_t_s:g}..{self.close_t_s:g} s"
        return f"IIP missed gate '{self.name}' (window {window}; margin {margin / 1e3:.3f} km)"

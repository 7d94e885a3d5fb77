"""The mission's area polygons, and the gate (the one rule type that evaluates itself).

Areas are :class:`~rangeguard.earth.polygon.GreatCirclePolygon` objects:
edges are great-circle arcs, distances are metres along the Earth's surface,
positive inside. The polygon rule types (:mod:`rangeguard.mission.rule_types.boundary`)
are judged by the compiled pass.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from rangeguard.constants import WGS84_A_M, WGS84_B_M
from rangeguard.earth.polygon import GreatCirclePolygon, unit_vectors
from rangeguard.mission.rule_types.boundary import GateRule as GateSpec
from rangeguard.rules import _kernels
from rangeguard.rules.base import Rule, RuleContext, RuleOutput

if TYPE_CHECKING:
    from rangeguard.mission.model import Mission
    from rangeguard.mission.rule_types import RuleType


def area_polygons(mission: Mission) -> dict[str, GreatCirclePolygon]:
    """The polygon of every area of ``mission``, by name (built once per outline and process)."""
    return {name: _polygon(name, tuple(lat), tuple(lon)) for name, (lat, lon) in mission.outlines.items()}


@functools.lru_cache(maxsize=64)
def _polygon(name: str, lat_deg: tuple[float, ...], lon_deg: tuple[float, ...]) -> GreatCirclePolygon:
    """Polygons are immutable and their grid and edge tree cost milliseconds to seconds to build
    (coastlines of thousands of vertices): a Monte Carlo run's engines share them."""
    return GreatCirclePolygon(list(lat_deg), list(lon_deg), name=name)


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

    def __init__(self, spec: RuleType, mission: Mission, polygons: Mapping[str, GreatCirclePolygon]) -> None:
        super().__init__(spec, mission, polygons)
        assert isinstance(spec, GateSpec)  # build_rules: the gate kernel's rules are gates
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

    def initial_memory(self, m: int) -> NDArray[np.float64]:
        return np.zeros((m, 4))

    def evaluate(self, ctx: RuleContext, memory: Any) -> RuleOutput:
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

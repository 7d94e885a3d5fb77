"""The rules of a mission, ready for the engine. Each evaluates M rows (vehicle x string) to (violated, margin).

The rule types themselves (schema, unit, default action, kernel, packing) are
:mod:`rangeguard.mission.rule_types`; :func:`build_rules` turns a mission's enabled rules into
:class:`Rule` objects, in file order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from rangeguard.rules.base import Rule, RuleContext, RuleOutput, Site
from rangeguard.rules.boundary import GateRule, area_polygons

if TYPE_CHECKING:
    from rangeguard.earth.polygon import GreatCirclePolygon
    from rangeguard.mission.model import Mission

EVALUATES_ITSELF: dict[str, type[Rule]] = {"gate": GateRule}
"""Kernels that are not the compiled pass's, by name: the rule class that evaluates them."""


def build_rules(mission: Mission, polygons: Mapping[str, GreatCirclePolygon] | None = None) -> list[Rule]:
    """Rule objects for every enabled rule of ``mission``, in file order; ``polygons`` are the
    mission's area polygons (:func:`~rangeguard.rules.boundary.area_polygons`, built here if not given)."""
    polygons = area_polygons(mission) if polygons is None else polygons
    return [EVALUATES_ITSELF.get(spec.kernel, Rule)(spec, mission, polygons) for spec in mission.rules if spec.enabled]


__all__ = ["EVALUATES_ITSELF", "Rule", "RuleContext", "RuleOutput", "Site", "build_rules"]

"""The rule types. Each evaluates M rows (vehicle x string) to (violated, margin).

:func:`build_rules` turns a mission's rule specs into rule objects, in file order.
"""

from __future__ import annotations

from rangeguard.rules.base import Rule, RuleContext, RuleOutput, Site
from rangeguard.rules.boundary import GateRule, IipPolygonRule, PositionPolygonRule, area_polygons
from rangeguard.rules.limits import AttitudeErrorRule, BodyRateRule, EnvelopeRule
from rangeguard.rules.link import DataLossRule, SourceDisagreementRule

RULE_TYPES: dict[str, type[Rule]] = {
    "iip_polygon": IipPolygonRule,
    "position_polygon": PositionPolygonRule,
    "gate": GateRule,
    "envelope": EnvelopeRule,
    "attitude_error": AttitudeErrorRule,
    "body_rate": BodyRateRule,
    "data_loss": DataLossRule,
    "source_disagreement": SourceDisagreementRule,
}


def build_rules(mission, polygons=None) -> list[Rule]:
    """Rule objects for every enabled rule of ``mission``, in file order; ``polygons`` are the
    mission's area polygons (:func:`~rangeguard.rules.boundary.area_polygons`, built here if not given)."""
    polygons = area_polygons(mission) if polygons is None else polygons
    return [RULE_TYPES[spec.type](spec, mission, polygons) for spec in mission.rules if spec.enabled]


__all__ = ["RULE_TYPES", "Rule", "RuleContext", "RuleOutput", "Site", "build_rules"]

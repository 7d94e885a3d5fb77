"""Status colours and caution bands (rangeguard.report.style), against hand calculations."""

from __future__ import annotations

import numpy as np
import pytest

from rangeguard.mission.rule_types.boundary import IipPolygonRule
from rangeguard.mission.rule_types.limits import BodyRateRule, EnvelopeRule
from rangeguard.mission.rule_types.link import DataLossRule, SourceDisagreementRule
from rangeguard.report.style import CAUTION_DISTANCE_M, CAUTION_FRACTION, caution_band, status_of


def test_status_of_traffic_lights():
    m = np.array([-1.0, 0.0, 4.9, 5.0, 1e9, np.nan])
    assert status_of(m, 5.0).tolist() == ["red", "amber", "amber", "green", "green", "grey"]
    assert status_of(-0.001, 0.0).item() == "red"
    assert status_of(0.0, 0.0).item() == "green"  # on the limit, not beyond it


def test_caution_band_envelope_is_a_fraction_of_the_half_width():
    """Table t = [0, 10], lower = [0, 100], upper = [100, 300]: half-width 50 at t=0, 100 at t=10,
    75 at t=5 (linear); the band is CAUTION_FRACTION of it."""
    spec = EnvelopeRule(
        type="envelope",
        name="v",
        quantity="speed_mps",
        table={"t_s": [0.0, 10.0], "lower": [0.0, 100.0], "upper": [100.0, 300.0]},
    )
    band = caution_band(spec, np.array([0.0, 5.0, 10.0, np.nan]))
    assert band == pytest.approx(CAUTION_FRACTION * np.array([50.0, 75.0, 100.0, 50.0]))
    one_sided = EnvelopeRule(
        type="envelope", name="h", quantity="altitude_m", table={"t_s": [0.0, 10.0], "lower": [0.0, 100.0]}
    )
    assert caution_band(one_sided, 3.0) == 0.0


def test_caution_band_other_rules():
    assert caution_band(IipPolygonRule(type="iip_polygon", name="a", area="x")) == CAUTION_DISTANCE_M
    assert caution_band(BodyRateRule(type="body_rate", name="t", max_rate_deg_s=15.0)) == pytest.approx(3.0)
    assert caution_band(DataLossRule(type="data_loss", name="d", green_time_s=2.0)) == pytest.approx(0.4)
    table = DataLossRule(type="data_loss", name="d", table={"t_s": [0.0, 100.0], "green_time_s": [1.0, 3.0]})
    assert caution_band(table, 50.0) == pytest.approx(CAUTION_FRACTION * 2.0)
    dis = SourceDisagreementRule(type="source_disagreement", name="n", sources=("a", "b"), max_difference=500.0)
    assert caution_band(dis) == pytest.approx(100.0)

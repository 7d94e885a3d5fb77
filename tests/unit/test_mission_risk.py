"""The risk sections of the mission file (debris, failure, population, risk_criteria): defaults from
14 CFR Part 450, and every bad input named by its field."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from rangeguard.errors import RangeguardError
from rangeguard.mission import MissionError, load_mission, mission_from_dict

MISSIONS = Path(__file__).resolve().parents[2] / "missions"
SITE = {"lat_deg": 33.54, "lon_deg": 135.89, "alt_m": 40.0, "launch_azimuth_deg": 185.0}
GROUP = {"name": "case", "count": 40, "mass_kg": 8.0, "area_m2": 0.25, "ballistic_coeff_kg_m2": 60.0}


def base() -> dict:
    return {
        "name": "risk",
        "site": dict(SITE),
        "vehicle": "vehicles/kairos-class.yaml",
        "debris": [{"stage": 0, "groups": [dict(GROUP)]}],
        "failure": {"probability": 0.3},
    }


def load(data: dict):
    return mission_from_dict(data, base_dir=MISSIONS, source="risk.yaml")


def problems_of(data: dict) -> list[str]:
    with pytest.raises(MissionError) as info:
        load(data)
    assert isinstance(info.value, RangeguardError)
    return info.value.problems


def test_defaults_are_part_450s():
    m = load(base())
    c = m.risk_criteria
    assert (c.collective_ec, c.individual_pc, c.conditional_ec_abort) == (1e-4, 1e-6, 1e-2)
    assert (c.ship_hit_probability, c.ship_containment, c.aircraft_hit_probability) == (1e-5, 0.97, 1e-6)
    assert m.population.source == "default" and m.population.sheltered_fraction == 0.0
    assert [(r.mode, r.probability) for r in m.failure.responses] == [("afss_termination", 1.0)]


def test_bundled_missions_carry_a_risk_model_for_every_stage():
    for name in ("kii-sso.yaml", "sounding.yaml"):
        m = load_mission(MISSIONS / name)
        assert m.debris is not None and m.failure is not None, name
        stages = {c.stage for c in m.debris}
        assert stages == set(range(len(m.vehicle.stages))), name
        assert 0.0 < m.failure.probability <= 1.0
        assert abs(sum(r.probability for r in m.failure.responses) - 1.0) < 1e-9
        assert m.population is not None and m.population.source == "default"


@pytest.mark.parametrize(
    "change, where, words",
    [
        (lambda d: d["debris"][0]["groups"][0].update(mass_kg=-1.0), "debris[0].groups[0].mass_kg", "greater than 0"),
        (lambda d: d["debris"][0]["groups"][0].update(count=0), "debris[0].groups[0].count", "greater than or equal"),
        (
            lambda d: d["debris"][0]["groups"][0].update(
                ballistic_table={"mach": [0, 1], "ballistic_coeff_kg_m2": [1, 2]}
            ),
            "debris[0].groups[0]",
            "exactly one of ballistic_coeff_kg_m2",
        ),
        (
            lambda d: d["debris"][0]["groups"][0].update(
                ballistic_coeff_kg_m2=None, ballistic_table={"mach": [1.0, 0.5], "ballistic_coeff_kg_m2": [1.0, 2.0]}
            ),
            "debris[0].groups[0].ballistic_table",
            "mach must increase",
        ),
        (lambda d: d["debris"].append({"stage": 0, "groups": [dict(GROUP)]}), "debris", "two catalogs"),
        (lambda d: d["debris"][0].update(stage=5), "debris[0].stage", "the vehicle has 4 stage(s)"),
        (lambda d: d["failure"].update(probability=1.5), "failure.probability", "less than or equal to 1"),
        (
            lambda d: d["failure"].update(responses=[{"mode": "breakup", "probability": 0.5}]),
            "failure",
            "sum to 1",
        ),
        (lambda d: d["failure"].update(spread="table"), "failure", "give `table`"),
        (lambda d: d["failure"].update(stage_share=[1.0]), "failure.stage_share", "give one per stage"),
        (lambda d: d.update(population={"source": "raster"}), "population", "give `raster`"),
        (
            lambda d: d.update(population={"source": "raster", "raster": "no-such.tif"}),
            "population.raster",
            "no file",
        ),
        (lambda d: d.update(risk_criteria={"collective_ec": 0.0}), "risk_criteria.collective_ec", "greater than 0"),
        (lambda d: d.update(risk_criteria={"ship_containment": 1.0}), "risk_criteria.ship_containment", "less than 1"),
    ],
)
def test_bad_risk_input_names_its_field(change, where, words):
    d = copy.deepcopy(base())
    change(d)
    problems = problems_of(d)
    assert any(p.startswith(where) and words in p for p in problems), problems


def test_afss_commands_as_response_modes_fly_fragments_for_destruct_and_the_intact_body_for_thrust_termination():
    """destruct is a break-up like afss_termination (the catalog); thrust_termination falls intact like
    intact_impact: the sweep's choice between the stage's catalog and the intact body reads BREAKUP_MODES."""
    from rangeguard.risk.analysis import BREAKUP_MODES

    assert {"afss_termination", "destruct", "breakup"} == set(BREAKUP_MODES)
    assert "thrust_termination" not in BREAKUP_MODES and "intact_impact" not in BREAKUP_MODES
    m = load_mission(MISSIONS / "sounding.yaml")
    modes = [r.mode for r in m.failure.responses]
    assert "afss_termination" in modes  # the bundled figures keep the fragments of today

"""The `dispersions` section: schema, loading, and the errors a user sees."""

from __future__ import annotations

import pathlib

import pytest
import yaml
from pydantic import ValidationError

from rangeguard.errors import InputError
from rangeguard.mission import load_mission, mission_from_dict
from rangeguard.mission.dispersions import (
    DispersionsSpec,
    NormalDist,
    StageDispersionsSpec,
    TruncatedNormalDist,
    UniformDist,
    dist_mean,
    dist_sigma,
)
from rangeguard.mission.load import MissionError
from rangeguard.montecarlo.sampling import DispersionSampler

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _sounding_data() -> dict:
    return yaml.safe_load((ROOT / "missions" / "sounding.yaml").read_text())


def test_bundled_missions_carry_dispersions():
    kii = load_mission(ROOT / "missions" / "kii-sso.yaml")
    d = kii.dispersions
    assert isinstance(d, DispersionsSpec) and isinstance(d.stages, list) and len(d.stages) == len(kii.vehicle.stages)
    assert isinstance(d.stage(0).thrust_scale, NormalDist) and d.stage(0).thrust_scale.three_sigma == 0.03
    assert isinstance(d.wind_scale, TruncatedNormalDist) and isinstance(d.sensor_noise_scale, UniformDist)
    assert len(d.correlations) == 3 and d.description
    snd = load_mission(ROOT / "missions" / "sounding.yaml")
    assert isinstance(snd.dispersions.stages, StageDispersionsSpec)  # one mapping for every stage
    assert load_mission(ROOT / "missions" / "kii-sso-strict.yaml").dispersions == d


def test_distribution_moments_by_hand():
    """normal: sigma = 3-sigma / 3, mean defaults to the nominal; uniform on [a, b]: mean (a+b)/2,
    sigma (b-a)/sqrt(12) (e.g. [0.5, 1.5]: 1.0 and 0.288675...)."""
    n = NormalDist(dist="normal", three_sigma=0.03)
    assert dist_mean(n, 1.0) == 1.0 and dist_mean(n, 0.0) == 0.0 and dist_sigma(n) == pytest.approx(0.01)
    assert dist_mean(NormalDist(dist="normal", mean=0.2, three_sigma=0.3), 0.0) == 0.2
    u = UniformDist(dist="uniform", low=0.5, high=1.5)
    assert dist_mean(u, 7.0) == 1.0 and dist_sigma(u) == pytest.approx(0.2886751346)


@pytest.mark.parametrize(
    "bad, words",
    [
        ({"cd_scale": {"dist": "gaussian", "three_sigma": 0.1}}, ["dispersions.cd_scale", "normal"]),
        ({"cd_scale": {"dist": "normal", "three_sigma": -0.1}}, ["three_sigma"]),
        ({"wind_scale": {"dist": "truncated_normal", "three_sigma": 0.5, "low": 2.0, "high": 1.0}}, ["low", "high"]),
        ({"cd_scale": {"dist": "uniform", "low": 1.0, "high": 1.0}}, ["low", "high"]),
        ({"stages": {"thrust": {"dist": "normal", "three_sigma": 0.03}}}, ["dispersions.stages", "thrust"]),
        ({"correlations": [{"between": ["cd_scale", "cd_scale"], "rho": 0.5}]}, ["two different"]),
        ({"correlations": [{"between": ["cd_scale", "wind_scale"], "rho": 1.0}]}, ["rho"]),
    ],
)
def test_bad_dispersions_name_the_field(bad, words):
    data = _sounding_data()
    data["dispersions"] = bad
    with pytest.raises(MissionError) as err:
        mission_from_dict(data, base_dir=ROOT / "missions")
    text = str(err.value)
    assert "dispersions" in text
    for w in words:
        assert w in text


def test_model_rejects_unknown_keys():
    with pytest.raises(ValidationError):
        DispersionsSpec.model_validate({"thrust_scale": {"dist": "normal", "three_sigma": 0.03}})


def test_sampler_checks_names_against_the_vehicle():
    spec = DispersionsSpec.model_validate(
        {"correlations": [{"between": ["stages[3].burn_rate_scale", "cd_scale"], "rho": 0.5}]}
    )
    with pytest.raises(InputError, match=r"stages\[3\].burn_rate_scale.*allowed: stages\[0\].thrust_scale"):
        DispersionSampler(spec, n_stages=2, sources=["gps"])
    per_stage = DispersionsSpec.model_validate({"stages": [{}, {}, {}]})
    with pytest.raises(InputError, match="3 entries but the vehicle has 2 stages"):
        DispersionSampler(per_stage, n_stages=2, sources=["gps"])


def test_inconsistent_correlations_are_refused():
    """rho(a,b) = rho(a,c) = 0.9 but rho(b,c) = -0.9 is impossible: det < 0."""
    names = ["cd_scale", "wind_scale", "attitude_bias_yaw_deg"]
    spec = DispersionsSpec.model_validate(
        {
            "correlations": [
                {"between": [names[0], names[1]], "rho": 0.9},
                {"between": [names[0], names[2]], "rho": 0.9},
                {"between": [names[1], names[2]], "rho": -0.9},
            ]
        }
    )
    with pytest.raises(InputError, match="not positive definite"):
        DispersionSampler(spec, n_stages=1, sources=["gps"])

"""Vehicle file schema and loader."""

from __future__ import annotations

import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from rangeguard.errors import InputError
from rangeguard.mission.vehicle import VehicleFailureSpec, VehicleSpec, load_vehicle, vehicle_from_dict


def test_bundled_vehicles_load():
    k = load_vehicle("missions/vehicles/kairos-class.yaml")
    assert len(k.stages) == 4 and k.stages[3].guided_cutoff
    assert 22000 < k.liftoff_mass_kg < 24000  # "about 23 t"
    assert k.length_m == 18.0 and k.diameter_m == 1.35
    s = load_vehicle("missions/vehicles/sounding.yaml")
    assert s.stages[0].eng_file.endswith("rg-snd30.eng")  # resolved relative to the vehicle file
    assert 900 < s.liftoff_mass_kg < 1100


def _sounding_dict():
    return yaml.safe_load(open("missions/vehicles/sounding.yaml"))


def test_unknown_field_is_rejected_with_its_path():
    d = _sounding_dict()
    d["stages"][0]["thrust_vac_n"] = 1.0
    with pytest.raises(InputError, match=r"stages\.0\.thrust_vac_n"):
        vehicle_from_dict(d, "missions/vehicles")


def test_thrust_source_must_be_exactly_one():
    d = _sounding_dict()
    d["stages"][0]["thrust"] = {"t_s": [0, 1], "thrust_n": [1, 0]}
    with pytest.raises(InputError, match="exactly one of 'thrust'"):
        vehicle_from_dict(d, "missions/vehicles")


def test_missing_motor_file_names_the_stage(tmp_path):
    d = _sounding_dict()
    d["stages"][0]["eng_file"] = "nope.eng"
    with pytest.raises(InputError, match=r"stages\[0\]\.eng_file"):
        vehicle_from_dict(d, tmp_path)


def test_failure_union_lists_allowed_kinds():
    ta = TypeAdapter(VehicleFailureSpec)
    with pytest.raises(ValidationError) as exc:
        ta.validate_python({"kind": "explode", "at_t_s": 3})
    msg = str(exc.value)
    for kind in ("thrust_scale", "tvc_hardover", "attitude_loss", "ignition_failure", "separation_failure"):
        assert kind in msg
    f = ta.validate_python(
        {"kind": "attitude_loss", "from_t_s": 80, "mode": "coning", "cone_half_angle_deg": 10, "cone_rate_deg_s": 60}
    )
    assert f.mode == "coning"
    with pytest.raises(ValidationError, match="tumble needs"):
        ta.validate_python({"kind": "attitude_loss", "from_t_s": 80, "mode": "tumble"})


def test_upper_stage_index_checked():
    d = yaml.safe_load(open("missions/vehicles/kairos-class.yaml"))
    d["guidance"]["upper_stage"]["from_stage"] = 7
    with pytest.raises(InputError, match="allowed: 1..3"):
        vehicle_from_dict(d, "missions/vehicles")


def test_every_field_has_a_description():
    def walk(model):
        for name, f in model.model_fields.items():
            assert f.description, f"{model.__name__}.{name} has no description"

    from rangeguard.mission import vehicle as vm

    for m in (
        vm.VehicleSpec,
        vm.StageSpec,
        vm.GuidanceSpec,
        vm.WindSpec,
        vm.AeroSpec,
        vm.FairingSpec,
        vm.ThrustScaleFailure,
        vm.AttitudeLossFailure,
        vm.TvcHardoverFailure,
    ):
        walk(m)
    assert VehicleSpec.model_config["extra"] == "forbid"

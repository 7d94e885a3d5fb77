"""The mission file refuses what cannot fly (issue 13, item 5).

Each test here is a regression test for one way a mission used to load and
then protect nothing: a NaN or an infinity where a number must be finite, an
AFSS that can never arm, a rule that can never be judged or fire, a nav gate
that rejects every sample, an unreadable motor or GeoJSON file reported as a
traceback (or not at all), a duplicated YAML key silently dropped, a deeply
nested file ending in RecursionError. Every message names the field path.
"""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
import types
import typing
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError
from test_mission_docs import _models_in  # the same walk over the model tree that ties the docs to the schema

from rangeguard.mission import Mission, MissionError, load_mission, mission_from_dict

ROOT = Path(__file__).resolve().parents[2]
SITE = {"lat_deg": 33.5, "lon_deg": 135.9, "launch_azimuth_deg": 175.0}
MOTOR = """; test motor
T-1 450 5200 0 592 842 rangeguard
   0.3 31200
  10.0 31200
  60.0 0
"""


def base() -> dict:
    """A small valid mission; tests deep-copy and break it."""
    return {
        "name": "t",
        "site": dict(SITE),
        "nav_sources": [{"name": "a"}, {"name": "b"}],
        "events": [{"name": "sep", "t_s": 60.0}, {"name": "high", "when": {"quantity": "altitude_m", "above": 1e4}}],
        "phases": [{"name": "boost", "end_event": "sep"}],
        "rules": [
            {
                "name": "speed",
                "type": "envelope",
                "quantity": "speed_mps",
                "table": {"t_s": [0, 10], "upper": [100, 300]},
            },
            {"name": "rate", "type": "body_rate", "max_rate_deg_s": 30.0},
        ],
    }


def problems_of(data, base_dir=".") -> list[str]:
    with pytest.raises(MissionError) as info:
        mission_from_dict(data, base_dir=base_dir, source="test.yaml")
    return info.value.problems


def file_problems(path) -> list[str]:
    with pytest.raises(MissionError) as info:
        load_mission(path)
    return info.value.problems


def with_rule(**rule) -> dict:
    d = base()
    d["rules"].append({"name": "r", **rule})
    return d


BODY_RATE = {"type": "body_rate", "max_rate_deg_s": 30.0}


# --- 1. every number finite -----------------------------------------------------------------


def _models(cls, seen):
    if cls in seen:
        return
    seen.append(cls)
    for field in cls.model_fields.values():
        for sub in _models_in(field.annotation):
            _models(sub, seen)


def _bad(annotation, value):
    """A value shaped like ``annotation`` holding ``value`` where a float goes; None if it holds no float."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is float:
        return value
    if origin is typing.Annotated:
        return _bad(args[0], value)
    if origin in (typing.Union, types.UnionType):
        return next((v for v in (_bad(a, value) for a in args) if v is not None), None)
    if origin is list:
        inner = _bad(args[0], value)
        return None if inner is None else [inner]
    if origin is tuple:
        inner = [_bad(a, value) for a in args if a is not Ellipsis]
        return None if any(v is None for v in inner) else inner
    if origin is dict:
        inner = _bad(args[1], value)
        return None if inner is None else {"t_s": inner}
    return None


def float_fields():
    """(model, field name, value template) for every field of the mission tree that holds a float."""
    models: list = []
    _models(Mission, models)
    return [
        (cls, name, f.annotation)
        for cls in models
        for name, f in cls.model_fields.items()
        if _bad(f.annotation, 0.0) is not None
    ]


FLOAT_FIELDS = float_fields()


def test_the_walk_reaches_every_section():
    names = {cls.__name__ for cls, _, _ in FLOAT_FIELDS}
    # one model of each section, including the tagged unions (rules, faults, failures, distributions)
    for cls in (
        "Mission",
        "SiteSpec",
        "ArmingSpec",
        "NavGateSpec",
        "EnvelopeTable",
        "GateRule",
        "DataLossRule",
        "StageSpec",
        "ThrustTableSpec",
        "NavSourceModelSpec",
        "GpsDropoutFault",
        "ThrustScaleFailure",
        "UniformDist",
        "CorrelationSpec",
        "OrbitSafing",
        "RequirementsSpec",
    ):
        assert cls in names, cls
    assert len(FLOAT_FIELDS) >= 120


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize(
    ("cls", "name", "annotation"), FLOAT_FIELDS, ids=[f"{c.__name__}.{n}" for c, n, _ in FLOAT_FIELDS]
)
def test_every_float_field_refuses_nan_and_inf(cls, name, annotation, value):
    """No exceptions: an open bound (default +-inf) is written by leaving the field out (docs, "Numbers")."""
    with pytest.raises(ValidationError) as info:
        cls.model_validate({name: _bad(annotation, value)})
    errors = [e for e in info.value.errors() if e["loc"][:1] == (name,)]
    assert errors and all(e["type"] == "finite_number" for e in errors), errors


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("arming: {not_before_t_s: .nan}", "arming.not_before_t_s: must be a finite number"),
        ("arming: {not_before_t_s: nan}", "arming.not_before_t_s: must be a finite number"),  # the string 'nan'
        ("termination: {persistence_s: .inf}", "termination.persistence_s: must be a finite number"),
        (
            "rules: [{name: s, type: envelope, quantity: speed_mps, table: {t_s: [0, 10], upper: [100, .nan]}}]",
            "rules[0].table.upper[1]: must be a finite number",
        ),
        (
            "rules: [{name: s, type: data_loss, table: {t_s: [0, 10], green_time_s: [1, .inf]}}]",
            "rules[0].table.green_time_s[1]: must be a finite number",
        ),
        (
            "scenarios: {x: {nav_faults: [{kind: gps_dropout, source: nav, from_t_s: 1, to_t_s: .inf}]}}",
            "scenarios.x.nav_faults[0].to_t_s: must be a finite number",
        ),
        (
            "dispersions: {cd_scale: {dist: normal, three_sigma: .nan}}",
            "dispersions.cd_scale.three_sigma: must be a finite number",
        ),
        (
            "site: {lat_deg: 33.5, lon_deg: 135.9, launch_azimuth_deg: .nan}",
            "site.launch_azimuth_deg: must be a finite number",
        ),
    ],
)
def test_non_finite_numbers_in_the_file_name_their_path(tmp_path, yaml_text, expected):
    site = "" if yaml_text.startswith("site:") else "site: {lat_deg: 33.5, lon_deg: 135.9, launch_azimuth_deg: 175.0}\n"
    path = tmp_path / "m.yaml"
    path.write_text("name: t\n" + site + yaml_text + "\n")
    problems = file_problems(path)
    assert any(p.startswith(expected) for p in problems), problems


def test_an_open_bound_written_as_inf_says_to_leave_it_out():
    d = with_rule(**BODY_RATE, active={"from_t_s": 5.0, "to_t_s": math.inf})
    (line,) = problems_of(d)
    assert line.startswith("rules[2].active.to_t_s: must be a finite number") and "leave to_t_s out" in line


# --- 2. an AFSS that can never arm ------------------------------------------------------------


@pytest.mark.parametrize(
    ("arming", "field", "fragment"),
    [
        ({"liftoff_height_m": 1e9}, "liftoff_height_m", "Use at most 1000 m"),
        ({"liftoff_height_m": 1000.5}, "liftoff_height_m", "Use at most 1000 m"),
        ({"liftoff_speed_mps": 1e9}, "liftoff_speed_mps", "Use at most 100 m/s"),
        ({"not_before_t_s": 30.0}, "not_before_t_s", "after the planned liftoff"),
    ],
)
def test_liftoff_cues_no_flight_reaches_are_refused(arming, field, fragment):
    d = base()
    d["arming"] = arming
    (line,) = problems_of(d)
    assert line.startswith(f"arming.{field}: ") and fragment in line, line


def test_liftoff_cues_at_the_bounds_load():
    d = base()
    d["arming"] = {"liftoff_height_m": 1000.0, "liftoff_speed_mps": 100.0, "not_before_t_s": 0.0}
    assert mission_from_dict(d).arming.liftoff_height_m == 1000.0


# --- 3. rules and phases that can never be judged ---------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ({**BODY_RATE, "active": {"to_t_s": -20.0}}, "arming.not_before_t_s"),
        ({**BODY_RATE, "active": {"until_event": "liftoff"}}, "'liftoff' has always occurred"),
        ({**BODY_RATE, "active": {"after_event": "high", "until_event": "high"}}, "both 'high'"),
        ({**BODY_RATE, "active": {"from_t_s": 70.0, "until_event": "sep"}}, "event 'sep' is scheduled at T+60 s"),
        ({**BODY_RATE, "active": {"after_event": "sep", "phase": "boost"}}, "also ends its phase 'boost'"),
        ({**BODY_RATE, "active": {"phase": "boost", "from_t_s": 61.0}}, "phase 'boost' is over by then"),
        ({**BODY_RATE, "active": {"from_t_s": 1e6}}, "the longest flight judged"),
    ],
    ids=[
        "before-arming",
        "until-liftoff",
        "after-equals-until",
        "until-before-from",
        "phase-end",
        "phase-window",
        "after-a-day",
    ],
)
def test_a_rule_whose_window_never_opens_is_refused(rule, fragment):
    (line,) = problems_of(with_rule(**rule))
    assert line.startswith("rules[2]: the rule can never be judged") and fragment in line, line


def test_a_rule_after_a_detected_event_is_given_the_benefit_of_the_doubt():
    assert (
        mission_from_dict(with_rule(**BODY_RATE, active={"after_event": "high", "to_t_s": 30.0})).rules[2].name == "r"
    )


def test_a_disabled_rule_is_not_judged_so_not_refused():
    assert mission_from_dict(with_rule(**BODY_RATE, enabled=False, active={"to_t_s": -20.0}))


@pytest.mark.parametrize(
    ("phase", "fragment"),
    [
        ({"name": "p", "from_t_s": 10.0, "to_t_s": 10.0}, "phases[1]: to_t_s must be greater than from_t_s"),
        (
            {"name": "p", "start_event": "sep", "end_event": "sep"},
            "phases[1]: the phase can never be open: it starts and ends",
        ),
        ({"name": "p", "end_event": "liftoff"}, "phases[1]: the phase can never be open"),
        ({"name": "p", "start_event": "sep", "to_t_s": 50.0}, "phases[1]: the phase can never be open"),
    ],
)
def test_a_phase_that_can_never_be_open_is_refused(phase, fragment):
    d = base()
    d["phases"].append(phase)
    (line,) = problems_of(d)
    assert line.startswith(fragment), line


@pytest.mark.parametrize(
    ("table", "fragment"),
    [
        ({"t_s": [0, 10, 20], "lower": [None, None, None]}, "no limit over any time interval"),
        (
            {"t_s": [0, 10, 20], "lower": [None, None, None], "upper": [None, None, None]},
            "no limit over any time interval",
        ),
        ({"t_s": [0, 10, 20], "upper": [100, None, 300]}, "no limit over any time interval"),
    ],
)
def test_an_envelope_with_no_limit_is_refused(table, fragment):
    (line,) = problems_of(with_rule(type="envelope", quantity="speed_mps", table=table))
    assert line.startswith("rules[2].table: ") and fragment in line


def test_a_table_outside_the_active_window_is_refused():
    rule = {
        "type": "envelope",
        "quantity": "speed_mps",
        "table": {"t_s": [100, 200], "upper": [1e3, 2e3]},
        "active": {"phase": "boost"},
    }
    (line,) = problems_of(with_rule(**rule))
    assert line.startswith("rules[2].table: the rule can never be judged") and "T+100 s to T+200 s" in line


def test_a_persistence_longer_than_the_window_is_refused():
    (line,) = problems_of(with_rule(**BODY_RATE, active={"from_t_s": 10.0, "to_t_s": 12.0}, persistence_s=2.0))
    assert line.startswith("rules[2]: the rule can never fire") and "rules[2].persistence_s" in line
    d = with_rule(**BODY_RATE, active={"from_t_s": 10.0, "to_t_s": 12.0})
    d["termination"] = {"persistence_s": 5.0}
    (line,) = problems_of(d)
    assert "termination.persistence_s, the default" in line


GATE = {
    "type": "gate",
    "start_lat_deg": 32.0,
    "start_lon_deg": 135.3,
    "end_lat_deg": 32.0,
    "end_lon_deg": 136.7,
    "open_t_s": 40.0,
    "close_t_s": 140.0,
}


def test_a_gate_window_outside_the_rule_window_is_refused():
    (line,) = problems_of(with_rule(**GATE, active={"to_t_s": 30.0}))
    assert line.startswith("rules[2]: the gate window T+40 s to T+140 s lies outside")
    (line,) = problems_of(with_rule(**GATE, active={"to_t_s": 100.0}))
    assert line.startswith("rules[2]: the rule stops being judged at T+100 s") and "never crosses" in line
    assert mission_from_dict(with_rule(**GATE, active={"to_t_s": 150.0}))


def test_a_green_time_longer_than_the_rule_is_active_is_refused():
    (line,) = problems_of(with_rule(type="data_loss", green_time_s=100.0, active={"to_t_s": 60.0}))
    assert line.startswith("rules[2]: the rule can never fire") and "100 s" in line
    (line,) = problems_of(with_rule(type="data_loss", table={"t_s": [0, 10], "green_time_s": [1e5, 2e5]}))
    assert line.startswith("rules[2]: the rule can never fire")
    assert mission_from_dict(with_rule(type="data_loss", green_time_s=2.0, active={"to_t_s": 60.0}))


def test_nav_gate_max_age_must_exceed_every_sensor_latency():
    d = base()
    d["nav_gate"] = {"max_age_s": 0.05}
    d["sensors"] = {"default": {"latency_s": 0.05}, "sources": {"b": {"latency_s": 0.2}}}
    p = problems_of(d)
    tail = (
        ": every sample of that source would arrive already stale and be rejected; raise max_age_s above the "
        "latency plus the link delay"
    )
    assert p == [
        "nav_gate.max_age_s: 0.05 s does not exceed sensors.default.latency_s = 0.05 s" + tail,
        "nav_gate.max_age_s: 0.05 s does not exceed sensors.sources.b.latency_s = 0.2 s" + tail,
    ]
    d["sensors"]["sources"]["a"] = {"latency_s": 0.01}  # the default is then used by no source
    d["sensors"]["sources"]["b"] = {"latency_s": 0.01}
    assert mission_from_dict(d).nav_gate.max_age_s == 0.05


# --- 4. motor and GeoJSON files ----------------------------------------------------------------------


def _vehicle(eng_file: str) -> dict:
    return {
        "name": "v",
        "length_m": 5.0,
        "diameter_m": 0.45,
        "stages": [{"dry_mass_kg": 250.0, "propellant_mass_kg": 592.0, "isp_vac_s": 250.0, "eng_file": eng_file}],
        "aero": {"mach": [0.0, 5.0], "axial_force_coefficient": [0.3, 0.2]},
    }


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (MOTOR.replace("10.0 31200", "10.0 nan"), "line 4: thrust_n must be a finite number, got 'nan'"),
        (MOTOR.replace("60.0 0", "inf 0"), "line 5: time_s must be a finite number, got 'inf'"),
        (MOTOR.replace("592 842", "592 nan"), "line 2: total_kg must be a finite number"),
        (MOTOR.replace("31200", "0"), "the thrust is zero at every point"),
        (b"\x00\x01\x02binary", "is not a text file"),
        (None, "is a directory"),
        ("T-1 450 5200\n", "header must be"),
    ],
    ids=["nan-thrust", "inf-time", "nan-header", "zero-thrust", "binary", "directory", "bad-header"],
)
def test_motor_file_problems_are_reported_with_the_field_path(tmp_path, content, fragment):
    motor = tmp_path / "m.eng"
    if content is None:
        motor.mkdir()
    elif isinstance(content, bytes):
        motor.write_bytes(content)
    else:
        motor.write_text(content)
    d = base()
    d["vehicle"] = _vehicle("m.eng")
    (line,) = problems_of(d, base_dir=tmp_path)
    assert line.startswith("vehicle.stages[0].eng_file: ") and fragment in line, line


def test_motor_file_of_an_included_vehicle_is_read_relative_to_it(tmp_path):
    (tmp_path / "vehicles").mkdir()
    (tmp_path / "vehicles" / "m.eng").write_text(MOTOR.replace("10.0 31200", "10.0 -inf"))
    (tmp_path / "vehicles" / "v.yaml").write_text(yaml.safe_dump(_vehicle("m.eng")))
    d = base()
    d["vehicle"] = "vehicles/v.yaml"
    (line,) = problems_of(d, base_dir=tmp_path)
    assert line.startswith("vehicle.stages[0].eng_file: ") and "vehicles/m.eng, line 4" in line
    (tmp_path / "vehicles" / "m.eng").write_text(MOTOR)
    assert mission_from_dict(d, base_dir=tmp_path).vehicle.stages[0].eng_file == str(tmp_path / "vehicles" / "m.eng")


DEEP = "[" * 20000 + "]" * 20000


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (None, "is a directory"),
        (b"\x89PNG\r\n\x1a\n\xff\xfe\x00", "is not a text file"),
        ('{"type": "FeatureCollection", "features": {"a": 1}}', "features must be a list"),
        ('{"type": "FeatureCollection", "features": [1]}', "features[0] must be a Feature object, found a number"),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": [], "geometry": null}]}',
            "features[0].properties must be an object or null",
        ),
        (
            '{"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": null}]}',
            "features[0].geometry must be a Polygon object, found null",
        ),
        ('{"type": "Feature", "geometry": [1, 2]}', "geometry must be a Polygon object, found a list"),
        ('{"type": "Polygon", "coordinates": 5}', "coordinates must be a list of rings"),
        ('{"type": "Polygon", "coordinates": [5]}', "coordinates must be a list of rings"),
        ('{"type": "Polygon", "coordinates": [[{"lon": 1}, [1, 2], [3, 4]]]}', 'position 0 of the ring is {"lon": 1}'),
        ('{"type": "Polygon", "coordinates": [[[true, 1], [1, 2], [3, 4]]]}', "position 0 of the ring is [true, 1]"),
        ('{"type": "Polygon", "coordinates": [[[NaN, 1], [1, 2], [3, 4]]]}', "NaN is not a JSON number"),
        ('{"type": "Polygon", "coordinates": ' + DEEP + "}", "nested too deeply"),
        ('{"type": "MultiPolygon", "coordinates": []}', "expected a Polygon geometry, found 'MultiPolygon'"),
    ],
    ids=[
        "directory",
        "binary",
        "features-dict",
        "feature-number",
        "properties-list",
        "geometry-null",
        "geometry-list",
        "coordinates-number",
        "ring-number",
        "position-dict",
        "position-bool",
        "nan",
        "deep",
        "multipolygon",
    ],
)
def test_a_malformed_geojson_is_one_readable_problem(tmp_path, content, fragment):
    path = tmp_path / "a.geojson"
    if content is None:
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    d = base()
    d["areas"] = [{"name": "land", "kind": "protected", "geojson": "a.geojson"}]
    (line,) = problems_of(d, base_dir=tmp_path)
    assert line.startswith("areas[0].geojson: ") and fragment in line, line


# --- 5. YAML: duplicate keys, nesting, aliases --------------------------------------------------------


def _write(tmp_path, text: str, name: str = "m.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


MISSION_YAML = """name: t
site: {lat_deg: 33.5, lon_deg: 135.9, launch_azimuth_deg: 175.0}
arming:
  liftoff_height_m: 5.0
  liftoff_speed_mps: 3.0
"""


def test_a_duplicate_key_is_refused_with_both_lines(tmp_path):
    (line,) = file_problems(_write(tmp_path, MISSION_YAML + "  liftoff_height_m: 1e9\n"))
    assert line == (
        "line 6, column 3: not valid YAML: key 'liftoff_height_m' is given twice in this mapping "
        "(first at line 4, column 3); keep one"
    )
    (line,) = file_problems(_write(tmp_path, MISSION_YAML + "name: u\n"))
    assert line.startswith("line 6, column 1: ") and "'name' is given twice" in line and "line 1, column 1" in line


def test_a_duplicate_key_in_an_included_file_is_refused(tmp_path):
    _write(tmp_path, "default: {latency_s: 0.02}\ndefault: {latency_s: 5.0}\n", "sensors.yaml")
    (line,) = file_problems(_write(tmp_path, MISSION_YAML + "sensors: sensors.yaml\n"))
    assert line.startswith("sensors: line 2, column 1: not valid YAML: key 'default' is given twice")


def test_merge_keys_may_still_be_overridden(tmp_path):
    """A YAML merge key (<<) brings in defaults that the mapping's own keys override: not a duplicate."""
    text = (
        MISSION_YAML
        + "safing:\n  orbit: &o {enabled: true, persistence_s: 2.0}\n  iip_clear: {<<: *o, persistence_s: 3.0}\n"
    )
    assert load_mission(_write(tmp_path, text)).safing.iip_clear.persistence_s == 3.0


@pytest.mark.parametrize(
    "deep",
    [
        "[" * 20000 + "]" * 20000,
        "{a: " * 20000 + "1" + "}" * 20000,
        # block style grows as depth^2 in bytes: 2000 levels (4 MB) is past Python's recursion limit already
        "".join("  " * i + "-\n" for i in range(2000)),
        "".join("  " * i + "k:\n" for i in range(2000)),
    ],
    ids=["flow-lists", "flow-maps", "block-lists", "block-maps"],
)
@pytest.mark.parametrize("where", ["mission", "vehicle", "sensors", "dispersions"])
def test_pathological_nesting_is_a_clear_error(tmp_path, deep, where):
    if where == "mission":
        if "\n" in deep:
            text = MISSION_YAML + "description:\n" + "".join("  " + x + "\n" for x in deep.splitlines())
        else:
            text = MISSION_YAML + f"description: {deep}\n"
        path = _write(tmp_path, text)
        prefix = ""
    else:
        _write(tmp_path, deep + "\n", "inc.yaml")
        path = _write(tmp_path, MISSION_YAML + f"{where}: inc.yaml\n")
        prefix = f"{where}: "
    (line,) = file_problems(path)
    assert line.startswith(prefix + "line ") and "nested more than 64 levels deep" in line, line


def test_alias_bombs_and_cycles_are_refused(tmp_path):
    bomb = "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefg", "bcdefgh", strict=True)
    )
    (line,) = file_problems(_write(tmp_path, bomb))
    assert "more than 5,000,000 values once aliases are expanded" in line
    (line,) = file_problems(_write(tmp_path, MISSION_YAML + "description: &d [*d]\n"))
    assert "refers to a list or mapping that contains it" in line


# --- 6. the command line --------------------------------------------------------------------------------


def _check(path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rangeguard.cli", "check", str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        check=False,
    )


def test_rangeguard_check_exits_2_on_an_afss_that_cannot_arm(tmp_path):
    text = MISSION_YAML.replace("liftoff_speed_mps: 3.0", "liftoff_speed_mps: 3.0\n  not_before_t_s: .nan")
    result = _check(_write(tmp_path, text.replace("liftoff_height_m: 5.0", "liftoff_height_m: 1e9")))
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    assert "arming.not_before_t_s: must be a finite number" in result.stderr
    assert "arming.liftoff_height_m: 1e+09 m is more than" in result.stderr


def test_rangeguard_check_exits_2_on_a_directory_geojson_and_a_bad_rule(tmp_path):
    text = MISSION_YAML + "areas: [{name: land, kind: protected, geojson: dir.geojson}]\n"
    text += "rules: [{name: r, type: body_rate, max_rate_deg_s: 30, active: {until_event: liftoff}}]\n"
    (tmp_path / "dir.geojson").mkdir()
    result = _check(_write(tmp_path, text))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "areas[0].geojson: " in result.stderr and "is a directory" in result.stderr
    assert "rules[0]: the rule can never be judged" in result.stderr


def test_rangeguard_check_exits_2_on_a_duplicate_key_and_on_deep_nesting(tmp_path):
    result = _check(_write(tmp_path, MISSION_YAML + "  liftoff_height_m: 1e9\n"))
    assert result.returncode == 2 and "key 'liftoff_height_m' is given twice" in result.stderr
    result = _check(_write(tmp_path, MISSION_YAML + "description: " + "[" * 20000 + "]" * 20000 + "\n"))
    assert result.returncode == 2 and "nested more than 64 levels deep" in result.stderr
    assert "Traceback" not in result.stderr


# --- 7. what ships stays valid ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    sorted((ROOT / "missions").glob("*.yaml")) + [ROOT / "tests" / "fixtures" / "full-mission.yaml"],
    ids=lambda p: p.name,
)
def test_bundled_missions_load(path):
    assert isinstance(load_mission(path), Mission)


def test_messages_read_like_the_yaml_path_through_tagged_unions():
    d = base()
    d["dispersions"] = {"stages": [{"thrust_scale": {"dist": "uniform", "low": 1.0, "high": math.nan}}]}
    d["scenarios"] = {"x": {"failures": [{"kind": "thrust_scale", "scale": 0.9, "typo": 1}]}}
    p = problems_of(copy.deepcopy(d))
    assert (
        "dispersions.stages[0].thrust_scale.high: must be a finite number (NaN and .inf are not allowed in a "
        "mission file)" in p
    )
    assert "scenarios.x.failures[0].typo: unknown field; allowed here: kind, scale, from_t_s, stage" in p
    assert len(p) == 2, p
    json.dumps(p)  # plain strings


# --- 8. included files and special files (issue 14) -----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "found"),
    [("", "nothing (it is empty)"), ("~\n", "nothing (it is empty)"), ("- a\n", "a list"), ("5\n", "the number 5")],
)
@pytest.mark.parametrize("key", ["vehicle", "sensors", "dispersions"])
def test_an_included_file_that_holds_no_mapping_is_refused(tmp_path, key, body, found):
    """An empty vehicle file used to drop the section silently (`check` said OK, `simulate` found no vehicle)."""
    (tmp_path / f"{key}.yaml").write_text(body)
    d = base()
    d[key] = f"{key}.yaml"
    (line,) = problems_of(d, base_dir=tmp_path)
    assert line == (
        f"{key}: the file holds {found}; it must hold the {key} section's fields as a mapping "
        "(see docs/mission-format.md)"
    )


def test_a_problem_in_an_included_file_names_that_file(tmp_path):
    (tmp_path / "sensors.yaml").write_text("default: {position_noise_m: true}\n")
    d = base()
    d["sensors"] = "sensors.yaml"
    (line,) = problems_of(d, base_dir=tmp_path)
    assert (
        line == f"sensors.default.position_noise_m: must be a number, not true (a boolean is not a number) "
        f"(in {tmp_path / 'sensors.yaml'})"
    )


@pytest.mark.timeout(20)  # reading a FIFO to its end used to wait for a writer forever
@pytest.mark.parametrize("slot", ["mission", "vehicle", "geojson", "eng_file"])
def test_a_pipe_or_device_is_refused_not_read(tmp_path, slot):
    import os

    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    missions = ROOT / "missions"
    vehicle = yaml.safe_load((missions / "vehicles" / "sounding.yaml").read_text())
    vehicle["stages"][0]["eng_file"] = str(pipe if slot == "eng_file" else missions / "motors" / "rg-snd30.eng")
    (tmp_path / "vehicle.yaml").write_text(yaml.safe_dump(vehicle))
    d = base()
    d["vehicle"] = str(pipe if slot == "vehicle" else tmp_path / "vehicle.yaml")
    area = pipe if slot == "geojson" else missions / "areas" / "shikoku.geojson"
    d["areas"] = [{"name": "land", "kind": "protected", "geojson": str(area)}]
    path = _write(tmp_path, yaml.safe_dump(d))
    (line,) = file_problems(pipe if slot == "mission" else path)
    assert "pipe is not a regular file (a device, pipe or socket)" in line, line
    assert "not a regular file" in file_problems(Path("/dev/zero"))[0]

"""Strict types in the mission schema (issue 14, item 2).

pydantic's default (lax) mode converts what it can: ``lon_deg: true`` became
1.0, ``"5"`` became 5, ``seed: 3.0`` became 3 and ``enabled: 1`` became true,
so a typo flew as a silently different value. Every number field of the
mission tree now takes an int or a float and nothing else, every integer
field an int, every boolean field a boolean (docs/mission-format.md,
"Numbers"). The walk over the model tree is the one that ties the docs to the
schema, so a field added later is covered without touching this file.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path

import pytest
from pydantic import ValidationError
from test_mission_docs import documented_models  # Mission and every model nested in it

from rangeguard.mission import MissionError, load_mission, mission_from_dict
from rangeguard.mission.yaml_io import load_yaml

SITE = {"lat_deg": 33.5, "lon_deg": 135.9, "launch_azimuth_deg": 175.0}


def _holding(annotation, leaf: type, value):
    """A value shaped like ``annotation`` with ``value`` where a ``leaf`` (float, int or bool) goes; None if it
    holds none. ``bool`` is a subclass of ``int`` in Python but its own type in the schema, so the match is exact."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation is leaf:
        return value
    if origin is typing.Annotated:
        return _holding(args[0], leaf, value)
    if origin in (typing.Union, types.UnionType):
        return next((v for v in (_holding(a, leaf, value) for a in args) if v is not None), None)
    if origin is list:
        inner = _holding(args[0], leaf, value)
        return None if inner is None else [inner]
    if origin is tuple:
        inner = [_holding(a, leaf, value) for a in args if a is not Ellipsis]
        return None if not inner or any(v is None for v in inner) else inner  # a YAML list, as the file gives it
    if origin is dict:
        inner = _holding(args[1], leaf, value)
        return None if inner is None else {"t_s": inner}
    return None


def typed_fields(leaf: type) -> list[tuple]:
    """(model, field name, annotation) for every field of the mission tree that holds a ``leaf``."""
    return [
        (cls, name, f.annotation)
        for cls in documented_models()
        for name, f in cls.model_fields.items()
        if _holding(f.annotation, leaf, 0) is not None
    ]


FLOATS, INTS, BOOLS = typed_fields(float), typed_fields(int), typed_fields(bool)


def _ids(fields):
    return [f"{c.__name__}.{n}" for c, n, _ in fields]


def _type_errors(cls, name, data) -> list[dict]:
    """The errors pydantic reports at field ``name`` when ``cls`` is validated from ``data``."""
    try:
        cls.model_validate(data)
    except ValidationError as exc:
        return [e for e in exc.errors() if e["loc"][:1] == (name,)]
    return []


def test_the_walk_reaches_every_kind_of_field():
    assert len(FLOATS) >= 120
    assert {
        "Mission.seed",
        "NavGateSpec.resync_samples",
        "UpperStageSteeringSpec.from_stage",
        "IgnitionFailure.stage",
    } <= set(_ids(INTS))
    assert {"StageSpec.guided_cutoff", "OrbitSafing.enabled", "TerminationSpec.faulty_string_votes"} <= set(_ids(BOOLS))
    # lists, optional values, tables and tuples: each shape is walked
    assert {
        "AreaSpec.lat_deg",
        "EnvelopeTable.lower",
        "DataLossRule.table",
        "PositionBiasFault.offset_m",
        "NavCondition.above",
        "SiteSpec.lat_deg",
    } <= set(_ids(FLOATS))


@pytest.mark.parametrize(
    "value", [True, False, "5", "5.0", "nan"], ids=["true", "false", "text-5", "text-5.0", "text-nan"]
)
@pytest.mark.parametrize(("cls", "name", "annotation"), FLOATS, ids=_ids(FLOATS))
def test_every_number_field_refuses_a_boolean_and_text(cls, name, annotation, value):
    errors = _type_errors(cls, name, {name: _holding(annotation, float, value)})
    assert errors and all(e["type"] == "float_type" for e in errors), errors


@pytest.mark.parametrize("value", [1, 1.5, -2, 0.25], ids=["int", "float", "negative-int", "fraction"])
@pytest.mark.parametrize(("cls", "name", "annotation"), FLOATS, ids=_ids(FLOATS))
def test_every_number_field_takes_an_int_and_a_float(cls, name, annotation, value):
    """The type is accepted (a range check such as ``gt=80`` may still refuse the value: not a type error)."""
    errors = _type_errors(cls, name, {name: _holding(annotation, float, value)})
    assert not [e for e in errors if e["type"].endswith("_type")], errors


@pytest.mark.parametrize("value", [True, "5", 3.0, 2.5], ids=["true", "text", "whole-float", "fraction"])
@pytest.mark.parametrize(("cls", "name", "annotation"), INTS, ids=_ids(INTS))
def test_every_integer_field_takes_only_an_int(cls, name, annotation, value):
    errors = _type_errors(cls, name, {name: _holding(annotation, int, value)})
    assert errors and all(e["type"] == "int_type" for e in errors), errors
    accepted = _type_errors(cls, name, {name: _holding(annotation, int, 2)})
    assert not [e for e in accepted if e["type"].endswith("_type")], accepted


@pytest.mark.parametrize("value", [1, 0, "true", "yes"], ids=["one", "zero", "text-true", "text-yes"])
@pytest.mark.parametrize(("cls", "name", "annotation"), BOOLS, ids=_ids(BOOLS))
def test_every_boolean_field_takes_only_true_or_false(cls, name, annotation, value):
    errors = _type_errors(cls, name, {name: _holding(annotation, bool, value)})
    assert errors and all(e["type"] == "bool_type" for e in errors), errors
    assert not _type_errors(cls, name, {name: _holding(annotation, bool, False)})


# --- through the file: the messages -----------------------------------------------------------------


def _problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    with pytest.raises(MissionError) as info:
        load_mission(path)
    return info.value.problems


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        (
            "site: {lat_deg: 33.5, lon_deg: true, launch_azimuth_deg: 175}",
            "site.lon_deg: must be a number, not true (a boolean is not a number)",
        ),
        (
            "site: {lat_deg: '33.5', lon_deg: 135.9, launch_azimuth_deg: 175}",
            "site.lat_deg: must be a number, not the text '33.5': write the number without quotes",
        ),
        (
            "site: {lat_deg: 33.5, lon_deg: 135.9, launch_azimuth_deg: 175, liftoff_epoch_utc: 5}",
            "site.liftoff_epoch_utc: must be an ISO 8601 date-time",
        ),
        ("seed: 3.0", "seed: must be a whole number, not 3.0: write 3"),
        ("safing: {orbit: {enabled: 1}}", "safing.orbit.enabled: must be true or false, not the number 1"),
        ("nav_sources: [{name: 5}]", "nav_sources[0].name: must be text, not the number 5"),
        (
            "rules: [{name: s, type: envelope, quantity: speed_mps, table: {t_s: [0, 10], upper: [100, 'x']}}]",
            "rules[0].table.upper[1]: must be a number, not the text 'x'",
        ),
        (
            "scenarios: {x: {nav_faults: [{kind: position_bias, source: nav, from_t_s: 1, offset_m: [1, false, 3]}]}}",
            "scenarios.x.nav_faults[0].offset_m[1]: must be a number, not false",
        ),
        (
            "rules: [{name: r, type: body_rate, max_rate_deg_s: [30]}]",
            "rules[0].max_rate_deg_s: must be a number, not a list",
        ),
    ],
    ids=[
        "bool",
        "quoted",
        "epoch-number",
        "int-as-float",
        "bool-as-int",
        "name-number",
        "table-text",
        "tuple-item",
        "list",
    ],
)
def test_a_value_of_the_wrong_type_is_named_with_the_fix(tmp_path, yaml_text, expected):
    site = "" if yaml_text.startswith("site:") else f"site: {SITE}\n"
    problems = _problems(tmp_path, "name: t\n" + site + yaml_text + "\n")
    assert any(p.startswith(expected) for p in problems), problems


def test_the_forms_a_mission_writes_still_load(tmp_path):
    """Ints where floats go, YAML 1.2 exponents (PyYAML alone reads ``1e-3`` as text), a quoted or bare
    date-time, lists for tuples."""
    text = (
        "name: t\n"
        "site: {lat_deg: 33, lon_deg: 135.9, launch_azimuth_deg: 175, liftoff_epoch_utc: 2026-03-05T02:00:00Z}\n"
        "requirements: {false_termination_max: 1e-3}\n"
        "arming: {liftoff_height_m: 5E0, liftoff_speed_mps: 3}\n"
        "nav_sources: [{name: a}, {name: b}]\n"
        "rules: [{name: d, type: source_disagreement, sources: [a, b], max_difference: 5e2}]\n"
        "scenarios: {x: {nav_faults: [{kind: position_bias, source: a, from_t_s: 1, offset_m: [1, 2.5, -3]}]}}\n"
    )
    path = tmp_path / "m.yaml"
    path.write_text(text)
    m = load_mission(path)
    assert m.site.lat_deg == 33.0 and isinstance(m.site.lat_deg, float)
    assert m.requirements.false_termination_max == 1e-3 and m.arming.liftoff_height_m == 5.0
    assert m.rules[0].sources == ("a", "b") and m.rules[0].max_difference == 500.0
    assert m.scenarios["x"].nav_faults[0].offset_m == (1.0, 2.5, -3.0)
    quoted = mission_from_dict({"name": "t", "site": {**SITE, "liftoff_epoch_utc": "2026-03-05T02:00:00Z"}})
    assert quoted.site.liftoff_epoch_utc == m.site.liftoff_epoch_utc


@pytest.mark.parametrize(
    ("text", "value"),
    [("1e-3", 1e-3), ("-2E6", -2e6), ("1.5e6", 1.5e6), ("1e", "1e"), ("'1e9'", "1e9"), ("12", 12), ("0x1F", 31)],
)
def test_exponents_read_as_yaml_1_2_numbers(text, value):
    assert load_yaml(f"v: {text}") == {"v": value}

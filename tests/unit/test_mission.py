"""Mission file loading: a complete mission loads; every kind of bad input is
rejected with a message that names the field path and what is allowed.

The reference for "what is allowed" is the schema itself (the pydantic models'
field lists) and, for distances, pyproj's WGS84 geodesic (Karney 2013).
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import numpy as np
import pydantic
import pytest
import yaml
from pyproj import Geod

from rangeguard.errors import RangeguardError
from rangeguard.mission import Mission, MissionError, load_mission, mission_from_dict
from rangeguard.mission import model as mm
from rangeguard.mission.rule_types import RULE_TYPES as RULE_CLASSES
from rangeguard.mission.rule_types.limits import BodyRateRule
from rangeguard.mission.site import SiteSpec

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FULL = FIXTURES / "full-mission.yaml"
GEOD = Geod(ellps="WGS84")

ALL_RULE_TYPES = set(RULE_CLASSES)


def base() -> dict:
    """A small valid mission as read from YAML; tests deep-copy and break it."""
    return {
        "name": "t",
        "site": {"lat_deg": 33.5, "lon_deg": 135.9, "launch_azimuth_deg": 175.0},
        "nav_sources": [{"name": "a"}, {"name": "b"}],
        "areas": [
            {
                "name": "land",
                "kind": "protected",
                "lat_deg": [34.0, 34.0, 34.5, 34.5],
                "lon_deg": [135.0, 135.5, 135.5, 135.0],
            },
        ],
        "events": [{"name": "sep", "t_s": 60.0}],
        "phases": [{"name": "boost", "end_event": "sep"}],
        "rules": [
            {
                "name": "speed",
                "type": "envelope",
                "quantity": "speed_mps",
                "table": {"t_s": [0, 10], "upper": [100, 300]},
            },
            {"name": "rate", "type": "body_rate", "max_rate_deg_s": 30.0},
            {
                "name": "alt",
                "type": "envelope",
                "quantity": "altitude_m",
                "table": {"t_s": [0, 100], "lower": [0, 1000]},
            },
            {"name": "land", "type": "iip_polygon", "area": "land"},
        ],
    }


def problems_of(data, base_dir=".") -> list[str]:
    with pytest.raises(MissionError) as info:
        mission_from_dict(data, base_dir=base_dir, source="test.yaml")
    assert isinstance(info.value, RangeguardError)
    return info.value.problems


# --- the complete mission -----------------------------------------------------------


def test_full_mission_loads_with_every_section():
    """(That every rule type loads from a file is the docs example's test: tests/unit/test_mission_docs.py.)"""
    m = load_mission(FULL)
    assert isinstance(m, Mission)
    assert m.source_path == FULL
    assert {"iip_polygon", "envelope", "data_loss", "source_disagreement", "gate"} <= {r.type for r in m.rules}
    # every section given explicitly in the file is there with its values
    raw = yaml.safe_load(FULL.read_text())
    simulator_and_risk = {
        "vehicle",
        "sensors",
        "scenarios",
        "dispersions",
        "debris",
        "failure",
        "jettisoned",
        "population",
        "risk_criteria",
    }
    assert set(raw) >= set(Mission.model_fields) - simulator_and_risk
    assert m.seed == 42 and m.site.alt_m == 20.0
    assert m.site.liftoff_epoch_utc.isoformat() == "2026-03-05T02:00:00+00:00"
    assert [s.name for s in m.string_specs] == ["afts_a", "afts_b"]
    assert m.termination.policy == "health_degraded"
    assert m.safing.iip_clear.min_iip_range_m == 900000.0
    assert m.rule("ins-velocity-agree").enabled is False
    assert m.rule("speed-band").table.lower == [None, 20.0, 600.0, 1500.0]
    assert m.rule("stay-in-corridor").active.until_event == "stage1_sep"


def test_geojson_area_is_read_in_lon_lat_order_and_feature_is_picked():
    """RFC 7946 stores [lon, lat]; the outline must come back as (lat list, lon list)."""
    m = load_mission(FULL)
    doc = json.loads((FIXTURES / "areas" / "protected.geojson").read_text())
    for feat in doc["features"]:
        ring = feat["geometry"]["coordinates"][0]
        lat, lon = m.area_outline(feat["properties"]["name"])
        assert lat == [c[1] for c in ring]
        assert lon == [c[0] for c in ring]


def test_defaults_when_sections_are_left_out():
    m = mission_from_dict({"name": "x", "site": {"lat_deg": 1.0, "lon_deg": 2.0, "launch_azimuth_deg": 90.0}})
    assert [s.name for s in m.nav_sources] == ["nav"]
    assert [(s.name, s.nav_source) for s in m.string_specs] == [("nav", "nav")]
    assert m.termination.policy == "health_degraded" and m.termination.persistence_s == 0.5
    assert m.arming.liftoff_height_m == 5.0 and m.arming.liftoff_speed_mps == 3.0
    assert m.safing.orbit.enabled and m.safing.iip_clear.enabled
    assert m.rules == [] and m.areas == []
    assert m.source_path is None


def test_yaml_file_relative_geojson_path(tmp_path):
    """GeoJSON paths are relative to the mission file, not to the working directory."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.geojson").write_text(
        json.dumps(
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Polygon", "coordinates": [[[1, 0], [2, 0], [2, 1], [1, 0]]]},
            }
        )
    )
    d = base()
    d["areas"] = [{"name": "land", "kind": "protected", "geojson": "sub/a.geojson"}]
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(d))
    m = load_mission(tmp_path / "m.yaml")
    assert m.area_outline("land") == ([0.0, 0.0, 1.0, 0.0], [1.0, 2.0, 2.0, 1.0])


# --- field errors from the schema ------------------------------------------------------


def test_table_times_must_increase_names_the_path():
    d = base()
    d["rules"][2]["table"]["t_s"] = [0, 0]
    assert "rules[2].table.t_s: values must increase" in problems_of(d)


def test_unknown_field_lists_the_allowed_ones():
    d = base()
    d["site"]["latitude"] = 33.0
    (line,) = problems_of(d)
    assert line.startswith("site.latitude: unknown field; allowed here: ")
    allowed = line.split("allowed here: ")[1].split(", ")
    assert allowed == list(SiteSpec.model_fields)


def test_unknown_field_in_a_rule_lists_that_rule_types_fields():
    d = base()
    d["rules"][1]["max_rate"] = 3.0
    (line,) = problems_of(d)
    assert line.startswith("rules[1].max_rate: unknown field; allowed here: ")
    assert line.split("allowed here: ")[1].split(", ") == list(BodyRateRule.model_fields)


def test_unknown_top_level_section_lists_the_sections():
    d = base()
    d["rulez"] = []
    (line,) = problems_of(d)
    assert line.startswith("rulez: unknown field; allowed here: ")
    assert set(line.split("allowed here: ")[1].split(", ")) == set(Mission.model_fields)


def test_unknown_rule_type_names_the_allowed_types():
    d = base()
    d["rules"][0]["type"] = "speed_limit"
    (line,) = problems_of(d)
    assert line.startswith("rules[0]")
    assert "speed_limit" in line
    for t in ALL_RULE_TYPES:
        assert t in line


def test_missing_required_field():
    d = base()
    del d["site"]["lat_deg"]
    assert problems_of(d) == ["site.lat_deg: required field is missing"]


def test_out_of_range_and_bad_literal_values():
    d = base()
    d["site"]["lat_deg"] = 95.0
    d["termination"] = {"policy": "3oo4"}
    d["rules"][1]["max_rate_deg_s"] = -1.0
    p = problems_of(d)
    assert len(p) == 3
    assert any(x.startswith("site.lat_deg:") and "90" in x for x in p)
    assert any(
        x.startswith("termination.policy:") and "'1oo2'" in x and "'2oo2'" in x and "'health_degraded'" in x for x in p
    )
    assert any(x.startswith("rules[1].max_rate_deg_s:") and "greater than 0" in x for x in p)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d["rules"][0]["table"].update(upper=[1.0]), "rules[0].table: upper has 1 values but t_s has 2"),
        (
            lambda d: d["rules"][0]["table"].update(lower=[200, 100]),
            "rules[0].table: lower[0] = 200.0 must be below upper[0] = 100.0",
        ),
        (lambda d: d["rules"][0]["table"].pop("upper"), "rules[0].table: give at least one of lower, upper"),
        (
            lambda d: d["areas"][0].update(geojson="x.geojson"),
            "areas[0]: give the outline either as lat_deg + lon_deg lists or as a geojson file",
        ),
        (
            lambda d: d["areas"][0].update(lat_deg=[34.0, 34.0, 34.5]),
            "areas[0]: lat_deg has 3 values, lon_deg 4; they must match",
        ),
        (
            lambda d: d["events"].append({"name": "e", "t_s": 1.0, "when": {"quantity": "altitude_m", "above": 1.0}}),
            "events[1]: give exactly one of t_s (scheduled) or when (detected)",
        ),
        (lambda d: d["events"].append({"name": "liftoff", "t_s": 0.0}), "events[1]: 'liftoff' is built in"),
        (
            lambda d: d["events"].append({"name": "e", "when": {"quantity": "altitude_m"}}),
            "events[1].when: give exactly one of above, below",
        ),
        (
            lambda d: d["rules"].append({"name": "dl", "type": "data_loss"}),
            "rules[4]: give exactly one of green_time_s (constant) or table",
        ),
        (
            lambda d: d["rules"].append(
                {"name": "dl", "type": "data_loss", "table": {"t_s": [0, 1], "green_time_s": [1, 0]}}
            ),
            "rules[4]: green_time_s values must be positive",
        ),
        (
            lambda d: d["rules"].append(
                {
                    "name": "g",
                    "type": "gate",
                    "start_lat_deg": 1,
                    "start_lon_deg": 1,
                    "end_lat_deg": 1,
                    "end_lon_deg": 2,
                    "open_t_s": 50,
                    "close_t_s": 40,
                }
            ),
            "rules[4]: close_t_s must be greater than open_t_s",
        ),
        (
            lambda d: d["rules"][1].update(active={"from_t_s": 10, "to_t_s": 5}),
            "rules[1].active: to_t_s must be greater than from_t_s",
        ),
        (
            lambda d: d["rules"].append(
                {"name": "p", "type": "position_polygon", "area": "land", "alt_min_m": 10, "alt_max_m": 5}
            ),
            "rules[4]: alt_max_m must be greater than alt_min_m",
        ),
        (
            lambda d: d["rules"].append(
                {
                    "name": "a",
                    "type": "attitude_error",
                    "max_error_deg": 5,
                    "commanded": {"t_s": [0, 1], "azimuth_deg": [0], "elevation_deg": [90, 80]},
                }
            ),
            "rules[4].commanded: azimuth_deg needs one value per t_s entry (2)",
        ),
    ],
)
def test_model_level_errors_name_the_path_and_the_fix(mutate, expected):
    d = base()
    mutate(d)
    p = problems_of(d)
    assert any(line.startswith(expected) for line in p), p


# --- cross-reference errors --------------------------------------------------------------


def test_unknown_area_lists_the_defined_areas():
    d = base()
    d["rules"][3]["area"] = "sea"
    assert problems_of(d) == ["rules[3].area: unknown area 'sea'; allowed: land"]


def test_unknown_event_and_phase_list_what_exists():
    d = base()
    d["rules"][0]["active"] = {"after_event": "stage2", "phase": "coast"}
    d["phases"][0]["end_event"] = "meco"
    p = problems_of(d)
    assert "phases[0].end_event: unknown event 'meco'; allowed: liftoff, sep" in p
    assert "rules[0].active.after_event: unknown event 'stage2'; allowed: liftoff, sep" in p
    assert "rules[0].active.phase: unknown phase 'coast'; allowed: boost" in p
    assert len(p) == 3


def test_unknown_nav_source_in_strings_and_rules():
    d = base()
    d["strings"] = [{"name": "s1", "nav_source": "a"}, {"name": "s2", "nav_source": "gps"}]
    d["rules"].append({"name": "agree", "type": "source_disagreement", "sources": ["a", "ins"], "max_difference": 10})
    p = problems_of(d)
    assert "strings[1].nav_source: 'gps' is not a nav source; allowed: a, b" in p
    assert "rules[4].sources[1]: 'ins' is not a nav source; allowed: a, b" in p


def test_source_disagreement_needs_two_different_sources():
    d = base()
    d["rules"].append({"name": "agree", "type": "source_disagreement", "sources": ["a", "a"], "max_difference": 10})
    assert problems_of(d) == ["rules[4].sources: compare two different sources"]


def test_duplicate_names_are_reported_per_section():
    d = base()
    d["rules"].append({"name": "rate", "type": "body_rate", "max_rate_deg_s": 10.0})
    d["nav_sources"].append({"name": "a"})
    d["areas"].append(copy.deepcopy(d["areas"][0]))
    d["events"].append({"name": "sep", "t_s": 70.0})
    d["phases"].append({"name": "boost"})
    p = problems_of(d)
    for line in (
        "rules[4].name: 'rate' is used twice; names must be unique",
        "nav_sources[2].name: 'a' is used twice; names must be unique",
        "areas[1].name: 'land' is used twice; names must be unique",
        "events[1].name: 'sep' is used twice; names must be unique",
        "phases[1].name: 'boost' is used twice; names must be unique",
    ):
        assert line in p, p


def test_2oo2_needs_two_strings():
    d = base()
    d["nav_sources"] = [{"name": "a"}]
    d["termination"] = {"policy": "2oo2"}
    assert problems_of(d) == ["termination.policy: 2oo2 needs at least two strings"]


def test_2oo2_with_two_strings_loads():
    d = base()
    d["termination"] = {"policy": "2oo2"}
    assert mission_from_dict(d).termination.policy == "2oo2"


# --- polygons -----------------------------------------------------------------------------


def test_self_intersecting_polygon_names_the_crossing_edges():
    """A bow tie: v0(34,135) -> v1(34,135.5) -> v2(34.5,135) -> v3(34.5,135.5).
    Edge 1 (v1->v2) and edge 3 (v3->v0) are the two diagonals; they cross."""
    d = base()
    d["areas"][0]["lon_deg"] = [135.0, 135.5, 135.0, 135.5]
    d["areas"][0]["lat_deg"] = [34.0, 34.0, 34.5, 34.5]
    (line,) = problems_of(d)
    assert line.startswith("areas[0]: ") and "'land'" in line
    assert "edges 1 (vertices 1-2) and 3 (vertices 3-0) cross" in line


def test_too_few_vertices():
    d = base()
    d["areas"][0].update(lat_deg=[34.0, 34.5, 34.0], lon_deg=[135.0, 135.5, 135.0])  # closed ring of 2 distinct points
    (line,) = problems_of(d)
    assert line.startswith("areas[0]: ") and "'land'" in line and "at least 3 distinct vertices; got 2" in line


def test_repeated_vertex_and_degenerate_polygon():
    d = base()
    d["areas"][0].update(lat_deg=[34.0, 34.0, 34.0, 34.5], lon_deg=[135.0, 135.0, 135.5, 135.5])
    (line,) = problems_of(d)
    assert line.startswith("areas[0]: ") and "'land'" in line and "vertices 0 and 1" in line and "remove" in line
    d["areas"][0].update(lat_deg=[0.0, 0.0, 0.0], lon_deg=[1.0, 2.0, 3.0])  # all on the equator: no area
    (line,) = problems_of(d)
    assert line.startswith("areas[0]: ") and "zero area" in line and "great circle" in line


def test_polygon_too_large():
    """Vertices 120 degrees of longitude apart at +-60 lat: more than 80 degrees from any centre."""
    d = base()
    d["areas"][0].update(lat_deg=[0.0, 60.0, -60.0], lon_deg=[0.0, 120.0, 240.0])
    (line,) = problems_of(d)
    assert line.startswith("areas[0]: ") and "80 degrees" in line and "split" in line


def test_non_finite_vertices():
    """Inline vertices are numbers of the mission file: the schema refuses NaN with the element's path.
    A GeoJSON outline's vertices go through the polygon check, which names the vertex."""
    d = base()
    d["areas"][0]["lat_deg"][1] = math.nan
    (line,) = problems_of(d)
    assert line.startswith("areas[0].lat_deg[1]: must be a finite number")


def test_non_finite_geojson_vertex_is_named_by_the_polygon_check(tmp_path):
    (tmp_path / "a.geojson").write_text(
        '{"type": "Polygon", "coordinates": [[[135, 34], [135.5, 1e999], [135.5, 34.5]]]}'
    )
    d = base()
    d["areas"][0] = {"name": "land", "kind": "protected", "geojson": "a.geojson"}
    (line,) = problems_of(d, base_dir=tmp_path)
    assert line.startswith("areas[0]: ") and "'land'" in line and "[1]" in line and "not finite" in line


def _geojson_problem(tmp_path, content, feature=None) -> str:
    path = tmp_path / "area.geojson"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    d = base()
    d["areas"][0] = {"name": "land", "kind": "protected", "geojson": "area.geojson"}
    if feature is not None:
        d["areas"][0]["feature"] = feature
    (line,) = problems_of(d, base_dir=tmp_path)
    assert line.startswith("areas[0].geojson: ")
    return line


def _poly(ring):
    return {"type": "Polygon", "coordinates": [ring]}


RING = [[135, 34], [135.5, 34], [135.5, 34.5], [135, 34]]


def test_geojson_errors(tmp_path):
    d = base()
    d["areas"][0] = {"name": "land", "kind": "protected", "geojson": "missing.geojson"}
    (line,) = problems_of(d, base_dir=tmp_path)
    assert line.startswith("areas[0].geojson: file not found") and "relative to the mission file" in line

    assert "is not valid JSON" in _geojson_problem(tmp_path, "{not json")
    assert "expected a Polygon geometry, found 'LineString'" in _geojson_problem(
        tmp_path, {"type": "LineString", "coordinates": RING}
    )
    assert "holes are not supported" in _geojson_problem(
        tmp_path,
        {"type": "Polygon", "coordinates": [RING, [[135.1, 34.1], [135.2, 34.1], [135.2, 34.2], [135.1, 34.1]]]},
    )
    assert "coordinates must be [lon, lat] number pairs" in _geojson_problem(tmp_path, _poly([[135], [1, 2], [3, 4]]))
    fc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"name": "x"}, "geometry": _poly(RING)},
            {"type": "Feature", "properties": {"name": "y"}, "geometry": _poly(RING)},
        ],
    }
    assert "holds 2 features; pick one with `feature: NAME`" in _geojson_problem(tmp_path, fc)
    assert "no feature with properties.name == 'z'" in _geojson_problem(tmp_path, fc, feature="z")
    assert "expected a GeoJSON object" in _geojson_problem(tmp_path, "[1, 2]")


def test_geojson_polygon_is_checked_like_an_inline_one(tmp_path):
    path = tmp_path / "bow.geojson"
    path.write_text(json.dumps(_poly([[135, 34], [135.5, 34], [135, 34.5], [135.5, 34.5], [135, 34]])))
    d = base()
    d["areas"][0] = {"name": "land", "kind": "protected", "geojson": "bow.geojson"}
    (line,) = problems_of(d, base_dir=tmp_path)
    assert line.startswith("areas[0]: ") and "edges 1 (vertices 1-2) and 3 (vertices 3-0) cross" in line


# --- safing range check ---------------------------------------------------------------------


def test_min_iip_range_inside_a_protected_area_is_rejected():
    """The farthest protected vertex from the pad, by pyproj's geodesic, bounds min_iip_range_m from below."""
    d = base()
    lat, lon = d["areas"][0]["lat_deg"], d["areas"][0]["lon_deg"]
    _, _, dist = GEOD.inv([135.9] * 4, [33.5] * 4, lon, lat)
    far = float(np.max(dist))
    d["safing"] = {"iip_clear": {"min_iip_range_m": far - 1000.0}}
    (line,) = problems_of(d)
    assert line.startswith("safing.iip_clear.min_iip_range_m: ")
    assert f"Use at least {math.ceil(far)} m" in line
    d["safing"] = {"iip_clear": {"min_iip_range_m": far + 1.0}}
    assert mission_from_dict(d).safing.iip_clear.min_iip_range_m == far + 1.0


# --- several problems at once ------------------------------------------------------------------


def test_every_schema_problem_is_reported_at_once():
    d = base()
    d["site"]["lat_deg"] = "north"
    d["rules"][2]["table"]["t_s"] = [5, 1]
    d["rules"][1]["max_rate_deg_s"] = 0
    d["arming"] = {"liftoff_height_m": -1}
    p = problems_of(d)
    assert len(p) == 4, p
    assert {x.split(":")[0] for x in p} == {
        "site.lat_deg",
        "rules[2].table.t_s",
        "rules[1].max_rate_deg_s",
        "arming.liftoff_height_m",
    }


def test_every_cross_check_problem_is_reported_at_once():
    d = base()
    d["rules"][3]["area"] = "sea"
    d["rules"][0]["active"] = {"phase": "coast"}
    d["areas"][0]["lat_deg"] = [34.0, 34.0]
    d["areas"][0]["lon_deg"] = [135.0, 135.5]
    d["rules"].append({"name": "speed", "type": "body_rate", "max_rate_deg_s": 1.0})
    p = problems_of(d)
    assert len(p) == 4, p
    assert {x.split(":")[0] for x in p} == {"rules[3].area", "rules[0].active.phase", "areas[0]", "rules[4].name"}


def test_error_message_lists_every_problem_with_the_source():
    d = base()
    d["rules"][3]["area"] = "sea"
    d["rules"][0]["active"] = {"phase": "coast"}
    with pytest.raises(MissionError) as info:
        mission_from_dict(d, source="missions/x.yaml")
    text = str(info.value)
    assert text.splitlines()[0] == "missions/x.yaml: 2 problem(s) in the mission file:"
    for p in info.value.problems:
        assert f"  {p}" in text


# --- the file itself ----------------------------------------------------------------------------


def test_file_not_found(tmp_path):
    with pytest.raises(MissionError) as info:
        load_mission(tmp_path / "nope.yaml")
    assert info.value.problems == ["file not found; give the path to a mission YAML file (see missions/)"]
    assert str(tmp_path / "nope.yaml") in str(info.value)


def test_yaml_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\nsite:\n  lat_deg: 33.5\n  lon_deg: [135.9\nrules: []\n")
    with pytest.raises(MissionError) as info:
        load_mission(path)
    (line,) = info.value.problems
    # PyYAML reports the unclosed flow sequence where it gives up: line 5 ("rules: []").
    assert line.startswith("line 5, column "), line
    assert "not valid YAML" in line


def test_top_level_must_be_a_mapping(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(MissionError) as info:
        load_mission(path)
    assert info.value.problems[0].startswith("(top level): the file must hold a mapping")


def test_yaml_is_read_with_the_safe_loader(tmp_path):
    """A python/object tag must be rejected, never constructed (which would run os.mkdir)."""
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.yaml"
    path.write_text(
        f"name: !!python/object/apply:os.mkdir ['{marker}']\nsite: {{lat_deg: 1, lon_deg: 2, launch_azimuth_deg: 3}}\n"
    )
    with pytest.raises(MissionError) as info:
        load_mission(path)
    assert not marker.exists()
    (line,) = info.value.problems
    assert line.startswith("line 1, column ") and "python/object" in line


def test_mission_is_immutable():
    m = load_mission(FULL)
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        m.seed = 3
    assert isinstance(m.termination, mm.TerminationSpec)

"""The bundled missions load, and the Kii files are exactly what their generator writes."""

from __future__ import annotations

import importlib.util
import pathlib

import pytest

from rangeguard.mission import load_mission

ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["kii-sso.yaml", "kii-sso-strict.yaml", "sounding.yaml"])
def test_bundled_missions_load(name):
    m = load_mission(ROOT / "missions" / name)
    assert m.vehicle is not None and m.rules


def test_kii_files_match_the_generator():
    spec = importlib.util.spec_from_file_location("make_kii_missions", ROOT / "tools" / "make_kii_missions.py")
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    for strict, name in ((False, "kii-sso.yaml"), (True, "kii-sso-strict.yaml")):
        assert (ROOT / "missions" / name).read_text() == tool.render(strict), (
            f"{name} drifted: rerun tools/make_kii_missions.py"
        )


def test_strict_and_validated_differ_only_in_the_speed_rule():
    v = load_mission(ROOT / "missions" / "kii-sso.yaml")
    s = load_mission(ROOT / "missions" / "kii-sso-strict.yaml")
    assert [r.name for r in v.rules] == [r.name for r in s.rules]
    for a, b in zip(v.rules, s.rules, strict=True):
        if a.name != "speed":
            assert a == b
    assert v.rule("speed") != s.rule("speed")
    assert v.areas == s.areas and v.scenarios == s.scenarios

"""A loaded mission never changes: the engine builds its polygons without touching it."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from rangeguard.engine import Engine
from rangeguard.mission import load_mission

MISSION = Path(__file__).resolve().parents[2] / "missions" / "kii-sso.yaml"


def test_building_an_engine_leaves_the_mission_as_loaded():
    mission = load_mission(MISSION)
    before = pickle.dumps(mission)
    engine = Engine(mission)
    assert pickle.dumps(mission) == before  # no cache written into the mission
    protected = [a.name for a in mission.areas if a.kind == "protected"]
    assert protected and set(engine.setup.polygons) == {a.name for a in mission.areas}
    # the polygons are those of the mission's outlines (the same vertices, whatever the orientation)
    for name in protected:
        lat, lon = mission.area_outline(name)
        poly = engine.setup.polygons[name]
        assert set(zip(poly.lat_deg, poly.lon_deg, strict=True)) == set(zip(lat, lon, strict=True))


def test_the_outlines_are_read_only():
    mission = load_mission(MISSION)
    name = mission.areas[0].name
    with pytest.raises(TypeError):
        mission.outlines[name] = ([0.0], [0.0])
    with pytest.raises(TypeError):
        del mission.outlines[name]

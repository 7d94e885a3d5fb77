"""rangeguard.bundled: the bundled missions are package data; the checkout's missions/ is that folder."""

from __future__ import annotations

from pathlib import Path

import rangeguard
from rangeguard.bundled import DEMO_MISSIONS, mission_path, missions_dir
from rangeguard.mission import load_mission

ROOT = Path(__file__).resolve().parents[2]


def test_missions_are_package_data():
    folder = missions_dir()
    assert folder == Path(rangeguard.__file__).parent / "missions"
    assert {p.name for p in folder.glob("*.yaml")} == {"kii-sso.yaml", "kii-sso-strict.yaml", "sounding.yaml"}


def test_the_checkouts_missions_folder_is_a_link_to_the_package_data():
    link = ROOT / "missions"
    assert link.is_symlink() and not Path(link.readlink()).is_absolute()  # relative: works in any clone
    assert link.resolve() == missions_dir().resolve()


def test_mission_path_takes_a_name_with_or_without_suffix():
    assert mission_path("kii-sso") == mission_path("kii-sso.yaml") == missions_dir() / "kii-sso.yaml"
    assert mission_path("other.yml") == missions_dir() / "other.yml"
    assert not mission_path("no-such-mission").exists()  # the caller says what to do


def test_mission_path_never_leaves_the_missions_folder():
    for name in ("../../pyproject.toml", "/etc/passwd", "areas/../../demo.py"):
        assert mission_path(name).parent == missions_dir()


def test_each_demo_rule_set_names_a_bundled_mission():
    names = {rules: load_mission(mission_path(f)).name for rules, f in DEMO_MISSIONS.items()}
    assert names == {"validated": "kii-sso", "strict": "kii-sso-strict"}

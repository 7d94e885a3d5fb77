"""The sealed mission load (rangeguard.formats.missionload): round trip, self-contained, and every
altered byte refused with a readable message."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from rangeguard.cli.app import main
from rangeguard.errors import InputError
from rangeguard.formats.missionload import content_digest, open_load, seal_mission, verify_load
from rangeguard.keyfile import write_key_file
from rangeguard.mission import load_mission, mission_from_dict

ROOT = Path(__file__).resolve().parents[2]
TINY = {
    "name": "tiny",
    "site": {"lat_deg": 33.5, "lon_deg": 135.8, "launch_azimuth_deg": 170.0},
    "nav_sources": [{"name": "ins"}],
    "rules": [
        {"name": "ceiling", "type": "envelope", "quantity": "altitude_m", "persistence_s": 0.5,
         "table": {"t_s": [0.0, 1000.0], "upper": [130000.0, 130000.0]}},
        {"name": "nav-loss", "type": "data_loss", "green_time_s": 2.0},
    ],
}  # fmt: skip


@pytest.fixture()
def key(tmp_path):
    return write_key_file(tmp_path / "link.key")


@pytest.mark.parametrize("name", ["sounding", "kii-sso"])
def test_a_load_is_self_contained_and_gives_the_same_mission(tmp_path, key, name):
    src = load_mission(ROOT / "missions" / f"{name}.yaml")
    data = seal_mission(src, key)
    (tmp_path / "m.load").write_bytes(data)
    moved = tmp_path / "elsewhere"
    moved.mkdir()
    shutil.move(tmp_path / "m.load", moved / "m.load")  # no mission folder beside it: everything is inside
    m, digest = open_load(moved / "m.load", key)
    assert digest == json.loads(data)["digest_sha256"]
    assert [r.name for r in m.rules] == [r.name for r in src.rules]
    assert dict(m.outlines) == dict(src.outlines)  # GeoJSON areas carried as vertex lists
    assert m.nav_gate == src.nav_gate and m.termination == src.termination
    if m.vehicle is not None:  # motor curves carried as attachments
        for a, b in zip(m.vehicle.stages, src.vehicle.stages, strict=True):
            if b.eng_file is not None:
                assert Path(a.eng_file).read_bytes() == Path(b.eng_file).read_bytes()
    assert seal_mission(m, key) != b""  # and a load's mission seals again


def test_the_digest_is_of_the_content_and_the_same_everywhere(key):
    m = mission_from_dict(TINY)
    load = json.loads(seal_mission(m, key))
    assert load["digest_sha256"] == content_digest(load["mission"], load["attachments"])
    assert seal_mission(m, key) == seal_mission(mission_from_dict(json.loads(json.dumps(TINY))), key)


def test_every_flipped_byte_of_a_sealed_load_is_refused(tmp_path, key):
    data = seal_mission(mission_from_dict(TINY), key)
    assert len(data) < 4000
    verify_load(data, key)  # the genuine one verifies
    for i in range(len(data)):
        for mask in (0x01, 0x20, 0xFF):  # lowest bit (digit or letter -> neighbour), case, every bit
            bad = data[:i] + bytes([data[i] ^ mask]) + data[i + 1 :]
            with pytest.raises(InputError) as err:
                verify_load(bad, key, "m.load")
            message = str(err.value)
            assert message.startswith("m.load: refused") and "\n" not in message, (i, mask, message)
    for cut in (0, 1, len(data) // 2, len(data) - 1):  # truncated
        with pytest.raises(InputError):
            verify_load(data[:cut], key)
    with pytest.raises(InputError):  # extended
        verify_load(data + b" ", key)


def test_another_key_and_a_reformatted_file_are_refused(tmp_path, key):
    data = seal_mission(mission_from_dict(TINY), key)
    with pytest.raises(InputError, match="sealed with another key"):
        verify_load(data, write_key_file(tmp_path / "other.key"))
    pretty = (json.dumps(json.loads(data), indent=1, sort_keys=True) + "\n").encode()
    with pytest.raises(InputError, match="not the canonical form"):
        verify_load(pretty, key)
    doc = json.loads(data)
    doc["mission"]["rules"][0]["persistence_s"] = 5.0  # edited, digest and seal recomputed without the key
    doc["digest_sha256"] = content_digest(doc["mission"], doc["attachments"])
    forged = (json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n").encode()
    with pytest.raises(InputError, match="seal does not verify"):
        verify_load(forged, key)


def test_cli_seal_check_and_run_refuse_an_altered_load_with_exit_2(tmp_path, key, capsys):
    mission = tmp_path / "tiny.yaml"
    mission.write_text(json.dumps(TINY))  # JSON is YAML
    load = tmp_path / "tiny.load"
    assert main(["seal", str(mission), "--key", str(key.path), "-o", str(load)]) == 0
    assert main(["check", str(load), "--key", str(key.path)]) == 0
    assert "seal verified" in capsys.readouterr().out
    data = bytearray(load.read_bytes())
    data[len(data) // 2] ^= 0x01
    load.write_bytes(bytes(data))
    capsys.readouterr()
    assert main(["check", str(load), "--key", str(key.path)]) == 2
    err = capsys.readouterr().err
    assert "refused" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["run", "-m", str(load), "--key", str(key.path), "--command", "udp://127.0.0.1:9"]) == 2
    assert "refused" in capsys.readouterr().err
    # an unsealed mission is refused unless --unsealed; a world-readable key file too
    assert main(["run", "-m", str(mission), "--key", str(key.path), "--command", "udp://127.0.0.1:9"]) == 2
    assert "not a sealed load" in capsys.readouterr().err
    os.chmod(key.path, 0o644)
    assert main(["check", str(load), "--key", str(key.path)]) == 2
    assert "chmod 600" in capsys.readouterr().err

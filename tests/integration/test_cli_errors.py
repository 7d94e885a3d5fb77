"""One error path for the command line (issue 14, item 1): each bad input the issue lists, as a user's shell sees it.

Every case runs ``python -m rangeguard.cli`` in its own process and asserts the
exit status (2), the message (what is wrong, where, how to fix it) and that no
traceback and no "internal error" (the fallback for a bug) reached the user.
The generated corpus of bad files for every command is in test_cli_corpus.py.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MISSIONS = ROOT / "missions"
SOUNDING = MISSIONS / "sounding.yaml"
QUICK = [
    "--runs",
    "2",
    "--scenarios",
    "none",
    "--failure-runs",
    "0",
    "--t-max",
    "2",
    "--backend",
    "inprocess",
    "--no-progress",
    "--no-report",
    "--json",
]
DEEP = 20_000


def rangeguard(*args, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rangeguard.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


def refused(p: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit 2 with every fragment in the message, and nothing a user should not see."""
    text = p.stderr + p.stdout
    assert p.returncode == 2, (p.returncode, text)
    assert "Traceback" not in text and "internal error" not in text, text
    for fragment in fragments:
        assert fragment in text, (fragment, text)


def _mission_data() -> dict:
    """sounding.yaml with every path made absolute, so a copy works from any folder."""
    data = yaml.safe_load(SOUNDING.read_text())
    data["vehicle"] = str(MISSIONS / data["vehicle"])
    for a in data["areas"]:
        if "geojson" in a:
            a["geojson"] = str(MISSIONS / a["geojson"])
    return data


def write_mission(folder: Path, name: str = "mission.yaml", **changes) -> Path:
    data = _mission_data()
    data.update(changes)
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def with_area_file(folder: Path, geojson: Path) -> Path:
    data = _mission_data()
    data["areas"][0]["geojson"] = str(geojson)
    return write_mission(folder, areas=data["areas"])


@pytest.fixture(scope="module")
def flight(tmp_path_factory) -> Path:
    """A `rangeguard simulate` output folder (for report and export)."""
    out = tmp_path_factory.mktemp("flight")
    p = rangeguard("simulate", SOUNDING, "--out", out, "--no-report", "--json")
    assert p.returncode == 0, p.stderr
    return out


@pytest.fixture(scope="module")
def navlog_rows(tmp_path_factory) -> Path:
    """A 5-second nav log of the sounding rocket (CSV), to be broken column by column."""
    from rangeguard.mission import load_mission
    from rangeguard.sim.sensors import scenario_navlog

    table = scenario_navlog(load_mission(SOUNDING), None, rate_hz=10.0, seed=1, t_max_s=5.0)
    path = tmp_path_factory.mktemp("navlog") / "nav.csv"
    pacsv.write_csv(table, path)
    return path


def navlog_with(tmp_path: Path, source: Path, column: str, value) -> Path:
    """``source`` with every value of ``column`` replaced by the text ``value`` (CSV)."""
    lines = source.read_text().splitlines()
    header = [h.strip('"') for h in lines[0].split(",")]
    k = header.index(column)
    out = [lines[0]]
    for line in lines[1:]:
        cells = line.split(",")
        cells[k] = value(cells[k]) if callable(value) else value
        out.append(",".join(cells))
    path = tmp_path / f"nav-{column}.csv"
    path.write_text("\n".join(out) + "\n")
    return path


# --- GeoJSON areas and vehicle files --------------------------------------------------------------------


def test_a_geojson_area_that_is_a_directory(tmp_path):
    (tmp_path / "coast.geojson").mkdir()
    p = rangeguard("check", with_area_file(tmp_path, tmp_path / "coast.geojson"))
    refused(p, "areas[0].geojson:", "coast.geojson is a directory; give the path of a GeoJSON file")


def test_a_geojson_area_that_is_binary(tmp_path):
    (tmp_path / "coast.geojson").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    p = rangeguard("simulate", with_area_file(tmp_path, tmp_path / "coast.geojson"), "--out", tmp_path / "out")
    refused(p, "areas[0].geojson:", "coast.geojson is not a text file (not UTF-8); give a GeoJSON file")


@pytest.mark.parametrize(
    ("doc", "fragment"),
    [
        (
            {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": None}]},
            "features[0].geometry must be a Polygon object, found null",
        ),
        ({"type": "FeatureCollection", "features": [7]}, "features[0] must be a Feature object, found a number"),
        (
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [135, 33]}},
            "expected a Polygon geometry at geometry, found 'Point'",
        ),
        (
            {"type": "Polygon", "coordinates": [[[135, 33], ["136", 33], [136, 34]]]},
            'coordinates must be [lon, lat] number pairs; position 1 of the ring is ["136", 33]',
        ),
        (
            {"type": "Polygon", "coordinates": [[[135, 33], [True, 33], [136, 34]]]},
            "coordinates must be [lon, lat] number pairs; position 1 of the ring is [true, 33]",
        ),
        ({"type": "Polygon", "coordinates": "135,33"}, "the Polygon's coordinates must be a list of rings"),
    ],
    ids=["null-geometry", "feature-not-object", "point", "text-coordinate", "bool-coordinate", "coordinates-text"],
)
def test_a_geojson_area_with_malformed_features_geometry_or_coordinates(tmp_path, doc, fragment):
    (tmp_path / "coast.geojson").write_text(json.dumps(doc))
    p = rangeguard("check", with_area_file(tmp_path, tmp_path / "coast.geojson"))
    refused(p, "areas[0].geojson:", "coast.geojson", fragment)


def test_a_vehicle_file_that_is_a_directory(tmp_path):
    (tmp_path / "rocket.yaml").mkdir()
    p = rangeguard(
        "validate", write_mission(tmp_path, vehicle=str(tmp_path / "rocket.yaml")), *QUICK, "--out", tmp_path / "out"
    )
    refused(p, "vehicle:", "rocket.yaml is a directory; paths are relative to the mission file")


def test_a_vehicle_file_that_is_binary(tmp_path):
    (tmp_path / "rocket.yaml").write_bytes(bytes(range(256)))
    p = rangeguard("check", write_mission(tmp_path, vehicle=str(tmp_path / "rocket.yaml")))
    refused(p, "rocket.yaml", "vehicle: not a text file (not UTF-8); give a YAML file")


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"stages": 5}, "vehicle.stages: must be a list, not the number 5"),
        ({"stages": [7]}, "vehicle.stages[0]: must be a mapping, not the number 7"),
        (
            {"aero": {"mach": [0, "fast"], "axial_force_coefficient": [0.3, 0.4]}},
            "vehicle.aero.mach[1]: must be a number, not the text 'fast'",
        ),
        ({"stage_0_dry_mass_kg": True}, "vehicle.stages[0].dry_mass_kg: must be a number, not true"),
    ],
    ids=["stages-number", "stage-number", "mach-text", "mass-bool"],
)
def test_a_vehicle_file_with_malformed_sections(tmp_path, change, fragment):
    vehicle = yaml.safe_load((MISSIONS / "vehicles" / "sounding.yaml").read_text())
    vehicle["stages"][0]["eng_file"] = str(MISSIONS / "motors" / "rg-snd30.eng")
    if "stage_0_dry_mass_kg" in change:
        vehicle["stages"][0]["dry_mass_kg"] = change.pop("stage_0_dry_mass_kg")  # refused, not 1 kg
    vehicle.update(change)
    (tmp_path / "rocket.yaml").write_text(yaml.safe_dump(vehicle))
    p = rangeguard("check", write_mission(tmp_path, vehicle=str(tmp_path / "rocket.yaml")))
    refused(p, "rocket.yaml", fragment)


# --- nesting 20,000 deep ----------------------------------------------------------------------------------


def test_a_mission_nested_20000_deep(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("name: deep\nsite: " + "{a: " * DEEP + "1" + "}" * DEEP + "\n")
    refused(rangeguard("check", path), "deep.yaml", "not valid YAML: nested more than 64 levels deep")


def test_an_included_file_nested_20000_deep(tmp_path):
    (tmp_path / "sensors.yaml").write_text("default: " + "[" * DEEP + "]" * DEEP + "\n")
    mission = write_mission(tmp_path, sensors="sensors.yaml")
    p = rangeguard("simulate", mission, "--out", tmp_path / "out")
    refused(p, "sensors.yaml", "sensors: line 1, column", "nested more than 64 levels deep")


def test_a_geojson_nested_20000_deep(tmp_path):
    (tmp_path / "coast.geojson").write_text('{"type": "Polygon", "coordinates": ' + "[" * DEEP + "]" * DEEP + "}")
    p = rangeguard("check", with_area_file(tmp_path, tmp_path / "coast.geojson"))
    refused(p, "coast.geojson: JSON nested too deeply to be GeoJSON")


# --- strict mission types through the command line ----------------------------------------------------------


def test_a_boolean_longitude_is_refused_not_read_as_1(tmp_path):
    site = {**_mission_data()["site"], "lon_deg": True}
    p = rangeguard("check", write_mission(tmp_path, site=site))
    refused(p, "site.lon_deg: must be a number, not true (a boolean is not a number)")


def test_a_quoted_number_is_refused(tmp_path):
    site = {**_mission_data()["site"], "alt_m": "5"}
    p = rangeguard("check", write_mission(tmp_path, site=site))
    refused(p, "site.alt_m: must be a number, not the text '5': write the number without quotes")


# --- nav logs (the columns are read by rangeguard.formats.navlog) -----------------------------------------------


def test_a_nav_log_whose_valid_column_says_yes_or_no(tmp_path, navlog_rows):
    log = navlog_with(tmp_path, navlog_rows, "valid", lambda v: "yes" if v == "true" else "no")
    refused(rangeguard("replay", log, "-m", SOUNDING, "--json"), "nav-valid.csv", "valid")


def test_a_nav_log_whose_time_column_is_boolean(tmp_path, navlog_rows):
    log = navlog_with(tmp_path, navlog_rows, "t_s", "true")
    refused(rangeguard("replay", log, "-m", SOUNDING, "--json"), "nav-t_s.csv", "t_s")


def test_a_nav_log_streamed_with_a_yes_no_valid_column(tmp_path, navlog_rows):
    log = navlog_with(tmp_path, navlog_rows, "valid", lambda v: "yes" if v == "true" else "no")
    p = rangeguard(
        "stream", "-m", SOUNDING, "--insecure", "--to", "udp://127.0.0.1:9", "--speed", "max", "--navlog", log
    )
    refused(p, "nav-valid.csv", "valid")


def test_nan_in_the_valid_column_is_not_valid(tmp_path, navlog_rows):
    """A NaN validity flag (a float column of 1.0/0.0 in Parquet) is no claim of validity: the sample is
    rejected as invalid, never used. (In a CSV file pyarrow already reads the text NaN as empty.)"""
    table = pacsv.read_csv(navlog_rows)
    flags = [1.0 if k % 2 == 0 else math.nan for k in range(table.num_rows)]
    table = table.set_column(table.column_names.index("valid"), "valid", pa.array(flags, pa.float64()))
    pq.write_table(table, tmp_path / "nav.parquet")
    p = rangeguard("replay", tmp_path / "nav.parquet", "-m", SOUNDING, "--json")
    assert p.returncode == 0, p.stderr
    summary = json.loads(p.stdout)
    nan_rows = table.num_rows // 2
    assert summary["rejected_by"]["invalid"] >= nan_rows, summary
    assert summary["samples"] <= table.num_rows - nan_rows, summary


# --- validate: --out, --scheduler, --suggest ---------------------------------------------------------------


def test_validate_out_that_is_a_file(tmp_path):
    (tmp_path / "results").write_text("a file")
    p = rangeguard("validate", SOUNDING, *QUICK, "--out", tmp_path / "results")
    refused(p, "--out", "results is a file, not a folder; give a folder (it is created if missing)")


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder nobody here can create a file in (as root, only a read-only system folder will do)."""
    if os.geteuid() != 0:
        folder = tmp_path / "locked"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    for candidate in (Path("/sys"), Path("/proc")):
        try:
            (candidate / ".rangeguard-probe").touch()
        except OSError:
            return candidate
        (candidate / ".rangeguard-probe").unlink()
    pytest.skip("running as root with no read-only folder to write in")


def test_validate_out_that_is_not_writable(tmp_path):
    folder = _unwritable_folder(tmp_path)
    p = rangeguard("validate", SOUNDING, *QUICK, "--out", folder / "results")
    refused(
        p, f"--out {folder / 'results'}: cannot create a file in {folder}", "give a path in a folder you can write to"
    )


def test_validate_scheduler_that_is_not_an_address(tmp_path):
    p = rangeguard(
        "validate",
        SOUNDING,
        "--runs",
        "2",
        "--scenarios",
        "none",
        "--t-max",
        "2",
        "--no-progress",
        "--no-report",
        "--scheduler",
        "not a url",
        "--out",
        tmp_path / "out",
    )
    refused(p, "--scheduler 'not a url' is not a Dask scheduler address; give tcp://HOST:PORT")


def test_validate_suggest_that_is_a_directory(tmp_path):
    (tmp_path / "suggested").mkdir()
    p = rangeguard("validate", SOUNDING, *QUICK, "--out", tmp_path / "out", "--suggest", tmp_path / "suggested")
    refused(p, "--suggest", "suggested is a folder; give a file name, e.g.", "mission-suggested.yaml")
    assert not (tmp_path / "out" / "chunks").exists()  # refused before the first flight


# --- report and export -----------------------------------------------------------------------------------------


def test_report_output_that_is_a_directory(tmp_path, flight):
    (tmp_path / "page.html").mkdir()
    p = rangeguard("report", flight, "-o", tmp_path / "page.html")
    refused(p, "--output", "page.html is a folder; give a file name, e.g.", "report.html")
    assert not (tmp_path / "page.html.tmp").exists()


def test_export_kml_that_is_a_directory(tmp_path, flight):
    (tmp_path / "earth.kml").mkdir()
    p = rangeguard("export", flight, "--kml", tmp_path / "earth.kml")
    refused(p, "--kml", "earth.kml is a folder; give a file name, e.g.", "flight.kml")


def test_export_geojson_under_a_file(tmp_path, flight):
    (tmp_path / "blocker").write_text("a file")
    p = rangeguard("export", flight, "--geojson", tmp_path / "blocker" / "out.geojson")
    refused(p, "--geojson", "blocker is a file, not a folder, so nothing can be written under it")


def test_report_output_that_is_a_pipe_is_not_replaced(tmp_path, flight):
    """A special file (here a FIFO; /dev/null when run as root) would have been replaced by the report."""
    os.mkfifo(tmp_path / "pipe.html")
    p = rangeguard("report", flight, "-o", tmp_path / "pipe.html")
    refused(p, "--output", "pipe.html exists and is not a regular file")
    assert (tmp_path / "pipe.html").is_fifo()


def test_the_checks_leave_nothing_behind(tmp_path):
    """A refused command creates no output folder, and the write test leaves no file."""
    p = rangeguard("validate", tmp_path / "no-such-mission.yaml", *QUICK, "--out", tmp_path / "new" / "out")
    refused(p, "no-such-mission.yaml", "file not found")
    assert sorted(x.name for x in tmp_path.iterdir()) == []


def test_report_of_a_file_instead_of_a_folder(tmp_path, flight):
    p = rangeguard("report", flight / "summary.json")
    refused(p, "summary.json is a file, not a folder; give the output folder of `rangeguard demo`")


# --- the other commands' paths and options ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["simulate", SOUNDING, "--out", "{file}"], ["--out", "is a file, not a folder"]),
        (["simulate", SOUNDING, "--seed", "-1", "--out", "{dir}/o"], ["--seed must be a whole number >= 0; got -1"]),
        (["demo", "--out", "{file}"], ["--out", "is a file, not a folder"]),
        (
            ["stream", "-m", SOUNDING, "--insecure", "--to", "udp://127.0.0.1:9", "--navlog", "{dir}"],
            ["--navlog", "is a folder; give the path of a nav log (CSV or Parquet) file"],
        ),
        (
            ["stream", "-m", SOUNDING, "--insecure", "--to", "udp://127.0.0.1:9", "--rate-hz", "nan"],
            ["--rate-hz must be a finite number (Hz); got nan"],
        ),
        (
            ["stream", "-m", SOUNDING, "--insecure", "--to", "udp://127.0.0.1:9", "--save-navlog", "{dir}"],
            ["--save-navlog", "is a folder; give a file name"],
        ),
        (
            ["run", "-m", SOUNDING, "--insecure", "--unsealed", "--command", "udp://127.0.0.1:9", "--log", "{dir}"],
            ["--log", "is a folder"],
        ),
        (
            ["run", "-m", SOUNDING, "--insecure", "--unsealed", "--command", "udp://127.0.0.1:9", "--max-s", "inf"],
            ["--max-s must be a finite number (s); got inf"],
        ),
        (["stream", "-m", SOUNDING, "--insecure", "--to", "udp://" + "a" * 70 + ":9"], ["--to: cannot resolve host"]),
        (
            ["run", "-m", SOUNDING, "--insecure", "--unsealed", "--command", "udp://127.0.0.1:9", "--allow", "0"],
            ["--allow: '0' is not an IPv4 address (e.g. 127.0.0.1)"],
        ),
    ],
    ids=[
        "simulate-out",
        "simulate-seed",
        "demo-out",
        "stream-navlog-dir",
        "stream-rate-nan",
        "stream-save-dir",
        "run-log-dir",
        "run-max-s-inf",
        "stream-host-label-too-long",
        "run-allow-0",
    ],
)
def test_other_commands_check_paths_and_options_first(tmp_path, args, fragments):
    (tmp_path / "a-file").write_text("x")
    argv = [str(a).replace("{file}", str(tmp_path / "a-file")).replace("{dir}", str(tmp_path)) for a in args]
    refused(rangeguard(*argv), *fragments)

"""No command answers a bad file with a traceback (issue 14, item 1): a corpus of bad inputs the suite generates.

Slots: the mission file and each file it includes (vehicle, sensors, dispersions), a GeoJSON area and the
vehicle's .eng motor file; a nav log (CSV and Parquet); the output folders `report` and `export` read (a
flight folder of `simulate`, a Monte Carlo folder of `validate`, a demo folder) and each file in them. Kinds:
a directory, a FIFO, a missing file, an empty file, binary data, a truncated file, nesting 20,000 deep, and wrong
types (a list or a scalar where a mapping goes, booleans and text where numbers go, a YAML python tag,
nav-log columns of the wrong type).

Every (slot, kind) goes to every command that reads that slot. Each must exit 2 with a message that names the
bad file or folder, and print neither a traceback nor the "internal error" line kept for bugs. The commands
run in-process (:func:`rangeguard.cli.main`, output captured) so the corpus of several hundred runs takes about
a minute; :func:`test_a_sample_of_the_corpus_in_real_processes` repeats one case per slot family as a real
``python -m rangeguard.cli`` process.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import yaml

from rangeguard.cli import main

ROOT = Path(__file__).resolve().parents[2]
MISSIONS = ROOT / "missions"
DEEP = 20_000
BINARY = bytes(range(256)) * 4  # NUL bytes and invalid UTF-8
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
pytestmark = pytest.mark.timeout(120)  # a case that hangs (a FIFO read to the end) fails in 2 minutes, not 10
NOWHERE = "udp://127.0.0.1:9"  # the discard port: a stream that gets as far as sending harms nothing


# --- the bad variants of each format ----------------------------------------------------------------------------

Writer = Callable[[Path], None]


def _text(body: str) -> Writer:
    return lambda p: p.write_text(body, encoding="utf-8")


def _bytes(body: bytes) -> Writer:
    return lambda p: p.write_bytes(body)


def _common(good: bytes) -> dict[str, Writer]:
    return {
        "directory": lambda p: p.mkdir(),
        "fifo": lambda p: os.mkfifo(p),  # reading it would wait for a writer forever
        "missing": lambda p: None,
        "empty": _bytes(b""),
        "binary": _bytes(BINARY),
        "truncated": _bytes(good[: len(good) // 2]),
    }


def _yaml_variants(good: bytes, wrong_types: dict) -> dict[str, Writer]:
    """``good`` is written in YAML flow style, so every cut of it leaves a collection open."""
    out = _common(good)
    out.update(
        {
            "deep-list": _text("[" * DEEP + "]" * DEEP + "\n"),
            "deep-mapping": _text("{a: " * DEEP + "1" + "}" * DEEP + "\n"),
            "a-list": _text("- 1\n- 2\n"),
            "a-scalar": _text("42\n"),
            "null": _text("~\n"),
            "python-tag": _text('!!python/object/apply:os.system ["true"]\n'),
            "wrong-types": _text(yaml.safe_dump(wrong_types, default_flow_style=True)),
        }
    )
    return out


def _json_variants(good: bytes, wrong_types: list) -> dict[str, Writer]:
    out = _common(good)
    out.update(
        {
            "deep": _text("[" * DEEP + "]" * DEEP),
            "a-list": _text("[1, 2]"),
            "a-string": _text('"x"'),
            "nan": _text('{"type": NaN}'),
        }
    )
    out.update({f"wrong-types-{k}": _text(json.dumps(doc)) for k, doc in enumerate(wrong_types)})
    return out


def _eng_variants(good: bytes) -> dict[str, Writer]:
    header = good.decode().splitlines()
    header = next(line for line in header if line.strip() and not line.startswith(";"))
    out = _common(good)
    out.update(
        {
            "header-only": _text(header + "\n"),
            "text-numbers": _text(header + "\n 0.5 abc\n 1.0 0\n"),
            "time-backwards": _text(header + "\n 2.0 100\n 1.0 100\n 3.0 0\n"),
            "nan-thrust": _text(header + "\n 0.5 nan\n 1.0 0\n"),
        }
    )
    return out


def _csv_with(table: pa.Table, column: str, values) -> bytes:
    k = table.column_names.index(column)
    sink = io.BytesIO()
    pacsv.write_csv(table.set_column(k, column, pa.array(values)), sink)
    return sink.getvalue()


def _parquet_with(table: pa.Table, column: str, values) -> Writer:
    def write(p: Path) -> None:
        k = table.column_names.index(column)
        pq.write_table(table.set_column(k, column, pa.array(values)), p)

    return write


def _navlog_variants(table: pa.Table, fmt: str) -> dict[str, Writer]:
    n = table.num_rows
    sink = io.BytesIO()
    if fmt == "csv":
        pacsv.write_csv(table, sink)
    else:
        pq.write_table(table, sink)
    out = _common(sink.getvalue())
    if fmt == "csv":
        out["truncated"] = _bytes(sink.getvalue()[: len(sink.getvalue()) // 2])  # cut mid-row
        out.update(
            {
                "valid-yes-no": _bytes(_csv_with(table, "valid", ["yes" if k % 2 else "no" for k in range(n)])),
                "t_s-boolean": _bytes(_csv_with(table, "t_s", [True] * n)),
                "t_s-text": _bytes(_csv_with(table, "t_s", ["soon"] * n)),
                "x-text": _bytes(_csv_with(table, "x_ecef_m", ["far"] * n)),
                "no-x_ecef_m": lambda p: pacsv.write_csv(table.drop_columns(["x_ecef_m"]), p),
                "semicolons": _bytes(sink.getvalue().replace(b",", b";")),
            }
        )
    else:
        out.update(
            {
                "valid-yes-no": _parquet_with(table, "valid", ["yes" if k % 2 else "no" for k in range(n)]),
                "valid-2": _parquet_with(table, "valid", [2] * n),
                "t_s-boolean": _parquet_with(table, "t_s", [True] * n),
                "t_s-nested": _parquet_with(table, "t_s", [[[[float(k)]]] for k in range(n)]),
                "source-struct": _parquet_with(table, "source", [{"a": 1}] * n),
                "no-t_s": lambda p: pq.write_table(table.drop_columns(["t_s"]), p),
            }
        )
    return out


def _results_table_variants(good: bytes) -> dict[str, Writer]:
    out = _common(good)
    out.update(
        {
            "other-columns": lambda p: pq.write_table(pa.table({"x": [1, 2]}), p),
            "t_s-text": lambda p: pq.write_table(
                pa.table({"t_s": ["a", "b"], "state": ["SAFE", "SAFE"], "vehicle": ["a", "b"], "run": ["x", "y"]}), p
            ),
        }
    )
    return out


AREA_WRONG = [
    {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": None}]},
    {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[["a", "b"], [1, 2], [3, 4]]]}},
    {"type": "Polygon", "coordinates": [[[True, 1], [1, 2], [3, 4]]]},
    {"type": "Polygon", "coordinates": [[[135, 33], [136]]]},
    {"type": "Point", "coordinates": [135, 33]},
]
FLIGHT_SUMMARY_WRONG = [{"mission": 5, "vehicles": "x"}, {"vehicles": [{"terminated": "maybe"}], "mission": "sounding"}]
MC_SUMMARY_WRONG = [{"verdict": 5, "reasons": 7, "mission": ["x"]}]
DEMO_WRONG = [[{"scenario": 5}], {"runs": 1}, [7]]


# --- the world: good inputs, and each slot's variants --------------------------------------------------------------


class World:
    """Good inputs to copy and break: a mission with every include in its own file, nav logs, output folders."""

    def __init__(self, base: Path):
        self.base = base
        self.good = base / "good"
        self.good.mkdir()
        data = yaml.safe_load((MISSIONS / "sounding.yaml").read_text())
        vehicle = yaml.safe_load((MISSIONS / "vehicles" / "sounding.yaml").read_text())
        vehicle["stages"][0]["eng_file"] = "motor.eng"
        shutil.copy(MISSIONS / "motors" / "rg-snd30.eng", self.good / "motor.eng")
        shutil.copy(MISSIONS / "areas" / "kii-peninsula.geojson", self.good / "area.geojson")
        files = {"vehicle.yaml": vehicle, "sensors.yaml": data["sensors"], "dispersions.yaml": data["dispersions"]}
        data.update(vehicle="vehicle.yaml", sensors="sensors.yaml", dispersions="dispersions.yaml")
        data["areas"][0]["geojson"] = "area.geojson"
        data["areas"][1]["geojson"] = str(MISSIONS / data["areas"][1]["geojson"])
        files["mission.yaml"] = data
        for name, doc in files.items():  # flow style: a truncated copy is never valid YAML
            (self.good / name).write_text(yaml.safe_dump(doc, default_flow_style=True, width=100))
        self.mission = self.good / "mission.yaml"

        from rangeguard.mission import load_mission
        from rangeguard.sim.sensors import scenario_navlog

        self.table = scenario_navlog(load_mission(self.mission), None, rate_hz=10.0, seed=1, t_max_s=5.0)
        self.nav = {"csv": base / "nav.csv", "parquet": base / "nav.parquet"}
        pacsv.write_csv(self.table, self.nav["csv"])
        pq.write_table(self.table, self.nav["parquet"])
        self.flight = base / "flight"
        self.mc = base / "mc"
        for args in (
            ["simulate", self.mission, "--out", self.flight, "--no-report", "--json"],
            ["validate", self.mission, *QUICK, "--out", self.mc],
        ):
            code, text = run_main(args)
            assert code in (0, 1), text  # 1: the 2 quick runs cannot show the requirement (FAIL)
        self.demo = base / "demo"
        self.demo.mkdir()
        (self.demo / "demo.json").write_text(
            json.dumps([{"scenario": "nominal", "rules": "validated", "policy": "1oo2"}])
        )
        shutil.copytree(self.flight, self.demo / "nominal-validated-1oo2")

    def mission_slots(self) -> dict[str, dict[str, Writer]]:
        """File name in the good set -> its bad variants."""
        read = {
            name: (self.good / name).read_bytes()
            for name in (
                "mission.yaml",
                "vehicle.yaml",
                "sensors.yaml",
                "dispersions.yaml",
                "area.geojson",
                "motor.eng",
            )
        }
        mission = yaml.safe_load(read["mission.yaml"])
        return {
            "mission.yaml": _yaml_variants(
                read["mission.yaml"],
                {**mission, "site": {**mission["site"], "lat_deg": True, "lon_deg": "135.9"}, "rules": "all of them"},
            ),
            "vehicle.yaml": _yaml_variants(read["vehicle.yaml"], {"name": True, "stages": 5, "length_m": "long"}),
            "sensors.yaml": _yaml_variants(read["sensors.yaml"], {"default": [1, 2], "sources": "gps"}),
            "dispersions.yaml": _yaml_variants(read["dispersions.yaml"], {"cd_scale": 5, "stages": "all"}),
            "area.geojson": _json_variants(read["area.geojson"], AREA_WRONG),
            "motor.eng": _eng_variants(read["motor.eng"]),
        }

    def results_slots(self) -> dict[str, tuple[Path, dict[str, Writer]]]:
        """'folder/file' -> (the good folder, the file's bad variants)."""
        return {
            "flight/summary.json": (
                self.flight,
                _json_variants((self.flight / "summary.json").read_bytes(), FLIGHT_SUMMARY_WRONG),
            ),
            "flight/decisions.parquet": (
                self.flight,
                _results_table_variants((self.flight / "decisions.parquet").read_bytes()),
            ),
            "flight/trajectories.parquet": (
                self.flight,
                _results_table_variants((self.flight / "trajectories.parquet").read_bytes()),
            ),
            "mc/runs.parquet": (self.mc, _results_table_variants((self.mc / "runs.parquet").read_bytes())),
            "mc/summary.json": (self.mc, _json_variants((self.mc / "summary.json").read_bytes(), MC_SUMMARY_WRONG)),
            "demo/demo.json": (self.demo, _json_variants((self.demo / "demo.json").read_bytes(), DEMO_WRONG)),
        }


def run_main(args) -> tuple[int, str]:
    """``rangeguard ARGS`` in this process: (exit status, stdout + stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in args])
    return code, out.getvalue() + err.getvalue()


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    return World(tmp_path_factory.mktemp("corpus"))


# The (slot, kind) pairs, from the same builders with placeholder contents: the world is built once, by the
# first test that runs, not at collection.
MISSION_CASES = [
    (slot, kind)
    for slot, kinds in {
        "mission.yaml": _yaml_variants(b"", {}),
        "vehicle.yaml": _yaml_variants(b"", {}),
        "sensors.yaml": _yaml_variants(b"", {}),
        "dispersions.yaml": _yaml_variants(b"", {}),
        "area.geojson": _json_variants(b"", AREA_WRONG),
        "motor.eng": _eng_variants(b"header 1 2 0 1 2 maker\n"),
    }.items()
    for kind in kinds
]
NAV_CASES = [
    (fmt, kind)
    for fmt in ("csv", "parquet")
    for kind in _navlog_variants(pa.table({"t_s": [0.0], "x_ecef_m": [0.0], "valid": [True], "source": ["a"]}), fmt)
]
RESULT_CASES = [
    (slot, kind)
    for slot, kinds in {
        "flight/summary.json": _json_variants(b"", FLIGHT_SUMMARY_WRONG),
        "flight/decisions.parquet": _results_table_variants(b""),
        "flight/trajectories.parquet": _results_table_variants(b""),
        "mc/runs.parquet": _results_table_variants(b""),
        "mc/summary.json": _json_variants(b"", MC_SUMMARY_WRONG),
        "demo/demo.json": _json_variants(b"", DEMO_WRONG),
    }.items()
    for kind in kinds
]


def _check(runs: list[tuple[list, int, str]], name: str) -> None:
    """Every run exited 2 and named ``name``; no traceback, no internal error. One report for all failures."""
    bad = [
        f"rangeguard {' '.join(map(str, args))}\n  -> exit {code}: {text.strip()[:400]}"
        for args, code, text in runs
        if code != 2 or "Traceback" in text or "internal error" in text or name not in text
    ]
    assert not bad, f"{len(bad)} of {len(runs)} runs did not answer with a readable error naming {name}:\n" + "\n".join(
        bad
    )


LAB = ("--insecure", "--unsealed")
"""`run` on a mission file without a key (lab use): these tests are about the mission's errors."""


def _mission_commands(mission: Path, world: World, out: Path) -> list[list]:
    return [
        ["check", mission],
        ["simulate", mission, "--out", out / "sim", "--no-report", "--json"],
        ["validate", mission, *QUICK, "--out", out / "val"],
        ["replay", world.nav["csv"], "-m", mission, "--json"],
        ["run", "-m", mission, *LAB, "--listen", "udp://127.0.0.1:0", "--command", NOWHERE, "--max-s", "0.5"],
        ["stream", "-m", mission, "--insecure", "--to", NOWHERE, "--speed", "max", "--until-s", "1"],
        ["report", world.flight, "-m", mission, "-o", out / "report.html"],
        ["export", world.flight, "-m", mission, "--geojson", out / "export.geojson"],
        ["console", "--status", "udp://127.0.0.1:0", "--http", "127.0.0.1:8000", "-m", mission],
    ]


@pytest.mark.parametrize(("slot", "kind"), MISSION_CASES, ids=[f"{s}-{k}" for s, k in MISSION_CASES])
def test_mission_files_and_their_includes(world, tmp_path, slot, kind):
    case = tmp_path / "case"
    shutil.copytree(world.good, case)
    (case / slot).unlink()
    world.mission_slots()[slot][kind](case / slot)
    runs = []
    for args in _mission_commands(case / "mission.yaml", world, tmp_path / "out"):
        if args[0] == "console" and runs[0][1] != 2:
            continue  # `check` already failed the case; a console on a mission that loads would serve forever
        runs.append((args, *run_main(args)))
    _check(runs, slot)


@pytest.mark.parametrize(("fmt", "kind"), NAV_CASES, ids=[f"{f}-{k}" for f, k in NAV_CASES])
def test_nav_logs(world, tmp_path, fmt, kind):
    log = tmp_path / f"flight-log.{fmt}"
    _navlog_variants(world.table, fmt)[kind](log)
    runs = [
        (args, *run_main(args))
        for args in (
            ["replay", log, "-m", world.mission, "--json"],
            ["stream", "-m", world.mission, "--insecure", "--to", NOWHERE, "--speed", "max", "--until-s", "1"]
            + ["--navlog", log],
        )
    ]
    _check(runs, log.name)


@pytest.mark.parametrize(("slot", "kind"), RESULT_CASES, ids=[f"{s}-{k}" for s, k in RESULT_CASES])
def test_output_folders_read_by_report_and_export(world, tmp_path, slot, kind):
    good, variants = world.results_slots()[slot]
    folder = tmp_path / good.name
    shutil.copytree(good, folder)
    name = slot.split("/", 1)[1]
    (folder / name).unlink()
    variants[kind](folder / name)
    runs = [
        (args, *run_main(args))
        for args in (
            ["report", folder, "-o", tmp_path / "report.html"],
            ["export", folder, "--geojson", tmp_path / "export.geojson", "--kml", tmp_path / "export.kml"],
        )
    ]
    _check(runs, name)


@pytest.mark.parametrize("kind", ["missing", "a-file", "empty-folder"])
def test_output_folders_that_are_not_folders(tmp_path, kind):
    folder = tmp_path / "results"
    if kind == "a-file":
        folder.write_text("x")
    elif kind == "empty-folder":
        folder.mkdir()
    runs = [(args, *run_main(args)) for args in (["report", folder], ["export", folder, "--kml", tmp_path / "x.kml"])]
    _check(runs, "results")


def test_a_sample_of_the_corpus_in_real_processes(world, tmp_path):
    """One case per slot family through ``python -m rangeguard.cli``: what a user's shell sees."""
    slots = world.mission_slots()
    cases = []
    for slot, kind, command in (
        ("mission.yaml", "binary", "check"),
        ("vehicle.yaml", "deep-list", "simulate"),
        ("area.geojson", "truncated", "validate"),
        ("motor.eng", "text-numbers", "run"),
    ):
        case = tmp_path / f"{slot}-{kind}"
        shutil.copytree(world.good, case)
        (case / slot).unlink()
        slots[slot][kind](case / slot)
        args = next(a for a in _mission_commands(case / "mission.yaml", world, case / "out") if a[0] == command)
        cases.append((args, slot))
    log = tmp_path / "flight-log.csv"
    _navlog_variants(world.table, "csv")["valid-yes-no"](log)
    cases.append((["replay", log, "-m", world.mission], log.name))
    flight = tmp_path / "flight"
    shutil.copytree(world.flight, flight)
    (flight / "summary.json").write_bytes(BINARY)
    cases.append((["report", flight], "summary.json"))
    for args, name in cases:
        p = subprocess.run(
            [sys.executable, "-m", "rangeguard.cli", *map(str, args)],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=ROOT,
            check=False,
        )
        _check([(args, p.returncode, p.stdout + p.stderr)], name)

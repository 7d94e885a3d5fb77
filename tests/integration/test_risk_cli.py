"""`rangeguard risk`: the verdict, its JSON and files, the same numbers on every backend, and bad input.

The numbers themselves are checked against closed forms and scipy in the unit tests (casualty,
breakup, drag, convergence); here: that the command puts them together as documented.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml

from rangeguard.mission import load_mission
from rangeguard.risk.sweep import RiskOptions, analyse

ROOT = Path(__file__).resolve().parents[2]
SOUNDING = ROOT / "missions" / "sounding.yaml"
QUICK = ["--samples", "60", "--vehicles", "3", "--step", "5"]
KEYS = {
    "ec_total",
    "ec_criterion",
    "pc_max",
    "pc_max_at",
    "cec_max",
    "abort_required_intervals_s",
    "verdict",
    "ec_by_failure_time",
    "hazard_areas",
}


def rangeguard(*args: object, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rangeguard.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=ROOT,
        check=False,
    )


def refused(p: subprocess.CompletedProcess[str], *fragments: str) -> None:
    text = p.stderr + p.stdout
    assert p.returncode == 2, (p.returncode, text)
    assert "Traceback" not in text, text
    for fragment in fragments:
        assert fragment in text, (fragment, text)


def sounding_with(folder: Path, change) -> Path:
    """The sounding mission with ``change`` applied, written into ``folder`` (its files resolved)."""
    data = yaml.safe_load(SOUNDING.read_text())
    change(data)
    data["vehicle"] = str((SOUNDING.parent / data["vehicle"]).resolve())
    for area in data.get("areas", []):
        if "geojson" in area:
            area["geojson"] = str((SOUNDING.parent / area["geojson"]).resolve())
    path = folder / "mission.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def sounding_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path_factory.mktemp("risk")
    return rangeguard("risk", SOUNDING, *QUICK, "--out", out, "--json", "--no-progress"), out


def test_json_verdict_and_exit_status_agree(sounding_run):
    p, _ = sounding_run
    assert p.returncode in (0, 1), p.stderr
    doc = json.loads(p.stdout)
    assert KEYS <= set(doc)
    assert doc["verdict"] == ("PASS" if p.returncode == 0 else "FAIL")
    passes = doc["ec_total"] <= doc["ec_criterion"] and doc["pc_max"] <= doc["pc_criterion"]
    assert (doc["verdict"] == "PASS") == passes
    assert doc["ec_criterion"] == 1e-4 and doc["pc_criterion"] == 1e-6 and doc["cec_criterion"] == 1e-2
    assert set(doc["hazard_areas"]) == {"ship", "aircraft", "drop_zone"}
    lat, lon = doc["pc_max_at"]
    assert abs(lat - 33.5) < 2.0 and abs(lon - 135.9) < 2.0  # next to the sounding rocket's pad


def test_collective_risk_is_the_sum_of_its_parts(sounding_run):
    p, out = sounding_run
    doc = json.loads(p.stdout)
    by_time = sum(row["ec"] for row in doc["ec_by_failure_time"])
    assert doc["ec_total"] == pytest.approx(by_time + doc["ec_planned"], rel=1e-12)
    times = pq.read_table(out / "failure_times.parquet").to_pydict()
    assert sum(times["ec"]) == pytest.approx(by_time, rel=1e-12)
    np.testing.assert_allclose(times["ec"], np.array(times["probability"]) * np.array(times["cec"]), rtol=1e-15)
    m = load_mission(SOUNDING)
    # every failure interval's probability, over its response modes, adds up to the failure probability
    assert m.failure is not None
    assert sum(times["probability"]) == pytest.approx(m.failure.probability, rel=1e-9)
    cells = pq.read_table(out / "cells.parquet").to_pydict()
    assert sum(cells["ec"]) == pytest.approx(doc["ec_total"], rel=1e-9)
    assert max(cells["pc"]) == pytest.approx(doc["pc_max"], rel=1e-12)


def test_abort_intervals_are_where_a_mode_exceeds_the_criterion(sounding_run):
    p, out = sounding_run
    doc = json.loads(p.stdout)
    times = pq.read_table(out / "failure_times.parquet").to_pydict()
    over = [(a, b) for a, b, c in zip(times["t0_s"], times["t1_s"], times["cec"], strict=True) if c > 1e-2]
    spans = doc["abort_required_intervals_s"]
    for a, b in over:
        assert any(s0 <= a and b <= s1 for s0, s1 in spans)
    assert max(times["cec"]) == pytest.approx(doc["cec_max"], rel=1e-15)


def test_the_output_folder_holds_every_file_and_the_report(sounding_run):
    p, out = sounding_run
    for name in ("risk.json", "failure_times.parquet", "footprints.parquet", "cells.parquet", "hazard_areas.geojson"):
        assert (out / name).is_file(), name
    assert json.loads((out / "risk.json").read_text())["ec_total"] == json.loads(p.stdout)["ec_total"]
    html = (out / "report.html").read_text()
    assert "Risk" in html or "risk" in html
    geo = json.loads((out / "hazard_areas.geojson").read_text())
    assert geo["type"] == "FeatureCollection"
    assert {f["properties"]["kind"] for f in geo["features"]} <= {"ship", "aircraft", "drop_zone"}


def test_chunking_and_backends_give_identical_numbers():
    m = load_mission(SOUNDING)
    base = {"samples_per_group": 40, "n_vehicles": 3, "step_s": 10.0}
    ref = analyse(m, RiskOptions(**base, chunk_size=50))
    runs = [
        analyse(m, RiskOptions(**base, chunk_size=1)),
        analyse(m, RiskOptions(**base, chunk_size=3, backend="processes", workers=2)),
        analyse(m, RiskOptions(**base, chunk_size=3, backend="dask", workers=2)),
    ]
    for run in runs:
        assert [o.cec for o in run.outcomes] == [o.cec for o in ref.outcomes]  # bit for bit
        assert run.ec_total == ref.ec_total
        assert np.array_equal(run.hits_per_person, ref.hits_per_person)
        assert run.pc_max() == ref.pc_max()


@pytest.mark.parametrize(
    "change, fragments",
    [
        (lambda d: d.pop("failure"), ("failure",)),
        (lambda d: d["debris"][0]["groups"][0].update(mass_kg=-1.0), ("debris[0].groups[0].mass_kg",)),
        (lambda d: d.update(risk_criteria={"collective_ec": 2.0}), ("risk_criteria.collective_ec",)),
        (lambda d: d.update(debris=[c for c in d["debris"] if c["stage"] != 0]), ("stage 0",)),
    ],
)
def test_bad_missions_exit_2_naming_the_field(tmp_path, change, fragments):
    refused(rangeguard("risk", sounding_with(tmp_path, change), *QUICK, "--out", tmp_path / "o"), *fragments)


def test_a_missing_population_file_exits_2(tmp_path):
    refused(
        rangeguard("risk", SOUNDING, "--population", tmp_path / "nope.tif", "--out", tmp_path / "o"), "--population"
    )


def test_a_raster_without_a_crs_exits_2(tmp_path):
    import rasterio
    from rasterio.transform import Affine

    path = tmp_path / "people.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=4,
        height=4,
        count=1,
        dtype="float64",
        transform=Affine(0.1, 0.0, 135.0, 0.0, -0.1, 34.0),
    ) as dst:
        dst.write(np.ones((1, 4, 4)))
    refused(
        rangeguard("risk", SOUNDING, *QUICK, "--population", path, "--out", tmp_path / "o"),
        "coordinate reference system",
    )


def test_nan_free_json(sounding_run):
    p, _ = sounding_run
    doc = json.loads(p.stdout)
    assert all(math.isfinite(row["ec"]) for row in doc["ec_by_failure_time"])

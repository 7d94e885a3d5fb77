"""The risk section of the HTML report (issue 17): a synthetic `rangeguard risk --out` folder, built here
with pyarrow and json to the contract of rangeguard.report.risk, rendered and read back with Python's
HTML parser and matplotlib's PNG reader; broken folders give one InputError naming the file."""

from __future__ import annotations

import base64
import io
import json
import math
from html.parser import HTMLParser

import matplotlib.image
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rangeguard.cli.app import main
from rangeguard.errors import InputError
from rangeguard.report import build_report, write_report
from rangeguard.report.risk import is_risk_dir, read_risk, risk_mission
from rangeguard.report.risk_figures import (
    HAZARD_STYLES,
    MODE_STYLES,
    MODES,
    footprint_ellipse,
    thinned,
    wide,
    with_gaps,
)

EC_TOTAL = 3.217e-5
ABORT = [40.0, 55.0]
SITE_LAT, SITE_LON = 33.54, 135.89  # Spaceport Kii (missions/kii-sso.yaml)


def _square(lat0, lon0, half_deg):
    ring = [[lon0 - half_deg, lat0 - half_deg], [lon0 + half_deg, lat0 - half_deg], [lon0 + half_deg, lat0 + half_deg]]
    ring += [[lon0 - half_deg, lat0 + half_deg], [lon0 - half_deg, lat0 - half_deg]]
    return ring


def write_risk_dir(out, verdict="PASS"):
    """A small risk folder near Spaceport Kii: 0-100 s every 1 s, three response modes, stage 2 from 60 s,
    the failures after 90 s skipped; 40 failure footprints and 2 jettison footprints; 5 x 4 cells; a square
    ship hazard area and a drop zone of two polygons."""
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    t = np.arange(0.0, 101.0)
    n = t.size
    iip_lat, iip_lon = SITE_LAT - 0.0004 * t**2, SITE_LON - 0.00008 * t**2
    rows = {
        k: [] for k in ("t_s", "stage", "mode", "probability", "cec", "ec", "skipped", "iip_lat_deg", "iip_lon_deg")
    }
    for mode, share in zip(("afss_termination", "breakup", "intact_impact"), (0.8, 0.15, 0.05), strict=True):
        cec = 10 ** rng.uniform(-5, -1.5, n)
        cec[(t >= ABORT[0]) & (t <= ABORT[1])] = 0.03
        p = np.full(n, 0.3 / n * share)
        skipped = t > 90
        rows["t_s"] += list(t)
        rows["stage"] += list(np.where(t < 60, 1, 2))
        rows["mode"] += [mode] * n
        rows["probability"] += list(p)
        rows["cec"] += list(np.where(skipped, 0.0, cec))
        rows["ec"] += list(np.where(skipped, 0.0, p * cec))
        rows["skipped"] += list(skipped)
        rows["iip_lat_deg"] += list(iip_lat)
        rows["iip_lon_deg"] += list(iip_lon)
    schema = pa.schema(
        [("t_s", pa.float64()), ("stage", pa.int32()), ("mode", pa.string()), ("probability", pa.float64())]
        + [("cec", pa.float64()), ("ec", pa.float64()), ("skipped", pa.bool_())]
        + [("iip_lat_deg", pa.float64()), ("iip_lon_deg", pa.float64())]
    )
    pq.write_table(pa.table(rows, schema=schema), out / "failure_times.parquet")
    k = 40
    tf = rng.uniform(0, 90, k)
    fp = {
        "kind": ["failure"] * k + ["jettison"] * 2,
        "t_s": list(tf) + [150.0, 400.0],
        "mode": list(rng.choice(MODES, k)) + ["jettison", "jettison"],
        "group": [f"g{i % 4}" for i in range(k)] + ["stage-1", "fairing"],
        "mean_lat_deg": list(SITE_LAT - 0.0004 * tf**2) + [31.0, 25.0],
        "mean_lon_deg": list(SITE_LON - 0.00008 * tf**2) + [135.2, 134.5],
        "cov_ee_m2": list(rng.uniform(1e6, 1e8, k)) + [4e8, 9e8],
        "cov_en_m2": list(rng.uniform(-1e5, 1e5, k)) + [1e8, 0.0],
        "cov_nn_m2": list(rng.uniform(1e6, 1e8, k)) + [6e8, 2.5e9],
        "fragments_landing": list(rng.uniform(1, 50, k)) + [1.0, 2.0],
        "ec": list(10 ** rng.uniform(-9, -6, k)) + [1e-7, 2e-8],
    }
    pq.write_table(pa.table(fp), out / "footprints.parquet")
    lat, lon = np.meshgrid(33.0 + 0.25 * np.arange(4), 135.0 + 0.25 * np.arange(5), indexing="ij")
    cells = {
        "lat_deg": lat.ravel(),
        "lon_deg": lon.ravel(),
        "dlat_deg": np.full(lat.size, 0.25),
        "dlon_deg": np.full(lat.size, 0.25),
        "people": rng.uniform(10, 5000, lat.size),
        "ec": 10 ** rng.uniform(-9, -6, lat.size),
        "pc": 10 ** rng.uniform(-10, -5.5, lat.size),
    }
    pq.write_table(pa.table(cells), out / "cells.parquet")
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [_square(32.0, 135.5, 0.3)]},
            "properties": {
                "kind": "ship",
                "name": "ship-early",
                "criterion": 1e-5,
                "description": "ships: P(hit) 1e-5 for T+0-90 s",
                "area_km2": 3700.0,
            },
        },
        {
            "type": "Feature",
            "geometry": {
                "type": "MultiPolygon",
                "coordinates": [[_square(31.0, 135.2, 0.4)], [_square(25.0, 134.5, 0.6), _square(25.0, 134.5, 0.1)]],
            },
            "properties": {
                "kind": "drop_zone",
                "name": "stage-1 drop",
                "criterion": 0.97,
                "description": "97 % containment of the first stage",
                "area_km2": 21000.0,
            },
        },
    ]
    (out / "hazard_areas.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    summary = {
        "mission": "kii-sso",
        "verdict": verdict,
        "ec_total": EC_TOTAL if verdict == "PASS" else 2.5e-4,
        "ec_criterion": 1e-4,
        "ec_planned": 1.2e-7,
        "pc_max": 3.1e-7,
        "pc_criterion": 1e-6,
        "pc_max_at": [33.5, 135.75],
        "cec_max": 0.03,
        "cec_criterion": 1e-2,
        "cec_max_at_s": 41.0,
        "abort_required_intervals_s": [ABORT],
        "ec_by_failure_time": [{"t_s": float(x), "ec": 1e-7, "cec_max": 1e-3} for x in t[:5]],
        "hazard_areas": {
            "ship": {"count": 1, "area_km2": 3700.0},
            "aircraft": {"count": 0, "area_km2": 0.0},
            "drop_zone": {"count": 1, "area_km2": 21000.0},
        },
        "failure_probability": 0.3,
        "samples_per_group": 200,
        "population": "embedded default grid (synthetic test)",
        "failure_times": [0.0, 100.0, 1.0],
        "simplifications": ["fragments are inert (no explosive or toxic debris)", "no sheltering"],
    }
    (out / "risk.json").write_text(json.dumps(summary))
    return out


class _Collect(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


@pytest.fixture(scope="module")
def risk_dir(tmp_path_factory):
    return write_risk_dir(tmp_path_factory.mktemp("risk") / "out")


@pytest.fixture(scope="module")
def cli_exit(risk_dir):
    """`rangeguard report DIR` on the synthetic folder, as a user would run it (one render for the module)."""
    return main(["report", str(risk_dir)])


@pytest.fixture(scope="module")
def report_text(risk_dir, cli_exit):
    return (risk_dir / "report.html").read_text(encoding="utf-8")


def test_report_shows_verdict_figures_intervals_and_legend(risk_dir, report_text):
    text = report_text
    assert is_risk_dir(risk_dir)
    assert "<title>rangeguard risk: kii-sso: PASS</title>" in text
    assert (
        '<div class="outcome clear">PASS: E_c 3.22e-05 within 1e-04; largest P_c 3.10e-07 within 1e-06; '
        "flight abort required for failures at T+40.0 s to T+55.0 s</div>" in text
    )
    assert f'<td class="num">{EC_TOTAL:.2e}</td><td class="num">1.00e-04</td>' in text
    assert "within the criterion" in text and "exceeds the criterion" not in text
    assert "over: flight abort required there" in text  # CEC 0.03 over 1e-2: abort, not a failure
    assert '<td colspan="3">T+40.0 s to T+55.0 s</td>' in text
    assert "largest individual risk P_c at 33.500 N, 135.750 E" in text
    for kind in ("ship hazard area", "aircraft hazard area", "drop zone"):
        assert kind in text
    assert "ship-early" in text and "stage-1 drop" in text
    assert 'class="swatch"' in text
    assert "<li>no sheltering</li>" in text
    assert "embedded default grid (synthetic test)" in text
    assert "303, of which 30 not flown" in text  # 101 times x 3 modes; 91..100 s skipped


def test_report_images_have_alt_text_and_are_self_contained(report_text):
    p = _Collect()
    p.feed(report_text)
    imgs = [a for tag, a in p.tags if tag == "img"]
    assert [a["alt"] for a in imgs] == [
        "Ec contribution and CEC against failure time",
        "risk map: population cells by probability of casualty, impact footprints and hazard areas",
    ]
    for a in imgs:
        assert a["src"].startswith("data:image/png;base64,")
        png = matplotlib.image.imread(io.BytesIO(base64.b64decode(a["src"].split(",", 1)[1])), format="png")
        assert png.shape[0] > 300 and png.shape[1] > 300
        assert png[..., :3].std() > 0.05
    for tag, a in p.tags:
        assert tag not in ("script", "link", "iframe")
        for attr in ("src", "href"):
            assert a.get(attr) is None or a[attr].startswith(("data:", "#"))
    figcaptions = report_text.count("<figcaption>")
    assert figcaptions == 2


def test_fail_verdict_shows_as_a_failure(tmp_path):
    d = write_risk_dir(tmp_path / "fail", verdict="FAIL")
    title, body = build_report(d)
    assert title == "rangeguard risk: kii-sso: FAIL"
    assert '<div class="outcome terminated">FAIL: E_c 2.50e-04 exceeds 1e-04; largest P_c 3.10e-07 within' in body
    assert "exceeds the criterion" in body
    assert 'class="outcome clear"' not in body


@pytest.mark.parametrize(
    ("name", "breaks", "message"),
    [
        ("risk.json", lambda p: p.write_text("{not json"), "risk.json is not valid JSON"),
        ("risk.json", lambda p: p.write_text('{"verdict": "MAYBE"}'), "missing ec_total"),
        ("risk.json", lambda p: _edit_json(p, verdict="MAYBE"), "verdict must be PASS or FAIL"),
        ("risk.json", lambda p: _edit_json(p, ec_total="small"), "ec_total must be number"),
        ("risk.json", lambda p: _edit_json(p, abort_required_intervals_s=[[1.0]]), "abort_required_intervals_s"),
        ("cells.parquet", lambda p: _drop_column(p, "pc"), "cells.parquet: missing column(s) pc"),
        ("failure_times.parquet", lambda p: _drop_column(p, "skipped"), "missing column(s) skipped"),
        ("failure_times.parquet", lambda p: p.write_bytes(b"PAR1 cut short"), "not a readable Parquet file"),
        ("footprints.parquet", lambda p: p.unlink(), "missing footprints.parquet"),
        ("hazard_areas.geojson", lambda p: p.write_text('{"type": "Feature"}'), "FeatureCollection"),
        ("hazard_areas.geojson", lambda p: _edit_hazard(p, kind="boat"), "kind must be one of ship"),
    ],
)
def test_a_broken_file_is_one_input_error_naming_it(tmp_path, name, breaks, message):
    d = write_risk_dir(tmp_path / "broken")
    breaks(d / name)
    with pytest.raises(InputError, match="rerun") as err:
        write_report(d)
    assert name in str(err.value) and message in str(err.value)
    assert main(["report", str(d)]) == 2


def _edit_json(p, **members):
    doc = json.loads(p.read_text())
    doc.update(members)
    p.write_text(json.dumps(doc))


def _edit_hazard(p, **props):
    doc = json.loads(p.read_text())
    doc["features"][0]["properties"].update(props)
    p.write_text(json.dumps(doc))


def _drop_column(p, column):
    t = pq.read_table(p)
    pq.write_table(t.drop_columns([column]), p)


def test_an_unknown_mission_says_pass_mission(tmp_path):
    d = write_risk_dir(tmp_path / "m")
    _edit_json(d / "risk.json", mission="no-such-mission")
    with pytest.raises(InputError, match="risk.json: mission 'no-such-mission'.*--mission"):
        build_report(d)
    assert risk_mission(read_risk(d), "kii-sso").name == "kii-sso"
    assert main(["report", str(d)]) == 2


def test_cli_report_of_a_risk_folder(risk_dir, cli_exit, report_text):
    assert cli_exit == 0
    assert report_text.startswith("<!DOCTYPE html>") and report_text.rstrip().endswith("</html>")


def test_footprint_ellipse_is_the_3_sigma_contour():
    """Every ellipse point is at Mahalanobis distance 3 in the normal's own plane (BivariateNormal.to_plane,
    the inverse of the map it is drawn with), and the ellipse reaches 3 sigma east and north."""
    from rangeguard.risk.casualty import BivariateNormal

    cov = np.array([[4e8, 1.5e8], [1.5e8, 2.5e8]])
    lat, lon = footprint_ellipse(20.0, 179.9, cov)
    east, north = BivariateNormal(20.0, 179.9, cov).to_plane(lat, lon)
    d = np.stack([east, north])
    mahalanobis = np.sqrt(np.einsum("in,ij,jn->n", d, np.linalg.inv(cov), d))
    assert mahalanobis == pytest.approx(3.0, rel=1e-9)
    assert east.max() == pytest.approx(3 * math.sqrt(cov[0, 0]), rel=2e-3)
    assert north.max() == pytest.approx(3 * math.sqrt(cov[1, 1]), rel=2e-3)
    assert lon.max() > 180.0  # continues across the antimeridian
    assert footprint_ellipse(20.0, 135.0, np.zeros((2, 2))) is None


def test_thinning_keeps_the_largest_ec_in_order():
    ec = np.arange(1000.0)[::-1].copy()
    ec[10] = np.nan
    keep = thinned(ec, 300)
    assert keep.size == 300 and np.all(np.diff(keep) > 0) and 10 not in keep
    assert thinned(ec[:5], 300).tolist() == [0, 1, 2, 3, 4]


def test_every_mode_and_hazard_kind_has_a_style():
    assert set(MODE_STYLES) == set(MODES)
    assert set(HAZARD_STYLES) == {"ship", "aircraft", "drop_zone"}


def test_reader_reads_the_contract(risk_dir):
    risk = read_risk(risk_dir)
    assert risk.verdict == "PASS" and risk.passed
    assert risk.abort_intervals_s == [(40.0, 55.0)]
    assert risk.failures["stage"].dtype == np.float64 and risk.failures["skipped"].sum() == 30
    drop = next(a for a in risk.hazard_areas if a.kind == "drop_zone")
    assert len(drop.polygons) == 2 and len(drop.polygons[1]) == 2  # the second polygon has a hole


def test_clouds_wider_than_a_normal_can_describe_are_not_drawn_as_ellipses():
    """wide(): the largest standard deviation over 100 km (numpy's eigenvalues as the reference)."""
    rng = np.random.default_rng(3)
    covs = []
    for sigma_km in rng.uniform(10.0, 300.0, 40):
        a = rng.uniform(0.0, math.pi)
        r = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        covs.append(r @ np.diag([(sigma_km * 1e3) ** 2, (0.3 * sigma_km * 1e3) ** 2]) @ r.T)
    fp = {
        "cov_ee_m2": np.array([c[0, 0] for c in covs]),
        "cov_en_m2": np.array([c[0, 1] for c in covs]),
        "cov_nn_m2": np.array([c[1, 1] for c in covs]),
    }
    expected = [np.sqrt(np.linalg.eigvalsh(c)[-1]) > 100e3 for c in covs]
    assert list(wide(fp, np.arange(len(covs)))) == expected
    assert any(expected) and not all(expected)


def test_lines_break_across_a_coast_between_burns():
    t = np.array([0.5, 1.5, 2.5, 3.5, 100.5, 101.5, 102.5])
    tg, vg = with_gaps(t, np.arange(7))
    assert np.isnan(tg[4]) and np.isnan(vg[4]) and tg.size == 8
    np.testing.assert_array_equal(tg[~np.isnan(tg)], t)
    np.testing.assert_array_equal(with_gaps(t[:4], np.arange(4))[0], t[:4])

"""`rangeguard export`: KML 2.2 and RFC 7946 GeoJSON of a simulated F2-like flight, checked by parsing.

GeoJSON: structure (RFC 7946 sections 3.1-3.3), positions [longitude,
latitude] (checked against the mission's own site and area vertices, so a
swapped order fails), polygon rings closed with at least 4 positions and
counter-clockwise (section 3.1.6; signed area by the shoelace formula written
out here). KML: parsed with ElementTree in the KML 2.2 namespace
(OGC 07-147r2): one Placemark per GeoJSON feature, coordinates as
"lon,lat[,alt]" tuples, rings closed.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rangeguard.cli.app import main
from rangeguard.demo import missions_dir
from rangeguard.mission import load_mission

KML = "{http://www.opengis.net/kml/2.2}"


def shoelace(ring) -> float:
    """Signed area of a closed [x, y] ring: 1/2 sum(x_i y_{i+1} - x_{i+1} y_i); > 0 counter-clockwise."""
    x = np.array([p[0] for p in ring])
    y = np.array([p[1] for p in ring])
    return 0.5 * float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]))


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    base = tmp_path_factory.mktemp("export")
    out = base / "f2"
    assert main(["simulate", str(missions_dir() / "kii-sso.yaml"), "-s", "f2-nozzle", "--out", str(out), "--json"]) == 0
    kml, geojson = base / "f2.kml", base / "f2.geojson"
    assert main(["export", str(out), "--kml", str(kml), "--geojson", str(geojson)]) == 0
    return out, json.loads(geojson.read_text()), ET.parse(kml)


@pytest.fixture(scope="module")
def kii():
    return load_mission(missions_dir() / "kii-sso.yaml")


def _positions(geom):
    t, c = geom["type"], geom["coordinates"]
    if t == "Point":
        return [c]
    if t in ("LineString", "MultiPoint"):
        return c
    if t == "Polygon":
        return [p for ring in c for p in ring]
    raise AssertionError(t)


def test_geojson_structure_and_lon_lat_order(exported, kii):
    _, gj, _ = exported
    assert gj["type"] == "FeatureCollection"
    kinds = {}
    for f in gj["features"]:
        assert f["type"] == "Feature" and isinstance(f["properties"], dict)
        assert f["geometry"]["type"] in ("Point", "LineString", "Polygon", "MultiPoint")
        for p in _positions(f["geometry"]):
            assert len(p) in (2, 3) and all(isinstance(v, float | int) for v in p)
            assert -90.0 <= p[1] <= 90.0 and -180.0 <= p[0] <= 360.0
        kinds.setdefault(f["properties"]["kind"], []).append(f)
    site = kinds["launch_site"][0]["geometry"]["coordinates"]
    assert site[:2] == [kii.site.lon_deg, kii.site.lat_deg]
    n_protected = sum(a.kind == "protected" for a in kii.areas)
    assert len(kinds["protected_area"]) == n_protected and len(kinds["corridor"]) == 1
    assert len(kinds["ground_track"]) == len(kinds["iip_trace"]) == 1
    assert all(len(f["geometry"]["coordinates"]) >= 2 for f in kinds["ground_track"] + kinds["iip_trace"])
    term = kinds["termination"][0]
    assert term["properties"]["rule"] == "iip-corridor"
    summary = json.loads((exported[0] / "summary.json").read_text())["vehicles"][0]
    assert term["properties"]["t_s"] == summary["t_terminate_s"]


def test_geojson_polygons_closed_ccw_with_the_mission_vertices(exported, kii):
    _, gj, _ = exported
    for f in gj["features"]:
        if f["geometry"]["type"] != "Polygon":
            continue
        rings = f["geometry"]["coordinates"]
        assert len(rings) == 1
        ring = rings[0]
        assert len(ring) >= 4 and ring[0] == ring[-1]
        assert shoelace(ring) > 0, f["properties"]["name"]  # right-hand rule: exterior counter-clockwise
        lat, lon = kii.area_outline(f["properties"]["name"])
        xy = np.array(ring)
        for la, lo in zip(lat, lon, strict=True):  # every vertex, as [lon, lat]
            assert np.min(np.hypot(xy[:, 0] - lo, xy[:, 1] - la)) < 2e-6


def test_kml_parses_in_the_kml_22_namespace(exported):
    _, gj, tree = exported
    root = tree.getroot()
    assert root.tag == f"{KML}kml"
    doc = root.find(f"{KML}Document")
    assert doc is not None
    placemarks = doc.findall(f".//{KML}Placemark")
    assert len(placemarks) == len(gj["features"])
    assert [p.findtext(f"{KML}name") for p in placemarks] == [f["properties"]["name"] for f in gj["features"]]
    styles = {s.get("id") for s in doc.findall(f"{KML}Style")}
    for p in placemarks:
        assert p.findtext(f"{KML}styleUrl").lstrip("#") in styles
        for coords in p.iter(f"{KML}coordinates"):
            tuples = [tuple(float(v) for v in t.split(",")) for t in coords.text.split()]
            assert tuples and all(len(t) in (2, 3) for t in tuples)
            assert all(-90 <= t[1] <= 90 for t in tuples)
        ring = p.find(f".//{KML}outerBoundaryIs/{KML}LinearRing/{KML}coordinates")
        if ring is not None:
            pts = ring.text.split()
            assert len(pts) >= 4 and pts[0] == pts[-1]
    site = next(p for p in placemarks if p.findtext(f"{KML}styleUrl") == "#launch_site")
    lon, lat, _ = (float(v) for v in site.find(f".//{KML}coordinates").text.split(","))
    site_gj = next(f for f in gj["features"] if f["properties"]["kind"] == "launch_site")
    assert [lon, lat] == site_gj["geometry"]["coordinates"][:2]
    track = next(p for p in placemarks if p.findtext(f"{KML}styleUrl") == "#ground_track")
    assert track.findtext(f".//{KML}altitudeMode") == "absolute"


def test_export_footprints_of_montecarlo_results(tmp_path):
    """A Monte Carlo folder (rangeguard.report.montecarlo format): footprints as MultiPoint."""
    lat = [20.0, 21.0, float("nan")]
    lon = [132.0, 133.0, 134.0]
    pq.write_table(
        pa.table(
            {"scenario": ["nominal"] * 3, "terminated": [True, False, False], "iip_lat_deg": lat, "iip_lon_deg": lon}
        ),
        tmp_path / "runs.parquet",
    )
    (tmp_path / "summary.json").write_text(json.dumps({"mission": "kii-sso", "verdict": "ok"}))
    out = tmp_path / "mc.geojson"
    assert main(["export", str(tmp_path), "--geojson", str(out)]) == 0
    gj = json.loads(out.read_text())
    foot = [f for f in gj["features"] if f["properties"]["kind"] == "iip_footprint"]
    assert len(foot) == 1
    assert foot[0]["geometry"] == {"type": "MultiPoint", "coordinates": [[132.0, 20.0], [133.0, 21.0]]}


def test_export_needs_an_output(tmp_path, capsys):
    assert main(["export", str(tmp_path)]) == 2
    assert "--kml" in capsys.readouterr().err

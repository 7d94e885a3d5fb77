"""`rangeguard export` of a risk output folder: hazard areas as KML 2.2 and RFC 7946 GeoJSON, parsed back.

The folder is built here: a ``risk.json`` naming the bundled mission ``kii-sso`` and a
``hazard_areas.geojson`` written by :func:`rangeguard.risk.hazard.hazard_areas_geojson`. The exported
files are read back with json and xml.etree (KML 2.2 namespace, OGC 07-147r2) and every hazard
polygon's kind, rings and holes are compared with the polygons that went in.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from shapely.geometry import MultiPolygon, Polygon

from rangeguard.cli.app import main
from rangeguard.errors import InputError
from rangeguard.report.export import export, is_risk_dir
from rangeguard.risk.casualty import BivariateNormal
from rangeguard.risk.hazard import HazardArea, containment_polygon, hazard_areas_geojson

KML = "{http://www.opengis.net/kml/2.2}"
HAZARD_KINDS = ("ship", "aircraft", "drop_zone")


def shoelace(ring) -> float:
    """Signed area of a closed [x, y] ring; > 0 counter-clockwise."""
    x = np.array([p[0] for p in ring])
    y = np.array([p[1] for p in ring])
    return 0.5 * float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]))


def hazard_areas() -> list[HazardArea]:
    """South of the Kii launch site, offshore: a ship area with a hole, a two-part aircraft area, a drop zone
    and an empty area (nothing to draw)."""
    ship = Polygon(
        [(135.7, 32.9), (136.1, 32.9), (136.1, 33.2), (135.7, 33.2)],
        [[(135.8, 33.0), (135.8, 33.1), (135.9, 33.1), (135.9, 33.0)]],
    )
    aircraft = MultiPolygon(
        [
            Polygon([(135.5, 32.0), (135.7, 32.0), (135.6, 32.2)]),
            Polygon([(136.0, 31.5), (136.2, 31.5), (136.2, 31.7), (136.0, 31.7)]),
        ]
    )
    cov = np.array([[4.0e6, -1.2e6], [-1.2e6, 1.0e6]])
    drop = containment_polygon(BivariateNormal(31.0, 135.4, cov), 0.97, n_vertices=64)
    return [
        HazardArea("ship", "ship hazard area", 1e-5, ship, "P(hit) > 1e-5 on a 100 m x 20 m vessel"),
        HazardArea("aircraft", "aircraft hazard area", 1e-6, aircraft, "P(hit) > 1e-6 on a regional jet"),
        HazardArea("drop_zone", "stage 1 drop zone", 0.97, drop, "97 % containment"),
        HazardArea("ship", "nothing here", 1e-5, MultiPolygon(), "below the criterion everywhere"),
    ]


def write_risk_folder(folder, summary=None, hazards=None):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "risk.json").write_text(json.dumps(summary or {"mission": "kii-sso", "verdict": "PASS"}))
    doc = hazards if hazards is not None else hazard_areas_geojson(hazard_areas())
    (folder / "hazard_areas.geojson").write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return folder


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    base = tmp_path_factory.mktemp("risk_export")
    folder = write_risk_folder(base / "risk")
    kml, geojson = base / "risk.kml", base / "risk.geojson"
    assert main(["export", str(folder), "--kml", str(kml), "--geojson", str(geojson)]) == 0
    written = json.loads((folder / "hazard_areas.geojson").read_text())
    return written, json.loads(geojson.read_text()), ET.parse(kml)


def close(a, b, tol=1.5e-6) -> bool:
    """Positions equal within the export's rounding (1e-6 degree) of a file written on a 1e-7 grid."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.all(np.abs(a - b) <= tol))


def test_is_risk_dir(tmp_path):
    assert is_risk_dir(write_risk_folder(tmp_path / "r"))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "summary.json").write_text("{}")
    assert not is_risk_dir(tmp_path / "other")


def test_geojson_holds_the_mission_and_every_hazard_polygon(exported):
    written, doc, _ = exported
    assert doc["type"] == "FeatureCollection"
    kinds = [f["properties"]["kind"] for f in doc["features"]]
    assert "protected_area" in kinds and "launch_site" in kinds  # the mission's geometry, as for other folders
    hazards = [f for f in doc["features"] if f["properties"]["kind"] in HAZARD_KINDS]
    sources = [f for f in written["features"] if f["geometry"]["coordinates"]]  # the empty area is left out
    assert len(hazards) == 3 == len(sources)
    for out, src in zip(hazards, sources, strict=True):
        assert out["properties"]["kind"] == src["properties"]["kind"]
        assert out["properties"]["name"] == src["properties"]["name"]
        assert out["properties"]["criterion"] == src["properties"]["criterion"]
        assert out["properties"]["description"] == src["properties"]["description"]
        assert out["properties"]["area_km2"] == pytest.approx(src["properties"]["area_km2"], rel=1e-6)
        assert out["geometry"]["type"] == src["geometry"]["type"]
        polys_out = out["geometry"]["coordinates"]
        polys_src = src["geometry"]["coordinates"]
        if out["geometry"]["type"] == "Polygon":
            polys_out, polys_src = [polys_out], [polys_src]
        assert len(polys_out) == len(polys_src)
        for rings_out, rings_src in zip(polys_out, polys_src, strict=True):
            assert len(rings_out) == len(rings_src)
            assert all(close(r, s) for r, s in zip(rings_out, rings_src, strict=True))
            assert shoelace(rings_out[0]) > 0.0 and all(shoelace(h) < 0.0 for h in rings_out[1:])
    ship = hazards[0]
    assert ship["geometry"]["type"] == "Polygon" and len(ship["geometry"]["coordinates"]) == 2  # the hole kept
    assert hazards[1]["geometry"]["type"] == "MultiPolygon" and len(hazards[1]["geometry"]["coordinates"]) == 2


def _rings(polygon_el) -> list[list[list[float]]]:
    out = []
    for tag in ("outerBoundaryIs", "innerBoundaryIs"):
        for boundary in polygon_el.findall(f"{KML}{tag}"):
            text = boundary.find(f"{KML}LinearRing/{KML}coordinates").text
            out.append([[float(c) for c in tup.split(",")] for tup in text.split()])
    return out


def test_kml_has_a_styled_polygon_placemark_per_hazard_area(exported):
    written, _, tree = exported
    doc = tree.getroot().find(f"{KML}Document")
    styles = {s.get("id"): s for s in doc.findall(f"{KML}Style")}
    fills = set()
    for kind in HAZARD_KINDS:
        assert kind in styles
        poly_style = styles[kind].find(f"{KML}PolyStyle")
        assert poly_style.find(f"{KML}fill").text == "1"
        fills.add(poly_style.find(f"{KML}color").text)
    assert len(fills) == 3  # distinct styles
    placemarks = [
        pm for pm in doc.iter(f"{KML}Placemark") if pm.find(f"{KML}styleUrl").text.lstrip("#") in HAZARD_KINDS
    ]
    sources = [f for f in written["features"] if f["geometry"]["coordinates"]]
    assert len(placemarks) == len(sources) == 3
    for pm, src in zip(placemarks, sources, strict=True):
        assert pm.find(f"{KML}styleUrl").text == "#" + src["properties"]["kind"]
        assert pm.find(f"{KML}name").text == src["properties"]["name"]
        if src["geometry"]["type"] == "Polygon":
            polygons, polys_src = [pm.find(f"{KML}Polygon")], [src["geometry"]["coordinates"]]
        else:
            polygons = pm.findall(f"{KML}MultiGeometry/{KML}Polygon")
            polys_src = src["geometry"]["coordinates"]
        assert len(polygons) == len(polys_src)
        for el, rings_src in zip(polygons, polys_src, strict=True):
            rings = _rings(el)
            assert len(rings) == len(rings_src)
            assert all(close(r, s) for r, s in zip(rings, rings_src, strict=True))


def test_export_with_an_explicit_mission(tmp_path):
    folder = write_risk_folder(tmp_path / "r", summary={"verdict": "PASS"})
    with pytest.raises(InputError, match="--mission"):
        export(folder, geojson=tmp_path / "a.geojson")
    (out,) = export(folder, geojson=tmp_path / "a.geojson", mission="kii-sso")
    kinds = {f["properties"]["kind"] for f in json.loads(out.read_text())["features"]}
    assert set(HAZARD_KINDS) <= kinds


@pytest.mark.parametrize(
    "hazards",
    [
        "{not json",
        json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"kind": "boat"}}]}),
        json.dumps({"type": "Feature"}),
    ],
)
def test_malformed_hazard_file_names_the_file(tmp_path, hazards, capsys):
    folder = write_risk_folder(tmp_path / "r", hazards=hazards)
    with pytest.raises(InputError, match="hazard_areas.geojson"):
        export(folder, kml=tmp_path / "a.kml")
    assert main(["export", str(folder), "--kml", str(tmp_path / "b.kml")]) == 2
    assert "hazard_areas.geojson" in capsys.readouterr().err
    assert not (tmp_path / "b.kml").exists()


def test_missing_hazard_file_is_named(tmp_path):
    folder = write_risk_folder(tmp_path / "r")
    (folder / "hazard_areas.geojson").unlink()
    with pytest.raises(InputError, match="hazard_areas.geojson"):
        export(folder, kml=tmp_path / "a.kml")

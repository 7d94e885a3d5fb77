"""Vendored Natural Earth land (rangeguard.geodata) and the Kii missions' protected areas.

References are independent of the code under test: the TopoJSON specification's
decoding rule worked by hand, Honshu's published area (227,960 km2, Wikipedia
"Honshu", citing the Geospatial Information Authority of Japan) measured with
pyproj's geodesic polygon area, city coordinates, and WGS84 geodesic distances
from pyproj.Geod to a densely sampled boundary.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import Point, Polygon

from rangeguard import geodata
from rangeguard.earth.polygon import GreatCirclePolygon
from rangeguard.errors import InputError
from rangeguard.mission.areas import read_geojson_outline

ROOT = Path(__file__).resolve().parents[2]
AREAS_DIR = ROOT / "missions" / "areas"
GEOD = Geod(ellps="WGS84")
PAD = (33.54, 135.89)


def _load_tool():
    spec = importlib.util.spec_from_file_location("make_areas", ROOT / "tools" / "make_areas.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_areas", mod)  # dataclasses look their module up there
    spec.loader.exec_module(mod)
    return mod


make_areas = _load_tool()
AREA_NAMES = [d.name for d in make_areas.AREAS]


def _outline(name):
    return read_geojson_outline(AREAS_DIR / f"{name}.geojson")


# --- decoding ------------------------------------------------------------------------


def test_decode_arcs_follows_the_topojson_delta_rule():
    """Spec 2.1.2: position k = (sum of quantized entries 0..k) * scale + translate.

    Arc [[0,0],[1,2],[3,-1]] sums to (0,0),(1,2),(4,1); with scale (2,3) and
    translate (10,20): (10,20),(12,26),(18,23). Arc [[4,1],[-4,-1]] sums to
    (4,1),(0,0): (18,23),(10,20). Ring [0, 1] joins them, dropping the shared point.
    Ring [~1, ~0] (reversed arcs) walks the same ring backwards.
    """
    arcs = geodata.decode_arcs([[[0, 0], [1, 2], [3, -1]], [[4, 1], [-4, -1]]], [2, 3], [10, 20])
    np.testing.assert_array_equal(arcs[0], [[10, 20], [12, 26], [18, 23]])
    np.testing.assert_array_equal(arcs[1], [[18, 23], [10, 20]])
    ring = geodata.ring_positions([0, 1], arcs)
    np.testing.assert_array_equal(ring, [[10, 20], [12, 26], [18, 23], [10, 20]])
    back = geodata.ring_positions([~1, ~0], arcs)
    np.testing.assert_array_equal(back, ring[::-1])


def test_decode_arcs_without_transform_are_absolute():
    arcs = geodata.decode_arcs([[[1.5, 2.5], [3.0, 4.0]]])
    np.testing.assert_array_equal(arcs[0], [[1.5, 2.5], [3.0, 4.0]])


@pytest.mark.parametrize("detail", ["50m", "10m"])
def test_honshu_area_matches_the_published_figure(detail):
    """Honshu is 227,960 km2 (GSI via Wikipedia); the decoded island, measured on
    the WGS84 ellipsoid by pyproj, is within 2 % (generalization of the coast)."""
    polys = geodata.land_polygons(130.0, 33.0, 143.0, 42.0, detail=detail)
    (honshu,) = [p for p in polys if p.contains(Point(135.50, 34.69))]  # Osaka
    area_m2, _ = GEOD.geometry_area_perimeter(honshu)
    assert abs(abs(area_m2) / 1e6 / 227_960.0 - 1.0) < 0.02


@pytest.mark.parametrize("detail", ["50m", "10m"])
def test_land_and_sea_points(detail):
    land = shapely.union_all(geodata.land_polygons(120.0, 10.0, 145.0, 40.0, detail=detail))
    for lat, lon in [(34.69, 135.50), (33.56, 133.53), (31.60, 130.56), (26.21, 127.68), (14.60, 120.98)]:
        assert land.contains(Point(lon, lat)), (lat, lon)
    for lat, lon in [(30.0, 140.0), (20.0, 135.0), (33.0, 136.5), (25.0, 130.0)]:
        assert not land.contains(Point(lon, lat)), (lat, lon)


def test_polygons_are_clipped_to_the_box():
    polys = geodata.land_polygons(135.0, 33.5, 136.0, 34.5)
    assert polys and all(p.is_valid for p in polys)
    x0, y0, x1, y1 = shapely.union_all(polys).bounds
    assert 135.0 <= x0 and x1 <= 136.0 and 33.5 <= y0 and y1 <= 34.5


def test_world_land_is_cut_at_the_antimeridian_and_antarctica_closed():
    world = geodata.land_polygons(-180.0, -90.0, 180.0, 90.0)
    assert all(p.is_valid for p in world)
    x0, y0, x1, y1 = shapely.union_all(world).bounds
    assert -180.0 <= x0 and x1 <= 180.0 and -90.0 <= y0 and y1 <= 90.0
    land = shapely.union_all(world)
    assert land.contains(Point(0.0, -89.5)) and land.contains(Point(170.0, -85.0))  # Antarctic plateau
    assert not land.contains(Point(0.0, 0.0)) and not land.contains(Point(-150.0, 0.0))  # open ocean
    # the Chukotka peninsula straddles 180: land on both sides of it
    assert land.contains(Point(179.5, 67.0)) and land.contains(Point(-179.5, 67.0))


def test_boxes_across_the_antimeridian_match_the_two_halves():
    """A box 170..190 E returns the same land as 170..180 plus -180..-170 shifted by 360."""
    across = shapely.union_all(geodata.land_polygons(170.0, 60.0, 190.0, 75.0))
    west = shapely.union_all(geodata.land_polygons(170.0, 60.0, 180.0, 75.0))
    east = shapely.union_all(geodata.land_polygons(-180.0, 60.0, -170.0, 75.0))
    east = shapely.transform(east, lambda xy: xy + np.array([360.0, 0.0]))
    assert across.bounds[0] >= 170.0 and across.bounds[2] <= 190.0
    assert across.area == pytest.approx(west.area + east.area, rel=1e-9)
    assert across.contains(Point(180.5, 67.0)) and across.contains(Point(179.5, 67.0))
    assert across.contains(Point(180.5, 71.2))  # Wrangel Island, 179.5 W


def test_coastlines_stay_in_the_box_and_leave_out_the_antimeridian_cut():
    lines = geodata.coastline_lines((170.0, 60.0, 190.0, 75.0))
    assert lines
    for xy in lines:
        assert xy.ndim == 2 and xy.shape[1] == 2 and len(xy) >= 2
        assert np.all((xy[:, 0] >= 170.0) & (xy[:, 0] <= 190.0) & (xy[:, 1] >= 60.0) & (xy[:, 1] <= 75.0))
        on_cut = np.isclose(xy[:, 0], 180.0, atol=1e-9)
        assert not np.any(on_cut[:-1] & on_cut[1:]), "a segment runs along the antimeridian"
    kii = geodata.coastline_lines((134.0, 33.0, 137.0, 35.0))
    coast = shapely.MultiLineString([shapely.LineString(xy) for xy in kii])
    assert coast.distance(Point(135.89, 33.54)) < 0.05  # the pad is on the coast


@pytest.mark.parametrize(
    "box",
    [(136.0, 33.0, 135.0, 34.0), (135.0, 34.0, 136.0, 33.0), (0.0, -91.0, 1.0, 0.0), (0.0, 0.0, float("nan"), 1.0)],
)
def test_bad_boxes_are_refused(box):
    with pytest.raises(InputError, match="box"):
        geodata.land_polygons(*box)


def test_10m_extract_refuses_boxes_outside_its_region():
    with pytest.raises(InputError, match="50m"):
        geodata.land_polygons(0.0, 40.0, 10.0, 50.0, detail="10m")


# --- protected-area outlines ---------------------------------------------------------


def test_outline_keeps_the_margin_along_the_surface():
    """Shikoku with a 10 km margin: every coast vertex is >= 10 km (pyproj geodesic
    to the great-circle boundary sampled every ~0.3 km) from the outline."""
    region = (132.0, 32.6, 134.8, 34.45)
    lat, lon = geodata.protected_area_outline(
        region, margin_km=10.0, whole_islands=True, bridge_km=15.0, detail="10m", max_vertices=120
    )
    assert len(lat) <= 120
    assert GreatCirclePolygon.problems(lat, lon) == []
    land = geodata.land_in_region(region, detail="10m", whole_islands=True)
    assert _geodesic_clearance_km(lat, lon, land) >= 10.0 - 0.01


def test_outline_errors_name_the_fix():
    with pytest.raises(InputError, match="bridge_km"):
        geodata.protected_area_outline((138.9, 32.2, 140.0, 34.9), whole_islands=True, detail="10m")
    with pytest.raises(InputError, match="no land"):
        geodata.protected_area_outline((150.0, 20.0, 151.0, 21.0))
    with pytest.raises(InputError, match="margin_km"):
        geodata.protected_area_outline((135.0, 33.5, 136.0, 34.5), margin_km=-1.0)


def _geodesic_clearance_km(lat, lon, land, exclude=None):
    """Smallest WGS84 geodesic distance (pyproj) from the land's vertices to the outline's boundary, km.

    The boundary is sampled along its great-circle edges every 0.003 deg (~0.3 km),
    so the distance to the samples overstates the true one by under 0.01 km at 10 km.
    Only the 300 vertices nearest the boundary (by a flat-earth estimate) are measured.
    """
    gcp = GreatCirclePolygon(lat, lon)
    blat, blon = gcp.densified_boundary(max_step_deg=0.003)
    pts = np.concatenate([np.asarray(p.exterior.coords) for p in shapely.get_parts(land) if p.geom_type == "Polygon"])
    if exclude is not None:
        pts = pts[~shapely.contains_xy(exclude, pts[:, 0], pts[:, 1])]
    scale = np.cos(np.radians(np.mean(blat)))
    ring = shapely.LineString(np.column_stack([blon * scale, blat]))
    rough = shapely.distance(ring, shapely.points(pts[:, 0] * scale, pts[:, 1]))
    near = pts[np.argsort(rough)[:300]]
    best = np.inf
    for lon_p, lat_p in near:
        flat = np.hypot((blon - lon_p) * scale, blat - lat_p)
        cand = flat <= flat.min() + 0.1  # generous: the flat estimate is within a few % of the geodesic
        _, _, d = GEOD.inv(np.full(cand.sum(), lon_p), np.full(cand.sum(), lat_p), blon[cand], blat[cand])
        best = min(best, d.min())
    return best / 1e3


# --- the generated areas -------------------------------------------------------------


@pytest.mark.parametrize("name", AREA_NAMES)
def test_area_file_is_valid_rfc7946_and_loads(name):
    doc = json.loads((AREAS_DIR / f"{name}.geojson").read_text(encoding="utf-8"))
    assert doc["type"] == "Feature" and doc["geometry"]["type"] == "Polygon"
    assert set(doc["properties"]) >= {"name", "description", "source"} and doc["properties"]["name"] == name
    (ring,) = doc["geometry"]["coordinates"]
    assert ring[0] == ring[-1] and len(ring) - 1 <= 200
    assert Polygon(ring).exterior.is_ccw  # RFC 7946 section 3.1.6: exteriors counter-clockwise
    lat, lon = read_geojson_outline(AREAS_DIR / f"{name}.geojson")
    assert GreatCirclePolygon.problems(lat, lon, name=name) == []


@pytest.mark.parametrize(
    "name, lat, lon",
    [
        ("shikoku", 33.56, 133.53),  # Kochi
        ("kyushu", 31.60, 130.56),  # Kagoshima
        ("nansei-islands", 26.21, 127.68),  # Naha
        ("philippines", 14.60, 120.98),  # Manila
        ("kii-peninsula", 33.72, 135.99),  # Shingu
        ("kii-peninsula", 34.23, 135.17),  # Wakayama
        ("nansei-islands", 30.40, 130.97),  # Tanegashima (Nishinoomote)
        ("nansei-islands", 24.47, 123.00),  # Yonaguni
        ("daito-islands", 25.85, 131.24),  # Minami-Daito
        ("izu-islands", 33.11, 139.79),  # Hachijojima
        ("izu-islands", 32.46, 139.77),  # Aogashima
        ("philippines", 11.24, 125.00),  # Tacloban, Leyte
        ("philippines", 20.45, 121.97),  # Basco, Batanes
    ],
)
def test_areas_contain_known_land(name, lat, lon):
    inside, dist_m = GreatCirclePolygon(*_outline(name)).evaluate(lat, lon)
    assert inside and dist_m > 5e3


def test_no_area_contains_the_pad_or_the_open_sea():
    sea = [PAD, (33.40, 135.89), (33.0, 136.5), (30.0, 135.0), (25.0, 134.0), (20.0, 130.0), (15.0, 128.0)]
    for name in AREA_NAMES:
        gcp = GreatCirclePolygon(*_outline(name))
        for lat, lon in sea:
            assert not gcp.contains(lat, lon), (name, lat, lon)


def test_pad_notch_leaves_the_pad_clear():
    """The pad is outside the Kii area by about the 5 km notch radius; the sea
    south of the pad (where the ascent goes) is outside too."""
    gcp = GreatCirclePolygon(*_outline("kii-peninsula"))
    inside, dist_m = gcp.evaluate(*PAD)
    assert not inside and -5.5e3 < dist_m < -4.0e3
    for az in (170.0, 185.0, 195.0):
        lon, lat, _ = GEOD.fwd(PAD[1], PAD[0], az, 15e3)
        assert not gcp.contains(float(lat), float(lon)), az


@pytest.mark.parametrize("name", AREA_NAMES)
def test_areas_keep_the_margin_from_every_coast_vertex(name):
    """Independent of the generator's own check: pyproj geodesic distances from
    the region's 1:10m coast vertices to the great-circle boundary are >= 10 km
    (outside the Kii notch and one margin round it)."""
    defn = next(d for d in make_areas.AREAS if d.name == name)
    lat, lon = _outline(name)
    land = geodata.land_in_region(defn.region_geometry(), detail="10m", whole_islands=defn.whole_islands)
    exclude = make_areas.pad_notch() if defn.notch else None
    if exclude is not None:
        near_pad = Point(PAD[1], PAD[0]).buffer(0.5)  # notch reach 30 km + margin 10 km < 0.5 deg
        exclude = exclude.union(near_pad)
    assert _geodesic_clearance_km(lat, lon, land, exclude) >= make_areas.MARGIN_KM - 0.01


def test_files_on_disk_are_what_the_tool_generates(tmp_path):
    written = make_areas.write_areas(tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in AREAS_DIR.glob("*.geojson"))
    for path in written:
        new = json.loads(path.read_text(encoding="utf-8"))
        old = json.loads((AREAS_DIR / path.name).read_text(encoding="utf-8"))
        assert new["properties"] == old["properties"], path.name
        a = np.array(new["geometry"]["coordinates"][0])
        b = np.array(old["geometry"]["coordinates"][0])
        assert a.shape == b.shape, f"{path.name}: run tools/make_areas.py to regenerate"
        np.testing.assert_allclose(a, b, atol=2e-5, err_msg=f"{path.name}: run tools/make_areas.py to regenerate")


def test_data_ships_with_its_licence_note():
    data = ROOT / "src" / "rangeguard" / "data"
    note = (data / "NATURAL_EARTH.md").read_text(encoding="utf-8")
    assert "public domain" in note and "ISC" in note
    for fname in geodata.LAND_RESOURCES.values():
        assert (data / fname).stat().st_size < 1_000_000

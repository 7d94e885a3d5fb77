"""Hazard areas (rangeguard.risk.hazard) against closed forms.

References, none computed with rangeguard's own geometry:

- a circular normal (sigma) with n expected fragments has the density n / (2 pi sigma^2) exp(-r^2 / 2 sigma^2)
  at distance r from its mean (r from pyproj.Geod), and the region where n A pdf > -ln(1 - P) is the disc
  of radius r* = sigma sqrt(2 ln(n A / (2 pi sigma^2 (-ln(1 - P))))); its area is measured with
  pyproj.Geod.geometry_area_perimeter;
- the 97 % ellipse of a normal is the chi-square (2 degrees of freedom) quantile (scipy.stats.chi2), of
  area pi k^2 sqrt(lambda1 lambda2) (covariance eigenvalues), and holds 97 % of samples drawn with numpy's
  multivariate normal (binomial tolerance).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import shapely
from pyproj import Geod
from scipy.stats import chi2
from shapely.geometry import MultiPolygon, Point, Polygon

from rangeguard.errors import InputError
from rangeguard.risk.casualty import BivariateNormal
from rangeguard.risk.hazard import (
    AIRCRAFT_VULNERABLE_AREA_M2,
    SHIP_VULNERABLE_AREA_M2,
    HazardArea,
    ImpactDensity,
    containment_of_samples,
    containment_polygon,
    grid_around,
    hazard_areas_geojson,
    hit_probability_areas,
    impact_density,
    mahalanobis_radius,
    read_hazard_areas,
)

GEOD = Geod(ellps="WGS84")
LAT0, LON0 = 33.0, 136.5


def geodesic_area_m2(geom) -> float:
    parts = geom.geoms if isinstance(geom, MultiPolygon) else [geom]
    return sum(abs(GEOD.geometry_area_perimeter(p)[0]) for p in parts)


def shoelace(ring) -> float:
    """Signed area of a closed [x, y] ring; > 0 counter-clockwise."""
    x = np.array([p[0] for p in ring])
    y = np.array([p[1] for p in ring])
    return 0.5 * float(np.sum(x[:-1] * y[1:] - x[1:] * y[:-1]))


def disc_radius_m(n: float, area_m2: float, sigma_m: float, p: float) -> float:
    return sigma_m * math.sqrt(2.0 * math.log(n * area_m2 / (2.0 * math.pi * sigma_m**2 * -math.log1p(-p))))


def correlated_normal(lat=LAT0, lon=LON0) -> BivariateNormal:
    se, sn, rho = 3000.0, 1200.0, -0.6
    return BivariateNormal(lat, lon, np.array([[se * se, rho * se * sn], [rho * se * sn, sn * sn]]))


# --- density -----------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["centre", "exact"])
def test_density_of_a_circular_normal_is_the_closed_form(method):
    sigma, n = 2000.0, 40.0
    normal = BivariateNormal.circular(LAT0, LON0, sigma)
    lat_e, lon_e = grid_around([(normal, n)], 100.0, 8.0)
    d = impact_density([(normal, n)], lat_e, lon_e, method=method)
    lon_c, lat_c = np.meshgrid(d.lon_centres_deg, d.lat_centres_deg)
    _, _, r = GEOD.inv(np.full(lat_c.size, LON0), np.full(lat_c.size, LAT0), lon_c.ravel(), lat_c.ravel())
    r = r.reshape(lat_c.shape)
    near = r < 3.0 * sigma
    expected = n / (2.0 * math.pi * sigma**2) * np.exp(-(r**2) / (2.0 * sigma**2))
    # cells of sigma / 20: a cell's mean density differs from its centre's by h^2 / (24 sigma^2) (r^2 / sigma^2 - 2),
    # up to 7e-4 at 3 sigma ("exact"); the plane's scale error is up to 6 km / R tan(33 deg) ~ 6e-4 (both methods).
    # Measured: centre 7.2e-4, exact 1.45e-3.
    assert np.max(np.abs(d.fragments_per_m2[near] / expected[near] - 1.0)) < 2.5e-3


@pytest.mark.parametrize("method", ["centre", "exact"])
def test_density_sums_to_the_expected_fragments_over_8_sigma(method):
    comps = [(correlated_normal(), 12.5), (BivariateNormal.circular(LAT0 - 0.2, LON0 + 0.3, 800.0), 3.0)]
    lat_e, lon_e = grid_around(comps, 300.0, 8.0)
    d = impact_density(comps, lat_e, lon_e, method=method)
    assert d.expected_fragments == pytest.approx(15.5, rel=1e-3)
    assert np.all(d.fragments_per_m2 >= 0.0)


def test_density_across_the_antimeridian():
    normal = BivariateNormal.circular(-20.0, 179.98, 3000.0)
    lat_e, lon_e = grid_around([(normal, 5.0)], 500.0, 8.0)
    assert lon_e[0] < 180.0 < lon_e[-1]
    d = impact_density([(normal, 5.0)], lat_e, lon_e)
    assert d.expected_fragments == pytest.approx(5.0, rel=1e-3)
    # the same normal written at -180.02 deg lands on the same cells
    twin = BivariateNormal.circular(-20.0, 179.98 - 360.0, 3000.0)
    np.testing.assert_allclose(impact_density([(twin, 5.0)], lat_e, lon_e).fragments_per_m2, d.fragments_per_m2)


def test_grid_around_covers_every_component_with_its_margin():
    comps = [(correlated_normal(), 1.0), (BivariateNormal.circular(LAT0 + 0.5, LON0 - 0.4, 1000.0), 1.0)]
    lat_e, lon_e = grid_around(comps, 250.0, 6.0)
    for normal, _ in comps:
        se, sn = normal.sigma_en_m
        lat, lon = normal.from_plane(np.array([-6 * se, 6 * se]), np.array([-6 * sn, 6 * sn]))
        assert lat_e[0] <= lat[0] and lat[1] <= lat_e[-1]
        assert lon_e[0] <= lon[0] and lon[1] <= lon_e[-1]
    # cells are 250 m on a side at the middle latitude (Geod distances across one cell)
    mid_lat = 0.5 * (lat_e[0] + lat_e[-1])
    assert GEOD.inv(lon_e[0], mid_lat, lon_e[1], mid_lat)[2] == pytest.approx(250.0, rel=1e-3)
    assert GEOD.inv(lon_e[0], lat_e[0], lon_e[0], lat_e[1])[2] == pytest.approx(250.0, rel=2e-3)


# --- regions over a hit probability --------------------------------------------------------------


@pytest.mark.parametrize(("area_m2", "p"), [(SHIP_VULNERABLE_AREA_M2, 1e-5), (AIRCRAFT_VULNERABLE_AREA_M2, 1e-6)])
def test_hit_region_of_a_circular_normal_is_the_closed_form_disc(area_m2, p):
    sigma, n = 2000.0, 20.0
    normal = BivariateNormal.circular(LAT0, LON0, sigma)
    lat_e, lon_e = grid_around([(normal, n)], sigma / 20.0, 7.0)
    region = hit_probability_areas(impact_density([(normal, n)], lat_e, lon_e), area_m2, p)
    r_star = disc_radius_m(n, area_m2, sigma, p)
    assert isinstance(region, MultiPolygon) and len(region.geoms) == 1
    assert len(region.geoms[0].interiors) == 0
    assert geodesic_area_m2(region) == pytest.approx(math.pi * r_star**2, rel=0.01)
    assert region.contains(Point(LON0, LAT0))


def test_hit_region_is_empty_below_the_threshold():
    sigma, n, area = 2000.0, 20.0, SHIP_VULNERABLE_AREA_M2
    peak_p = -math.expm1(-n * area / (2.0 * math.pi * sigma**2))
    normal = BivariateNormal.circular(LAT0, LON0, sigma)
    lat_e, lon_e = grid_around([(normal, n)], 200.0, 6.0)
    d = impact_density([(normal, n)], lat_e, lon_e)
    assert hit_probability_areas(d, area, peak_p * 1.01).is_empty
    assert not hit_probability_areas(d, area, peak_p * 0.9).is_empty


def test_two_separated_normals_give_two_polygons():
    a = BivariateNormal.circular(LAT0, LON0, 1500.0)
    b = BivariateNormal.circular(LAT0 - 0.3, LON0 + 0.4, 1500.0)  # about 50 km apart: 33 sigma
    comps = [(a, 10.0), (b, 10.0)]
    lat_e, lon_e = grid_around(comps, 150.0, 7.0)
    region = hit_probability_areas(impact_density(comps, lat_e, lon_e), SHIP_VULNERABLE_AREA_M2, 1e-5)
    assert len(region.geoms) == 2
    for normal in (a, b):
        assert sum(p.contains(Point(normal.mean_lon_deg, normal.mean_lat_deg)) for p in region.geoms) == 1
    r_star = disc_radius_m(10.0, SHIP_VULNERABLE_AREA_M2, 1500.0, 1e-5)
    assert geodesic_area_m2(region) == pytest.approx(2.0 * math.pi * r_star**2, rel=0.01)


def test_hit_region_keeps_holes():
    """A ring of density (a field written directly) makes a polygon with a hole."""
    lat_e = np.linspace(33.0, 33.2, 101)
    lon_e = np.linspace(136.0, 136.2, 101)
    lat_c, lon_c = 0.5 * (lat_e[:-1] + lat_e[1:]), 0.5 * (lon_e[:-1] + lon_e[1:])
    r = np.hypot(*np.meshgrid(lon_c - 136.1, lat_c - 33.1))
    field = np.where((r > 0.03) & (r < 0.07), 1e-3, 0.0)
    region = hit_probability_areas(ImpactDensity(lat_e, lon_e, field), 100.0, 1e-3)
    assert len(region.geoms) == 1 and len(region.geoms[0].interiors) == 1
    assert region.is_valid
    assert not region.contains(Point(136.1, 33.1)) and region.contains(Point(136.15, 33.1))


def test_region_reaching_the_grid_border_is_closed_at_the_border():
    lat_e = np.linspace(33.0, 33.1, 11)
    lon_e = np.linspace(136.0, 136.1, 11)
    region = hit_probability_areas(ImpactDensity(lat_e, lon_e, np.full((10, 10), 1.0)), 100.0, 1e-3)
    assert region.is_valid and len(region.geoms) == 1
    assert region.area == pytest.approx(0.1 * 0.1, rel=1e-9)


# --- containment -------------------------------------------------------------------------------


def test_mahalanobis_radius_is_the_chi_square_quantile():
    for p in (0.5, 0.9, 0.97, 0.999):
        assert mahalanobis_radius(p) ** 2 == pytest.approx(chi2.ppf(p, 2), rel=1e-12)


def test_97_percent_ellipse_holds_97_percent_of_samples_and_has_the_ellipse_area():
    normal = correlated_normal()
    ellipse = containment_polygon(normal, 0.97)
    assert ellipse.is_valid and ellipse.exterior.is_ccw
    rng = np.random.default_rng(20240313)
    n = 100_000
    en = rng.multivariate_normal([0.0, 0.0], normal.cov_en_m2, size=n)
    lat, lon = normal.from_plane(en[:, 0], en[:, 1])
    inside = shapely.contains_xy(ellipse, lon, lat).mean()
    assert abs(inside - 0.97) < 4.0 * math.sqrt(0.97 * 0.03 / n)
    lam = np.linalg.eigvalsh(normal.cov_en_m2)
    expected = math.pi * chi2.ppf(0.97, 2) * math.sqrt(lam[0] * lam[1])
    assert geodesic_area_m2(ellipse) == pytest.approx(expected, rel=5e-3)


def test_containment_of_samples_holds_at_least_the_probability():
    normal = correlated_normal()
    rng = np.random.default_rng(7)
    en = rng.multivariate_normal([0.0, 0.0], normal.cov_en_m2, size=20_000)
    lat, lon = normal.from_plane(en[:, 0], en[:, 1])
    hull = containment_of_samples(lat, lon, 0.97)
    assert hull.is_valid and hull.exterior.is_ccw
    held = shapely.covers(hull, shapely.points(lon, lat)).mean()
    assert 0.97 <= held < 0.975
    assert geodesic_area_m2(hull) == pytest.approx(geodesic_area_m2(containment_polygon(normal, 0.97)), rel=0.05)


# --- GeoJSON -----------------------------------------------------------------------------------


def example_areas() -> list[HazardArea]:
    ring = Polygon(
        [(136.0, 33.0), (136.2, 33.0), (136.2, 33.2), (136.0, 33.2)],
        [[(136.05, 33.05), (136.05, 33.15), (136.15, 33.15), (136.15, 33.05)]],
    )
    two = MultiPolygon(
        [Polygon([(137, 32), (137.1, 32), (137.1, 32.1)]), Polygon([(138, 32), (138.1, 32.1), (138, 32.1)])]
    )
    return [
        HazardArea("ship", "ship hazard area 1", 1e-5, ring, "P(hit) > 1e-5 on a 100 m x 20 m vessel"),
        HazardArea("aircraft", "aircraft hazard area", 1e-6, two, "two parts"),
        HazardArea("drop_zone", "stage 1 drop", 0.97, containment_polygon(correlated_normal(31.0, 137.0)), ""),
    ]


def test_geojson_is_rfc7946_with_ccw_exteriors_and_properties():
    areas = example_areas()
    doc = hazard_areas_geojson(areas)
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 3
    for area, feature in zip(areas, doc["features"], strict=True):
        props = feature["properties"]
        assert props["kind"] == area.kind and props["name"] == area.name and props["criterion"] == area.criterion
        assert props["description"] == area.description
        assert props["area_km2"] == pytest.approx(geodesic_area_m2(area.polygon) / 1e6, rel=1e-6)
        geom = feature["geometry"]
        polys = [geom["coordinates"]] if geom["type"] == "Polygon" else geom["coordinates"]
        for rings in polys:
            assert shoelace(rings[0]) > 0.0  # exterior counter-clockwise
            assert all(shoelace(h) < 0.0 for h in rings[1:])  # holes clockwise
            for r in rings:
                assert r[0] == r[-1] and len(r) >= 4
                assert all(135.0 < x < 139.0 and 30.0 < y < 34.0 for x, y in r)  # [lon, lat]
    assert doc["features"][0]["geometry"]["type"] == "Polygon"
    assert doc["features"][1]["geometry"]["type"] == "MultiPolygon"
    json.dumps(doc, allow_nan=False)


def test_geojson_round_trip(tmp_path):
    areas = example_areas()
    path = tmp_path / "hazard_areas.geojson"
    path.write_text(json.dumps(hazard_areas_geojson(areas)), encoding="utf-8")
    back = read_hazard_areas(path)
    assert [(a.kind, a.name, a.criterion, a.description) for a in back] == [
        (a.kind, a.name, a.criterion, a.description) for a in areas
    ]
    for a, b in zip(areas, back, strict=True):
        assert a.polygon.symmetric_difference(b.polygon).area < a.polygon.length * 1e-7  # positions on a 1e-7 deg grid
    assert len(back[0].polygon.interiors) == 1


def test_empty_area_round_trips(tmp_path):
    path = tmp_path / "h.geojson"
    path.write_text(json.dumps(hazard_areas_geojson([HazardArea("ship", "none", 1e-5, MultiPolygon())])))
    (back,) = read_hazard_areas(path)
    assert back.polygon.is_empty and back.kind == "ship"


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda d: d.update(type="Feature"), "FeatureCollection"),
        (lambda d: d["features"][0]["properties"].update(kind="boat"), "kind"),
        (lambda d: d["features"][0]["properties"].pop("name"), "name"),
        (lambda d: d["features"][0]["properties"].update(criterion=2.0), "criterion"),
        (lambda d: d["features"][0]["geometry"].update(type="LineString"), "Polygon"),
        (lambda d: d["features"][0]["geometry"]["coordinates"][0].pop(), "closed"),
        (lambda d: d["features"][0]["geometry"]["coordinates"][0].__setitem__(1, [136.2, 95.0]), "latitude"),
        (lambda d: d["features"][0]["geometry"]["coordinates"][0].__setitem__(1, ["a", 1]), "position"),
        (
            lambda d: d["features"][0]["geometry"].update(
                coordinates=[[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]  # a bow tie
            ),
            "not valid",
        ),
    ],
)
def test_malformed_hazard_file_names_the_file(tmp_path, mutate, words):
    doc = hazard_areas_geojson(example_areas())
    mutate(doc)
    path = tmp_path / "bad.geojson"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(InputError, match=words) as err:
        read_hazard_areas(path)
    assert str(path) in str(err.value)


def test_hazard_file_that_is_not_json(tmp_path):
    path = tmp_path / "bad.geojson"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="not valid JSON") as err:
        read_hazard_areas(path)
    assert str(path) in str(err.value)


# --- bad inputs --------------------------------------------------------------------------------


def test_bad_inputs_raise_input_errors_naming_the_argument():
    normal = BivariateNormal.circular(LAT0, LON0, 1000.0)
    lat_e, lon_e = grid_around([(normal, 1.0)], 500.0, 5.0)
    d = impact_density([(normal, 1.0)], lat_e, lon_e)
    cases = [
        (lambda: grid_around([(normal, 1.0)], 0.0), "cell_m"),
        (lambda: grid_around([(normal, 1.0)], math.nan), "cell_m"),
        (lambda: grid_around([(normal, 1.0)], 1e6), "cell_m"),
        (lambda: grid_around([(normal, 1.0)], 0.01), "cell_m"),  # 2e10 cells
        (lambda: grid_around([(normal, 1.0)], 100.0, -1.0), "margin_sigma"),
        (lambda: grid_around([], 100.0), "components"),
        (lambda: impact_density([(normal, -1.0)], lat_e, lon_e), "expected_fragments"),
        (lambda: impact_density([("x", 1.0)], lat_e, lon_e), "BivariateNormal"),
        (lambda: impact_density([(normal, 1.0)], lat_e[::-1], lon_e), "lat_edges_deg"),
        (lambda: impact_density([(normal, 1.0)], lat_e, lon_e, method="cdf"), "method"),
        (lambda: impact_density([(normal, 1.0)], lat_e, lon_e, window_sigma=0.0), "window_sigma"),
        (lambda: hit_probability_areas(d, 0.0, 1e-5), "vulnerable_area_m2"),
        (lambda: hit_probability_areas(d, 100.0, 0.0), "threshold"),
        (lambda: hit_probability_areas(d, 100.0, 1.0), "threshold"),
        (lambda: containment_polygon(normal, 1.0), "probability"),
        (lambda: containment_polygon(normal, 0.97, n_vertices=3), "n_vertices"),
        (lambda: containment_of_samples([33.0, 33.1, 33.2], [136.0, 136.1, 136.3], 0.0), "probability"),
        (lambda: HazardArea("submarine", "x", 1e-5, Polygon()), "kind"),  # type: ignore[arg-type]
        (lambda: HazardArea("ship", "x", 0.0, Polygon()), "criterion"),
        (lambda: ImpactDensity(lat_e, lon_e, np.zeros((2, 2))), "fragments_per_m2"),
    ]
    for call, word in cases:
        with pytest.raises(InputError, match=word):
            call()


def test_default_vulnerable_areas_are_the_stated_rectangles():
    assert SHIP_VULNERABLE_AREA_M2 == pytest.approx((100.0 + 2.0) * (20.0 + 2.0))
    assert AIRCRAFT_VULNERABLE_AREA_M2 == pytest.approx((32.0 + 2.0) * (26.0 + 2.0))

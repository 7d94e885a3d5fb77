"""Casualty areas, impact distributions and expected casualties (rangeguard.risk.casualty).

References are independent of the code: closed forms written out here, pyproj.Geod for geodesy and
scipy.stats.multivariate_normal for rectangle probabilities.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from pyproj import Geod
from scipy.integrate import quad
from scipy.stats import multivariate_normal, norm

from rangeguard.errors import InputError
from rangeguard.risk import (
    PERSON_HEIGHT_M,
    PERSON_RADIUS_M,
    BivariateNormal,
    ImpactDistribution,
    PopulationGrid,
    casualty_area_m2,
    casualty_map,
    expected_casualties,
    fit_bivariate_normal,
    impact_probability,
)

GEOD = Geod(ellps="WGS84")
LAT0_DEG, LON0_DEG = 33.5, 135.9
ARCSEC_DEG = 1.0 / 3600.0


def cell_row_areas_m2(lat_edges_deg: np.ndarray, dlon_deg: float, points_per_edge: int = 32) -> np.ndarray:
    """Area of one cell per row: a pyproj.Geod polygon whose parallel edges are densified."""
    areas = []
    for south, north in zip(lat_edges_deg[:-1], lat_edges_deg[1:], strict=True):
        lon_s = np.linspace(0.0, dlon_deg, points_per_edge)
        lons = np.concatenate([lon_s, lon_s[::-1]])
        lats = np.concatenate([np.full(points_per_edge, south), np.full(points_per_edge, north)])
        area, _ = GEOD.polygon_area_perimeter(lons, lats)
        areas.append(abs(area))
    return np.array(areas)


def samples_en(rng: np.random.Generator, n: int, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Impact points drawn in east/north metres around (LAT0, LON0), placed with Geod.fwd (not the code's plane)."""
    en = rng.multivariate_normal([0.0, 0.0], cov, size=n)
    az = np.degrees(np.arctan2(en[:, 0], en[:, 1]))
    dist = np.hypot(en[:, 0], en[:, 1])
    lon, lat, _ = GEOD.fwd(np.full(n, LON0_DEG), np.full(n, LAT0_DEG), az, dist)
    return np.asarray(lat), np.asarray(lon)


# --- casualty area ---------------------------------------------------------------------------------


def test_standard_person_is_one_foot_by_six_feet():
    assert PERSON_RADIUS_M == pytest.approx(0.3048, rel=0, abs=1e-15)
    assert PERSON_HEIGHT_M == pytest.approx(1.8288, rel=0, abs=1e-15)


def test_vertical_impact_is_the_disc_of_combined_radii():
    area_m2 = np.array([0.01, 0.5, 2.0])
    expected = math.pi * (0.3048 + np.sqrt(area_m2 / math.pi)) ** 2
    np.testing.assert_allclose(casualty_area_m2(area_m2), expected, rtol=1e-14)
    np.testing.assert_allclose(casualty_area_m2(area_m2, 90.0), expected, rtol=1e-14)


def test_oblique_impact_adds_the_swept_term():
    area_m2, gamma_deg = 0.3, np.array([30.0, 45.0, 60.0])
    reach = 0.3048 + math.sqrt(area_m2 / math.pi)
    expected = math.pi * reach**2 + 2.0 * reach * 1.8288 / np.tan(np.radians(gamma_deg))
    np.testing.assert_allclose(casualty_area_m2(area_m2, gamma_deg), expected, rtol=1e-13)
    # at 45 deg the swept term is 2 (R_p + R_f) H_p exactly
    assert casualty_area_m2(area_m2, 45.0) == pytest.approx(math.pi * reach**2 + 2.0 * reach * 1.8288, rel=1e-13)


def test_zero_area_fragment_gives_the_person_area():
    assert casualty_area_m2(0.0) == pytest.approx(math.pi * 0.3048**2, rel=1e-15)


def test_casualty_area_broadcasts_and_refuses_bad_input():
    assert casualty_area_m2(np.ones((4, 1)), np.array([30.0, 90.0])).shape == (4, 2)
    for bad in ({"fragment_area_m2": -1.0}, {"fragment_area_m2": 1.0, "impact_angle_deg": 0.0}):
        with pytest.raises(InputError):
            casualty_area_m2(**bad)
    with pytest.raises(InputError):
        casualty_area_m2(1.0, 91.0)


# --- the normal over cells ---------------------------------------------------------------------------


def test_cell_probabilities_match_scipy_rectangles():
    """A correlated normal over a grid: each cell's probability is scipy's CDF over the cell's rectangle."""
    cov = np.array([[2000.0**2, 0.6 * 2000.0 * 800.0], [0.6 * 2000.0 * 800.0, 800.0**2]])
    normal = BivariateNormal(LAT0_DEG, LON0_DEG, cov)
    lat_edges = LAT0_DEG + np.linspace(-0.1, 0.1, 41)
    lon_edges = LON0_DEG + np.linspace(-0.24, 0.24, 49)
    grid = PopulationGrid(lat_edges, lon_edges, np.ones((40, 48)))
    p = impact_probability(ImpactDistribution.from_normal(normal), grid)
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    # the plane in the test: WGS84 radii of curvature at the mean (Snyder 1987 eqs. 4-18, 4-20)
    a, e2 = 6378137.0, 0.00669437999014
    s2 = math.sin(math.radians(LAT0_DEG)) ** 2
    m_m = a * (1 - e2) / (1 - e2 * s2) ** 1.5
    n_m = a / math.sqrt(1 - e2 * s2)
    mvn = multivariate_normal([0.0, 0.0], cov)
    for i, j in [(20, 24), (19, 23), (22, 30), (10, 5), (35, 44)]:
        e0, e1 = np.radians(lon_edges[j : j + 2] - LON0_DEG) * n_m * math.cos(math.radians(LAT0_DEG))
        n0, n1 = np.radians(lat_edges[i : i + 2] - LAT0_DEG) * m_m
        ref = mvn.cdf([e1, n1], lower_limit=[e0, n0], rng=np.random.default_rng(0))  # randomised QMC: seeded
        assert p[i, j] == pytest.approx(ref, rel=1e-4, abs=1e-12)


def test_cell_probabilities_keep_relative_precision_in_the_tails():
    """Far cells (P ~ 1e-18 and 1e-29) against a 1-D quadrature of the conditional normal."""
    sigma_e, sigma_n, rho = 2000.0, 800.0, 0.6
    cov = np.array([[sigma_e**2, rho * sigma_e * sigma_n], [rho * sigma_e * sigma_n, sigma_n**2]])
    lat_edges = LAT0_DEG + np.linspace(-0.1, 0.1, 41)
    lon_edges = LON0_DEG + np.linspace(-0.24, 0.24, 49)
    grid = PopulationGrid(lat_edges, lon_edges, np.ones((40, 48)))
    p = impact_probability(ImpactDistribution.from_normal(BivariateNormal(LAT0_DEG, LON0_DEG, cov)), grid)
    a, e2 = 6378137.0, 0.00669437999014
    s2 = math.sin(math.radians(LAT0_DEG)) ** 2
    m_m, n_m = a * (1 - e2) / (1 - e2 * s2) ** 1.5, a / math.sqrt(1 - e2 * s2)
    cond_sigma = sigma_n * math.sqrt(1 - rho**2)
    for i, j in [(10, 5), (35, 44)]:
        e0, e1 = np.radians(lon_edges[j : j + 2] - LON0_DEG) * n_m * math.cos(math.radians(LAT0_DEG))
        n0, n1 = np.radians(lat_edges[i : i + 2] - LAT0_DEG) * m_m

        def band(e, n0=n0, n1=n1):
            mu = rho * sigma_n / sigma_e * e
            if n0 > mu:  # upper tail: survival functions keep the precision
                return norm.pdf(e, 0, sigma_e) * (norm.sf((n0 - mu) / cond_sigma) - norm.sf((n1 - mu) / cond_sigma))
            return norm.pdf(e, 0, sigma_e) * (norm.cdf((n1 - mu) / cond_sigma) - norm.cdf((n0 - mu) / cond_sigma))

        ref = quad(band, e0, e1, epsabs=0.0, epsrel=1e-12, limit=200)[0]
        assert 0.0 < ref < 1e-17
        assert p[i, j] == pytest.approx(ref, rel=1e-5)


def test_cell_probabilities_across_the_antimeridian():
    normal = BivariateNormal.circular(-10.0, 179.99, 500.0)
    grid = PopulationGrid(np.linspace(-10.1, -9.9, 21), np.linspace(179.9, 180.1, 21), np.ones((20, 20)))
    assert impact_probability(ImpactDistribution.from_normal(normal), grid).sum() == pytest.approx(1.0, abs=1e-9)
    moved = PopulationGrid(grid.lat_edges_deg, grid.lon_edges_deg - 360.0, grid.people)
    np.testing.assert_allclose(
        impact_probability(ImpactDistribution.from_normal(normal), moved),
        impact_probability(ImpactDistribution.from_normal(normal), grid),
        atol=1e-15,
    )


# --- expected casualties -------------------------------------------------------------------------------


def uniform_disc_grid(density_per_m2: float, radius_m: float, cell_deg: float) -> PopulationGrid:
    """A disc of uniform density around (LAT0, LON0): people = D * (part of the cell in the disc) * cell area.

    The part inside is measured with 4 x 4 sub-points per cell and Geod.inv distances; areas are
    Geod polygon areas: nothing from the code under test.
    """
    half_lat = 1.2 * radius_m / 110_900.0
    half_lon = half_lat / math.cos(math.radians(LAT0_DEG))
    n_lat, n_lon = math.ceil(2 * half_lat / cell_deg), math.ceil(2 * half_lon / cell_deg)
    lat_edges = LAT0_DEG - 0.5 * n_lat * cell_deg + np.arange(n_lat + 1) * cell_deg
    lon_edges = LON0_DEG - 0.5 * n_lon * cell_deg + np.arange(n_lon + 1) * cell_deg
    sub = (np.arange(4) + 0.5) / 4 * cell_deg
    sub_lat = (lat_edges[:-1, None] + sub[None, :]).reshape(-1)
    sub_lon = (lon_edges[:-1, None] + sub[None, :]).reshape(-1)
    lat_g, lon_g = np.meshgrid(sub_lat, sub_lon, indexing="ij")
    _, _, dist = GEOD.inv(np.full(lat_g.size, LON0_DEG), np.full(lat_g.size, LAT0_DEG), lon_g.ravel(), lat_g.ravel())
    inside = (np.asarray(dist) <= radius_m).reshape(n_lat, 4, n_lon, 4).mean(axis=(1, 3))
    area = cell_row_areas_m2(lat_edges, cell_deg)[:, None]
    return PopulationGrid(lat_edges, lon_edges, density_per_m2 * inside * area)


@pytest.mark.parametrize("sigma_m", [800.0, 1500.0, 4000.0])
def test_uniform_disc_matches_the_rayleigh_closed_form(sigma_m):
    density, radius_m, n, a_c = 2.5e-3, 2000.0, 40.0, 1.7
    grid = uniform_disc_grid(density, radius_m, 1.0 * ARCSEC_DEG)
    dist = ImpactDistribution.from_normal(BivariateNormal.circular(LAT0_DEG, LON0_DEG, sigma_m))
    expected = n * a_c * density * (1.0 - math.exp(-(radius_m**2) / (2.0 * sigma_m**2)))
    assert expected_casualties(dist, n, a_c, grid) == pytest.approx(expected, rel=0.01)


def test_fit_recovers_a_known_covariance():
    cov = np.array([[3000.0**2, -0.5 * 3000.0 * 1200.0], [-0.5 * 3000.0 * 1200.0, 1200.0**2]])
    lat, lon = samples_en(np.random.default_rng(7), 200_000, cov)
    fit = fit_bivariate_normal(lat, lon)
    # sampling standard errors: sigma * sqrt(1/N) for the mean, sigma^2 sqrt(2/N) for the variances
    n = lat.size
    assert fit.to_plane(LAT0_DEG, LON0_DEG)[0] == pytest.approx(0.0, abs=5 * 3000.0 / math.sqrt(n))
    assert fit.to_plane(LAT0_DEG, LON0_DEG)[1] == pytest.approx(0.0, abs=5 * 1200.0 / math.sqrt(n))
    np.testing.assert_allclose(np.diag(fit.cov_en_m2), np.diag(cov), rtol=5 * math.sqrt(2.0 / n))
    assert fit.correlation == pytest.approx(-0.5, abs=5 * (1 - 0.25) / math.sqrt(n))


def test_weights_act_like_repeated_points():
    rng = np.random.default_rng(3)
    lat, lon = samples_en(rng, 500, np.diag([1000.0**2, 400.0**2]))
    reps = rng.integers(1, 4, size=lat.size)
    weighted = fit_bivariate_normal(lat, lon, reps)
    repeated = fit_bivariate_normal(np.repeat(lat, reps), np.repeat(lon, reps))
    assert weighted.mean_lat_deg == pytest.approx(repeated.mean_lat_deg, abs=1e-12)
    assert weighted.mean_lon_deg == pytest.approx(repeated.mean_lon_deg, abs=1e-12)
    # reliability-weight correction differs from n/(n-1) of the repeated set: only to O(1/n)
    np.testing.assert_allclose(weighted.cov_en_m2, repeated.cov_en_m2, rtol=5e-3)


def test_fit_across_the_antimeridian_is_one_cloud():
    rng = np.random.default_rng(5)
    lat = -20.0 + rng.normal(0.0, 0.01, 1000)
    lon = (180.0 + rng.normal(0.0, 0.01, 1000) + 180.0) % 360.0 - 180.0
    fit = fit_bivariate_normal(lat, lon)
    assert abs(abs(fit.mean_lon_deg) - 180.0) < 0.002
    assert math.sqrt(fit.cov_en_m2[0, 0]) < 2000.0


def test_sampled_ec_converges_to_the_normal_ec():
    """The sampled-points E_c approaches the normal's as the samples grow (Monte Carlo, ~ N^-1/2)."""
    cov = np.array([[2500.0**2, 0.4 * 2500.0 * 1500.0], [0.4 * 2500.0 * 1500.0, 1500.0**2]])
    normal = BivariateNormal(LAT0_DEG, LON0_DEG, cov)
    rng = np.random.default_rng(11)
    lat_edges = LAT0_DEG + np.arange(-40, 41) * 30 * ARCSEC_DEG
    lon_edges = LON0_DEG + np.arange(-50, 51) * 30 * ARCSEC_DEG
    grid = PopulationGrid(lat_edges, lon_edges, rng.gamma(0.5, 400.0, size=(80, 100)))
    reference = expected_casualties(ImpactDistribution.from_normal(normal), 10.0, 1.0, grid)
    errors = {}
    for n in (1_000, 10_000, 100_000, 1_000_000):
        lat, lon = samples_en(rng, n, cov)
        dist = ImpactDistribution(normal, lat, lon, np.full(n, 1.0 / n))
        errors[n] = abs(expected_casualties(dist, 10.0, 1.0, grid, method="samples") / reference - 1.0)
    assert errors[1_000_000] < 0.005
    assert errors[1_000_000] < errors[1_000]


def test_casualty_map_pieces_add_up():
    grid = PopulationGrid(
        LAT0_DEG + np.linspace(-0.05, 0.05, 11), LON0_DEG + np.linspace(-0.05, 0.05, 11), np.ones((10, 10)) * 50
    )
    dist = ImpactDistribution.from_normal(BivariateNormal.circular(LAT0_DEG, LON0_DEG, 1500.0))
    result = casualty_map(dist, 5.0, 2.0, grid)
    assert result.expected_casualties == pytest.approx(result.expected_casualties_per_cell.sum(), rel=1e-14)
    np.testing.assert_allclose(result.hits_per_person, 5.0 * 2.0 * result.p_impact / grid.cell_area_m2, rtol=1e-14)
    x = result.hits_per_person  # small: 1 - exp(-x) by its series, x - x^2/2 + x^3/6
    np.testing.assert_allclose(result.pc, x - x**2 / 2 + x**3 / 6, rtol=1e-12)
    assert x.max() < 1e-3
    with pytest.raises(InputError):
        impact_probability(dist, grid, method="samples")
    with pytest.raises(InputError):
        casualty_map(dist, -1.0, 2.0, grid)


def test_small_cells_midpoint_rule_matches_the_exact_rectangles(monkeypatch):
    """Cells far smaller than the normal take the density at their centre: against the exact rectangle
    probabilities (Owen's T, checked against scipy above) on 1' cells of a wide correlated normal."""
    import rangeguard.risk.casualty as cas

    normal = BivariateNormal(-30.0, 120.0, np.array([[8.0e10, 3.0e10], [3.0e10, 2.5e10]]))  # sigma 283 x 158 km
    lat = np.arange(-42.0, -18.0 + 1e-9, 1.0 / 60.0)
    lon = np.arange(105.0, 135.0 + 1e-9, 1.0 / 60.0)
    grid = PopulationGrid(lat, lon, np.ones((lat.size - 1, lon.size - 1)))
    fast = cas._normal_cell_probability(normal, grid)
    monkeypatch.setattr(cas, "SMALL_CELL_SIGMAS", 0.0)
    exact = cas._normal_cell_probability(normal, grid)
    inside = exact > 1e-12
    assert inside.sum() > 100_000
    assert np.max(np.abs(fast[inside] / exact[inside] - 1.0)) < 5e-3
    assert abs(fast.sum() - exact.sum()) < 1e-6


def test_auto_judges_wide_clouds_by_their_samples_and_narrow_ones_by_their_normal():
    """Sparse results against the dense per-cell map of the same method, and auto's choice by width."""
    from rangeguard.risk.casualty import WIDE_CLOUD_M, casualty_map, populated_casualties

    rng = np.random.default_rng(5)
    lat = np.arange(30.0, 40.0 + 1e-9, 0.05)
    lon = np.arange(130.0, 140.0 + 1e-9, 0.05)
    people = rng.integers(0, 3, (lat.size - 1, lon.size - 1)) * rng.uniform(0.0, 500.0, (lat.size - 1, lon.size - 1))
    grid = PopulationGrid(lat, lon, people)
    for sigma_deg, expected in ((0.05, "normal"), (3.0 * WIDE_CLOUD_M / 111_000.0, "samples")):
        pts_lat = 35.0 + sigma_deg * rng.standard_normal(4000)
        pts_lon = 135.0 + sigma_deg * rng.standard_normal(4000)
        dist = ImpactDistribution.from_samples(pts_lat, pts_lon)
        auto = populated_casualties(dist, 12.0, 3.0, grid, "auto")
        dense = casualty_map(dist, 12.0, 3.0, grid, expected)
        assert math.isclose(auto.expected_casualties, dense.expected_casualties, rel_tol=1e-9)
        assert np.allclose(auto.hits_per_person, dense.hits_per_person[auto.rows, auto.cols], rtol=1e-9, atol=0.0)
        other = "samples" if expected == "normal" else "normal"
        assert not math.isclose(
            auto.expected_casualties, casualty_map(dist, 12.0, 3.0, grid, other).expected_casualties, rel_tol=1e-3
        )

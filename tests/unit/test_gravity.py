"""Tests for rangeguard.earth.gravity (point mass and J2, ECEF axes).

The references are a potential written here independently (spherical
coordinates and the Legendre polynomial P2 from scipy, not the module's
Cartesian form) differentiated numerically, and hand calculations.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import eval_legendre

from rangeguard.earth.gravity import (
    gravity_j2_ecef,
    gravity_point_mass_ecef,
    potential_j2,
    potential_point_mass,
)
from rangeguard.errors import InputError

MU = 3.986004418e14  # m^3/s^2, WGS84 GM (TR8350.2 Table 3.1)
A = 6378137.0  # m, WGS84 semi-major axis
B = 6356752.314245  # m, WGS84 semi-minor axis
J2 = 1.08262668e-3  # EGM96 (TR8350.2 Table 5.3)


def reference_potential(r, with_j2=True):
    """Potential energy per unit mass, V = -(mu/r) [1 - J2 (a/r)^2 P2(sin phi)],
    phi the geocentric latitude (Vallado 2013 eq. 8-30, astronomers' U = -V)."""
    r = np.asarray(r, dtype=float)
    rn = np.linalg.norm(r, axis=-1)
    sin_phi = r[..., 2] / rn
    j2 = J2 * (A / rn) ** 2 * eval_legendre(2, sin_phi) if with_j2 else 0.0
    return -MU / rn * (1.0 - j2)


def minus_numerical_gradient(fun, r, step_m=10.0):
    """-grad fun by central differences, per point; r is (N, 3)."""
    grad = np.empty_like(r)
    for k in range(3):
        e = np.zeros(3)
        e[k] = step_m
        grad[:, k] = (fun(r + e) - fun(r - e)) / (2.0 * step_m)
    return -grad


def random_positions(rng, n, r_min=A - 5e3, r_max=4.3e7):
    """Directions uniform on the sphere plus the two poles and two equator points."""
    v = rng.normal(size=(n, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    v = np.vstack([v, [[0, 0, 1], [0, 0, -1], [1, 0, 0], [0, -1, 0]]])
    radius = rng.uniform(r_min, r_max, len(v))
    return v * radius[:, None]


def test_j2_acceleration_is_minus_gradient_of_independent_potential(rng):
    r = random_positions(rng, 200)
    a = gravity_j2_ecef(r)
    expected = minus_numerical_gradient(reference_potential, r)
    # total, per point relative to |a| (step 10 m: truncation ~1e-11, rounding ~3e-10 relative)
    scale = np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(a / scale, expected / scale, rtol=0, atol=1e-8)
    # the J2 part alone (~0.03 m/s^2 at the surface), differentiated on its own
    j2_only = minus_numerical_gradient(lambda x: reference_potential(x) - reference_potential(x, False), r)
    np.testing.assert_allclose(a - gravity_point_mass_ecef(r), j2_only, rtol=0, atol=1e-9)


def test_point_mass_is_minus_gradient_of_its_potential(rng):
    r = random_positions(rng, 100)
    expected = minus_numerical_gradient(lambda x: reference_potential(x, False), r)
    scale = np.linalg.norm(expected, axis=1, keepdims=True)  # compare per point, relative to |a|
    np.testing.assert_allclose(gravity_point_mass_ecef(r) / scale, expected / scale, rtol=0, atol=1e-8)


def test_potentials_match_independent_formula(rng):
    r = random_positions(rng, 100)
    np.testing.assert_allclose(potential_j2(r), reference_potential(r), rtol=1e-13)
    np.testing.assert_allclose(potential_point_mass(r), reference_potential(r, False), rtol=1e-13)


def test_point_mass_at_surface_hand_calculation():
    """mu / a^2 = 3.986004418e14 / 6378137^2 = 3.986004418e14 / 4.0680631590769e13
    = 9.79828548 m/s^2 at the equator; mu / b^2 = 9.86432099 m/s^2 at the pole
    (b = 6356752.314 m)."""
    a_eq = gravity_point_mass_ecef([A, 0.0, 0.0])
    np.testing.assert_allclose(a_eq, [-9.79828548, 0.0, 0.0], rtol=1e-8, atol=1e-12)
    a_pole = gravity_point_mass_ecef([0.0, 0.0, -B])
    np.testing.assert_allclose(a_pole, [0.0, 0.0, 9.86432099], rtol=1e-8, atol=1e-12)


def test_j2_equator_vs_pole_sign_and_size():
    """J2 pulls harder at the equator and less at the pole (oblate Earth's mass
    sits in the equatorial bulge).

    Equator, r = a, z = 0: a_x = -(mu/a^2) [1 + 3/2 J2] -> extra inward pull
    3/2 * 1.08262668e-3 * 9.79828548 = 0.0159118 m/s^2; |g| = 9.8141973 m/s^2.
    Pole, r = b, x = y = 0: a_z = -(mu/b^2) [1 + 3/2 J2 (a/b)^2 (3 - 5)]
    = -(mu/b^2) [1 - 3 J2 (a/b)^2] -> pull reduced by
    3 * 1.08262668e-3 * 1.0067394 * 9.86432099 = 0.0322541 m/s^2; |g| = 9.8320669 m/s^2.
    (Adding the centrifugal 0.0339 m/s^2 at the equator gives the familiar
    normal gravity 9.780 m/s^2; at the pole 9.832 m/s^2.)
    """
    eq = gravity_j2_ecef([A, 0.0, 0.0])
    pole = gravity_j2_ecef([0.0, 0.0, B])
    eq_pm = gravity_point_mass_ecef([A, 0.0, 0.0])
    pole_pm = gravity_point_mass_ecef([0.0, 0.0, B])
    # purely radial at both
    assert eq[1] == 0.0 and eq[2] == 0.0
    assert pole[0] == 0.0 and pole[1] == 0.0
    # sign: stronger at the equator, weaker at the pole than the point mass
    assert eq[0] - eq_pm[0] == pytest.approx(-0.0159118, rel=1e-5)
    assert pole[2] - pole_pm[2] == pytest.approx(+0.0322541, rel=1e-5)
    assert np.linalg.norm(eq) == pytest.approx(9.8141973, rel=1e-7)
    assert np.linalg.norm(pole) == pytest.approx(9.8320669, rel=1e-7)


def test_j2_symmetries(rng):
    """Axisymmetric about z and symmetric about the equator plane."""
    r = random_positions(rng, 50)
    a = gravity_j2_ecef(r)
    # rotate about z by 0.7 rad
    c, s = np.cos(0.7), np.sin(0.7)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(gravity_j2_ecef(r @ rot.T), a @ rot.T, rtol=1e-12, atol=1e-15)
    mirror = np.array([1.0, 1.0, -1.0])
    np.testing.assert_allclose(gravity_j2_ecef(r * mirror), a * mirror, rtol=1e-12, atol=1e-15)


@settings(max_examples=50, deadline=None)
@given(
    lat=st.floats(-90.0, 90.0),
    lon=st.floats(-180.0, 180.0),
    radius=st.floats(A - 5e3, 1e8),
)
def test_j2_gradient_property(lat, lon, radius):
    la, lo = np.radians(lat), np.radians(lon)
    r = radius * np.array([[np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)]])
    expected = minus_numerical_gradient(reference_potential, r, step_m=max(10.0, radius * 1e-6))
    got = gravity_j2_ecef(r)
    assert np.max(np.abs(got - expected)) <= 1e-7 * np.max(np.abs(expected))


@pytest.mark.parametrize("fun", [gravity_j2_ecef, gravity_point_mass_ecef])
def test_broadcasting_single_vs_batch(fun, rng):
    r = random_positions(rng, 5)
    batch = fun(r)
    assert batch.shape == r.shape
    for k in range(len(r)):
        single = fun(r[k])
        assert single.shape == (3,)
        np.testing.assert_array_equal(single, batch[k])
    assert fun(r[:1]).shape == (1, 3)
    assert fun(list(r[0])).shape == (3,)


@pytest.mark.parametrize("fun", [potential_j2, potential_point_mass])
def test_potential_shapes(fun, rng):
    r = random_positions(rng, 5)
    assert fun(r).shape == (len(r),)
    assert np.ndim(fun(r[0])) == 0
    assert fun(r[2]) == fun(r)[2]


@pytest.mark.parametrize("fun", [gravity_j2_ecef, gravity_point_mass_ecef, potential_j2, potential_point_mass])
def test_nan_in_nan_out_and_centre_no_warning(fun):
    r = np.array([[np.nan, 0.0, 7e6], [7e6, 0.0, 0.0], [0.0, 0.0, 0.0]])
    out = np.asarray(fun(r))
    assert np.all(np.isnan(out[0]))
    assert np.all(np.isfinite(out[1]))
    assert not np.all(np.isfinite(out[2]))  # centre of the Earth: undefined, but no warning/exception


@pytest.mark.parametrize("fun", [gravity_j2_ecef, gravity_point_mass_ecef, potential_j2, potential_point_mass])
@pytest.mark.parametrize("bad", [np.zeros(2), np.zeros((4, 2)), np.zeros((2, 3, 3)), 7e6])
def test_bad_shape_raises_input_error(fun, bad):
    with pytest.raises(InputError, match="r_ecef"):
        fun(bad)


def test_input_not_modified(rng):
    r = random_positions(rng, 10)
    before = r.copy()
    gravity_j2_ecef(r)
    np.testing.assert_array_equal(r, before)

"""Compiled building blocks of the simulator against independent references."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from rangeguard.constants import J2_EARTH, MU_EARTH_M3_S2, OMEGA_EARTH_RAD_S, WGS84_A_M
from rangeguard.earth.atmosphere import ussa76
from rangeguard.earth.geodesy import ecef_to_enu_matrix
from rangeguard.earth.gravity import gravity_j2_ecef
from rangeguard.sim import kernels as K
from rangeguard.sim import orbit_elements
from rangeguard.sim.build import ATM_TABLE_DH_M, ATM_TABLE_H0_M, atmosphere_table


@settings(max_examples=50, deadline=None)
@given(st.floats(6.3e6, 4.2e7), st.floats(-1.0, 1.0), st.floats(-np.pi, np.pi))
def test_compiled_gravity_is_minus_the_gradient_of_the_j2_potential(rn, sz, lon):
    """The simulator's gravity (earth.gravity.gravity_j2_nb, inlined into the equations of motion)
    against -grad V of V = -mu/r + mu J2 R^2 / (2 r^3) (3 z^2/r^2 - 1) (Vallado 2013 eq. 8-30),
    differentiated by hand here; j2_on = 0 gives -mu r / r^3."""
    cz = np.sqrt(1 - sz * sz)
    r = rn * np.array([cz * np.cos(lon), cz * np.sin(lon), sz])
    x, y, z = r
    r2 = x * x + y * y + z * z
    rr = np.sqrt(r2)
    c2 = 1.5 * J2_EARTH * WGS84_A_M**2 / r2
    common = -MU_EARTH_M3_S2 / rr**3
    ref = np.array(
        [
            common * x * (1 + c2 * (1 - 5 * z * z / r2)),
            common * y * (1 + c2 * (1 - 5 * z * z / r2)),
            common * z * (1 + c2 * (3 - 5 * z * z / r2)),
        ]
    )
    # atol: a component near zero (z ~ 1e-313 on the equator) keeps only a few digits; compare it
    # to the size of the whole vector
    np.testing.assert_allclose(K.gravity_j2(*r), ref, rtol=1e-13, atol=1e-13 * np.linalg.norm(ref))
    np.testing.assert_allclose(K.gravity_j2(*r, 0.0), common * r, rtol=1e-13, atol=1e-13 * np.linalg.norm(ref))
    # one formula, compiled and numpy (which sums r^2 with einsum: a rounding apart)
    np.testing.assert_allclose(K.gravity_j2(*r), gravity_j2_ecef(r), rtol=4e-16, atol=4e-16 * np.linalg.norm(ref))


def test_atmosphere_table_matches_ussa76(rng):
    """The kernel's linear table against rangeguard.earth.atmosphere.ussa76 itself."""
    tab = atmosphere_table()
    h = rng.uniform(0, 300e3, 2000)
    u = (h - ATM_TABLE_H0_M) / ATM_TABLE_DH_M
    j = u.astype(int)
    f = u - j
    rho = tab[j, 0] + f * (tab[j + 1, 0] - tab[j, 0])
    p = tab[j, 1] + f * (tab[j + 1, 1] - tab[j, 1])
    ref = ussa76(h)
    np.testing.assert_allclose(rho, ref.density_kg_m3, rtol=1e-4)  # ~1e-6 typical; up to ~4e-5 next to a layer join
    np.testing.assert_allclose(p, ref.pressure_pa, rtol=1e-4)  # ~1e-6 typical; up to ~4e-5 next to a layer join


@settings(max_examples=50, deadline=None)
@given(st.floats(-np.pi, np.pi), st.floats(-1.5, 1.5), st.floats(0, 2 * np.pi))
def test_q_from_direction_puts_body_x_on_d(az, el, az_roll):
    pad = ecef_to_enu_matrix(33.54, 135.89)
    d = np.array(K._enu_dir(np.cos(az), np.sin(az), el, pad))
    q = np.array(K.q_from_direction(*d, np.cos(az_roll), np.sin(az_roll), pad))
    rot = Rotation.from_quat(q[[1, 2, 3, 0]])  # scipy is scalar-last
    np.testing.assert_allclose(rot.apply([1.0, 0, 0]), d, atol=1e-12)
    # the kernel's own rotation agrees with scipy's
    np.testing.assert_allclose(K.qrot(*q, 0.3, -0.2, 0.9), rot.apply([0.3, -0.2, 0.9]), atol=1e-12)
    # body z = x cross y: right-handed
    assert rot.as_matrix()[:, 0] @ np.cross(rot.as_matrix()[:, 1], rot.as_matrix()[:, 2]) == pytest.approx(1.0)


def test_orbit_elements_hand_cases():
    """Circular 500 km equatorial orbit and a polar one, built in inertial terms by hand."""
    r = WGS84_A_M + 500e3
    vc = np.sqrt(MU_EARTH_M3_S2 / r)
    w = np.array([0.0, 0.0, OMEGA_EARTH_RAD_S])
    pos = np.array([[r, 0, 0], [r, 0, 0]])
    v_inertial = np.array([[0, vc, 0], [0, 0, vc]])
    v_ecef = v_inertial - np.cross(w, pos)
    el = orbit_elements(pos, v_ecef)
    np.testing.assert_allclose(el.perigee_km, [500, 500], atol=1e-6)
    np.testing.assert_allclose(el.apogee_km, [500, 500], atol=1e-6)
    np.testing.assert_allclose(el.inclination_deg, [0, 90], atol=1e-9)
    # suborbital: NaN
    sub = orbit_elements(np.array([r, 0, 0]), np.array([0, 3000.0, 0]))
    assert np.isnan(sub.perigee_km) and np.isnan(sub.inclination_deg)

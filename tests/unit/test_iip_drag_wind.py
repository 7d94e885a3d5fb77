"""The drag IIP's options for the debris risk analysis: wind, ground height, beta against Mach.

Reference: scipy ``solve_ivp`` DOP853 (rtol 1e-12, atol 1e-6) on

    dv/dt = g - 2 w x v - w x (w x r) - rho(h) |v - u| (v - u) / (2 beta(Mach))

in ECEF (point-mass gravity, Coriolis and centrifugal terms written out
below), ``u`` the wind, ``Mach = |v - u| / c(h)``, with a terminal event at
geodetic height = the ground height. A wind table is evaluated here with
``np.interp`` and turned into ECEF axes with the local east and north unit
vectors written out below. It shares with the code under test only
the model's inputs: the USSA76 density and speed of sound
(:mod:`rangeguard.earth.atmosphere`) and the WGS84 geodetic conversion
(:mod:`rangeguard.earth.geodesy`), each tested on its own.

Tolerances: 1 m on the ground (5 m with wind) and 0.01 s; the measured
errors (``design/iip.md``) are centimetres.
"""

from __future__ import annotations

import math

import numpy as np
import pyproj
import pytest
from scipy.integrate import solve_ivp

from rangeguard.constants import MU_EARTH_M3_S2, OMEGA_EARTH_RAD_S
from rangeguard.earth.atmosphere import density, speed_of_sound
from rangeguard.earth.geodesy import ecef_to_enu_matrix, ecef_to_geodetic, geodetic_to_ecef
from rangeguard.errors import InputError
from rangeguard.iip import impact_point_drag
from rangeguard.iip.drag import WindTable

MU = MU_EARTH_M3_S2
W = OMEGA_EARTH_RAD_S
GEOD = pyproj.Geod(ellps="WGS84")
SPACEPORT_AMERICA_GROUND_M = 1400.0


def reference(r0, v0, beta, wind=None, ground_m=0.0, table=None):
    """DOP853 impact (lat_deg, lon_deg, tof_s). ``wind``: None, an ECEF (3,) vector, or a
    WindTable; ``table``: (mach, beta) interpolated linearly (np.interp)."""

    def air_velocity(r, v):
        if wind is None:
            return v
        if isinstance(wind, WindTable):
            return v - table_wind_ecef(r, wind)
        return v - wind

    def rhs(_t, y):
        r, v = y[:3], y[3:]
        h = float(ecef_to_geodetic(r)[2])
        va = air_velocity(r, v)
        s = math.sqrt(va @ va)
        b = beta if table is None else float(np.interp(s / float(speed_of_sound(h)), table[0], table[1]))
        d = 0.5 * float(density(h)) * s / b
        a = -MU / math.sqrt(r @ r) ** 3 * r - d * va
        a[0] += 2 * W * v[1] + W * W * r[0]
        a[1] += -2 * W * v[0] + W * W * r[1]
        return np.concatenate([v, a])

    def height_above_ground(_t, y):
        return float(ecef_to_geodetic(y[:3])[2]) - ground_m

    height_above_ground.terminal = True
    height_above_ground.direction = -1
    sol = solve_ivp(
        rhs, (0, 6000), np.concatenate([r0, v0]), method="DOP853", rtol=1e-12, atol=1e-6, events=height_above_ground
    )
    lat, lon, _ = ecef_to_geodetic(sol.y_events[0][0][:3])
    return float(lat), float(lon), float(sol.t_events[0][0])


def enu_state(lat_deg, lon_deg, h_m, speed, fpa_deg, heading_deg):
    r = geodetic_to_ecef(lat_deg, lon_deg, h_m)
    f, a = math.radians(fpa_deg), math.radians(heading_deg)
    enu = speed * np.array([math.cos(f) * math.sin(a), math.cos(f) * math.cos(a), math.sin(f)])
    return r, ecef_to_enu_matrix(lat_deg, lon_deg).T @ enu


def east_wind_ecef(r, speed_mps):
    """``speed_mps`` towards the local east at ECEF position r (3,), in ECEF axes."""
    lat, lon, _ = ecef_to_geodetic(r)
    return speed_mps * ecef_to_enu_matrix(lat, lon)[0]


def table_wind_ecef(r, table):
    """The table's wind at ECEF position r (3,), ECEF axes: np.interp in geodetic height (clamped at the
    ends), towards the local east (-sin lon, cos lon, 0) and north (-sin lat cos lon, -sin lat sin lon,
    cos lat)."""
    lat_deg, lon_deg, h = ecef_to_geodetic(r)
    lat, lon = math.radians(float(lat_deg)), math.radians(float(lon_deg))
    east_mps = np.interp(float(h), table.altitude_m, table.east_mps)
    north_mps = np.interp(float(h), table.altitude_m, table.north_mps)
    east = np.array([-math.sin(lon), math.cos(lon), 0.0])
    north = np.array([-math.sin(lat) * math.cos(lon), -math.sin(lat) * math.sin(lon), math.cos(lat)])
    return east_mps * east + north_mps * north


# A wind table: eastward 5 m/s at the ellipsoid growing by 1.5 m/s per km of height (a jet near 12 km),
# a northward component turning with height; constant above 30 km and below 0 m.
WIND_TABLE = WindTable(
    altitude_m=np.array([0.0, 2e3, 6e3, 12e3, 20e3, 30e3]),
    east_mps=np.array([5.0, 8.0, 14.0, 23.0, 35.0, 50.0]),
    north_mps=np.array([0.0, -4.0, 6.0, 12.0, -3.0, 2.0]),
)


def ground_m(lat1, lon1, lat2, lon2):
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


# Fragments released at 20-60 km at 1-3 km/s: over Spaceport America, off Kourou, off Cape Canaveral.
SPACEPORT = enu_state(32.99, -106.97, 40e3, 2000.0, 10.0, 90.0)
KOUROU = enu_state(5.2, -52.8, 20e3, 1000.0, 30.0, 20.0)
CANAVERAL = enu_state(28.5, -80.6, 60e3, 3000.0, -5.0, 135.0)
NO_WIND_ROWS = [(SPACEPORT, 50.0), (SPACEPORT, 2000.0), (KOUROU, 50.0), (KOUROU, 2000.0), (CANAVERAL, 2000.0)]


def stack(rows):
    return np.array([s[0] for s, _ in rows]), np.array([s[1] for s, _ in rows]), np.array([b for _, b in rows])


@pytest.fixture(scope="module")
def no_wind():
    r, v, beta = stack(NO_WIND_ROWS)
    return impact_point_drag(r, v, beta)


def test_no_wind_fragments_match_dop853(no_wind):
    lat, lon, tof = no_wind
    for i, ((r, v), beta) in enumerate(NO_WIND_ROWS):
        rl, ro, rt = reference(r, v, beta)
        assert ground_m(rl, ro, lat[i], lon[i]) < 1.0, (i, beta)
        assert tof[i] == pytest.approx(rt, abs=0.01)


def test_constant_wind_matches_dop853_and_moves_the_impact_downwind(no_wind):
    rows = [NO_WIND_ROWS[1], NO_WIND_ROWS[2]]  # Spaceport beta 2000, Kourou beta 50
    r, v, beta = stack(rows)
    wind = np.array([east_wind_ecef(ri, 30.0) for ri in r])  # 30 m/s east at release, constant in ECEF
    lat, lon, tof = impact_point_drag(r, v, beta, wind_ecef_mps=wind)
    lat0, lon0, _ = no_wind
    for i, j in enumerate([1, 2]):
        rl, ro, rt = reference(r[i], v[i], beta[i], wind=wind[i])
        assert ground_m(rl, ro, lat[i], lon[i]) < 5.0
        assert tof[i] == pytest.approx(rt, abs=0.01)
        # Downwind: the impact moves east, by less than the air itself travels during the flight
        # and, for these fragments falling for minutes through the lower atmosphere, by a good
        # part of it (measured 43 % for beta 2000, 99 % for beta 50; design/iip.md).
        az, _, dist = GEOD.inv(lon0[j], lat0[j], lon[i], lat[i])
        east = dist * math.sin(math.radians(az))
        assert 0.2 * 30.0 * tof[i] < east < 30.0 * tof[i], (i, az, dist)
        assert abs(dist * math.cos(math.radians(az))) < 0.1 * east  # little cross-wind drift


def test_wind_table_matches_dop853():
    rows = [(SPACEPORT, 300.0), (KOUROU, 2000.0), (KOUROU, 50.0)]
    r, v, beta = stack(rows)
    lat, lon, tof = impact_point_drag(r, v, beta, wind_ecef_mps=WIND_TABLE)
    lat0, lon0, _ = impact_point_drag(r, v, beta)
    for i in range(len(rows)):
        rl, ro, rt = reference(r[i], v[i], beta[i], wind=WIND_TABLE)
        assert ground_m(rl, ro, lat[i], lon[i]) < 5.0
        assert tof[i] == pytest.approx(rt, abs=0.01)
        assert ground_m(lat0[i], lon0[i], lat[i], lon[i]) > 100.0  # the wind matters


def test_one_row_wind_table_is_a_constant_local_wind():
    """A one-row table holds its wind at every height; a table with zero wind is no wind (to the
    integrator's tolerance: the table's rows are kinks the steps end on, so the steps differ)."""
    (r, v), beta = NO_WIND_ROWS[3]
    calm = WindTable(np.array([0.0, 10e3]), np.zeros(2), np.zeros(2))
    lat_c, lon_c, tof_c = impact_point_drag(r, v, beta, wind_ecef_mps=calm)
    lat0, lon0, tof0 = impact_point_drag(r, v, beta)
    assert ground_m(lat0, lon0, lat_c, lon_c) < 0.05 and tof_c == pytest.approx(tof0, abs=1e-3)
    one = WindTable(np.array([5e3]), np.array([10.0]), np.array([-5.0]))
    lat, lon, tof = impact_point_drag(r, v, beta, wind_ecef_mps=one)
    rl, ro, rt = reference(r, v, beta, wind=one)
    assert ground_m(rl, ro, lat, lon) < 5.0
    assert tof == pytest.approx(rt, abs=0.01)


@pytest.mark.parametrize(
    "columns, match",
    [
        ((np.array([0.0, 1e3]), np.zeros(2), np.zeros(3)), "one value per row"),
        ((np.array([1e3, 0.0]), np.zeros(2), np.zeros(2)), "increasing"),
        ((np.array([0.0, np.nan]), np.zeros(2), np.zeros(2)), "finite"),
        ((np.zeros(0), np.zeros(0), np.zeros(0)), "at least one row"),
        ((np.zeros((2, 2)), np.zeros(2), np.zeros(2)), "altitude_m"),
    ],
)
def test_bad_wind_table_raises_input_error(columns, match):
    with pytest.raises(InputError, match=match):
        WindTable(*columns)


def test_zero_wind_is_no_wind():
    (r, v), beta = NO_WIND_ROWS[3]
    assert impact_point_drag(r, v, beta, wind_ecef_mps=np.zeros(3)) == impact_point_drag(r, v, beta)


def test_ground_height_lands_at_that_height_and_earlier(no_wind):
    rows = [NO_WIND_ROWS[1], NO_WIND_ROWS[2]]
    r, v, beta = stack(rows)
    lat, lon, tof = impact_point_drag(r, v, beta, ground_height_m=SPACEPORT_AMERICA_GROUND_M)
    _, _, tof0 = no_wind
    for i, j in enumerate([1, 2]):
        rl, ro, rt = reference(r[i], v[i], beta[i], ground_m=SPACEPORT_AMERICA_GROUND_M)
        assert ground_m(rl, ro, lat[i], lon[i]) < 1.0
        assert tof[i] == pytest.approx(rt, abs=0.01)
        assert tof[i] < tof0[j]


def test_per_state_ground_height_and_a_start_below_it():
    r, v = enu_state(32.99, -106.97, 1000.0, 100.0, 0.0, 90.0)
    lat, lon, tof = impact_point_drag(
        np.array([r, r]), np.array([v, v]), 2000.0, ground_height_m=np.array([SPACEPORT_AMERICA_GROUND_M, 0.0])
    )
    assert (lat[0], lon[0], tof[0]) == (pytest.approx(32.99, abs=1e-9), pytest.approx(-106.97, abs=1e-9), 0.0)
    rl, ro, rt = reference(r, v, 2000.0)
    assert ground_m(rl, ro, lat[1], lon[1]) < 1.0
    assert tof[1] == pytest.approx(rt, abs=0.01)


# A fragment's beta against Mach: the drag coefficient rises through the transonic region.
MACH_TABLE = (
    np.array([0.0, 0.6, 0.9, 1.1, 1.5, 3.0, 6.0]),
    np.array([400.0, 390.0, 330.0, 260.0, 290.0, 340.0, 360.0]),
)


def test_mach_table_matches_dop853_with_the_same_interpolation():
    rows = [(SPACEPORT, 0.0), (KOUROU, 0.0)]
    r, v, _ = stack(rows)
    wind = east_wind_ecef(SPACEPORT[0], 20.0)  # one (3,) ECEF wind for both: Mach is air-relative
    lat, lon, tof = impact_point_drag(r, v, MACH_TABLE, wind_ecef_mps=wind)
    for i in range(len(rows)):
        rl, ro, rt = reference(r[i], v[i], None, wind=wind, table=MACH_TABLE)
        assert ground_m(rl, ro, lat[i], lon[i]) < 1.0
        assert tof[i] == pytest.approx(rt, abs=0.01)


def test_mach_table_constant_in_mach_is_the_scalar_beta():
    (r, v), beta = NO_WIND_ROWS[3]
    table = (np.array([0.0, 2.0, 8.0]), np.full(3, beta))
    # to the integrator's tolerance: the steps end on the table's rows (kinks), so they differ
    lat_t, lon_t, tof_t = impact_point_drag(r, v, table)
    lat0, lon0, tof0 = impact_point_drag(r, v, beta)
    assert ground_m(lat0, lon0, lat_t, lon_t) < 0.05 and tof_t == pytest.approx(tof0, abs=1e-3)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"ballistic_coeff_kg_m2": (np.array([0.0, 1.0, 2.0]), np.array([100.0, 200.0]))}, "ballistic_coeff_kg_m2"),
        ({"ballistic_coeff_kg_m2": (np.array([0.0, 2.0, 1.0]), np.array([100.0, 200.0, 300.0]))}, "increasing"),
        ({"ballistic_coeff_kg_m2": (np.array([0.0, 1.0]), np.array([100.0, -200.0]))}, "positive"),
        ({"ballistic_coeff_kg_m2": (np.array([1.0]), np.array([100.0]))}, "ballistic_coeff_kg_m2"),
        ({"ballistic_coeff_kg_m2": 100.0, "wind_ecef_mps": np.zeros(2)}, "wind_ecef_mps"),
        ({"ballistic_coeff_kg_m2": 100.0, "wind_ecef_mps": np.zeros((3, 3))}, "wind_ecef_mps"),
        ({"ballistic_coeff_kg_m2": 100.0, "wind_ecef_mps": lambda r: np.zeros(3)}, "wind_ecef_mps"),
        ({"ballistic_coeff_kg_m2": 100.0, "ground_height_m": np.zeros(3)}, "ground_height_m"),
    ],
)
def test_bad_inputs_raise_input_error_naming_the_argument(kwargs, match):
    r, v = KOUROU
    with pytest.raises(InputError, match=match):
        impact_point_drag(np.array([r, r]), np.array([v, v]), **kwargs)


def test_scaled_and_turned_table_is_the_table_scaled_and_turned():
    """wind_scale and wind_rotation_deg per state: the same impact as the table scaled and turned here,
    clockwise seen from above ((e, n) -> s (e cos a + n sin a, -e sin a + n cos a)), to 1e-9 deg."""
    rows = [(SPACEPORT, 300.0), (KOUROU, 2000.0), (KOUROU, 50.0)]
    r, v, beta = stack(rows)
    scale, turn_deg = np.array([0.5, 1.3, 2.0]), np.array([90.0, -135.0, 30.0])
    lat, lon, _ = impact_point_drag(r, v, beta, wind_ecef_mps=WIND_TABLE, wind_scale=scale, wind_rotation_deg=turn_deg)
    for i in range(len(rows)):
        a = math.radians(turn_deg[i])
        e, n = WIND_TABLE.east_mps, WIND_TABLE.north_mps
        turned = WindTable(
            WIND_TABLE.altitude_m,
            scale[i] * (e * math.cos(a) + n * math.sin(a)),
            scale[i] * (-e * math.sin(a) + n * math.cos(a)),
        )
        la, lo, _ = impact_point_drag(r[i], v[i], beta[i], wind_ecef_mps=turned)
        assert abs(la - lat[i]) < 1e-9 and abs(lo - lon[i]) < 1e-9
    with pytest.raises(InputError, match="wind_scale"):
        impact_point_drag(r, v, beta, wind_ecef_mps=WIND_TABLE, wind_scale=-1.0)

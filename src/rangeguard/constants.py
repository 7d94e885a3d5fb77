"""Physical and geodetic constants, each with its source.

This is the only place a physical constant is written down; logic imports it
from here. SI units throughout.
"""

from __future__ import annotations

import math

# --- WGS84 ellipsoid and Earth ------------------------------------------------
# NIMA TR8350.2, "Department of Defense World Geodetic System 1984", 3rd ed.,
# amendment 1 (2000), Table 3.1 (defining parameters).
WGS84_A_M = 6378137.0
"""Semi-major axis (equatorial radius), m. TR8350.2 Table 3.1."""
WGS84_F = 1.0 / 298.257223563
"""Flattening. TR8350.2 Table 3.1."""
WGS84_B_M = WGS84_A_M * (1.0 - WGS84_F)
"""Semi-minor axis (polar radius), m, derived: b = a (1 - f). TR8350.2 Table 3.3."""
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)
"""First eccentricity squared, derived: e^2 = f (2 - f). TR8350.2 Table 3.3."""
WGS84_EP2 = WGS84_E2 / (1.0 - WGS84_E2)
"""Second eccentricity squared, derived: e'^2 = e^2 / (1 - e^2). TR8350.2 Table 3.3."""

MU_EARTH_M3_S2 = 3.986004418e14
"""Earth's gravitational parameter GM (including the atmosphere), m^3/s^2.
TR8350.2 Table 3.1; also IERS Conventions (2010) Table 1.1."""
OMEGA_EARTH_RAD_S = 7.292115e-5
"""Nominal mean angular velocity of the Earth, rad/s. TR8350.2 Table 3.1."""
J2_EARTH = 1.08262668e-3
"""Unnormalized second zonal harmonic J2 = -sqrt(5) * C20bar with
C20bar = -0.484166774985e-3 (EGM96). TR8350.2 Table 5.3 / Lemoine et al. (1998)."""

# --- Standard gravity and the US Standard Atmosphere 1976 ---------------------
G0_MPS2 = 9.80665
"""Standard acceleration of gravity, m/s^2 (3rd CGPM, 1901). Used for Isp."""

# U.S. Standard Atmosphere, 1976 (NOAA-S/T 76-1562), section 1.2.
USSA76_R_STAR_J_KMOL_K = 8.31432e3
"""Universal gas constant as adopted by USSA76, J/(kmol K). USSA76 Table 2."""
USSA76_M0_KG_KMOL = 28.9644
"""Sea-level mean molecular weight of air, kg/kmol. USSA76 Table 2."""
USSA76_G0_MPS2 = 9.80665
"""Sea-level gravity used for geopotential height, m/s^2. USSA76 Table 2."""
USSA76_R0_M = 6.356766e6
"""Effective Earth radius for geopotential height, m. USSA76 Table 2."""
USSA76_GAMMA = 1.40
"""Ratio of specific heats of air, USSA76 Table 2 (eq. 50, speed of sound)."""
USSA76_P0_PA = 101325.0
"""Sea-level pressure, Pa. USSA76 Table 2."""
USSA76_T0_K = 288.15
"""Sea-level temperature, K. USSA76 Table 2."""
USSA76_AVOGADRO_PER_KMOL = 6.022169e26
"""Avogadro constant as adopted by USSA76, 1/kmol. USSA76 Table 2."""
USSA76_BOLTZMANN_J_K = 1.380622e-23
"""Boltzmann constant as adopted by USSA76, J/K. USSA76 Table 2."""

# --- Angles --------------------------------------------------------------------
DEG = math.pi / 180.0
"""One degree in radians (exact by definition)."""

# --- People (casualty model) -----------------------------------------------------
FOOT_M = 0.3048
"""International foot, m (exact, 1959 international yard and pound agreement)."""
PERSON_RADIUS_M = 1.0 * FOOT_M
"""Radius of the standard standing person seen from above: 1 ft. FAA Flight Safety Analysis Handbook
v1.0 (2011), casualty area of inert debris; also RCC 321 supplement. Check against the handbook text."""
PERSON_HEIGHT_M = 6.0 * FOOT_M
"""Height of the standard standing person: 6 ft. Same source as :data:`PERSON_RADIUS_M`."""

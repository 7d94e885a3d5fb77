"""The Earth model: WGS84 geodesy and local frames, gravity, atmosphere."""

from rangeguard.earth.atmosphere import Atmosphere, ussa76
from rangeguard.earth.geodesy import (
    ecef_to_enu,
    ecef_to_enu_matrix,
    ecef_to_geodetic,
    ecef_to_ned,
    ecef_to_ned_matrix,
    enu_to_ecef,
    geodetic_to_ecef,
)
from rangeguard.earth.gravity import (
    gravity_j2_ecef,
    gravity_point_mass_ecef,
    potential_j2,
    potential_point_mass,
)

__all__ = [
    "Atmosphere",
    "ecef_to_enu",
    "ecef_to_enu_matrix",
    "ecef_to_geodetic",
    "ecef_to_ned",
    "ecef_to_ned_matrix",
    "enu_to_ecef",
    "geodetic_to_ecef",
    "gravity_j2_ecef",
    "gravity_point_mass_ecef",
    "potential_j2",
    "potential_point_mass",
    "ussa76",
]

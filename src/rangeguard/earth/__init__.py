"""The Earth model: WGS84 geodesy and local frames, gravity, atmosphere."""

from rangeguard.earth.geodesy import (
    ecef_to_enu,
    ecef_to_enu_matrix,
    ecef_to_geodetic,
    ecef_to_ned,
    ecef_to_ned_matrix,
    enu_to_ecef,
    geodetic_to_ecef,
)

__all__ = [
    "ecef_to_enu",
    "ecef_to_enu_matrix",
    "ecef_to_geodetic",
    "ecef_to_ned",
    "ecef_to_ned_matrix",
    "enu_to_ecef",
    "geodetic_to_ecef",
]

"""The derived flight quantities that envelope rules and detected events watch: one table.

Each quantity has its name (with its SI unit, as the mission file spells it),
its unit, its definition, how reports label and scale it, and its column in
the engine's per-row kinematics table (:mod:`rangeguard.rules.kinematics`
computes them all in one compiled pass, in this column layout). The mission
schema, the kinematics, the rules, the report's plots and the docs read this
table; adding a quantity means adding a row here and its formula in the
kinematics kernel.
"""

from __future__ import annotations

from typing import NamedTuple


class Quantity(NamedTuple):
    name: str
    unit: str  # SI unit of the value (and of an envelope rule's margin)
    definition: str
    label: str  # how plots name it
    plot_unit: str  # the unit plots show it in ...
    plot_scale: float  # ... = value x plot_scale
    column: int  # column of the kinematics table


# The kinematics table's columns: present position, vacuum IIP, then the quantities below.
LAT, LON, H, IIP_LAT, IIP_LON, IIP_TOF, SPEED, VSPEED, FPA, DOWN, CROSS, IIP_RANGE = range(12)
N_COLS = 12

QUANTITIES: tuple[Quantity, ...] = (
    Quantity("speed_mps", "m/s", r"Earth-relative speed, \|v_ecef\|", "speed (Earth-relative)", "m/s", 1.0, SPEED),
    Quantity("altitude_m", "m", "geodetic height above the WGS84 ellipsoid", "altitude", "km", 1e-3, H),
    Quantity(
        "downrange_m",
        "m",
        "position relative to the pad, in the pad's ENU frame, along the horizontal launch-azimuth direction",
        "downrange",
        "km",
        1e-3,
        DOWN,
    ),
    Quantity(
        "crossrange_m",
        "m",
        "the same, along the horizontal direction 90 degrees to the right of the launch azimuth",
        "crossrange (right of azimuth)",
        "km",
        1e-3,
        CROSS,
    ),
    Quantity(
        "flight_path_angle_deg",
        "deg",
        "angle of the Earth-relative velocity above the local geodetic horizontal (-90..90; not judged at zero speed)",
        "flight-path angle",
        "deg",
        1.0,
        FPA,
    ),
    Quantity(
        "vertical_speed_mps",
        "m/s",
        "Earth-relative velocity along the local geodetic up",
        "vertical speed",
        "m/s",
        1.0,
        VSPEED,
    ),
    Quantity(
        "iip_range_m",
        "m",
        "WGS84 geodesic distance from the pad to the vacuum IIP; not judged without an IIP",
        "IIP range from pad",
        "km",
        1e-3,
        IIP_RANGE,
    ),
)
"""The definitions are those of docs/mission-format.md's quantity table (a test keeps them equal;
a backslash before a bar is the table's escape)."""

BY_NAME: dict[str, Quantity] = {q.name: q for q in QUANTITIES}
NAMES: tuple[str, ...] = tuple(BY_NAME)

"""Derived flight quantities the envelope rules and detected events watch.

Read from a :class:`~rangeguard.rules.base.RuleContext`'s kinematics, (M,) arrays
computed for all rows in one compiled pass per cycle. Definitions
(DESIGN.md "Rule semantics"; units in the names):

- ``speed_mps``: |v_ecef| (Earth-relative speed).
- ``altitude_m``: geodetic height above the WGS84 ellipsoid.
- ``downrange_m`` / ``crossrange_m``: position relative to the pad, in the
  pad's ENU frame, projected on the horizontal unit vector along the launch
  azimuth / to its right.
- ``flight_path_angle_deg``: angle of v_ecef above the local geodetic horizontal.
- ``vertical_speed_mps``: v_ecef along the local geodetic up.
- ``iip_range_m``: WGS84 geodesic distance from the pad to the vacuum IIP (Lambert's formula,
  within ~10 m; NaN without IIP).
"""

from __future__ import annotations

import numpy as np

from rangeguard.rules.base import RuleContext
from rangeguard.rules.kinematics import QUANTITY_COLUMNS

NAMES = tuple(QUANTITY_COLUMNS)


def get(ctx: RuleContext, name: str) -> np.ndarray:
    """(M,) quantity ``name`` for every row: a column of the context's kinematics, computed once per cycle."""
    return ctx.kin.table[:, QUANTITY_COLUMNS[name]]

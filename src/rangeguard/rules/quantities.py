"""Derived flight quantities the envelope rules and detected events watch.

All take a :class:`~rangeguard.rules.base.RuleContext` and return (M,) arrays,
cached on the context so each is computed once per cycle. Definitions
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

from rangeguard.earth.geodesy import geodesic_distance_m
from rangeguard.rules.base import RuleContext
from rangeguard.rules.kinematics import QUANTITY_COLUMNS, fill_cache, kinematics


NAMES = tuple(QUANTITY_COLUMNS)


def get(ctx: RuleContext, name: str) -> np.ndarray:
    """Quantity ``name`` for every row; all are computed together, once per context."""
    value = ctx.cache.get(name)
    if value is not None:
        return value
    if "kinematics" not in ctx.cache:
        # A context the engine did not fill (built by hand): derive from its own fields.
        fill_cache(ctx.cache, kinematics(ctx.nav.r_ecef, ctx.nav.v_ecef, ctx.site), with_iip_range=False)
        ctx.cache["altitude_m"] = ctx.h_m
        # the polygon rules must keep reading the context's own positions and IIPs
        del ctx.cache["pos_unit"], ctx.cache["iip_unit"]
    if name == "iip_range_m" and not ctx.cache["kinematics_has_iip_range"]:
        value = geodesic_distance_m(ctx.site.lat_deg, ctx.site.lon_deg, ctx.iip_lat_deg, ctx.iip_lon_deg)
    elif name == "altitude_m" and "altitude_m" in ctx.cache:
        value = ctx.cache["altitude_m"]
    else:
        value = ctx.cache["kinematics"][:, QUANTITY_COLUMNS[name]]
    ctx.cache[name] = value
    return value

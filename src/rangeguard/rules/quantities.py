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


def _up(ctx: RuleContext) -> np.ndarray:
    if "up" not in ctx.cache:
        lat = np.radians(ctx.lat_deg)
        lon = np.radians(ctx.lon_deg)
        cl = np.cos(lat)
        ctx.cache["up"] = np.stack([cl * np.cos(lon), cl * np.sin(lon), np.sin(lat)], axis=-1)
    return ctx.cache["up"]


def speed_mps(ctx):
    return np.sqrt(np.einsum("ij,ij->i", ctx.nav.v_ecef, ctx.nav.v_ecef))


def altitude_m(ctx):
    return ctx.h_m


def _pad_enu(ctx):
    if "pad_enu" not in ctx.cache:
        ctx.cache["pad_enu"] = (ctx.nav.r_ecef - ctx.site.r_ecef) @ ctx.site.enu_from_ecef.T
    return ctx.cache["pad_enu"]


def downrange_m(ctx):
    return _pad_enu(ctx) @ ctx.site.downrange_enu


def crossrange_m(ctx):
    return _pad_enu(ctx) @ ctx.site.crossrange_enu


def vertical_speed_mps(ctx):
    return np.einsum("ij,ij->i", ctx.nav.v_ecef, _up(ctx))


def flight_path_angle_deg(ctx):
    with np.errstate(invalid="ignore", divide="ignore"):
        s = get(ctx, "speed_mps")
        return np.degrees(np.arcsin(np.clip(get(ctx, "vertical_speed_mps") / s, -1.0, 1.0)))


def iip_range_m(ctx):
    return geodesic_distance_m(ctx.site.lat_deg, ctx.site.lon_deg, ctx.iip_lat_deg, ctx.iip_lon_deg)


_FUNCS = {
    "speed_mps": speed_mps,
    "altitude_m": altitude_m,
    "downrange_m": downrange_m,
    "crossrange_m": crossrange_m,
    "flight_path_angle_deg": flight_path_angle_deg,
    "vertical_speed_mps": vertical_speed_mps,
    "iip_range_m": iip_range_m,
}

NAMES = tuple(_FUNCS)


def get(ctx: RuleContext, name: str) -> np.ndarray:
    """Quantity ``name`` for every row, computed once per context."""
    value = ctx.cache.get(name)
    if value is None:
        value = _FUNCS[name](ctx)
        ctx.cache[name] = value
    return value

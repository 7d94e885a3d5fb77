"""Hazard areas: where debris impacts are likely enough to keep ships and aircraft out, as polygons.

14 CFR 450.133(b) bounds a ship hazard area by the probability of impact of debris capable of causing
a casualty on a vessel (1e-5, 450.133(b)(2)) and, for a planned drop, by 97 % containment of its
debris (450.133(b)(1)); 450.101(a)(3) bounds aircraft hazard areas by a probability of impact of 1e-6.
The criteria are the caller's (``RiskCriteriaSpec``); this module draws the regions they bound.

* :func:`impact_density`: the expected number of impacting fragments per square metre on a regular
  latitude/longitude grid, summed over bivariate normal impact distributions (each weighted by the
  number of fragments expected from it). A cell's probability is the normal's density at the cell
  centre times the cell's area in the normal's local plane (``method="centre"``, fast), or the exact
  rectangle probability of :func:`rangeguard.risk.casualty.impact_probability` (``method="exact"``);
  either is evaluated only within +-``window_sigma`` standard deviations of each mean.
* :func:`hit_probability_areas`: a vehicle of vulnerable (plan) area A in a cell of density D is hit
  a Poisson number of times with mean D A, so P(hit) = 1 - exp(-D A); the region where P exceeds the
  criterion is the filled contour D > -ln(1 - P) / A, traced by contourpy on the cell centres in
  log(D) (exact for an exponential tail) and made valid polygons (holes kept) by shapely.
* :func:`containment_polygon`: the ellipse of a bivariate normal holding probability p, of
  Mahalanobis radius k = sqrt(-2 ln(1 - p)) (the chi-square distribution with 2 degrees of freedom).
* :class:`HazardArea`, :func:`hazard_areas_geojson`, :func:`read_hazard_areas`: named polygons with
  their kind and criterion, as an RFC 7946 GeoJSON FeatureCollection and back.

See design/risk.md, "Hazard areas".
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast, get_args

import numpy as np
import shapely
from contourpy import FillType, contour_generator
from numpy.typing import ArrayLike, NDArray
from pyproj import Geod
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient
from shapely.validation import explain_validity

from rangeguard.constants import DEG
from rangeguard.errors import InputError
from rangeguard.jsonfile import read_json
from rangeguard.mission.risk import SHIP_CONTAINMENT
from rangeguard.risk.casualty import BivariateNormal, ImpactDistribution, fit_bivariate_normal, impact_probability
from rangeguard.risk.population import (
    FULL_TURN_DEG,
    QUARTER_TURN_DEG,
    CellGrid,
    PopulationGrid,
    band_area_per_rad_m2,
    local_radii_m,
)

HazardKind = Literal["ship", "aircraft", "drop_zone"]
HAZARD_KINDS: tuple[str, ...] = get_args(HazardKind)
DensityMethod = Literal["centre", "exact"]

SHIP_LENGTH_M = 100.0
"""Assumed vessel: 100 m long (a mid-size cargo ship; 450.133 fixes no vessel size). Override with the traffic."""
SHIP_BEAM_M = 20.0
"""Assumed vessel beam, m."""
FRAGMENT_REACH_M = 1.0
"""How far past a target's outline a fragment still hits it: the radius of a fragment of about 3 m^2 plan
area (sqrt(3 / pi) = 0.98 m). An assumption, like the vessel's size."""
SHIP_VULNERABLE_AREA_M2 = (SHIP_LENGTH_M + 2.0 * FRAGMENT_REACH_M) * (SHIP_BEAM_M + 2.0 * FRAGMENT_REACH_M)
"""Default vulnerable area of a ship, m^2: its plan rectangle grown by a fragment's reach (2244 m^2).
An assumption, not a regulatory figure; pass the vessel's own where it is known."""
AIRCRAFT_LENGTH_M = 32.0
"""Assumed aircraft: a regional jet about 32 m long and 26 m in span (Embraer E175 class, rounded)."""
AIRCRAFT_SPAN_M = 26.0
"""Assumed aircraft wingspan, m."""
AIRCRAFT_VULNERABLE_AREA_M2 = (AIRCRAFT_LENGTH_M + 2.0 * FRAGMENT_REACH_M) * (AIRCRAFT_SPAN_M + 2.0 * FRAGMENT_REACH_M)
"""Default vulnerable area of an aircraft, m^2: the bounding rectangle of its plan grown by a fragment's reach
(952 m^2; about four times the true planform, on the safe side). An assumption; override it."""

DEFAULT_WINDOW_SIGMA = 10.0
"""Each normal is evaluated within +-10 standard deviations of its mean (per axis). Beyond, its density is
below exp(-50) = 2e-22 of its peak: a contour out there would need n A / (2 pi sigma^2 P) > e^50."""
MAX_GRID_CELLS = 20_000_000
"""Largest grid :func:`grid_around` makes (160 MB of float64 per field)."""
MAX_CELL_M = 100_000.0
"""Largest cell :func:`grid_around` accepts: a hazard area drawn on 100 km cells says nothing."""
MAX_MARGIN_SIGMA = 50.0
"""Largest margin :func:`grid_around` accepts, in standard deviations."""
DEFAULT_ELLIPSE_VERTICES = 256
"""Vertices of a containment ellipse. The polygon circumscribes the ellipse (it holds at least p); its area
exceeds the ellipse's by tan(pi/n) / (pi/n) - 1 = 5e-5 at n = 256."""
_MIN_ELLIPSE_VERTICES = 8
_LOG_FLOOR = 100.0
"""Cells with no density are contoured as log(level) - 100: between a cell of density D above the level and
an empty neighbour, the boundary lies ln(D / level) / (ln(D / level) + 100) of the way to the empty one."""
COORD_DIGITS = 7
"""GeoJSON positions are written on a 1e-7 degree grid (about 1 cm; RFC 7946 section 11.2 suggests 6 digits)."""
_GEOD = Geod(ellps="WGS84")


# --- impact density --------------------------------------------------------------------------


def _checked_edges(values: ArrayLike, name: str, low: float, high: float, span: float) -> NDArray[np.float64]:
    edges = np.array(values, dtype=np.float64, copy=True).reshape(-1)
    if edges.size < 2 or not np.all(np.isfinite(edges)) or not np.all(np.diff(edges) > 0.0):
        raise InputError(f"{name}: need at least two finite, strictly increasing cell edges in degrees")
    if edges[0] < low or edges[-1] > high or edges[-1] - edges[0] > span:
        raise InputError(f"{name}: edges {edges[0]} .. {edges[-1]} deg exceed [{low}, {high}] or span over {span} deg")
    edges.setflags(write=False)
    return edges


@dataclass(frozen=True, eq=False)
class ImpactDensity(CellGrid):
    """Expected impacting fragments per square metre on a regular latitude/longitude grid (WGS84).

    ``lat_edges_deg`` (ny + 1) south to north, ``lon_edges_deg`` (nx + 1) west to east, as for a
    :class:`~rangeguard.risk.population.PopulationGrid`; ``fragments_per_m2[i, j]`` is the cell's expected
    number of impacts divided by its exact ellipsoidal area.
    """

    lat_edges_deg: NDArray[np.float64]
    lon_edges_deg: NDArray[np.float64]
    fragments_per_m2: NDArray[np.float64]

    def __post_init__(self) -> None:
        lat = _checked_edges(
            self.lat_edges_deg, "ImpactDensity lat_edges_deg", -QUARTER_TURN_DEG, QUARTER_TURN_DEG, 180
        )
        lon = _checked_edges(self.lon_edges_deg, "ImpactDensity lon_edges_deg", -math.inf, math.inf, FULL_TURN_DEG)
        density = np.array(self.fragments_per_m2, dtype=np.float64, copy=True)
        if density.shape != (lat.size - 1, lon.size - 1):
            raise InputError(
                f"ImpactDensity: fragments_per_m2 has shape {density.shape}, the edges need "
                f"{(lat.size - 1, lon.size - 1)}"
            )
        if not np.all(np.isfinite(density)) or np.any(density < 0.0):
            raise InputError("ImpactDensity: fragments_per_m2 must be finite and >= 0")
        density.setflags(write=False)
        object.__setattr__(self, "lat_edges_deg", lat)
        object.__setattr__(self, "lon_edges_deg", lon)
        object.__setattr__(self, "fragments_per_m2", density)

    @property
    def expected_fragments(self) -> float:
        """Expected impacts on the grid: the sum of density times cell area."""
        return float(np.sum(self.fragments_per_m2 * self.cell_area_m2))


Component = tuple[BivariateNormal, float]


def _checked_components(components: Sequence[Component], where: str) -> list[Component]:
    out = []
    for i, item in enumerate(components):
        try:
            normal, n = item
        except (TypeError, ValueError):
            raise InputError(f"{where}: components[{i}] must be a (BivariateNormal, expected_fragments) pair") from None
        if not isinstance(normal, BivariateNormal):
            raise InputError(f"{where}: components[{i}][0] must be a BivariateNormal, got {type(normal).__name__}")
        if isinstance(n, bool) or not isinstance(n, int | float | np.integer | np.floating):
            raise InputError(f"{where}: components[{i}] expected_fragments must be a number, got {n!r}")
        n = float(n)
        if not (math.isfinite(n) and n >= 0.0):
            raise InputError(f"{where}: components[{i}] expected_fragments must be finite and >= 0, got {n}")
        out.append((normal, n))
    return out


def _runs(index: NDArray[np.intp]) -> list[slice]:
    """Consecutive runs of sorted indices, as slices."""
    if index.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(index) != 1) + 1
    return [slice(int(part[0]), int(part[-1]) + 1) for part in np.split(index, breaks)]


def impact_density(
    components: Sequence[Component],
    lat_edges_deg: ArrayLike,
    lon_edges_deg: ArrayLike,
    *,
    method: DensityMethod = "centre",
    window_sigma: float = DEFAULT_WINDOW_SIGMA,
) -> ImpactDensity:
    """Expected impacting fragments per m^2 of ``components`` on the grid of the given cell edges (degrees).

    Each component is (normal, expected_fragments): the fragments expected to land from that impact
    distribution, already weighted by the probability that it happens. Per cell and component,
    P = normal density at the cell centre x the cell's area in the normal's plane (``"centre"``; relative
    error about h^2 / (24 sigma^2) per cell near the peak for cells of side h, and the sum over cells
    converges much faster) or the exact rectangle probability (``"exact"``, Owen's T; about 2.8 s per
    million cells); the density is n P / (the cell's ellipsoidal area). Only the cells within
    +-``window_sigma`` standard deviations (east and north) of each mean are evaluated.
    """
    where = "impact_density"
    comps = _checked_components(components, where)
    lat_e = _checked_edges(lat_edges_deg, f"{where}: lat_edges_deg", -QUARTER_TURN_DEG, QUARTER_TURN_DEG, 180.0)
    lon_e = _checked_edges(lon_edges_deg, f"{where}: lon_edges_deg", -math.inf, math.inf, FULL_TURN_DEG)
    if method not in get_args(DensityMethod):
        raise InputError(f"{where}: method must be 'centre' or 'exact', got {method!r}")
    if not (math.isfinite(window_sigma) and window_sigma > 0.0):
        raise InputError(f"{where}: window_sigma must be positive and finite, got {window_sigma}")
    lat_c = 0.5 * (lat_e[:-1] + lat_e[1:])
    lon_c = 0.5 * (lon_e[:-1] + lon_e[1:])
    dlat_rad = np.diff(lat_e) * DEG
    dlon_rad = np.diff(lon_e) * DEG
    expected = np.zeros((lat_c.size, lon_c.size), dtype=np.float64)
    for normal, n in comps:
        if n == 0.0:
            continue
        sigma_e, sigma_n = normal.sigma_en_m
        east_m, _ = normal.to_plane(np.full_like(lon_c, normal.mean_lat_deg), lon_c)  # wrapped to +-180 deg
        _, north_m = normal.to_plane(lat_c, np.full_like(lat_c, normal.mean_lon_deg))
        rows = _runs(np.flatnonzero(np.abs(north_m) <= window_sigma * sigma_n))
        col_runs = _runs(np.flatnonzero(np.abs(east_m) <= window_sigma * sigma_e))
        for r in rows:
            for c in col_runs:
                if method == "centre":
                    p = _centre_probability(normal, east_m[c], north_m[r], dlat_rad[r], dlon_rad[c])
                else:
                    window = PopulationGrid(
                        lat_e[r.start : r.stop + 1],
                        lon_e[c.start : c.stop + 1],
                        np.zeros((r.stop - r.start, c.stop - c.start)),
                    )
                    p = impact_probability(ImpactDistribution.from_normal(normal), window, "normal")
                expected[r, c] += n * p
    cell_area = np.outer(band_area_per_rad_m2(lat_e[:-1], lat_e[1:]), dlon_rad)
    return ImpactDensity(lat_e, lon_e, expected / cell_area)


def _centre_probability(
    normal: BivariateNormal,
    east_m: NDArray[np.float64],
    north_m: NDArray[np.float64],
    dlat_rad: NDArray[np.float64],
    dlon_rad: NDArray[np.float64],
) -> NDArray[np.float64]:
    """Density at the cell centres (rows north_m, columns east_m) times the cells' plane areas."""
    m_m, n_m = local_radii_m(normal.mean_lat_deg)
    east_per_rad = float(n_m) * math.cos(normal.mean_lat_deg * DEG)
    cov = normal.cov_en_m2
    det = float(cov[0, 0] * cov[1, 1] - cov[0, 1] ** 2)
    a, b, c = cov[1, 1] / det, -cov[0, 1] / det, cov[0, 0] / det  # the inverse covariance [[a, b], [b, c]]
    e = east_m[None, :]
    nn = north_m[:, None]
    q = a * e * e + (2.0 * b) * (nn * e) + c * nn * nn
    pdf = np.exp(-0.5 * q) / (2.0 * math.pi * math.sqrt(det))
    plane_area = np.outer(dlat_rad * float(m_m), dlon_rad * east_per_rad)
    return np.asarray(pdf * plane_area, dtype=np.float64)


def grid_around(
    components: Sequence[Component], cell_m: float, margin_sigma: float = DEFAULT_WINDOW_SIGMA
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(lat_edges_deg, lon_edges_deg) of a grid covering every component's mean +- ``margin_sigma`` sigma.

    Cells are ``cell_m`` metres on a side at the grid's middle latitude (the longitude step uses the
    radius of the parallel there, so cells narrow towards the poles). Longitudes are kept continuous
    around the first component's mean (they may pass 180). Refuses (InputError) a cell size that is not
    positive or over ``MAX_CELL_M``, a margin outside (0, ``MAX_MARGIN_SIGMA``], and a grid of more than
    ``MAX_GRID_CELLS`` cells.
    """
    where = "grid_around"
    comps = _checked_components(components, where)
    if not comps:
        raise InputError(f"{where}: components is empty; give at least one (BivariateNormal, fragments) pair")
    if not (math.isfinite(cell_m) and 0.0 < cell_m <= MAX_CELL_M):
        raise InputError(f"{where}: cell_m must be in (0, {MAX_CELL_M:g}] m, got {cell_m}")
    if not (math.isfinite(margin_sigma) and 0.0 < margin_sigma <= MAX_MARGIN_SIGMA):
        raise InputError(f"{where}: margin_sigma must be in (0, {MAX_MARGIN_SIGMA:g}], got {margin_sigma}")
    ref_lon = comps[0][0].mean_lon_deg
    south, north, west, east = math.inf, -math.inf, math.inf, -math.inf
    for normal, _ in comps:
        sigma_e, sigma_n = normal.sigma_en_m
        lat, lon = normal.from_plane(
            np.array([-1.0, 1.0]) * margin_sigma * sigma_e, np.array([-1.0, 1.0]) * margin_sigma * sigma_n
        )
        shift = ref_lon + ((normal.mean_lon_deg - ref_lon + 180.0) % FULL_TURN_DEG - 180.0) - normal.mean_lon_deg
        south, north = min(south, float(lat[0])), max(north, float(lat[1]))
        west, east = min(west, float(lon[0]) + shift), max(east, float(lon[1]) + shift)
    south, north = max(south, -QUARTER_TURN_DEG), min(north, QUARTER_TURN_DEG)
    mid = 0.5 * (south + north)
    m_m, n_m = local_radii_m(mid)
    dlat = cell_m / (float(m_m) * DEG)
    dlon = cell_m / (float(n_m) * max(math.cos(mid * DEG), 1e-12) * DEG)
    n_lat = max(1, math.ceil((north - south) / dlat))
    n_lon = max(1, math.ceil((east - west) / dlon))
    if n_lon * dlon > FULL_TURN_DEG:
        raise InputError(
            f"{where}: the components span {east - west:.1f} deg of longitude with cells of "
            f"{dlon:.3g} deg: more than a full turn; fit groups separately"
        )
    if n_lat * n_lon > MAX_GRID_CELLS:
        raise InputError(
            f"{where}: cell_m = {cell_m:g} m makes {n_lat} x {n_lon} cells, more than "
            f"{MAX_GRID_CELLS:,}; give a larger cell_m or fewer, closer components"
        )
    if n_lat * dlat > 2.0 * QUARTER_TURN_DEG:
        raise InputError(f"{where}: cells of {cell_m:g} m do not fit between the poles; give a smaller cell_m")
    # centred on the components, moved back inside [-90, 90] where the box reaches a pole
    lat0 = min(max(mid - 0.5 * n_lat * dlat, -QUARTER_TURN_DEG), QUARTER_TURN_DEG - n_lat * dlat)
    lat_edges = np.clip(lat0 + dlat * np.arange(n_lat + 1, dtype=np.float64), -QUARTER_TURN_DEG, QUARTER_TURN_DEG)
    lon_edges: NDArray[np.float64] = 0.5 * (west + east - n_lon * dlon) + dlon * np.arange(n_lon + 1, dtype=np.float64)
    return lat_edges, lon_edges


# --- regions over a probability of impact ----------------------------------------------------


def hit_threshold_per_m2(vulnerable_area_m2: float, probability: float) -> float:
    """The impact density (per m^2) at which a target of that vulnerable area is hit with that probability:
    -ln(1 - P) / A (Poisson hits, P = 1 - exp(-D A))."""
    return -math.log1p(-probability) / vulnerable_area_m2


def hit_probability_areas(density: ImpactDensity, vulnerable_area_m2: float, threshold: float) -> MultiPolygon:
    """The region (lon/lat degrees) where a target of ``vulnerable_area_m2`` is hit with probability > ``threshold``.

    P = 1 - exp(-D A) > threshold, i.e. D > -ln(1 - threshold) / A. Traced on the cell centres as the
    filled contour of log(D) (linear interpolation of log D, exact for an exponential fall-off), with the
    grid's border as a ring of empty cells so every region closes inside the grid (a region still
    reaching the border is cut there: make the grid wider). Valid polygons, holes kept; an empty
    MultiPolygon where the peak density is below the level.
    """
    where = "hit_probability_areas"
    if not isinstance(density, ImpactDensity):
        raise InputError(f"{where}: density must be an ImpactDensity, got {type(density).__name__}")
    if not (math.isfinite(vulnerable_area_m2) and vulnerable_area_m2 > 0.0):
        raise InputError(f"{where}: vulnerable_area_m2 must be positive and finite, got {vulnerable_area_m2}")
    if not (math.isfinite(threshold) and 0.0 < threshold < 1.0):
        raise InputError(f"{where}: threshold must be a probability in (0, 1), got {threshold}")
    level = hit_threshold_per_m2(vulnerable_area_m2, threshold)
    d = density.fragments_per_m2
    if not np.any(d > level):
        return MultiPolygon()
    log_level = math.log(level)
    # log D, with empty cells far below the level, and the grid's border carrying its edge cells' values
    # (a region reaching the border is cut along it: contourpy closes filled regions on the domain edge)
    z = np.full(d.shape, log_level - _LOG_FLOOR)
    positive = d > 0.0
    z[positive] = np.maximum(np.log(d[positive]), log_level - _LOG_FLOOR)
    z = np.pad(z, 1, mode="edge")
    x = np.concatenate([density.lon_edges_deg[:1], density.lon_centres_deg, density.lon_edges_deg[-1:]])
    y = np.concatenate([density.lat_edges_deg[:1], density.lat_centres_deg, density.lat_edges_deg[-1:]])
    filled = contour_generator(x, y, z, fill_type=FillType.OuterOffset).filled(log_level, math.inf)
    points, offsets = cast(tuple[list[NDArray[np.float64]], list[NDArray[np.uint32]]], filled)
    polygons = []
    for pts, offs in zip(points, offsets, strict=True):
        rings = [pts[offs[i] : offs[i + 1]] for i in range(len(offs) - 1)]
        polygons.append(Polygon(rings[0], rings[1:]))
    return _as_multipolygon(shapely.make_valid(shapely.union_all(polygons)))


def _as_multipolygon(geom: BaseGeometry) -> MultiPolygon:
    """The polygonal parts of a geometry as one MultiPolygon (lines and points left by make_valid dropped)."""
    if isinstance(geom, Polygon):
        return MultiPolygon([geom]) if not geom.is_empty else MultiPolygon()
    if isinstance(geom, MultiPolygon):
        return geom
    parts = [g for g in getattr(geom, "geoms", []) if isinstance(g, Polygon | MultiPolygon) and not g.is_empty]
    polys = [p for g in parts for p in (g.geoms if isinstance(g, MultiPolygon) else [g])]
    return MultiPolygon(polys)


# --- containment ----------------------------------------------------------------------------


def mahalanobis_radius(probability: float) -> float:
    """k with P(Mahalanobis distance <= k) = probability for a bivariate normal: sqrt(-2 ln(1 - p))
    (the distance squared is chi-square with 2 degrees of freedom, an exponential of mean 2)."""
    return math.sqrt(-2.0 * math.log1p(-probability))


def containment_polygon(
    normal: BivariateNormal, probability: float = SHIP_CONTAINMENT, n_vertices: int = DEFAULT_ELLIPSE_VERTICES
) -> Polygon:
    """The ellipse of ``normal`` holding ``probability`` of its impacts, as a lon/lat polygon (degrees).

    The ellipse {d : d^T C^-1 d <= k^2}, k = :func:`mahalanobis_radius`, in the normal's plane: a regular
    ``n_vertices``-gon circumscribing the unit circle (radius 1 / cos(pi / n)), mapped by the Cholesky
    factor of C times k, so it holds the whole ellipse; placed with ``normal.from_plane``. Default 97 %:
    the containment of a planned drop's ship hazard area (14 CFR 450.133(b)(1)).
    """
    where = "containment_polygon"
    if not isinstance(normal, BivariateNormal):
        raise InputError(f"{where}: normal must be a BivariateNormal, got {type(normal).__name__}")
    if not (math.isfinite(probability) and 0.0 < probability < 1.0):
        raise InputError(f"{where}: probability must be in (0, 1), got {probability}")
    if not (isinstance(n_vertices, int | np.integer) and n_vertices >= _MIN_ELLIPSE_VERTICES):
        raise InputError(f"{where}: n_vertices must be an integer >= {_MIN_ELLIPSE_VERTICES}, got {n_vertices!r}")
    t = 2.0 * math.pi * np.arange(int(n_vertices)) / int(n_vertices)
    circle = np.stack([np.cos(t), np.sin(t)]) * (mahalanobis_radius(probability) / math.cos(math.pi / n_vertices))
    east, north = np.linalg.cholesky(normal.cov_en_m2) @ circle
    lat, lon = normal.from_plane(east, north)
    return orient(Polygon(np.column_stack([lon, lat])), 1.0)


def containment_of_samples(
    lat_deg: ArrayLike, lon_deg: ArrayLike, probability: float = SHIP_CONTAINMENT, weights: ArrayLike | None = None
) -> Polygon:
    """A polygon holding at least ``probability`` of sampled impact points (by weight), lon/lat degrees.

    The points nearest the fitted normal's mean in Mahalanobis distance are taken until their weight
    reaches ``probability``; the result is their convex hull (in the fitted normal's plane). It holds
    every point taken and may hold a few more. Not the smallest such region: a convex, normal-shaped one.
    """
    where = "containment_of_samples"
    if not (math.isfinite(probability) and 0.0 < probability < 1.0):
        raise InputError(f"{where}: probability must be in (0, 1), got {probability}")
    lat = np.asarray(lat_deg, dtype=np.float64).reshape(-1)
    lon = np.asarray(lon_deg, dtype=np.float64).reshape(-1)
    normal = fit_bivariate_normal(lat, lon, weights)
    w = np.full(lat.size, 1.0) if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    w = w / w.sum()
    east, north = normal.to_plane(lat, lon)
    d2 = np.einsum(
        "ij,ji->i", np.column_stack([east, north]) @ np.linalg.inv(normal.cov_en_m2), np.stack([east, north])
    )
    order = np.argsort(d2, kind="stable")
    # the weight reached must be >= probability even after the rounding of a cumulative sum
    last = int(np.searchsorted(np.cumsum(w[order]), probability * (1.0 - 1e-12), side="left"))
    take = order[: min(last + 1, order.size)]
    hull = shapely.MultiPoint(np.column_stack([east[take], north[take]])).convex_hull
    if not isinstance(hull, Polygon):
        raise InputError(f"{where}: the points taken lie on a line; give more, spread points")
    hx, hy = np.asarray(hull.exterior.coords).T
    hlat, hlon = normal.from_plane(hx, hy)
    return orient(Polygon(np.column_stack([hlon, hlat])), 1.0)


# --- named hazard areas, GeoJSON -------------------------------------------------------------


@dataclass(frozen=True)
class HazardArea:
    """A named region to keep ships or aircraft out of (or a planned drop zone), lon/lat degrees.

    ``criterion``: the probability that bounds it (a hit probability for ship and aircraft areas, the
    containment for a drop zone). ``polygon``: a shapely Polygon or MultiPolygon (possibly empty).
    """

    kind: HazardKind
    name: str
    criterion: float
    polygon: Polygon | MultiPolygon
    description: str = ""

    def __post_init__(self) -> None:
        if self.kind not in HAZARD_KINDS:
            raise InputError(f"HazardArea: kind must be one of {', '.join(HAZARD_KINDS)}, got {self.kind!r}")
        if not isinstance(self.name, str) or not self.name:
            raise InputError("HazardArea: name must be a non-empty text")
        if not (isinstance(self.criterion, int | float) and 0.0 < self.criterion <= 1.0):
            raise InputError(
                f"HazardArea {self.name!r}: criterion must be a probability in (0, 1], got {self.criterion!r}"
            )
        if not isinstance(self.polygon, Polygon | MultiPolygon):
            raise InputError(f"HazardArea {self.name!r}: polygon must be a shapely Polygon or MultiPolygon")
        if not isinstance(self.description, str):
            raise InputError(f"HazardArea {self.name!r}: description must be text")

    @property
    def area_km2(self) -> float:
        """Geodesic area on the WGS84 ellipsoid (pyproj.Geod), km^2."""
        return geodesic_area_m2(self.polygon) / 1e6


def geodesic_area_m2(polygon: Polygon | MultiPolygon) -> float:
    """Area of a lon/lat polygon on the WGS84 ellipsoid (holes subtracted), m^2, whatever its orientation."""
    polys = polygon.geoms if isinstance(polygon, MultiPolygon) else [polygon]
    total = 0.0
    for p in polys:
        if p.is_empty:
            continue
        total += abs(_GEOD.geometry_area_perimeter(orient(p, 1.0))[0])
    return total


def _ring_coords(ring: Any) -> list[list[float]]:
    return [[round(float(x), COORD_DIGITS), round(float(y), COORD_DIGITS)] for x, y in np.asarray(ring.coords)[:, :2]]


def _polygon_coords(p: Polygon) -> list[list[list[float]]]:
    p = orient(p, 1.0)  # exterior counter-clockwise, holes clockwise (RFC 7946 section 3.1.6)
    return [_ring_coords(p.exterior), *(_ring_coords(r) for r in p.interiors)]


def hazard_area_geometry(polygon: Polygon | MultiPolygon) -> dict[str, Any]:
    """An RFC 7946 Polygon (one part) or MultiPolygon geometry, positions [lon, lat] on a 1e-7 degree grid."""
    snapped = _as_multipolygon(shapely.set_precision(polygon, 10.0**-COORD_DIGITS))
    parts = [p for p in snapped.geoms if not p.is_empty]
    if len(parts) == 1:
        return {"type": "Polygon", "coordinates": _polygon_coords(parts[0])}
    return {"type": "MultiPolygon", "coordinates": [_polygon_coords(p) for p in parts]}


def hazard_areas_geojson(areas: Sequence[HazardArea]) -> dict[str, Any]:
    """An RFC 7946 FeatureCollection: one Feature per area, properties kind, name, criterion, description,
    area_km2 (geodesic)."""
    features = []
    for a in areas:
        if not isinstance(a, HazardArea):
            raise InputError(f"hazard_areas_geojson: areas must be HazardArea objects, got {type(a).__name__}")
        features.append(
            {
                "type": "Feature",
                "geometry": hazard_area_geometry(a.polygon),
                "properties": {
                    "kind": a.kind,
                    "name": a.name,
                    "criterion": a.criterion,
                    "description": a.description,
                    "area_km2": round(a.area_km2, 6),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


def read_hazard_areas(path: str | os.PathLike[str]) -> list[HazardArea]:
    """The hazard areas of a GeoJSON file written by :func:`hazard_areas_geojson`.

    InputError naming the file (and the feature) if it is not such a file: not JSON, not a
    FeatureCollection, a geometry other than Polygon/MultiPolygon, a position that is not [lon, lat]
    in range, an unclosed ring, a self-intersecting polygon, or a missing/invalid kind, name or criterion.
    """
    doc = read_json(path, "GeoJSON hazard-area", "; rerun the command that wrote it", finite_only=True)
    where = os.fspath(path)
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        raise InputError(f"{where}: not a GeoJSON FeatureCollection (a 'type' and a 'features' list)")
    areas = []
    for i, feature in enumerate(doc["features"]):
        at = f"{where}: feature {i}"
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            raise InputError(f"{at} is not a GeoJSON Feature")
        props = feature.get("properties")
        if not isinstance(props, dict):
            raise InputError(f"{at} has no properties object")
        kind, name, criterion = props.get("kind"), props.get("name"), props.get("criterion")
        description = props.get("description", "")
        if kind not in HAZARD_KINDS:
            raise InputError(f"{at}: kind must be one of {', '.join(HAZARD_KINDS)}, got {kind!r}")
        if not isinstance(name, str) or not name:
            raise InputError(f"{at}: name must be a non-empty text, got {name!r}")
        if isinstance(criterion, bool) or not isinstance(criterion, int | float) or not 0.0 < criterion <= 1.0:
            raise InputError(f"{at} ({name}): criterion must be a probability in (0, 1], got {criterion!r}")
        if not isinstance(description, str):
            raise InputError(f"{at} ({name}): description must be text, got {description!r}")
        polygon = _read_geometry(feature.get("geometry"), f"{at} ({name})")
        areas.append(HazardArea(cast(HazardKind, kind), name, float(criterion), polygon, description))
    return areas


def _read_ring(ring: Any, at: str) -> list[tuple[float, float]]:
    if not isinstance(ring, list) or len(ring) < 4:
        raise InputError(f"{at}: a ring must be a list of at least 4 positions")
    out = []
    for pos in ring:
        if (
            not isinstance(pos, list)
            or len(pos) < 2
            or not all(isinstance(c, int | float) and not isinstance(c, bool) for c in pos[:2])
        ):
            raise InputError(f"{at}: a position must be [longitude, latitude] numbers, got {pos!r}")
        lon, lat = float(pos[0]), float(pos[1])
        if not (abs(lat) <= QUARTER_TURN_DEG and math.isfinite(lon)):
            raise InputError(f"{at}: position {pos!r} is not [longitude, latitude] in degrees (|lat| <= 90)")
        out.append((lon, lat))
    if out[0] != out[-1]:
        raise InputError(f"{at}: a ring must be closed (its last position equal to its first)")
    return out


def _read_polygon(rings: Any, at: str) -> Polygon:
    if not isinstance(rings, list) or not rings:
        raise InputError(f"{at}: Polygon coordinates must be a list of rings (exterior first)")
    parsed = [_read_ring(r, at) for r in rings]
    return Polygon(parsed[0], parsed[1:])


def _read_geometry(geometry: Any, at: str) -> Polygon | MultiPolygon:
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        found = geometry.get("type") if isinstance(geometry, dict) else geometry
        raise InputError(f"{at}: geometry must be a GeoJSON Polygon or MultiPolygon, got {found!r}")
    coords = geometry.get("coordinates")
    polygon: Polygon | MultiPolygon
    if geometry["type"] == "Polygon":
        polygon = _read_polygon(coords, at)
    else:
        if not isinstance(coords, list):
            raise InputError(f"{at}: MultiPolygon coordinates must be a list of polygons")
        polygon = MultiPolygon([_read_polygon(p, at) for p in coords])
    if not polygon.is_valid:
        raise InputError(
            f"{at}: the polygon is not valid ({explain_validity(polygon)}); rewrite it without self-intersections"
        )
    return polygon

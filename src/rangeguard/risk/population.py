"""Where people are: a population grid on the WGS84 ellipsoid.

A :class:`PopulationGrid` is a regular latitude/longitude grid of people per cell, the form in which
the global population products are distributed (GPWv4, WorldPop, LandScan: EPSG:4326 rasters of
counts). Its cell areas are exact on the WGS84 ellipsoid: a cell bounded by the parallels
phi1 < phi2 and the meridians lambda1 < lambda2 has the area

    S = (lambda2 - lambda1) b^2 / 2 * [g(phi2) - g(phi1)],
    g(phi) = sin(phi) / (1 - e^2 sin^2(phi)) + atanh(e sin(phi)) / e,

the integral of the ellipsoid's area element M(phi) N(phi) cos(phi) dphi dlambda (e.g. J. P. Snyder,
"Map Projections - A Working Manual", USGS Professional Paper 1395, 1987, eq. 3-12 for the authalic
latitude, whose q(phi) is b^2/a^2 times g(phi)). Summed over the globe it gives the ellipsoid's total area
2 pi a^2 + pi (b^2 / e) ln((1 + e) / (1 - e)). The tests check it against pyproj.Geod polygon areas.

:func:`read_population_raster` reads such a raster with rasterio; :func:`population_centres` spreads a
list of towns (discs of uniform density) onto a grid.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass

import numpy as np
import rasterio
from numpy.typing import ArrayLike, NDArray
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.windows import Window, from_bounds

from rangeguard.constants import DEG, WGS84_A_M, WGS84_B_M, WGS84_E2
from rangeguard.errors import InputError

_E = math.sqrt(WGS84_E2)
FULL_TURN_DEG = 360.0
"""Longitudes wrap every full turn."""
HALF_TURN_DEG = 180.0
QUARTER_TURN_DEG = 90.0
ARC_SECOND_DEG = 1.0 / 3600.0
DEFAULT_CELL_DEG = 30.0 * ARC_SECOND_DEG
"""30 arc-seconds: the finest resolution of GPWv4 and LandScan (about 1 km at the equator)."""
DEFAULT_SUBSAMPLES = 8
"""Sub-points per cell side used to measure how much of a town's disc falls in each cell."""
_GRID_SNAP_TOL = 1e-9
"""Relative tolerance (of a cell size) when snapping a bounding box to whole raster cells."""


def local_radii_m(lat_deg: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The WGS84 radii of curvature at a latitude: meridian ``M`` and prime vertical ``N``, in metres.

    M = a (1 - e^2) / (1 - e^2 sin^2 phi)^(3/2) and N = a / sqrt(1 - e^2 sin^2 phi) (e.g. Snyder 1987,
    eqs. 4-18 and 4-20). A small step dphi north is M dphi metres, dlambda east is N cos(phi) dlambda.
    """
    s = np.sin(np.asarray(lat_deg, dtype=np.float64) * DEG)
    w2 = 1.0 - WGS84_E2 * s * s
    return WGS84_A_M * (1.0 - WGS84_E2) / (w2 * np.sqrt(w2)), WGS84_A_M / np.sqrt(w2)


def _zone_integral(lat_deg: NDArray[np.float64]) -> NDArray[np.float64]:
    """g(phi) of the module docstring: b^2/2 * g is the area per radian of longitude from the equator."""
    s = np.sin(lat_deg * DEG)
    return np.asarray(s / (1.0 - WGS84_E2 * s * s) + np.arctanh(_E * s) / _E, dtype=np.float64)


def band_area_per_rad_m2(lat_south_deg: ArrayLike, lat_north_deg: ArrayLike) -> NDArray[np.float64]:
    """Ellipsoidal area (m^2) of the band between two parallels, per radian of longitude."""
    south = np.asarray(lat_south_deg, dtype=np.float64)
    north = np.asarray(lat_north_deg, dtype=np.float64)
    return 0.5 * WGS84_B_M * WGS84_B_M * (_zone_integral(north) - _zone_integral(south))


def _edges(values: ArrayLike, name: str, limit_deg: float) -> NDArray[np.float64]:
    edges = np.array(values, dtype=np.float64, copy=True).reshape(-1)
    if edges.size < 1 or not np.all(np.isfinite(edges)):
        raise InputError(f"PopulationGrid: {name} must be at least one finite edge in degrees, got {edges!r}")
    if edges.size > 1 and not np.all(np.diff(edges) > 0.0):
        raise InputError(f"PopulationGrid: {name} must be strictly increasing (south to north, west to east)")
    if edges[-1] - edges[0] > limit_deg * (1.0 + _GRID_SNAP_TOL):
        raise InputError(f"PopulationGrid: {name} span {edges[-1] - edges[0]} deg, more than {limit_deg} deg")
    edges.setflags(write=False)
    return edges


class CellGrid:
    """The geometry of a regular latitude/longitude grid (WGS84) with ``lat_edges_deg`` (ny + 1, south
    to north) and ``lon_edges_deg`` (nx + 1, west to east): shared by :class:`PopulationGrid` and
    :class:`~rangeguard.risk.hazard.ImpactDensity`."""

    lat_edges_deg: NDArray[np.float64]
    lon_edges_deg: NDArray[np.float64]

    @property
    def shape(self) -> tuple[int, int]:
        """(ny, nx): rows south to north, columns west to east."""
        return (self.lat_edges_deg.size - 1, self.lon_edges_deg.size - 1)

    @property
    def lat_centres_deg(self) -> NDArray[np.float64]:
        """Latitude of each row's centre (midway between its parallels), degrees."""
        return 0.5 * (self.lat_edges_deg[:-1] + self.lat_edges_deg[1:])

    @property
    def lon_centres_deg(self) -> NDArray[np.float64]:
        """Longitude of each column's centre, degrees (as the edges are written, not wrapped)."""
        return 0.5 * (self.lon_edges_deg[:-1] + self.lon_edges_deg[1:])

    @property
    def cell_area_m2(self) -> NDArray[np.float64]:
        """Exact ellipsoidal area of each cell, m^2, shape (ny, nx) (formula in the module docstring)."""
        row = band_area_per_rad_m2(self.lat_edges_deg[:-1], self.lat_edges_deg[1:])
        return np.outer(row, np.diff(self.lon_edges_deg) * DEG)


@dataclass(frozen=True, eq=False)
class PopulationGrid(CellGrid):
    """People per cell on a regular latitude/longitude grid (WGS84).

    ``lat_edges_deg`` (ny + 1) runs south to north, ``lon_edges_deg`` (nx + 1) west to east (any
    range; a grid may straddle the antimeridian with edges past 180). ``people[i, j]`` is the number of
    people in the cell between ``lat_edges_deg[i:i+2]`` and ``lon_edges_deg[j:j+2]``; people are taken
    as spread uniformly over their cell. A grid may be empty (a window over an unpopulated region).
    """

    lat_edges_deg: NDArray[np.float64]
    lon_edges_deg: NDArray[np.float64]
    people: NDArray[np.float64]
    source: str = "population grid"

    def __post_init__(self) -> None:
        lat = _edges(self.lat_edges_deg, "lat_edges_deg", 2.0 * QUARTER_TURN_DEG)
        if lat[0] < -QUARTER_TURN_DEG or lat[-1] > QUARTER_TURN_DEG:
            raise InputError(f"{self.source}: latitudes must lie in [-90, 90] deg, got {lat[0]} .. {lat[-1]}")
        lon = _edges(self.lon_edges_deg, "lon_edges_deg", FULL_TURN_DEG)
        people = np.array(self.people, dtype=np.float64, copy=True)
        if people.shape != (lat.size - 1, lon.size - 1):
            raise InputError(
                f"{self.source}: people has shape {people.shape}, the edges need {(lat.size - 1, lon.size - 1)}"
            )
        if not np.all(np.isfinite(people)) or np.any(people < 0.0):
            raise InputError(f"{self.source}: people per cell must be finite and >= 0")
        people.setflags(write=False)
        object.__setattr__(self, "lat_edges_deg", lat)
        object.__setattr__(self, "lon_edges_deg", lon)
        object.__setattr__(self, "people", people)

    @property
    def density_per_m2(self) -> NDArray[np.float64]:
        """People per square metre in each cell, shape (ny, nx)."""
        return self.people / self.cell_area_m2

    @property
    def total_people(self) -> float:
        return float(self.people.sum())

    def cell_areas_m2(self, rows: NDArray[np.intp], cols: NDArray[np.intp]) -> NDArray[np.float64]:
        """Exact ellipsoidal areas of the cells (rows[i], cols[i]), m^2 (as :attr:`cell_area_m2`)."""
        lat = self.lat_edges_deg
        band = band_area_per_rad_m2(lat[rows], lat[rows + 1])
        return np.asarray(band * (self.lon_edges_deg[cols + 1] - self.lon_edges_deg[cols]) * DEG, dtype=np.float64)

    def window_slices(self, lat_deg: float, lon_deg: float, half_width_m: float) -> tuple[slice, slice]:
        """(rows, cols): the slices of the cells that :meth:`window` keeps."""
        if not (half_width_m > 0.0 and math.isfinite(half_width_m)):
            raise InputError(f"{self.source}: window half_width_m must be positive and finite, got {half_width_m}")
        m_m, n_m = local_radii_m(lat_deg)
        dlat = half_width_m / float(m_m) / DEG
        cos_lat = math.cos(lat_deg * DEG)
        dlon = HALF_TURN_DEG if cos_lat <= 0.0 else min(HALF_TURN_DEG, half_width_m / (float(n_m) * cos_lat) / DEG)
        lon_mid = 0.5 * (self.lon_edges_deg[0] + self.lon_edges_deg[-1])
        lon = lon_deg + FULL_TURN_DEG * round((lon_mid - lon_deg) / FULL_TURN_DEG)
        return (
            _overlapping(self.lat_edges_deg, lat_deg - dlat, lat_deg + dlat),
            _overlapping(self.lon_edges_deg, lon - dlon, lon + dlon),
        )

    def window(self, lat_deg: float, lon_deg: float, half_width_m: float) -> PopulationGrid:
        """The cells that overlap a box of +-``half_width_m`` (north/south and east/west) around a point.

        The box's extent in degrees uses the local radii of curvature at ``lat_deg``. The point's
        longitude is moved by whole turns to the grid's range; the window does not wrap around a grid
        that covers the globe (cells past the grid's east or west edge are left out).
        """
        rows, cols = self.window_slices(lat_deg, lon_deg, half_width_m)
        return PopulationGrid(
            self.lat_edges_deg[rows.start : rows.stop + 1],
            self.lon_edges_deg[cols.start : cols.stop + 1],
            self.people[rows, cols],
            source=f"{self.source} (window)",
        )


def _overlapping(edges: NDArray[np.float64], low: float, high: float) -> slice:
    """The cells (between consecutive edges) that overlap the open interval (low, high)."""
    start = int(np.searchsorted(edges, low, side="right")) - 1
    stop = int(np.searchsorted(edges, high, side="left"))
    start = min(max(start, 0), edges.size - 1)
    stop = min(max(stop, start), edges.size - 1)
    return slice(start, stop)


def read_population_raster(
    path: str | os.PathLike[str],
    bounds_deg: tuple[float, float, float, float] | None = None,
    band: int = 1,
) -> PopulationGrid:
    """Read a GeoTIFF (or any GDAL raster) of people per cell into a :class:`PopulationGrid`.

    The raster must be a north-up grid in a geographic CRS in degrees (GPWv4, WorldPop and LandScan
    counts are EPSG:4326). ``bounds_deg`` = (lon_west, lat_south, lon_east, lat_north) reads only the
    cells that overlap that box (a global 30 arc-second raster is about 10^9 cells). Nodata cells
    (and NaN) become 0 people; negative counts are refused (they are usually an unset nodata value).
    """
    name = os.fspath(path)
    fix = "reproject it to EPSG:4326 counts per cell, e.g. `gdalwarp -t_srs EPSG:4326 in.tif out.tif`"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)  # we check georeferencing ourselves
            dataset = rasterio.open(name)
    except RasterioIOError as exc:
        raise InputError(f"population raster {name}: cannot be read ({exc})") from exc
    with dataset:
        if dataset.crs is None:
            raise InputError(f"population raster {name} has no coordinate reference system; {fix}")
        if not dataset.crs.is_geographic:
            raise InputError(
                f"population raster {name} is in a projected CRS ({dataset.crs.to_string()}), not latitude/longitude; "
                + fix
            )
        unit, _ = dataset.crs.units_factor
        if unit.lower() not in ("degree", "degrees"):
            raise InputError(f"population raster {name}: its CRS's angular unit is {unit!r}, not degrees; {fix}")
        t = dataset.transform
        if t.b != 0.0 or t.d != 0.0 or t.a <= 0.0 or t.e >= 0.0:
            raise InputError(
                f"population raster {name} is not a north-up latitude/longitude grid (transform {tuple(t)[:6]}); " + fix
            )
        if not 1 <= band <= dataset.count:
            raise InputError(f"population raster {name} has {dataset.count} band(s); band {band} asked for")
        if bounds_deg is None:
            window = Window(0, 0, dataset.width, dataset.height)
        else:
            west, south, east, north = bounds_deg
            if not (west < east and south < north):
                raise InputError("bounds_deg must be (west, south, east, north) with west < east, south < north")
            raw = from_bounds(west, south, east, north, transform=t)
            col0 = max(0, math.floor(raw.col_off + _GRID_SNAP_TOL))
            row0 = max(0, math.floor(raw.row_off + _GRID_SNAP_TOL))
            col1 = min(dataset.width, math.ceil(raw.col_off + raw.width - _GRID_SNAP_TOL))
            row1 = min(dataset.height, math.ceil(raw.row_off + raw.height - _GRID_SNAP_TOL))
            window = Window(col0, row0, max(0, col1 - col0), max(0, row1 - row0))
        data = dataset.read(band, window=window, masked=True).astype(np.float64)
        col_off, row_off = int(window.col_off), int(window.row_off)
        n_rows, n_cols = data.shape
    counts = np.ma.filled(data, 0.0)
    counts[np.isnan(counts)] = 0.0
    if np.any(counts < 0.0) or not np.all(np.isfinite(counts)):
        raise InputError(
            f"population raster {name} has negative or infinite counts (minimum {counts.min()}); if that value marks "
            "missing data, set it as the raster's nodata value (e.g. `gdal_edit.py -a_nodata -9999 file.tif`)"
        )
    lon_edges = t.c + t.a * (col_off + np.arange(n_cols + 1, dtype=np.float64))
    lat_edges_north_first = t.f + t.e * (row_off + np.arange(n_rows + 1, dtype=np.float64))
    lat_edges = np.clip(lat_edges_north_first[::-1], -QUARTER_TURN_DEG, QUARTER_TURN_DEG)
    return PopulationGrid(lat_edges, lon_edges, counts[::-1, :], source=f"population raster {name}")


def population_centres(
    lat_deg: ArrayLike,
    lon_deg: ArrayLike,
    people: ArrayLike,
    radius_m: ArrayLike,
    cell_deg: float = DEFAULT_CELL_DEG,
    subsamples: int = DEFAULT_SUBSAMPLES,
) -> PopulationGrid:
    """Spread towns (discs of uniform density) onto a grid of ``cell_deg`` cells aligned to multiples of it.

    Each town's people go to the cells in proportion to the part of its disc (radius ``radius_m``
    around its centre, measured in the local tangent plane) that each cell holds, estimated with
    ``subsamples`` x ``subsamples`` points per cell; a disc smaller than that resolution goes wholly to
    the cell holding its centre. Each town's total is kept exactly. Longitudes are taken as written
    (no wrapping): keep the towns of one grid on one side of the antimeridian.
    """
    lat, lon, count, radius = (
        np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in (lat_deg, lon_deg, people, radius_m)
    )
    try:
        lat, lon, count, radius = np.broadcast_arrays(lat, lon, count, radius)
    except ValueError as exc:
        raise InputError(f"population_centres: lat, lon, people and radius do not broadcast ({exc})") from exc
    if lat.size == 0:
        raise InputError("population_centres: no towns given")
    if not (np.all(np.isfinite(count)) and np.all(count >= 0.0) and np.all(radius >= 0.0)):
        raise InputError("population_centres: people and radius_m must be finite and >= 0")
    if np.any(np.abs(lat) > QUARTER_TURN_DEG) or not (cell_deg > 0.0 and subsamples >= 1):
        raise InputError("population_centres: latitudes in [-90, 90], cell_deg > 0 and subsamples >= 1 are needed")
    m_m, n_m = local_radii_m(lat)
    dlat = radius / m_m / DEG
    dlon = radius / np.maximum(n_m * np.cos(lat * DEG), 1.0) / DEG
    i0 = math.floor(float(np.min(lat - dlat)) / cell_deg) - 1
    i1 = math.ceil(float(np.max(lat + dlat)) / cell_deg) + 1
    j0 = math.floor(float(np.min(lon - dlon)) / cell_deg) - 1
    j1 = math.ceil(float(np.max(lon + dlon)) / cell_deg) + 1
    lat_edges = np.clip(np.arange(i0, i1 + 1) * cell_deg, -QUARTER_TURN_DEG, QUARTER_TURN_DEG)
    lon_edges = np.arange(j0, j1 + 1, dtype=np.float64) * cell_deg
    grid = np.zeros((i1 - i0, j1 - j0))
    offsets = (np.arange(subsamples) + 0.5) / subsamples
    for k in range(lat.size):
        r0 = max(0, math.floor((lat[k] - dlat[k]) / cell_deg) - i0)
        r1 = min(i1 - i0, math.ceil((lat[k] + dlat[k]) / cell_deg) - i0)
        c0 = max(0, math.floor((lon[k] - dlon[k]) / cell_deg) - j0)
        c1 = min(j1 - j0, math.ceil((lon[k] + dlon[k]) / cell_deg) - j0)
        sub_lat = lat_edges[r0] + (np.arange(r1 - r0)[:, None] + offsets[None, :]).reshape(-1) * cell_deg
        sub_lon = lon_edges[c0] + (np.arange(c1 - c0)[:, None] + offsets[None, :]).reshape(-1) * cell_deg
        north_m = (sub_lat - lat[k]) * DEG * m_m[k]
        east_m = (sub_lon - lon[k]) * DEG * n_m[k] * math.cos(lat[k] * DEG)
        inside = north_m[:, None] ** 2 + east_m[None, :] ** 2 <= radius[k] ** 2
        counts = inside.reshape(r1 - r0, subsamples, c1 - c0, subsamples).sum(axis=(1, 3)).astype(np.float64)
        total = counts.sum()
        if total > 0.0:
            grid[r0:r1, c0:c1] += count[k] * counts / total
        else:
            grid[math.floor(lat[k] / cell_deg) - i0, math.floor(lon[k] / cell_deg) - j0] += count[k]
    return PopulationGrid(lat_edges, lon_edges, grid, source="population centres")

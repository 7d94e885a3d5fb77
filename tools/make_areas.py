"""Generate the protected areas of the bundled Kii missions, and the vendored 1:10m land extract.

Two jobs:

``python tools/make_areas.py [--out src/rangeguard/missions/areas]``
    Writes one GeoJSON file per protected area near the track of a
    Kairos-class launch from Spaceport Kii (33.54 N, 135.89 E) southward to a
    97.4 deg sun-synchronous orbit (RFC 7946: [lon, lat], one Feature holding a
    Polygon, properties name / description / source / margin_km). Input: the
    land vendored in the package (``rangeguard/data``), so the output depends
    only on the repository; tests/unit/test_geodata.py regenerates the files
    and checks they match what is on disk.

``python tools/make_areas.py extract-10m PATH/land-10m.json``
    Rewrites ``src/rangeguard/data/land-10m-wpacific.json`` from world-atlas's
    ``land-10m.json`` (``cd $(mktemp -d) && npm pack world-atlas@2.0.2 && tar xzf
    world-atlas-2.0.2.tgz`` gives ``package/land-10m.json``): the land polygons
    lying wholly inside :data:`rangeguard.geodata.WPACIFIC_10M_REGION`, their
    arcs copied unchanged (same quantization and delta encoding), so the
    extract is exactly Natural Earth 1:10m there.

How each area is made (see :func:`rangeguard.geodata.protected_area_outline`):
the land of the area's region (Natural Earth 1:10m) is grown outward by
MARGIN_KM in a local azimuthal-equidistant projection, islands closer than
about 2 x bridge_km are joined, and the outline is simplified (outward-safe)
to at most MAX_VERTICES vertices; every land vertex stays at least MARGIN_KM
inside, checked with the engine's own great-circle polygon.

The launch pad. Spaceport Kii is on the coast, so the Kii area would contain
the pad and every nominal flight would start inside a protected area. The Kii
area therefore has a notch cut out (PAD_NOTCH_*): the disc within 5 km of the
pad plus the sector from azimuth 160 to 200 deg out to 30 km (the sea south of
the pad, where the ascent and its IIP go). The land inside the notch (the
launch complex's own surroundings, inside the range's controlled zone) is not
protected; everything else of the Kii peninsula keeps its 10 km margin.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pyproj import Geod
from shapely.geometry import Polygon, box

from rangeguard import geodata

ROOT = Path(__file__).resolve().parents[1]
AREAS_DIR = ROOT / "src" / "rangeguard" / "missions" / "areas"  # package data; ./missions links to its parent
EXTRACT_PATH = ROOT / "src" / "rangeguard" / "data" / geodata.LAND_RESOURCES["10m"]

PAD_LAT_DEG = 33.54
PAD_LON_DEG = 135.89
"""Spaceport Kii launch pad (Kushimoto, Wakayama), WGS84 degrees, about 100 m."""

MARGIN_KM = 10.0
"""Margin from the coast to the area boundary, km: covers the 1:10m coastline's
generalization (a few hundred metres to about 2 km) and keeps IIP dispersion
of a vehicle flying along a boundary off the beach."""

MAX_VERTICES = 200
PAD_NOTCH_RADIUS_KM = 5.0
PAD_NOTCH_AZIMUTH_DEG = (160.0, 200.0)
PAD_NOTCH_REACH_KM = 30.0
COORD_DECIMALS = 5  # 1e-5 deg is about 1 m

SOURCE = (
    "Natural Earth 1:10m land (public domain), via the npm package world-atlas 2.0.2 (ISC); "
    "grown by {margin:g} km in a local azimuthal-equidistant projection and simplified to at most "
    "{nmax} vertices by tools/make_areas.py (rangeguard.geodata.protected_area_outline)"
)

_GEOD = Geod(ellps="WGS84")


def pad_notch() -> Polygon:
    """The cut-out round the pad, lon/lat degrees: disc of PAD_NOTCH_RADIUS_KM plus the sea sector to the south."""
    lon0, lat0 = np.full(72, PAD_LON_DEG), np.full(72, PAD_LAT_DEG)
    az = np.arange(72) * 5.0
    lon, lat, _ = _GEOD.fwd(lon0, lat0, az, np.full(72, PAD_NOTCH_RADIUS_KM * 1e3))
    disc = Polygon(np.column_stack([lon, lat]))
    az = np.arange(PAD_NOTCH_AZIMUTH_DEG[0], PAD_NOTCH_AZIMUTH_DEG[1] + 0.1, 5.0)
    n = len(az)
    lon, lat, _ = _GEOD.fwd(np.full(n, PAD_LON_DEG), np.full(n, PAD_LAT_DEG), az, np.full(n, PAD_NOTCH_REACH_KM * 1e3))
    sector = Polygon([(PAD_LON_DEG, PAD_LAT_DEG), *zip(lon, lat, strict=True)])
    return disc.union(sector)


@dataclass(frozen=True)
class AreaDef:
    """One protected area: where its land comes from and how it is joined."""

    name: str
    description: str
    region: tuple  # (lon_min, lat_min, lon_max, lat_max) or a list of (lon, lat) vertices
    whole_islands: bool = True
    bridge_km: float = 0.0
    hull: bool = False
    notch: bool = False

    def region_geometry(self):
        if len(self.region) == 4 and all(isinstance(v, float | int) for v in self.region):
            return box(*self.region)
        return Polygon(self.region)


AREAS = (
    AreaDef(
        "kii-peninsula",
        "Honshu south of 34.6 N between 135.04 E (east of Awaji) and 136.95 E (west of the Atsumi "
        "peninsula): the Kii peninsula around the pad, Wakayama, Nara and Mie. The notch round the pad "
        "(5 km disc plus the sea sector at azimuth 160-200 deg out to 30 km) is left out.",
        (135.04, 33.3, 136.95, 34.6),
        whole_islands=False,
        notch=True,
    ),
    AreaDef(
        "shikoku",
        "Shikoku, Awaji and the islands of the Seto Inland Sea (all islands wholly inside "
        "131.9-135.1 E, 32.6-34.65 N; Honshu's own coast is not included, though the margins of "
        "the Inland Sea islands reach it).",
        (131.9, 32.6, 135.1, 34.65),
        bridge_km=15.0,
    ),
    AreaDef(
        "kyushu",
        "Kyushu with the Goto, Amakusa, Koshiki and Iki islands (islands wholly inside "
        "128.4-132.2 E, 30.95-34.0 N; Tsushima and the Osumi islands are not in it).",
        (128.4, 30.95, 132.2, 34.0),
        bridge_km=30.0,
    ),
    AreaDef(
        "nansei-islands",
        "The Nansei (Ryukyu) chain from the Osumi islands (Tanegashima, Yakushima) through the "
        "Tokara, Amami and Okinawa islands to the Sakishima islands (Miyako, Yaeyama, Yonaguni), "
        "joined into one band (gaps up to the Miyako strait closed). The Daito islands are a "
        "separate area.",
        [(122.8, 23.8), (129.6, 23.8), (131.6, 29.8), (131.6, 30.95), (122.8, 30.95)],
        hull=True,
    ),
    AreaDef(
        "daito-islands",
        "Kita-Daito and Minami-Daito (Okinawa prefecture), the Nansei land nearest the track.",
        (130.9, 24.2, 131.6, 26.2),
        bridge_km=10.0,
    ),
    AreaDef(
        "izu-islands",
        "The Izu islands from Izu-Oshima to Aogashima (Hachijojima among them), joined into one "
        "band; 300-400 km east of the pad, behind and to the side of the southward track.",
        (138.9, 32.2, 140.0, 34.9),
        hull=True,
    ),
    AreaDef(
        "philippines",
        "The Philippines: Luzon, the Batanes and Babuyan islands, the eastern Visayas (Samar, "
        "Leyte), Mindanao, Palawan and the islands between, joined into one area (straits and "
        "inner seas narrower than about 250 km closed). The Sabah (Malaysia) islands south-west of "
        "the Balabac strait are left out.",
        [(116.0, 21.3), (127.5, 21.3), (127.5, 4.5), (119.3, 4.5), (117.6, 7.45), (116.0, 7.7)],
        bridge_km=120.0,
    ),
)


def build_feature(defn: AreaDef) -> dict:
    """The GeoJSON Feature (RFC 7946) of one area."""
    lat, lon = geodata.protected_area_outline(
        defn.region_geometry(),
        margin_km=MARGIN_KM,
        max_vertices=MAX_VERTICES,
        bridge_km=defn.bridge_km,
        hull=defn.hull,
        exclude=pad_notch() if defn.notch else None,
        detail="10m",
        whole_islands=defn.whole_islands,
        name=defn.name,
    )
    ring = [[round(x, COORD_DECIMALS), round(y, COORD_DECIMALS)] for x, y in zip(lon, lat, strict=True)]
    ring.append(ring[0])
    return {
        "type": "Feature",
        "properties": {
            "name": defn.name,
            "description": defn.description,
            "source": SOURCE.format(margin=MARGIN_KM, nmax=MAX_VERTICES),
            "margin_km": MARGIN_KM,
        },
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    }


def feature_text(feature: dict) -> str:
    """Readable, stable JSON: one [lon, lat] pair per line."""
    text = json.dumps(feature, indent=2, ensure_ascii=False)
    text = re.sub(r"\[\s+(-?[\d.]+),\s+(-?[\d.]+)\s+\]", r"[\1, \2]", text)
    return text + "\n"


def write_areas(out_dir: Path) -> list[Path]:
    """Write every area's GeoJSON into out_dir; returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for defn in AREAS:
        path = out_dir / f"{defn.name}.geojson"
        path.write_text(feature_text(build_feature(defn)), encoding="utf-8")
        paths.append(path)
    return paths


def extract_10m(src: Path, dst: Path = EXTRACT_PATH) -> int:
    """Write the 1:10m extract (TopoJSON) of the land wholly inside WPACIFIC_10M_REGION; returns its polygon count."""
    topo = json.loads(Path(src).read_text(encoding="utf-8"))
    tr = topo["transform"]
    arcs = geodata.decode_arcs(topo["arcs"], tr["scale"], tr["translate"])
    x0, y0, x1, y1 = geodata.WPACIFIC_10M_REGION
    kept = []
    obj = topo["objects"]["land"]
    for geom in obj["geometries"]:
        groups = [geom["arcs"]] if geom["type"] == "Polygon" else geom["arcs"] if geom["type"] == "MultiPolygon" else []
        for rings in groups:
            xy = geodata.ring_positions(rings[0], arcs)
            if xy[:, 0].min() >= x0 and xy[:, 0].max() <= x1 and xy[:, 1].min() >= y0 and xy[:, 1].max() <= y1:
                kept.append(rings)
    order = sorted({i if i >= 0 else ~i for rings in kept for ring in rings for i in ring})
    new = {old: k for k, old in enumerate(order)}
    polys = [[[new[i] if i >= 0 else ~new[~i] for i in ring] for ring in rings] for rings in kept]
    out = {
        "type": "Topology",
        "transform": tr,
        "objects": {"land": {"type": "GeometryCollection", "geometries": [{"type": "MultiPolygon", "arcs": polys}]}},
        "arcs": [topo["arcs"][old] for old in order],
    }
    Path(dst).write_text(json.dumps(out, separators=(",", ":")), encoding="utf-8")
    return len(polys)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    ex = sub.add_parser("extract-10m", help="rewrite the vendored 1:10m extract from world-atlas land-10m.json")
    ex.add_argument("land_10m", type=Path)
    parser.add_argument("--out", type=Path, default=AREAS_DIR, help="directory for the area files")
    args = parser.parse_args(argv)
    if args.command == "extract-10m":
        n = extract_10m(args.land_10m)
        print(f"wrote {EXTRACT_PATH} ({n} polygons, {EXTRACT_PATH.stat().st_size} bytes)")
        return 0
    for path in write_areas(args.out):
        doc = json.loads(path.read_text(encoding="utf-8"))
        nv = len(doc["geometry"]["coordinates"][0]) - 1
        print(f"{path}: {nv} vertices, {path.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())

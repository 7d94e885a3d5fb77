"""Vendored Natural Earth land: polygons, coastlines and protected-area outlines.

The data is Natural Earth land (public domain) as redistributed by the npm
package ``world-atlas`` 2.0.2 (ISC licence) in TopoJSON (see
``data/NATURAL_EARTH.md``): the world at 1:50m (``detail="50m"``, the
package's ``land-50m.json`` unchanged; for maps) and the 1:10m islands
between Japan and the Philippines (``detail="10m"``, an extract of its
``land-10m.json`` made by ``tools/make_areas.py``; for protected areas).
Nothing is downloaded at run time.

TopoJSON decoding follows the TopoJSON specification
(https://github.com/topojson/topojson-specification, sections 2.1.2
"Transforms" and 2.2 "Arcs"): every arc is a list of quantized integer
positions, the first absolute and the rest deltas from the previous one;
position = cumulative sum * ``transform.scale`` + ``transform.translate``.
A polygon ring lists arc indices; a negative index ``~i`` means arc ``i``
reversed, and consecutive arcs share their joining point, which is kept once.

world-atlas rings are drawn on the sphere (d3-geo): a ring that crosses the
antimeridian jumps from about +180 to about -180 degrees, and Antarctica's
ring winds once around the South Pole. For flat (lon/lat) geometry each ring
is unwrapped (consecutive longitudes made to differ by less than 180
degrees), a ring that winds around a pole is closed through that pole, and
the result is cut into the world box [-180, 180] x [-90, 90] by intersecting
it with the box shifted by -360, 0 and +360 degrees. Edges are then treated as
straight in lon/lat, which at these scales (vertices a few km apart) differs
from great-circle edges by metres.

Protected-area outlines (:func:`protected_area_outline`) are built on a
gnomonic plane, where straight lines are the great-circle edges of
:class:`rangeguard.earth.polygon.GreatCirclePolygon`, and checked with it.

Outputs are in WGS84 longitude/latitude degrees (Natural Earth's datum). Map
queries take a box ``(lon_min, lat_min, lon_max, lat_max)``; longitudes may
run past +-180 (e.g. 170 .. 200 for a Pacific-centred map) and the answer is
given in the box's own longitude range.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from importlib import resources

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon, box
from shapely.geometry.base import BaseGeometry
from shapely.geometry.polygon import orient

from rangeguard.constants import WGS84_A_M, WGS84_E2
from rangeguard.earth.polygon import GreatCirclePolygon, unit_vectors
from rangeguard.errors import InputError

LAND_RESOURCES = {"50m": "land-50m.json", "10m": "land-10m-wpacific.json"}
"""Vendored TopoJSON files inside ``rangeguard/data`` by detail level: the
whole world at 1:50m, and the 1:10m islands of the western Pacific (see
:data:`WPACIFIC_10M_REGION`)."""

WPACIFIC_10M_REGION = (116.0, 4.0, 150.0, 46.0)
"""(lon_min, lat_min, lon_max, lat_max), degrees: the 1:10m extract holds every
Natural Earth 1:10m land polygon lying wholly inside this box (Japan south of
46 N, Taiwan, the Philippines and the islands between); polygons reaching
outside it (the Asian mainland, Borneo, Sakhalin) are not in it."""

_WORLD = box(-180.0, -90.0, 180.0, 90.0)
_SHIFTS_DEG = (-360.0, 0.0, 360.0)
_SEAM_TOL_DEG = 1e-9
_QUAD_SEGS = 8  # buffer arcs: segments per quarter circle
_ARC_CHORD = math.cos(math.pi / (4 * _QUAD_SEGS))  # a buffer's chords run this fraction of the radius from the centre


# --- TopoJSON decoding ---------------------------------------------------------------


def decode_arcs(arcs: Sequence[Sequence[Sequence[float]]], scale=None, translate=None) -> list[np.ndarray]:
    """Absolute positions of TopoJSON arcs, one (M, 2) float array per arc.

    ``arcs`` is the topology's ``arcs`` member. With a ``transform`` (``scale``
    and ``translate``, each [sx, sy]) the arcs are quantized and delta-encoded:
    position k = (sum of entries 0..k) * scale + translate (TopoJSON spec,
    section 2.1.2). Without one they are absolute coordinates. Extra members
    of a position (e.g. elevation) are dropped.
    """
    out = []
    for k, arc in enumerate(arcs):
        a = np.asarray(arc, dtype=np.float64)
        if a.ndim != 2 or a.shape[1] < 2 or len(a) < 2:
            raise InputError(f"TopoJSON arc {k}: expected a list of at least 2 positions [x, y]; got shape {a.shape}")
        a = a[:, :2]
        if scale is not None:
            a = np.cumsum(a, axis=0) * np.asarray(scale, dtype=np.float64) + np.asarray(translate, dtype=np.float64)
        out.append(a)
    return out


def ring_positions(ring: Sequence[int], arcs: Sequence[np.ndarray]) -> np.ndarray:
    """(M, 2) positions of a TopoJSON ring from its arc indices (closed: last == first).

    Index ``i >= 0`` is arc i forwards, ``~i`` (that is, -i-1) arc i reversed;
    each arc after the first starts where the previous one ended, so its first
    position is dropped.
    """
    parts = []
    for n, i in enumerate(ring):
        a = arcs[i] if i >= 0 else arcs[~i][::-1]
        parts.append(a if n == 0 else a[1:])
    return np.concatenate(parts)


@functools.cache
def _topology(detail: str) -> dict:
    text = resources.files("rangeguard").joinpath("data", LAND_RESOURCES[detail]).read_text(encoding="utf-8")
    return json.loads(text)


@functools.cache
def _land_arcs(detail: str) -> tuple[np.ndarray, ...]:
    topo = _topology(detail)
    tr = topo.get("transform") or {}
    return tuple(decode_arcs(topo["arcs"], tr.get("scale"), tr.get("translate")))


def topology_polygons(topology: dict, arcs: Sequence[np.ndarray], name: str = "land") -> list[list[np.ndarray]]:
    """Polygons of a TopoJSON object, each a list of closed (M, 2) rings (exterior first).

    ``arcs`` are the decoded arcs (:func:`decode_arcs`); Polygon and
    MultiPolygon geometries of the object's GeometryCollection are read, other
    types skipped.
    """
    obj = topology["objects"][name]
    geoms = obj["geometries"] if obj["type"] == "GeometryCollection" else [obj]
    polys = []
    for geom in geoms:
        if geom["type"] == "Polygon":
            groups = [geom["arcs"]]
        elif geom["type"] == "MultiPolygon":
            groups = geom["arcs"]
        else:
            continue
        for rings in groups:
            polys.append([ring_positions(r, arcs) for r in rings])
    return polys


def _land_rings(detail: str) -> list[list[np.ndarray]]:
    return topology_polygons(_topology(detail), _land_arcs(detail))


# --- antimeridian handling -----------------------------------------------------------


def _unwrap_lon(lon_deg: np.ndarray) -> np.ndarray:
    """Longitudes made continuous: each step taken as the short way round (|step| < 180)."""
    step = np.diff(lon_deg)
    step = (step + 180.0) % 360.0 - 180.0
    return lon_deg[0] + np.concatenate([[0.0], np.cumsum(step)])


def _flat_ring(ring: np.ndarray) -> np.ndarray:
    """A spherical ring as a flat lon/lat ring (longitudes may leave -180..180).

    A ring whose unwrapped longitude gains or loses 360 degrees winds around a
    pole; it is closed through the pole on the side of its mean latitude.
    """
    lon = _unwrap_lon(ring[:, 0])
    lat = ring[:, 1]
    turns = round((lon[-1] - lon[0]) / 360.0)
    if turns != 0:
        pole = -90.0 if lat.mean() < 0.0 else 90.0
        lon = np.concatenate([lon, [lon[-1], lon[0]]])
        lat = np.concatenate([lat, [pole, pole]])
    return np.column_stack([lon, lat])


def _polygon_parts(geom: BaseGeometry) -> list[Polygon]:
    """The polygons of any geometry (dropping points, lines and empty or zero-area parts)."""
    out = []
    for g in shapely.get_parts(geom):
        if isinstance(g, Polygon):
            if not g.is_empty and g.area > 0.0:
                out.append(g)
        elif g.geom_type in ("MultiPolygon", "GeometryCollection"):
            out += _polygon_parts(g)
    return out


def _into_world(geom: BaseGeometry) -> list[Polygon]:
    """Cut a flat geometry whose longitudes may leave -180..180 into world-box polygons."""
    pieces = []
    for shift in _SHIFTS_DEG:
        moved = shapely.transform(geom, lambda xy, s=shift: xy + np.array([s, 0.0]))
        pieces += _polygon_parts(moved.intersection(_WORLD))
    return pieces


@functools.cache
def _world_land(detail: str) -> tuple[tuple[Polygon, ...], shapely.STRtree]:
    """All land polygons in -180..180 / -90..90 and a spatial index over them."""
    polys = []
    for rings in _land_rings(detail):
        flat = [_flat_ring(r) for r in rings]
        shell = shapely.make_valid(Polygon(flat[0]))
        for hole in flat[1:]:
            shell = shell.difference(shapely.make_valid(Polygon(hole)))
        polys += _into_world(shell)
    world = tuple(polys)
    return world, shapely.STRtree(world)


@functools.cache
def _world_coast(detail: str) -> tuple[tuple[LineString, ...], shapely.STRtree]:
    """Coastline pieces in the world box; the antimeridian cut lines and the polar closure are left out."""
    lines = []
    for arc in _land_arcs(detail):
        flat = np.column_stack([_unwrap_lon(arc[:, 0]), arc[:, 1]])
        for shift in _SHIFTS_DEG:
            clipped = LineString(flat + np.array([shift, 0.0])).intersection(_WORLD)
            for part in shapely.get_parts(shapely.line_merge(clipped) if not clipped.is_empty else clipped):
                if part.geom_type != "LineString" or part.is_empty:
                    continue
                lines += _drop_seams(np.asarray(part.coords))
    strings = tuple(LineString(c) for c in lines)
    return strings, shapely.STRtree(strings)


def _drop_seams(xy: np.ndarray) -> list[np.ndarray]:
    """Split a polyline where it runs along the antimeridian or around the pole (artificial edges)."""
    on_seam = (np.abs(np.abs(xy[:, 0]) - 180.0) < _SEAM_TOL_DEG) | (np.abs(xy[:, 1]) > 89.99)
    seam_edge = on_seam[:-1] & on_seam[1:]
    out, start = [], 0
    for k in np.flatnonzero(seam_edge):
        if k + 1 - start >= 2:
            out.append(xy[start : k + 1])
        start = int(k) + 1
    if len(xy) - start >= 2:
        out.append(xy[start:])
    return out


# --- queries ---------------------------------------------------------------------------


def _check_box(lon_min, lat_min, lon_max, lat_max) -> tuple[float, float, float, float]:
    try:
        b = (float(lon_min), float(lat_min), float(lon_max), float(lat_max))
    except (TypeError, ValueError):
        raise InputError(
            f"box must be four numbers (lon_min, lat_min, lon_max, lat_max) in degrees; got "
            f"{(lon_min, lat_min, lon_max, lat_max)!r}"
        ) from None
    x0, y0, x1, y1 = b
    if not all(math.isfinite(v) for v in b):
        raise InputError(f"box {b} has a non-finite value; give finite degrees")
    if not (-90.0 <= y0 < y1 <= 90.0):
        raise InputError(f"box latitudes must satisfy -90 <= lat_min < lat_max <= 90; got {y0} and {y1}")
    if not (x0 < x1 <= x0 + 360.0):
        raise InputError(
            f"box longitudes must satisfy lon_min < lon_max <= lon_min + 360; got {x0} and {x1} "
            "(for a box across the antimeridian give e.g. 170 .. 200, not 170 .. -160)"
        )
    if not (-540.0 <= x0 and x1 <= 540.0):
        raise InputError(f"box longitudes must lie within -540 .. 540 degrees; got {x0} and {x1}")
    return b


def _check_detail(detail: str, b: tuple[float, float, float, float]) -> None:
    if detail not in LAND_RESOURCES:
        raise InputError(f"detail must be one of {sorted(LAND_RESOURCES)}; got {detail!r}")
    if detail == "10m":
        r0, s0, r1, s1 = WPACIFIC_10M_REGION
        x0, y0, x1, y1 = b
        if not (r0 <= x0 and x1 <= r1 and s0 <= y0 and y1 <= s1):
            raise InputError(
                f"detail '10m' covers only the western-Pacific islands in {WPACIFIC_10M_REGION} "
                f"(lon_min, lat_min, lon_max, lat_max); box {b} leaves it: use detail='50m'"
            )


def _query(tree_and_geoms, b, keep):
    """Geometries clipped to box b, gathered from the world copies shifted by -360, 0, +360."""
    geoms, tree = tree_and_geoms
    x0, y0, x1, y1 = b
    out = []
    for shift in _SHIFTS_DEG:
        q = box(x0 - shift, y0, x1 - shift, y1)  # the box in world coordinates
        if q.intersection(_WORLD).area == 0.0:
            continue
        for i in tree.query(q, predicate="intersects"):
            clipped = geoms[i].intersection(q)
            if shift != 0.0:
                clipped = shapely.transform(clipped, lambda xy, s=shift: xy + np.array([s, 0.0]))
            out += keep(clipped)
    return out


def land_polygons(
    lon_min: float, lat_min: float, lon_max: float, lat_max: float, *, detail: str = "50m"
) -> list[Polygon]:
    """Land inside a box, as shapely Polygons in (lon_deg, lat_deg), clipped to the box.

    ``detail="50m"``: Natural Earth 1:50m, the whole world. Longitudes may run
    past +-180 degrees (lon_min < lon_max <= lon_min + 360); polygons come back
    in the box's longitude range, and one crossing the antimeridian comes back
    as two pieces meeting there. ``detail="10m"``: the 1:10m islands inside
    :data:`WPACIFIC_10M_REGION` only (InputError if the box leaves it).
    """
    b = _check_box(lon_min, lat_min, lon_max, lat_max)
    _check_detail(detail, b)
    return _query(_world_land(detail), b, _polygon_parts)


def coastline_lines(bbox: Sequence[float], *, detail: str = "50m") -> list[np.ndarray]:
    """Coastline polylines inside ``bbox = (lon_min, lat_min, lon_max, lat_max)``, degrees.

    Returns a list of (M, 2) float arrays with columns (lon_deg, lat_deg), ready
    to draw. The lines are the land outlines of Natural Earth (``detail`` as in
    :func:`land_polygons`), clipped to the box; the artificial cut along the
    antimeridian and Antarctica's closure around the pole are left out.
    """
    try:
        lon_min, lat_min, lon_max, lat_max = bbox
    except (TypeError, ValueError):
        raise InputError(f"bbox must be (lon_min, lat_min, lon_max, lat_max) in degrees; got {bbox!r}") from None
    b = _check_box(lon_min, lat_min, lon_max, lat_max)
    _check_detail(detail, b)

    def keep(g):
        merged = shapely.line_merge(g) if g.geom_type == "MultiLineString" else g
        return [np.asarray(p.coords) for p in shapely.get_parts(merged) if p.geom_type == "LineString"]

    return _query(_world_coast(detail), b, keep)


# --- protected-area outlines -----------------------------------------------------------


class _Gnomonic:
    """Central projection of the Earth's surface from its centre onto the plane tangent at a centre point.

    Built from the same geocentric directions as :class:`GreatCirclePolygon`
    (:func:`rangeguard.earth.polygon.unit_vectors`), so a straight segment in
    this plane is exactly a great-circle edge as the engine evaluates it
    (Snyder, Map Projections: A Working Manual, USGS PP 1395, 1987, section 22:
    "all great circles are shown as straight lines"). Plane units are metres:
    tangent-plane coordinates times the equatorial radius a.

    Scale: a short surface step ds, at geocentric radius r, turns the
    geocentric direction by ds / r (to 1e-5: the surface is within 0.2 deg of
    perpendicular to the radius), which the plane shows as between
    (a / r) ds and (a / r) sec^2(theta) ds at central angle theta from the
    centre. As b <= r <= a, plane distances are never shorter than surface
    distances, and :meth:`scale_bound` (sec^2 theta_max / (1 - e^2), above the
    true bound sec^2 theta_max * a / b) is the factor by which a plane margin
    is grown so that it is at least the wanted surface margin.
    """

    def __init__(self, lon0_deg: float, lat0_deg: float) -> None:
        self.c = unit_vectors(lat0_deg, lon0_deg)
        east = np.cross([0.0, 0.0, 1.0], self.c)
        self.e = east / np.linalg.norm(east)
        self.n = np.cross(self.c, self.e)

    def forward(self, xy: np.ndarray) -> np.ndarray:
        """(M, 2) lon/lat degrees -> (M, 2) plane metres (points within 90 degrees of the centre)."""
        u = unit_vectors(xy[:, 1], xy[:, 0])
        w = u @ self.c
        return WGS84_A_M * np.column_stack([(u @ self.e) / w, (u @ self.n) / w])

    def inverse(self, xy: np.ndarray) -> np.ndarray:
        """(M, 2) plane metres -> (M, 2) lon/lat degrees of the surface points in those directions."""
        d = self.c + np.outer(xy[:, 0] / WGS84_A_M, self.e) + np.outer(xy[:, 1] / WGS84_A_M, self.n)
        lat = np.degrees(np.arctan2(d[:, 2], (1.0 - WGS84_E2) * np.hypot(d[:, 0], d[:, 1])))
        return np.column_stack([np.degrees(np.arctan2(d[:, 1], d[:, 0])), lat])

    def scale_bound(self, lon_lat: np.ndarray) -> float:
        """Largest plane-to-surface distance ratio near the given (M, 2) lon/lat points."""
        cos_theta = np.min(unit_vectors(lon_lat[:, 1], lon_lat[:, 0]) @ self.c)
        return 1.0 / (cos_theta * cos_theta * (1.0 - WGS84_E2))

    def project(self, geom: BaseGeometry) -> BaseGeometry:
        return shapely.transform(geom, self.forward)

    def unproject(self, geom: BaseGeometry) -> BaseGeometry:
        return shapely.transform(geom, self.inverse)


def _region(region) -> BaseGeometry:
    """A region given as a box or a shapely polygon, as a lon/lat geometry (checked)."""
    if isinstance(region, BaseGeometry):
        if region.is_empty or not region.is_valid or region.area <= 0.0:
            raise InputError("region must be a valid, non-empty shapely Polygon in lon/lat degrees")
        _check_box(*region.bounds)
        return region
    try:
        return box(*_check_box(*region))
    except TypeError:
        raise InputError(
            f"region must be (lon_min, lat_min, lon_max, lat_max) or a shapely Polygon; got {region!r}"
        ) from None


def land_in_region(region, *, detail: str = "50m", whole_islands: bool = False) -> BaseGeometry:
    """Union of the land inside a region (a box or a shapely Polygon), lon/lat degrees.

    ``whole_islands=False``: all land clipped to the region. ``True``: only the
    land polygons (islands) lying wholly inside the region, unclipped; larger
    land reaching outside it (e.g. Honshu seen from a box around Shikoku) is
    left out.
    """
    area = _region(region)
    x0, y0, x1, y1 = area.bounds
    pieces = land_polygons(x0, y0, x1, y1, detail=detail)
    if whole_islands:
        whole = shapely.union_all(pieces)  # rejoin islands cut only by the query box's edges
        land = [p for p in _polygon_parts(whole) if area.contains(p) and not _touches_box(p, (x0, y0, x1, y1))]
    else:
        land = [p for g in pieces for p in _polygon_parts(g.intersection(area))]
    if not land:
        raise InputError(f"no land inside the region {area.bounds}; check the box (lon, lat order)")
    return shapely.union_all(land)


def _touches_box(poly: Polygon, b: tuple[float, float, float, float]) -> bool:
    """True if the polygon reaches the box's edge (so it was cut there and is not a whole island)."""
    x0, y0, x1, y1 = poly.bounds
    return x0 <= b[0] or y0 <= b[1] or x1 >= b[2] or y1 >= b[3]


def _land_vertices(land: BaseGeometry) -> np.ndarray:
    """(M, 2) lon/lat of the exterior vertices of the land's polygons."""
    return np.concatenate([np.asarray(p.exterior.coords) for p in _polygon_parts(land)])


def clearance_km(lat_deg, lon_deg, land: BaseGeometry) -> np.ndarray:
    """Signed distance (km) from each exterior vertex of ``land`` to an outline's boundary.

    The outline (lat_deg, lon_deg) is read as a :class:`GreatCirclePolygon`
    (great-circle edges, distance along the WGS84 surface); positive inside,
    negative outside. ``land`` is a lon/lat geometry (e.g. from
    :func:`land_in_region`). Returns an (M,) array in the order of the land's
    polygons and their exterior rings.
    """
    pts = _land_vertices(land)
    gcp = GreatCirclePolygon(lat_deg, lon_deg)
    _, dist_m = gcp.evaluate(np.ascontiguousarray(pts[:, 1]), np.ascontiguousarray(pts[:, 0]), parallel=False)
    return dist_m / 1e3


def protected_area_outline(
    region,
    *,
    margin_km: float = 10.0,
    max_vertices: int = 200,
    bridge_km: float = 0.0,
    hull: bool = False,
    exclude: BaseGeometry | None = None,
    detail: str = "50m",
    whole_islands: bool = False,
    name: str = "area",
) -> tuple[list[float], list[float]]:
    """Outline of a protected area round the land inside a region: (lat_deg, lon_deg) lists.

    Parameters
    ----------
    region : (lon_min, lat_min, lon_max, lat_max) or shapely Polygon
        Where to take land from, lon/lat degrees: a box, or any polygon.
    margin_km : float
        Every land vertex of the region ends at least this far (along the WGS84
        surface) inside the outline, km.
    max_vertices : int
        Most vertices of the outline (the ring is returned open).
    bridge_km : float
        Closes bays and narrow straits: the grown land is grown by a further
        bridge_km and shrunk back by it (a morphological closing), which fills
        every gap a disc of that radius cannot enter. Joins islands whose
        margins nearly touch; for a chain of small islands use ``hull``.
    hull : bool
        Take the convex hull of the grown land (one piece, however far apart
        the islands are). Convex in the gnomonic plane, so convex with
        great-circle edges too.
    exclude : shapely geometry, optional
        Lon/lat region cut out of the outline after growing (e.g. a notch round
        a launch pad). Land inside it is not protected; land within one margin
        of it must only be inside.
    detail : "50m" or "10m"
        Which vendored land to use (see :func:`land_polygons`).
    whole_islands : bool
        Take only islands lying wholly inside the region (see :func:`land_in_region`).
    name : str
        For error messages.

    Method: the land is projected onto the gnomonic plane centred on the
    region (:class:`_Gnomonic`), where straight lines are exactly the
    great-circle edges of :class:`GreatCirclePolygon`. It is grown by
    k * margin, where k bounds the plane-to-surface scale over the land
    (sec^2 of its largest central angle from the centre, over 1 - e^2; at most
    about 1.04 for a region 1000 km in radius), joined (``bridge_km`` or
    ``hull``), its holes filled, grown by a further tol, ``exclude`` cut out,
    and simplified by Douglas-Peucker with tolerance tol, which moves the
    boundary by at most tol, so the land keeps at least the margin. Every
    growth is 0.5 % larger to make up for GEOS drawing buffer arcs as
    inscribed chords. tol starts at 1 % of the margin and grows by 1.5x until
    the ring has at most ``max_vertices`` vertices. The outline is returned
    counter-clockwise (seen from above).

    Checks before returning (InputError if one fails): the outline passes
    :meth:`GreatCirclePolygon.problems`, and, measured by GreatCirclePolygon's
    own signed distance, every land vertex of the region outside ``exclude``
    is inside it, those farther than a margin from ``exclude`` by at least
    ``margin_km``.
    """
    area = _region(region)
    if not (math.isfinite(margin_km) and margin_km > 0.0):
        raise InputError(f"{name}: margin_km must be a positive number of km; got {margin_km}")
    if not (math.isfinite(bridge_km) and bridge_km >= 0.0):
        raise InputError(f"{name}: bridge_km must be >= 0 km; got {bridge_km}")
    if int(max_vertices) < 4:
        raise InputError(f"{name}: max_vertices must be at least 4; got {max_vertices}")

    land = land_in_region(area, detail=detail, whole_islands=whole_islands)
    pts = _land_vertices(land)
    proj = _Gnomonic(area.centroid.x, area.centroid.y)
    land_m = proj.project(land)
    cut_m = proj.project(exclude) if exclude is not None else None
    margin_m = margin_km * 1e3 * proj.scale_bound(pts)
    bridge_m = bridge_km * 1e3

    # GEOS draws buffer arcs as inscribed chords, which fall short of the radius by up to
    # 1 - cos(pi / (4 quad_segs)) (0.5 %); grow by the radius over that, so the chords reach it.
    # Shrinking with inscribed chords removes less than the true radius, which is the safe side.
    grown = land_m.buffer((margin_m + bridge_m) / _ARC_CHORD, quad_segs=_QUAD_SEGS)
    if bridge_m > 0.0:
        grown = grown.buffer(-bridge_m, quad_segs=_QUAD_SEGS)
    if hull:
        grown = grown.convex_hull
    parts = _polygon_parts(grown)
    if len(parts) != 1:
        raise InputError(
            f"{name}: the land's margins form {len(parts)} separate pieces; raise bridge_km "
            f"(now {bridge_km}), use hull=True, or split the region"
        )
    base = Polygon(parts[0].exterior)
    tol_m = 0.01 * margin_m
    while True:
        shape = base.buffer(tol_m / _ARC_CHORD, quad_segs=_QUAD_SEGS)  # then simplifying by tol keeps the margin
        if cut_m is not None:
            parts = _polygon_parts(shape.difference(cut_m))
            if len(parts) != 1:
                raise InputError(f"{name}: `exclude` splits the area into {len(parts)} pieces; make it smaller")
            shape = parts[0]
        simple = Polygon(shape.exterior).simplify(tol_m, preserve_topology=True)
        if len(simple.exterior.coords) - 1 <= max_vertices:
            break
        if tol_m > margin_m:
            raise InputError(
                f"{name}: more than {max_vertices} vertices even with a simplification tolerance of "
                f"{tol_m / 1e3:.1f} km; raise max_vertices or make the region smaller"
            )
        tol_m *= 1.5

    outline = orient(proj.unproject(simple), 1.0)
    xy = np.asarray(outline.exterior.coords)[:-1]
    lat, lon = xy[:, 1].tolist(), xy[:, 0].tolist()
    found = GreatCirclePolygon.problems(lat, lon, name=name)
    if found:
        raise InputError("; ".join(found))
    dist_km = clearance_km(lat, lon, land)
    want_km = np.full(len(pts), margin_km)
    if exclude is not None:
        near = shapely.distance(cut_m, shapely.points(proj.forward(pts))) < margin_m
        want_km[near] = 0.0
        want_km[shapely.contains_xy(exclude, pts[:, 0], pts[:, 1])] = -np.inf
    short = np.flatnonzero(dist_km < want_km)
    if short.size:
        k = short[np.argmin(dist_km[short] - want_km[short])]
        raise InputError(
            f"{name}: land vertex ({pts[k, 1]:.4f} N, {pts[k, 0]:.4f} E) is {dist_km[k]:.3f} km inside the "
            f"outline (wanted {max(want_km[k], 0.0):.3f} km)"
        )
    return lat, lon

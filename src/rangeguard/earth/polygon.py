"""Polygons on the WGS84 Earth whose edges are great-circle arcs.

The boundary rules (IIP inclusion corridor, IIP exclusion area, present
position polygon) ask two questions every cycle: is a point inside, and how far
(metres along the Earth's surface) is it from the boundary.
:class:`GreatCirclePolygon` answers both for a batch of points.

Edge definition. Vertices are WGS84 geodetic (lat_deg, lon_deg). Each vertex is
turned into its *geocentric direction*: the unit vector from the Earth's
centre to the vertex on the ellipsoid surface (h = 0). The edge between two
vertices is the shorter arc of the great circle through those two directions,
i.e. the ellipsoid's section by the plane through the Earth's centre and both
vertices. This is neither a rhumb line nor a straight line in lat/lon: a
600 km edge between two points at 35 N bulges about 5 km poleward of the parallel.
A point is tested by its own geocentric direction (its altitude is ignored).

Why this definition: under the gnomonic projection (central projection from
the Earth's centre onto a plane tangent at a centre point c), planes through
the centre become straight lines, so every edge is exactly a straight segment
and the classic planar point-in-polygon test is exact there. The polygon must
lie within ``MAX_RADIUS_DEG`` of c (which makes it smaller than a hemisphere,
so "inside" is unambiguous); c is the launch site if given, otherwise the
normalized mean of the vertex directions. Points 90 degrees or more from c
cannot be inside and get a large negative distance.

Distance. The nearest boundary point is found on the unit sphere of geocentric
directions; its distance in metres is the central angle times the WGS84
geocentric radius in the direction midway between the point and its nearest
boundary point. Radial projection of the ellipsoid onto a sphere is conformal
to within about 6 ppm, so this is within 5e-5 (relative) of the WGS84 geodesic
(Karney, as in pyproj.Geod) out to 2500 km; the tests check 0.5 % / 50 m
against pyproj on densely sampled boundaries.

Speed. Nested uniform grids over the gnomonic plane (each level 4 times wider
than the one inside it, out to about 60 degrees from the centre) list, per
cell, the edges that can hold the nearest boundary point of any point in the
cell; far from the polygon the lists stay short because the distances to two
edges change at nearly the same rate there (a Lipschitz bound on their
difference). Everywhere else (off the grid, or in a cell whose list would be
long) a bounding-volume hierarchy over the edges (a balanced binary tree over
contiguous runs of ring edges, each node bounded by a line-swept sphere) finds
the nearest edge in about log2(V) bound tests, up to the far side of the
globe. See ``_polygon_kernels``. Every path returns the brute-force search's
answer bit for bit.
"""

from __future__ import annotations

import math
from typing import Any, TypeAlias, cast, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

from rangeguard.constants import DEG, WGS84_E2
from rangeguard.earth import _polygon_build as _b
from rangeguard.earth import _polygon_kernels as _k
from rangeguard.errors import InputError

MAX_RADIUS_DEG = 80.0
"""Largest central angle from the projection centre to any vertex, degrees."""

COINCIDENT_CHORD = 1e-9
"""Two vertices whose geocentric directions are closer than this chord (about
6 mm on the ground) are the same point."""

_MAX_REPORTED_CROSSINGS = 10
_GRID_EXPANSION = 0.5  # the finest grid extends this multiple of the polygon's size beyond each side
_GRID_CELLS_PER_EDGE = 16  # finest-level cells over the polygon's own bounding square, per edge
_GRID_MIN_SIDE = 8
_GRID_MAX_SIDE = 256
_GRID_LEVEL_GROWTH = 4  # each coarser level is this much wider (same number of cells)
_GRID_MAX_LEVELS = 4
_GRID_REACH_DEG = 60.0  # add levels until the grid reaches this far from the centre
_GRID_MAX_CELL_EDGES = 100_000_000  # cells x edges an automatic grid may test when built (~1 s, 100 MB); see below

_Ring: TypeAlias = tuple[list[str], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]
"""What :meth:`GreatCirclePolygon._check` returns when the vertices could be read: (problems, lat, lon, centre)."""
_Failed: TypeAlias = tuple[list[str], None, None, None]
"""What it returns when they could not: (problems, None, None, None)."""


def unit_vectors(lat_deg: ArrayLike, lon_deg: ArrayLike) -> NDArray[np.float64]:
    """Geocentric unit vectors (..., 3) of WGS84 surface points (the directions the edges join)."""
    lat_deg = np.asarray(lat_deg, dtype=np.float64)
    lon_deg = np.asarray(lon_deg, dtype=np.float64)
    lat = lat_deg * DEG
    lon = lon_deg * DEG
    u = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), (1.0 - WGS84_E2) * np.sin(lat)], axis=-1)
    unit: NDArray[np.float64] = u / np.linalg.norm(u, axis=-1, keepdims=True)
    return unit


def _gnomonic_axes(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """East and north unit axes of the plane tangent to the unit sphere at c."""
    east = np.cross([0.0, 0.0, 1.0], c)
    norm = np.linalg.norm(east)
    east = np.array([0.0, 1.0, 0.0]) if norm < 1e-12 else east / norm
    return east, np.cross(c, east)


class GreatCirclePolygon:
    """A closed region of the Earth bounded by great-circle arcs.

    Parameters
    ----------
    lat_deg, lon_deg : array_like, shape (V,)
        WGS84 geodetic vertices, degrees. Open or closed ring (a last vertex
        equal to the first is dropped); either winding; at least 3 distinct
        vertices; edges must not cross or touch.
    name : str
        Used in error messages ("polygon 'kii': edges 2 and 5 cross").
    center_lat_deg, center_lon_deg : float, optional
        Centre of the gnomonic projection (e.g. the launch site). Default: the
        normalized mean of the vertex directions. Every vertex must be within
        ``MAX_RADIUS_DEG`` of it.
    grid_side : int, optional
        Cells per side of each level of the near-field grid (default: about
        16 cells per edge over the polygon's bounding square, 8..256, fewer
        or none when cells x edges would pass 10^8). The
        finest level spans the polygon plus half its size on each side; each
        coarser level is 4 times wider, until the grid reaches 60 degrees from
        the centre (at most 4 levels). Points off the grid, and in cells with
        more than 48 candidate edges, use the edge tree. 0 disables the grid.

    Raises
    ------
    InputError
        Listing every problem :meth:`problems` finds.

    Validation costs O(V log V) (crossing edges: an R-tree over the edges'
    bounding boxes; coincident vertices: a sort; about 0.1 s for 20 000
    vertices); the grid O(cells x V) (~0.1 s for 200 vertices; an automatic
    grid is kept under 10^8 cell-edge tests, so large outlines get a coarser
    grid or none), the edge tree O(V log V) (~1 ms); a query O(candidates) in
    the grid, O(log V) elsewhere.
    """

    def __init__(
        self,
        lat_deg: ArrayLike,
        lon_deg: ArrayLike,
        *,
        name: str = "polygon",
        center_lat_deg: float | None = None,
        center_lon_deg: float | None = None,
        grid_side: int | None = None,
    ) -> None:
        # cast: the arrays are None only with problems found, and then the polygon is not built
        found, lat, lon, center = cast(_Ring, self._check(lat_deg, lon_deg, name, center_lat_deg, center_lon_deg))
        if found:
            raise InputError("; ".join(found))
        self.name = name
        u = unit_vectors(lat, lon)
        east, north = _gnomonic_axes(center)
        w = u @ center
        x, y = (u @ east) / w, (u @ north) / w
        if _shoelace(x, y) < 0.0:  # store counter-clockwise (seen from outside the Earth)
            lat, lon, u, x, y = lat[::-1], lon[::-1], u[::-1], x[::-1], y[::-1]
        self._lat_deg = np.ascontiguousarray(lat)
        self._lon_deg = np.ascontiguousarray(lon)
        self._edges = _b.edge_table(np.ascontiguousarray(u))
        self._center = center
        self._tf, self._ti = _b.build_tree(np.ascontiguousarray(u), _k.TREE_LEAF_EDGES)
        self._gp, self._cell_start, self._cell_edges = _build_grid(
            self._edges, center, east, north, x, y, self._grid_side(grid_side, len(lat)), auto=grid_side is None
        )

    # --- validation ------------------------------------------------------------

    @classmethod
    def problems(
        cls,
        lat_deg: ArrayLike,
        lon_deg: ArrayLike,
        *,
        name: str = "polygon",
        center_lat_deg: float | None = None,
        center_lon_deg: float | None = None,
    ) -> list[str]:
        """Every problem that would stop the polygon being built; [] if none.

        Each string starts with "polygon '<name>': " and says what to fix.
        Vertex and edge indices are 0-based positions in the given arrays;
        edge k joins vertices k and k+1.
        """
        return cls._check(lat_deg, lon_deg, name, center_lat_deg, center_lon_deg)[0]

    @staticmethod
    def _check(
        lat_deg: ArrayLike,
        lon_deg: ArrayLike,
        name: str,
        center_lat_deg: float | None,
        center_lon_deg: float | None,
    ) -> _Ring | _Failed:
        """(problems, lat, lon, centre unit vector) with the closing vertex dropped."""
        tag = f"polygon {name!r}: "
        try:
            lat = np.asarray(lat_deg, dtype=np.float64)
            lon = np.asarray(lon_deg, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            return _failed(tag + f"vertices must be numbers in degrees ({exc})")
        if lat.ndim != 1 or lon.ndim != 1 or lat.shape != lon.shape:
            return _failed(
                tag + f"lat_deg and lon_deg must be 1-D lists of equal length; got shapes {lat.shape} and {lon.shape}"
            )
        found: list[str] = []
        bad = np.flatnonzero(~(np.isfinite(lat) & np.isfinite(lon)))
        if bad.size:
            found.append(tag + f"vertices {bad.tolist()} are not finite numbers")
        bad = np.flatnonzero(np.isfinite(lat) & (np.abs(lat) > 90.0))
        if bad.size:
            found.append(tag + f"vertices {bad.tolist()} have latitude outside -90..90 degrees")
        if found:
            return _failed(*found)
        u = unit_vectors(lat, lon)
        if len(lat) >= 2 and np.linalg.norm(u[-1] - u[0]) < COINCIDENT_CHORD:
            lat, lon, u = lat[:-1], lon[:-1], u[:-1]  # closed ring
        v = len(lat)
        if v < 3:
            return _failed(tag + f"needs at least 3 distinct vertices; got {v}")
        pairs, total, complete = _b.coincident_vertices(u, COINCIDENT_CHORD, _MAX_REPORTED_CROSSINGS)
        for a, b in pairs.tolist():
            adjacent = b == a + 1 or (a == 0 and b == v - 1)
            kind = "repeated (remove one)" if adjacent else "the same point (the ring touches itself)"
            found.append(tag + f"vertices {a} and {b} are {kind}")
        if total > len(pairs):
            found.append(tag + f"... and {_more(total - len(pairs), complete)} more pairs of coincident vertices")
        if (center_lat_deg is None) != (center_lon_deg is None):
            found.append(tag + "give both center_lat_deg and center_lon_deg, or neither")
        if found:
            return _failed(*found)
        if center_lat_deg is None:
            mean = u.sum(axis=0)
            if np.linalg.norm(mean) < 1e-9 * v:
                return _failed(tag + "vertices surround the Earth; give center_lat_deg/center_lon_deg")
            center = mean / np.linalg.norm(mean)
        else:
            # cast: both or neither are given (checked above)
            c_lat, c_lon = float(center_lat_deg), float(cast(float, center_lon_deg))
            if not (math.isfinite(c_lat) and math.isfinite(c_lon) and abs(c_lat) <= 90.0):
                return _failed(tag + f"projection centre ({c_lat}, {c_lon}) is not a valid lat/lon in degrees")
            center = unit_vectors(np.array([c_lat]), np.array([c_lon]))[0]
        angle_deg = np.degrees(np.arccos(np.clip(u @ center, -1.0, 1.0)))
        far = np.flatnonzero(angle_deg >= MAX_RADIUS_DEG)
        if far.size:
            return _failed(
                tag + f"vertices {far.tolist()} are up to {angle_deg.max():.1f} degrees from the projection centre; "
                f"a polygon must fit within {MAX_RADIUS_DEG:.0f} degrees of it (split the polygon or move the centre)"
            )
        east, north = _gnomonic_axes(center)
        w = u @ center
        x, y = (u @ east) / w, (u @ north) / w
        crossings, folds = _crossing_problems(tag, x, y)
        span = max(x.max() - x.min(), y.max() - y.min())
        if not crossings and abs(_shoelace(x, y)) <= 1e-12 * span * span:
            found.append(tag + "has zero area (all vertices lie on one great circle)")
        else:
            found += crossings + folds
        return found, lat, lon, center

    @staticmethod
    def _grid_side(grid_side: int | None, n_edges: int) -> int:
        if grid_side is not None:
            if int(grid_side) < 0:
                raise InputError(f"grid_side must be >= 0 (0 disables the grid); got {grid_side}")
            return int(grid_side)
        side = math.ceil(math.sqrt(_GRID_CELLS_PER_EDGE * n_edges) * (1.0 + 2.0 * _GRID_EXPANSION))
        return min(max(side, _GRID_MIN_SIDE), _GRID_MAX_SIDE)

    # --- queries ---------------------------------------------------------------

    @overload
    def evaluate(
        self, lat_deg: NDArray[Any], lon_deg: NDArray[Any], *, use_grid: bool = ..., parallel: bool = ...
    ) -> tuple[NDArray[np.bool_], NDArray[np.float64]]: ...
    @overload
    def evaluate(
        self, lat_deg: ArrayLike, lon_deg: ArrayLike, *, use_grid: bool = ..., parallel: bool = ...
    ) -> tuple[np.bool_, np.float64] | tuple[NDArray[np.bool_], NDArray[np.float64]]: ...
    def evaluate(
        self, lat_deg: ArrayLike, lon_deg: ArrayLike, *, use_grid: bool = True, parallel: bool = True
    ) -> tuple[np.bool_, np.float64] | tuple[NDArray[np.bool_], NDArray[np.float64]]:
        """(contains, signed_distance_m) for points.

        Parameters
        ----------
        lat_deg, lon_deg : float or array_like, shape () or (N,)
            WGS84 geodetic position, degrees (altitude is ignored: the test is
            on the point's geocentric direction). Broadcast against each other.
        use_grid : bool
            False searches all edges instead of the grid and the edge tree
            (same answers, bit for bit; for testing).
        parallel : bool
            Use numba's thread pool for batches of 2048 points or more. Pass
            False when the caller already spreads work over the cores (or the
            cores are shared: a parallel call waits for its slowest thread).

        Returns
        -------
        contains : bool, same shape
            Strictly inside (a point exactly on the boundary is not inside).
        signed_distance_m : float, same shape
            Distance along the Earth's surface to the nearest boundary point,
            metres; positive inside, negative outside. NaN (and contains False)
            where lat or lon is NaN or |lat| > 90.
        """
        if isinstance(lat_deg, float) and isinstance(lon_deg, float):  # onboard fast path (float, np.float64)
            inside_one, dist_one = _k.evaluate_one(
                lat_deg, lon_deg, self._edges, self._gp, self._cell_start, self._cell_edges, self._tf, self._ti,
                use_grid,
            )  # fmt: skip
            return np.bool_(inside_one), np.float64(dist_one)
        lat = np.asarray(lat_deg, dtype=np.float64)
        lon = np.asarray(lon_deg, dtype=np.float64)
        if lat.ndim == 1 and lat.shape == lon.shape and lat.flags.c_contiguous and lon.flags.c_contiguous:
            return _k.evaluate_many(
                lat, lon, self._edges, self._gp, self._cell_start, self._cell_edges, self._tf, self._ti, use_grid,
                parallel,
            )  # fmt: skip
        if lat.ndim > 1 or lon.ndim > 1:
            raise InputError(f"lat_deg and lon_deg must have shape () or (N,); got {lat.shape} and {lon.shape}")
        try:
            lat_b, lon_b = np.broadcast_arrays(lat, lon)
        except ValueError:
            raise InputError(f"lat_deg {lat.shape} and lon_deg {lon.shape} do not broadcast together") from None
        shape = lat_b.shape
        inside, dist = _k.evaluate_many(
            np.ascontiguousarray(lat_b.reshape(-1)),
            np.ascontiguousarray(lon_b.reshape(-1)),
            self._edges,
            self._gp,
            self._cell_start,
            self._cell_edges,
            self._tf,
            self._ti,
            use_grid,
            parallel,
        )
        return inside.reshape(shape), dist.reshape(shape)

    def evaluate_units(self, u: ArrayLike, *, parallel: bool = True) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
        """(contains, signed_distance_m) for points given as geocentric unit vectors (N, 3).

        The same answers, bit for bit, as :meth:`evaluate` on the latitudes and
        longitudes the vectors were made from with :func:`unit_vectors` (or the
        kernel's ``unit_vector``); for callers that test one point against
        several polygons and convert it once. NaN rows give (False, NaN).
        """
        u = np.ascontiguousarray(u, dtype=np.float64)
        if u.ndim != 2 or u.shape[1] != 3:
            raise InputError(f"u must have shape (N, 3); got {u.shape}")
        return _k.evaluate_units(
            u, self._edges, self._gp, self._cell_start, self._cell_edges, self._tf, self._ti, True, parallel
        )

    @overload
    def contains(self, lat_deg: NDArray[Any], lon_deg: NDArray[Any]) -> NDArray[np.bool_]: ...
    @overload
    def contains(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> np.bool_ | NDArray[np.bool_]: ...
    def contains(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> np.bool_ | NDArray[np.bool_]:
        """True where (lat_deg, lon_deg) is strictly inside; shape () or (N,). See :meth:`evaluate`."""
        return self.evaluate(lat_deg, lon_deg)[0]

    @overload
    def signed_distance_m(self, lat_deg: NDArray[Any], lon_deg: NDArray[Any]) -> NDArray[np.float64]: ...
    @overload
    def signed_distance_m(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> np.float64 | NDArray[np.float64]: ...
    def signed_distance_m(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> np.float64 | NDArray[np.float64]:
        """Signed distance to the boundary, m (+ inside, - outside); shape () or (N,). See :meth:`evaluate`."""
        return self.evaluate(lat_deg, lon_deg)[1]

    # --- description -------------------------------------------------------------

    @property
    def lat_deg(self) -> np.ndarray:
        """Vertex latitudes, degrees, counter-clockwise (seen from above), ring not closed."""
        return self._lat_deg.copy()

    @property
    def lon_deg(self) -> np.ndarray:
        """Vertex longitudes, degrees, in the same order as :attr:`lat_deg`."""
        return self._lon_deg.copy()

    @property
    def center_lat_lon_deg(self) -> tuple[float, float]:
        """Geodetic (lat_deg, lon_deg) of the gnomonic projection centre."""
        c = self._center
        return math.degrees(math.atan2(c[2], (1.0 - WGS84_E2) * math.hypot(c[0], c[1]))), math.degrees(
            math.atan2(c[1], c[0])
        )

    def densified_boundary(self, max_step_deg: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
        """Closed ring (lat_deg, lon_deg) with points along each great-circle edge
        no more than ``max_step_deg`` (central angle) apart: for maps and KML,
        where renderers would otherwise draw lat/lon-straight edges."""
        if not max_step_deg > 0.0:
            raise InputError(f"max_step_deg must be > 0; got {max_step_deg}")
        a = self._edges[:, _k.A_ : _k.A_ + 3]
        b = self._edges[:, _k.B_ : _k.B_ + 3]
        pieces = []
        for ak, bk in zip(a, b, strict=True):
            omega = math.atan2(np.linalg.norm(np.cross(ak, bk)), ak @ bk)
            m = max(1, math.ceil(omega / (max_step_deg * DEG)))
            t = np.arange(m)[:, None] / m  # slerp, end vertex is the next edge's start
            pieces.append((np.sin((1 - t) * omega) * ak + np.sin(t * omega) * bk) / math.sin(omega))
        pieces.append(a[:1])
        p = np.concatenate(pieces)
        lat = np.degrees(np.arctan2(p[:, 2], (1.0 - WGS84_E2) * np.hypot(p[:, 0], p[:, 1])))
        return lat, np.degrees(np.arctan2(p[:, 1], p[:, 0]))

    def __repr__(self) -> str:
        return f"GreatCirclePolygon(name={self.name!r}, vertices={len(self._lat_deg)})"


def _failed(*problems: str) -> _Failed:
    return list(problems), None, None, None


def _build_grid(
    edges: NDArray[np.float64],
    center: NDArray[np.float64],
    east: np.ndarray,
    north: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    side: int,
    auto: bool = False,
) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int32]]:
    """Grid parameter vector and CSR candidate lists (see ``_polygon_kernels``).

    Building tests every edge in every cell, so an ``auto`` grid is made coarser
    (or left out: the edge tree then answers every query) when cells x edges
    would exceed ``_GRID_MAX_CELL_EDGES``: from about 400 vertices on.
    """
    levels: list[float] = []
    if side > 0:
        span = max(x.max() - x.min(), y.max() - y.min())
        half = 0.5 * span * (1.0 + 2.0 * _GRID_EXPANSION)
        cx, cy = 0.5 * (x.max() + x.min()), 0.5 * (y.max() + y.min())
        reach = math.tan(math.radians(_GRID_REACH_DEG))
        while True:
            levels.append(half)
            if len(levels) == _GRID_MAX_LEVELS or half - math.hypot(cx, cy) >= reach:
                break
            half *= _GRID_LEVEL_GROWTH
    if auto and levels and side * side * len(levels) * len(edges) > _GRID_MAX_CELL_EDGES:
        side = int(math.sqrt(_GRID_MAX_CELL_EDGES / (len(levels) * len(edges))))
        if side < _GRID_MIN_SIDE:
            levels = []
    gp = np.zeros(_k.grid_params_size(len(levels)))
    gp[_k.GP_C : _k.GP_C + 3] = center
    gp[_k.GP_E : _k.GP_E + 3] = east
    gp[_k.GP_N : _k.GP_N + 3] = north
    gp[_k.GP_NLEV] = len(levels)
    skip_boxes = np.full((len(levels), 4), np.nan)  # NaN box: skip nothing
    for lev, half in enumerate(levels):
        o = _k.GP_LEV + _k.LEVEL_SIZE * lev
        gp[o + _k.LV_X0], gp[o + _k.LV_Y0] = cx - half, cy - half
        gp[o + _k.LV_INV_D] = side / (2.0 * half)
        gp[o + _k.LV_SIDE] = side
        gp[o + _k.LV_FIRST] = lev * side * side
        if lev > 0:
            inner = levels[lev - 1] * (1.0 - 2.0 / side)
            skip_boxes[lev] = cx - inner, cy - inner, cx + inner, cy + inner
    if not levels:
        return gp, np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int32)
    u = np.ascontiguousarray(edges[:, _k.A_ : _k.A_ + 3])
    cell_start, cell_edges = _b.build_grid(edges, gp, skip_boxes, _b.boundary_cap(u))
    return gp, cell_start, cell_edges


def _shoelace(x: np.ndarray, y: np.ndarray) -> float:
    """Twice the signed area of a planar ring (positive counter-clockwise)."""
    return float(np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y))


def _crossing_problems(tag: str, x: np.ndarray, y: np.ndarray) -> tuple[list[str], list[str]]:
    """(non-adjacent edges that cross or touch, adjacent edges that fold back over each other)."""
    folds = []
    v = len(x)
    dx, dy = np.roll(x, -1) - x, np.roll(y, -1) - y
    nxt = (np.arange(v) + 1) % v
    cross = dx * dy[nxt] - dy * dx[nxt]
    dot = dx * dx[nxt] + dy * dy[nxt]
    scale = np.hypot(dx, dy) * np.hypot(dx[nxt], dy[nxt])
    for k in np.flatnonzero((np.abs(cross) <= 1e-14 * scale) & (dot < 0.0)).tolist():
        j = (k + 1) % v
        folds.append(tag + f"edges {k} and {j} overlap (the ring turns back on itself at vertex {j})")
    pairs, total, complete = _b.crossing_edges(x, y, _MAX_REPORTED_CROSSINGS)
    found = []
    for i, j in pairs.tolist():
        found.append(
            tag + f"edges {i} (vertices {i}-{(i + 1) % v}) and {j} (vertices {j}-{(j + 1) % v}) cross or touch"
        )
    if total > len(pairs):
        found.append(tag + f"... and {_more(total - len(pairs), complete)} more crossing edge pairs")
    return found, folds


def _more(n: int, complete: bool) -> str:
    return str(n) if complete else f"at least {n}"

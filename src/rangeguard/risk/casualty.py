"""Casualty areas of inert debris, impact distributions of fragment groups, and expected casualties.

Model (FAA Flight Safety Analysis Handbook v1.0, 2011, and RCC 321 "Common Risk Criteria Standards
for National Test Ranges", supplement; see design/risk.md):

* A fragment of plan area A_f (equivalent radius R_f = sqrt(A_f / pi)) falling at angle gamma from
  the horizontal on an unsheltered standing person (a cylinder of radius R_p and height H_p) is a
  casualty if their outlines meet: the casualty area is
  A_c = pi (R_p + R_f)^2 + 2 (R_p + R_f) H_p / tan(gamma)  (the second term: the swept shadow of the
  person along the fragment's path; zero for a vertical fall).
* A fragment group (n similar fragments) lands with an impact distribution: sampled impact points
  and a bivariate normal fitted to them in a local east/north plane.
* With P_k the probability that one fragment lands in population cell k (area S_k, N_k people spread
  uniformly), a person in cell k is hit on average lambda_k = n A_c P_k / S_k times, and the expected
  number of casualties is E_c = sum_k N_k lambda_k = sum_k n A_c D_k P_k (D_k = N_k / S_k, people/m^2).
  The individual probability of casualty in cell k is P_c = 1 - exp(-lambda_k) (Poisson hits); the
  handbook's small-probability form is lambda_k itself (the two agree to first order).

The local plane is equirectangular at the distribution's mean (phi0, lambda0):
east = N(phi0) cos(phi0) (lambda - lambda0), north = M(phi0) (phi - phi0), with the WGS84 radii of
curvature M, N. Being linear in latitude and longitude, it maps a population cell to an exact
rectangle, so the normal's probability over a cell is a rectangle probability of a bivariate normal,
evaluated exactly with Owen's T function (:func:`_bvn_cdf`). Its scale error away from the mean grows as
(distance / Earth radius) * tan(phi0): about 0.1 % at 10 km and 35 deg latitude.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import ndtr, owens_t

from rangeguard.constants import DEG, PERSON_HEIGHT_M, PERSON_RADIUS_M
from rangeguard.errors import InputError
from rangeguard.risk.population import FULL_TURN_DEG, QUARTER_TURN_DEG, PopulationGrid, local_radii_m

VERTICAL_DEG = 90.0
"""A vertical impact, degrees from the horizontal."""
_MAX_CORRELATION = 1.0 - 1e-10
"""|rho| beyond this is a degenerate (line-like) normal: refused, use the sampled points instead."""
WINDOW_SIGMAS = 8.0
"""A normal gives no probability to cells farther than this many standard deviations (of its larger
axis) from its mean: its mass beyond is below exp(-8^2 / 2) ~ 1.3e-14 (chi-square, 2 degrees of freedom)."""
SMALL_CELL_SIGMAS = 0.05
"""A cell narrower than this many standard deviations along both axes of a normal gets the midpoint rule
(see _rect_probability)."""
_MIN_FIT_POINTS = 3
"""A 2x2 covariance needs at least three impact points that are not on one line."""

Method = Literal["normal", "samples", "auto"]
"""How a group's impact probability per cell is taken: from its fitted normal, from its samples, or
``auto``: the normal unless the cloud is wider than ``WIDE_CLOUD_M`` (and has samples)."""
WIDE_CLOUD_M = 100_000.0
"""A cloud whose fitted normal has a standard deviation above this (m) along its major axis is judged
by its samples under ``method="auto"``: the local plane's scale error reaches about 1 % at 100 km
(module docstring), and a wide cloud (fragments thrown from high and fast, strung along the ground
track) is far from normal; its samples keep its shape, and the spikes of single samples in a cell are
light (each carries 1 / n of the group)."""


def casualty_area_m2(
    fragment_area_m2: ArrayLike,
    impact_angle_deg: ArrayLike = VERTICAL_DEG,
    person_radius_m: float = PERSON_RADIUS_M,
    person_height_m: float = PERSON_HEIGHT_M,
) -> NDArray[np.float64]:
    """Basic casualty area (m^2) of inert fragments on an unsheltered standing person.

    A_c = pi (R_p + R_f)^2 + 2 (R_p + R_f) H_p / tan(gamma), R_f = sqrt(A_f / pi), gamma the impact
    angle from the horizontal in (0, 90] degrees (90: vertical, the swept term vanishes). Vectorised:
    ``fragment_area_m2`` and ``impact_angle_deg`` broadcast. Sources in the module docstring.
    """
    area = np.asarray(fragment_area_m2, dtype=np.float64)
    gamma = np.asarray(impact_angle_deg, dtype=np.float64)
    if not np.all(np.isfinite(area)) or np.any(area < 0.0):
        raise InputError("casualty_area_m2: fragment_area_m2 must be finite and >= 0")
    if not np.all((gamma > 0.0) & (gamma <= VERTICAL_DEG)):
        raise InputError("casualty_area_m2: impact_angle_deg must be in (0, 90] degrees from the horizontal")
    if not (person_radius_m >= 0.0 and person_height_m >= 0.0):
        raise InputError("casualty_area_m2: person_radius_m and person_height_m must be >= 0")
    reach_m = person_radius_m + np.sqrt(area / math.pi)
    cot = np.where(gamma == VERTICAL_DEG, 0.0, np.cos(gamma * DEG) / np.sin(gamma * DEG))
    return np.asarray(math.pi * reach_m**2 + 2.0 * reach_m * person_height_m * cot, dtype=np.float64)


def _wrap_lon_deg(dlon_deg: NDArray[np.float64]) -> NDArray[np.float64]:
    """Longitude differences in [-180, 180)."""
    return np.asarray((dlon_deg + 0.5 * FULL_TURN_DEG) % FULL_TURN_DEG - 0.5 * FULL_TURN_DEG, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class BivariateNormal:
    """A bivariate normal impact distribution in the local east/north plane at its mean.

    ``cov_en_m2`` is the 2x2 covariance of (east, north) in m^2; the plane is described in the module
    docstring.
    """

    mean_lat_deg: float
    mean_lon_deg: float
    cov_en_m2: NDArray[np.float64]

    def __post_init__(self) -> None:
        cov = np.array(self.cov_en_m2, dtype=np.float64, copy=True)
        if cov.shape != (2, 2) or not np.all(np.isfinite(cov)) or cov[0, 1] != cov[1, 0]:
            raise InputError(f"BivariateNormal: cov_en_m2 must be a finite symmetric 2x2 matrix, got {cov!r}")
        if not (cov[0, 0] > 0.0 and cov[1, 1] > 0.0):
            raise InputError(f"BivariateNormal: variances must be > 0, got {cov[0, 0]}, {cov[1, 1]} m^2")
        if abs(cov[0, 1]) / math.sqrt(cov[0, 0] * cov[1, 1]) > _MAX_CORRELATION:
            raise InputError("BivariateNormal: the covariance is degenerate (|correlation| ~ 1); use the samples")
        if not (abs(self.mean_lat_deg) < QUARTER_TURN_DEG and math.isfinite(self.mean_lon_deg)):
            raise InputError(f"BivariateNormal: mean ({self.mean_lat_deg}, {self.mean_lon_deg}) is not a valid place")
        cov.setflags(write=False)
        object.__setattr__(self, "cov_en_m2", cov)
        object.__setattr__(self, "mean_lat_deg", float(self.mean_lat_deg))
        object.__setattr__(self, "mean_lon_deg", float(self.mean_lon_deg))

    @classmethod
    def circular(cls, lat_deg: float, lon_deg: float, sigma_m: float) -> BivariateNormal:
        """A circular normal: standard deviation ``sigma_m`` east and north, no correlation."""
        return cls(lat_deg, lon_deg, np.diag([sigma_m**2, sigma_m**2]))

    @property
    def sigma_en_m(self) -> tuple[float, float]:
        """Standard deviations east and north, m."""
        return math.sqrt(self.cov_en_m2[0, 0]), math.sqrt(self.cov_en_m2[1, 1])

    @property
    def correlation(self) -> float:
        sigma_e, sigma_n = self.sigma_en_m
        return float(self.cov_en_m2[0, 1]) / (sigma_e * sigma_n)

    def _scales_m_per_deg(self) -> tuple[float, float]:
        m_m, n_m = local_radii_m(self.mean_lat_deg)
        return float(n_m) * math.cos(self.mean_lat_deg * DEG) * DEG, float(m_m) * DEG

    def to_plane(self, lat_deg: ArrayLike, lon_deg: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(east_m, north_m) of points in this distribution's plane (longitudes wrapped to +-180 of the mean)."""
        east_per_deg, north_per_deg = self._scales_m_per_deg()
        dlon = _wrap_lon_deg(np.asarray(lon_deg, dtype=np.float64) - self.mean_lon_deg)
        return dlon * east_per_deg, (np.asarray(lat_deg, dtype=np.float64) - self.mean_lat_deg) * north_per_deg

    def from_plane(self, east_m: ArrayLike, north_m: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(lat_deg, lon_deg) of plane points: the inverse of :meth:`to_plane` (longitudes not wrapped)."""
        east_per_deg, north_per_deg = self._scales_m_per_deg()
        lat = self.mean_lat_deg + np.asarray(north_m, dtype=np.float64) / north_per_deg
        return lat, self.mean_lon_deg + np.asarray(east_m, dtype=np.float64) / east_per_deg


def fit_bivariate_normal(lat_deg: ArrayLike, lon_deg: ArrayLike, weights: ArrayLike | None = None) -> BivariateNormal:
    """Fit a :class:`BivariateNormal` to impact points (method of moments).

    The mean is the weighted mean latitude and the weighted mean longitude, unwrapped around the
    points' circular mean (so a cloud across the antimeridian is one cloud); it is also the mean in
    the plane, which is linear in latitude and longitude. The covariance is the weighted sample
    covariance of (east, north) with the unbiased correction for reliability weights,
    sum w_i d_i d_i^T / (1 - sum w_i^2) with sum w_i = 1 (n/(n-1) for equal weights).
    """
    lat = np.asarray(lat_deg, dtype=np.float64).reshape(-1)
    lon = np.asarray(lon_deg, dtype=np.float64).reshape(-1)
    w = _weights(weights, lat.size)
    if lat.size != lon.size or lat.size < _MIN_FIT_POINTS:
        raise InputError(f"fit_bivariate_normal: needs >= {_MIN_FIT_POINTS} points with as many lat as lon values")
    if not (np.all(np.isfinite(lat)) and np.all(np.isfinite(lon)) and np.all(np.abs(lat) < QUARTER_TURN_DEG)):
        raise InputError("fit_bivariate_normal: impact latitudes/longitudes must be finite and off the poles")
    lon_c = math.atan2(float(w @ np.sin(lon * DEG)), float(w @ np.cos(lon * DEG))) / DEG
    lon_unwrapped = lon_c + _wrap_lon_deg(lon - lon_c)
    mean_lat = float(w @ lat)
    mean_lon = float(w @ lon_unwrapped)
    m_m, n_m = local_radii_m(mean_lat)
    d = np.stack(
        [(lon_unwrapped - mean_lon) * DEG * float(n_m) * math.cos(mean_lat * DEG), (lat - mean_lat) * DEG * float(m_m)]
    )
    cov = (d * w) @ d.T / (1.0 - float(w @ w))
    cov[1, 0] = cov[0, 1]
    return BivariateNormal(mean_lat, _wrap_lon_deg(np.asarray(mean_lon)).item(), cov)


def _weights(weights: ArrayLike | None, n: int) -> NDArray[np.float64]:
    """Weights normalised to sum 1 (equal weights if None)."""
    if weights is None:
        return np.full(n, 1.0 / n, dtype=np.float64) if n > 0 else np.zeros(0, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.size != n or not np.all(np.isfinite(w)) or np.any(w < 0.0) or not w.sum() > 0.0:
        raise InputError(f"impact weights: need {n} finite weights >= 0 with a positive sum")
    return np.asarray(w / w.sum(), dtype=np.float64)


@dataclass(frozen=True, eq=False)
class ImpactDistribution:
    """Where the fragments of one group land: sampled impact points (with weights) and a fitted normal.

    Build it with :meth:`from_samples` (fits the normal) or :meth:`from_normal` (no samples; only
    ``method="normal"`` can then be used). ``weights`` are normalised to sum 1.
    """

    normal: BivariateNormal
    lat_deg: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    lon_deg: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))
    weights: NDArray[np.float64] = field(default_factory=lambda: np.zeros(0))

    @classmethod
    def from_samples(
        cls, lat_deg: ArrayLike, lon_deg: ArrayLike, weights: ArrayLike | None = None
    ) -> ImpactDistribution:
        lat = np.array(lat_deg, dtype=np.float64, copy=True).reshape(-1)
        lon = np.array(lon_deg, dtype=np.float64, copy=True).reshape(-1)
        normal = fit_bivariate_normal(lat, lon, weights)
        w = _weights(weights, lat.size)
        for a in (lat, lon, w):
            a.setflags(write=False)
        return cls(normal, lat, lon, w)

    @classmethod
    def from_normal(cls, normal: BivariateNormal) -> ImpactDistribution:
        return cls(normal)

    @property
    def n_samples(self) -> int:
        return int(self.lat_deg.size)


def _bvn_cdf(h: NDArray[np.float64], k: NDArray[np.float64], rho: NDArray[np.float64]) -> NDArray[np.float64]:
    """Standard bivariate normal CDF Phi2(h, k; rho), exactly, with Owen's T function.

    Phi2 = [Phi(h) + Phi(k)] / 2 - T(h, a_h) - T(k, a_k) - beta, a_h = (k - rho h) / (h s),
    a_k = (h - rho k) / (k s), s = sqrt(1 - rho^2), beta = 1/2 if h k < 0 else 0 (D. B. Owen, "Tables
    for computing bivariate normal probabilities", Ann. Math. Statist. 27:1075-1090, 1956, eq. 3.1);
    for h = 0 the limit Phi(k)/2 - T(k, -rho/s), and symmetrically for k = 0.
    """
    s = np.sqrt(1.0 - rho * rho)
    h0 = h == 0.0
    k0 = k == 0.0
    h_safe = np.where(h0, 1.0, h)
    k_safe = np.where(k0, 1.0, k)
    beta = np.where((h < 0.0) ^ (k < 0.0), 0.5, 0.0)
    general = (
        0.5 * (ndtr(h) + ndtr(k))
        - owens_t(h, (k - rho * h) / (h_safe * s))
        - owens_t(k, (h - rho * k) / (k_safe * s))
        - beta
    )
    at_h0 = 0.5 * ndtr(k) - owens_t(k, -rho / s)
    at_k0 = 0.5 * ndtr(h) - owens_t(h, -rho / s)
    return np.asarray(np.where(h0, at_h0, np.where(k0, at_k0, general)), dtype=np.float64)


def _rect_probability(
    normal: BivariateNormal,
    lat0: NDArray[np.float64],
    lat1: NDArray[np.float64],
    lon0: NDArray[np.float64],
    lon1: NDArray[np.float64],
) -> NDArray[np.float64]:
    """P(impact in each rectangle [lat0, lat1] x [lon0, lon1]) of the normal (arrays of one shape;
    longitudes already on the mean's side of the antimeridian).

    Each cell is first reflected through the mean (per axis, flipping rho's sign for one axis) so that
    it lies on the low side of both axes: its four corner CDFs are then small and their signed sum
    keeps relative precision far in the tails. A cell smaller than ``SMALL_CELL_SIGMAS`` standard
    deviations along both axes gets the density at its centre times its area instead (the midpoint
    rule: relative error about h^2 (x^2 + y^2) / 24 for a cell of h sigmas at x, y sigmas from the
    mean, below 0.7 % out to the 8-sigma window), some 400 times cheaper than four Owen's T values: a
    wide cloud over a populated continent would otherwise cost minutes.
    """
    sigma_e, sigma_n = normal.sigma_en_m
    east_per_deg, north_per_deg = normal._scales_m_per_deg()
    x0 = (lon0 - normal.mean_lon_deg) * east_per_deg / sigma_e
    x1 = (lon1 - normal.mean_lon_deg) * east_per_deg / sigma_e
    y0 = (lat0 - normal.mean_lat_deg) * north_per_deg / sigma_n
    y1 = (lat1 - normal.mean_lat_deg) * north_per_deg / sigma_n
    x0, x1, y0, y1 = np.broadcast_arrays(x0, x1, y0, y1)
    rho0 = normal.correlation
    p = np.empty(x0.shape, dtype=np.float64)
    small = ((x1 - x0) <= SMALL_CELL_SIGMAS) & ((y1 - y0) <= SMALL_CELL_SIGMAS)
    # cells far smaller than the normal: its density at the centre times the cell's area in the plane
    xc, yc = 0.5 * (x0[small] + x1[small]), 0.5 * (y0[small] + y1[small])
    q = (xc * xc - 2.0 * rho0 * xc * yc + yc * yc) / (1.0 - rho0 * rho0)
    p[small] = (
        np.exp(-0.5 * q)
        / (2.0 * math.pi * math.sqrt(1.0 - rho0 * rho0))
        * ((x1[small] - x0[small]) * (y1[small] - y0[small]))
    )
    big = ~small
    x0, x1, y0, y1 = x0[big], x1[big], y0[big], y1[big]
    flip_x = (x0 + x1) > 0.0
    flip_y = (y0 + y1) > 0.0
    x0, x1 = np.where(flip_x, -x1, x0), np.where(flip_x, -x0, x1)
    y0, y1 = np.where(flip_y, -y1, y0), np.where(flip_y, -y0, y1)
    rho = np.where(flip_x ^ flip_y, -rho0, rho0)
    p[big] = _bvn_cdf(x1, y1, rho) - _bvn_cdf(x0, y1, rho) - _bvn_cdf(x1, y0, rho) + _bvn_cdf(x0, y0, rho)
    return np.clip(p, 0.0, 1.0)


def _lon_shift_deg(normal: BivariateNormal, population: PopulationGrid) -> float:
    """Whole turns that move the grid's edges towards the normal's mean (monotonic, unlike per-edge wrapping)."""
    lon_mid = 0.5 * (population.lon_edges_deg[0] + population.lon_edges_deg[-1])
    return float(FULL_TURN_DEG * round((normal.mean_lon_deg - lon_mid) / FULL_TURN_DEG))


def _normal_cell_probability(normal: BivariateNormal, population: PopulationGrid) -> NDArray[np.float64]:
    """P(impact in each cell) of the normal: the rectangle probability of each cell in the plane."""
    lon = population.lon_edges_deg + _lon_shift_deg(normal, population)
    lat = population.lat_edges_deg
    shape = population.shape
    return _rect_probability(
        normal,
        np.broadcast_to(lat[:-1, None], shape),
        np.broadcast_to(lat[1:, None], shape),
        np.broadcast_to(lon[None, :-1], shape),
        np.broadcast_to(lon[None, 1:], shape),
    )


def _sample_cell_index(
    distribution: ImpactDistribution, population: PopulationGrid
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.bool_]]:
    """Row and column of the cell of each sampled point (longitudes wrapped into the grid's span), and
    whether it lies on the grid."""
    ny, nx = population.shape
    lon_mid = 0.5 * (population.lon_edges_deg[0] + population.lon_edges_deg[-1])
    lon = lon_mid + _wrap_lon_deg(distribution.lon_deg - lon_mid)
    row = np.searchsorted(population.lat_edges_deg, distribution.lat_deg, side="right") - 1
    col = np.searchsorted(population.lon_edges_deg, lon, side="right") - 1
    inside = (row >= 0) & (row < ny) & (col >= 0) & (col < nx)
    return row, col, inside


def _sampled_cell_probability(distribution: ImpactDistribution, population: PopulationGrid) -> NDArray[np.float64]:
    """P(impact in each cell) from the samples: the weighted fraction of impact points in the cell."""
    if distribution.n_samples == 0:
        raise InputError("impact_probability: method='samples' needs an ImpactDistribution built from samples")
    ny, nx = population.shape
    row, col, inside = _sample_cell_index(distribution, population)
    flat = np.bincount(row[inside] * nx + col[inside], weights=distribution.weights[inside], minlength=ny * nx)
    return np.asarray(flat.reshape(ny, nx), dtype=np.float64)


def impact_probability(
    distribution: ImpactDistribution, population: PopulationGrid, method: Method = "normal"
) -> NDArray[np.float64]:
    """Probability that one fragment of the group lands in each cell of ``population`` (shape (ny, nx)).

    ``method="normal"``: the fitted bivariate normal integrated exactly over each cell's rectangle in
    the local plane. ``method="samples"``: the weighted fraction of the sampled points in each cell.
    """
    method = resolve_method(distribution, method)
    if method == "normal":
        return _normal_cell_probability(distribution.normal, population)
    if method == "samples":
        return _sampled_cell_probability(distribution, population)
    raise InputError(f"impact_probability: method must be 'normal' or 'samples', got {method!r}")


@dataclass(frozen=True, eq=False)
class CasualtyMap:
    """Per-cell results of one fragment group over a population grid (arrays of shape (ny, nx)).

    ``p_impact``: probability that one fragment lands in the cell. ``expected_casualties_per_cell``:
    n A_c D P, the cell's share of E_c. ``hits_per_person``: lambda = n A_c P / S, the mean number of
    hits on a person in the cell (the handbook's small-probability P_c). ``pc``: individual probability
    of casualty 1 - exp(-lambda). ``expected_casualties``: E_c, the sum over cells.
    """

    population: PopulationGrid
    p_impact: NDArray[np.float64]
    expected_casualties_per_cell: NDArray[np.float64]
    hits_per_person: NDArray[np.float64]
    pc: NDArray[np.float64]
    expected_casualties: float


def casualty_map(
    distribution: ImpactDistribution,
    n_fragments: float,
    casualty_area_m2: float,
    population: PopulationGrid,
    method: Method = "normal",
) -> CasualtyMap:
    """Expected casualties and individual risk, cell by cell, of ``n_fragments`` fragments of one group.

    Formulas in the module docstring: E_c = sum_k n A_c D_k P_k, P_c = 1 - exp(-n A_c P_k / S_k).
    """
    if not (math.isfinite(n_fragments) and n_fragments >= 0.0):
        raise InputError(f"casualty_map: n_fragments must be finite and >= 0, got {n_fragments}")
    if not (math.isfinite(casualty_area_m2) and casualty_area_m2 >= 0.0):
        raise InputError(f"casualty_map: casualty_area_m2 must be finite and >= 0, got {casualty_area_m2}")
    p = impact_probability(distribution, population, method)
    hits: NDArray[np.float64] = n_fragments * casualty_area_m2 * p / population.cell_area_m2
    per_cell = hits * population.people
    return CasualtyMap(population, p, per_cell, hits, -np.expm1(-hits), float(per_cell.sum()))


@dataclass(frozen=True, eq=False)
class CellCasualties:
    """:func:`casualty_map`'s values on the populated cells a distribution can reach only (1-D arrays).

    ``rows``, ``cols``: the cells (indices into the population grid); ``p_impact``, ``hits_per_person``,
    ``expected_casualties_per_cell``: as in :class:`CasualtyMap`; ``expected_casualties``: their sum.
    """

    rows: NDArray[np.intp]
    cols: NDArray[np.intp]
    p_impact: NDArray[np.float64]
    hits_per_person: NDArray[np.float64]
    expected_casualties_per_cell: NDArray[np.float64]
    expected_casualties: float


def resolve_method(distribution: ImpactDistribution, method: Method) -> Method:
    """``auto`` made concrete (see :data:`Method`); InputError for an unknown method."""
    if method not in ("normal", "samples", "auto"):
        raise InputError(f"impact method must be 'normal', 'samples' or 'auto', got {method!r}")
    if method != "auto":
        return method
    major_m = math.sqrt(float(np.linalg.eigvalsh(distribution.normal.cov_en_m2)[-1]))
    return "samples" if major_m > WIDE_CLOUD_M and distribution.n_samples > 0 else "normal"


def _sampled_cells(
    distribution: ImpactDistribution, population: PopulationGrid
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64]]:
    """The cells holding sampled points and the weight of the points in each (sparse)."""
    nx = population.shape[1]
    row, col, inside = _sample_cell_index(distribution, population)
    key = row[inside].astype(np.int64) * nx + col[inside]
    unique, inverse = np.unique(key, return_inverse=True)
    weight = np.bincount(inverse, weights=distribution.weights[inside])
    return (unique // nx).astype(np.intp), (unique % nx).astype(np.intp), np.asarray(weight, dtype=np.float64)


def _reachable_populated(
    distribution: ImpactDistribution, population: PopulationGrid
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """The populated cells within ``WINDOW_SIGMAS`` of the normal's larger axis of its mean."""
    normal = distribution.normal
    half_width_m = WINDOW_SIGMAS * math.sqrt(float(np.linalg.eigvalsh(normal.cov_en_m2)[-1]))
    r, c = population.window_slices(normal.mean_lat_deg, normal.mean_lon_deg, half_width_m)
    rows, cols = np.nonzero(population.people[r, c] > 0.0)
    return (rows + r.start).astype(np.intp), (cols + c.start).astype(np.intp)


def populated_casualties(
    distribution: ImpactDistribution,
    n_fragments: float,
    casualty_area_m2: float,
    population: PopulationGrid,
    method: Method = "normal",
) -> CellCasualties:
    """:func:`casualty_map` restricted to the populated cells the distribution can reach.

    The same formulas, evaluated only where there are people: for the normal, within ``WINDOW_SIGMAS``
    standard deviations (of its larger axis) of its mean, beyond which its mass is below
    exp(-WINDOW_SIGMAS^2 / 2) ~ 1.3e-14; for the samples, the cells holding a sampled point. Its cost
    follows the populated cells in reach, not the grid's size (a continent-wide grid of 1e7 cells
    over open sea costs nothing).
    """
    method = resolve_method(distribution, method)
    if not (math.isfinite(n_fragments) and n_fragments >= 0.0):
        raise InputError(f"populated_casualties: n_fragments must be finite and >= 0, got {n_fragments}")
    if not (math.isfinite(casualty_area_m2) and casualty_area_m2 >= 0.0):
        raise InputError(f"populated_casualties: casualty_area_m2 must be finite and >= 0, got {casualty_area_m2}")
    if method == "samples":
        if distribution.n_samples == 0:
            raise InputError("populated_casualties: method='samples' needs an ImpactDistribution built from samples")
        rows, cols, p = _sampled_cells(distribution, population)
        populated = population.people[rows, cols] > 0.0
        rows, cols, p = rows[populated], cols[populated], p[populated]
    else:
        rows, cols = _reachable_populated(distribution, population)
        shift = _lon_shift_deg(distribution.normal, population)
        lat, lon = population.lat_edges_deg, population.lon_edges_deg + shift
        p = _rect_probability(distribution.normal, lat[rows], lat[rows + 1], lon[cols], lon[cols + 1])
    area = population.cell_areas_m2(rows, cols)
    hits: NDArray[np.float64] = n_fragments * casualty_area_m2 * p / area
    per_cell = hits * population.people[rows, cols]
    return CellCasualties(rows, cols, p, hits, per_cell, float(per_cell.sum()))


def expected_casualties(
    distribution: ImpactDistribution,
    n_fragments: float,
    casualty_area_m2: float,
    population: PopulationGrid,
    method: Method = "normal",
) -> float:
    """E_c of ``n_fragments`` fragments of casualty area ``casualty_area_m2`` over ``population``.

    E_c = sum over cells of n A_c D P(impact in cell), over the populated cells in reach
    (:func:`populated_casualties`); see :func:`casualty_map` for the per-cell values on every cell.
    """
    return populated_casualties(distribution, n_fragments, casualty_area_m2, population, method).expected_casualties

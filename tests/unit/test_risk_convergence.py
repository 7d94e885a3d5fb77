"""E_c and P_c converge as the population grid and the sample count are refined (issue 17).

The reference is a closed form: a Gaussian blob of people (standard deviation s_D in the local plane)
under a circular normal impact distribution (s_I) whose centre is d away: the expected number of
people per unit casualty area hit is P0 / (2 pi (s_D^2 + s_I^2)) exp(-d^2 / (2 (s_D^2 + s_I^2))), and
the largest hits per person is n A_c / (2 pi s_I^2) where the impacts are densest. At the equator, in
a box a couple of degrees wide, the cells are plane rectangles (east = a dlon, north = M dlat) to a
few parts in a million, so each cell's people are the exact Gaussian integral over its rectangle.

Orders seen (this file's set-up): E_c and the largest P_c against the cell size, 2 (the cell average
of a smooth density); the sampled-points E_c against the number of samples, 1/2 (Monte Carlo).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

from rangeguard.risk import BivariateNormal, ImpactDistribution, PopulationGrid, casualty_map, expected_casualties

A_M = 6378137.0  # WGS84 semi-major axis
E2 = 6.69437999014e-3  # WGS84 first eccentricity squared
M0_M = A_M * (1.0 - E2)  # meridian radius of curvature at the equator
DEG = math.pi / 180.0
P0 = 1.0e6  # people in the blob
SIGMA_D_M = 20_000.0
SIGMA_I_M = 8_000.0
OFFSET_NORTH_M = 12_000.0
N_FRAGMENTS, AREA_M2 = 10.0, 2.0
HALF_BOX_DEG = 1.0


def blob_grid(cell_deg: float) -> PopulationGrid:
    edges = np.arange(-HALF_BOX_DEG, HALF_BOX_DEG + 0.5 * cell_deg, cell_deg)
    north = norm.cdf((edges * DEG * M0_M + OFFSET_NORTH_M) / SIGMA_D_M)  # the blob's centre 12 km south
    east = norm.cdf(edges * DEG * A_M / SIGMA_D_M)
    people = P0 * np.outer(np.diff(north), np.diff(east))
    return PopulationGrid(edges, edges, people)


def impacts() -> BivariateNormal:
    """At a corner of the cells at every level: the densest cells are the same shape at every level."""
    return BivariateNormal.circular(0.0, 0.0, SIGMA_I_M)


def test_ec_and_pc_converge_with_the_cell_size_at_order_two():
    s2 = SIGMA_D_M**2 + SIGMA_I_M**2
    ec_exact = N_FRAGMENTS * AREA_M2 * P0 / (2.0 * math.pi * s2) * math.exp(-(OFFSET_NORTH_M**2) / (2.0 * s2))
    hits_peak = N_FRAGMENTS * AREA_M2 / (2.0 * math.pi * SIGMA_I_M**2)
    dist = ImpactDistribution.from_normal(impacts())
    ec_err, pc_err = [], []
    for cell_deg in (1 / 16, 1 / 32, 1 / 64, 1 / 128):  # cells of 7 km down to 0.9 km
        result = casualty_map(dist, N_FRAGMENTS, AREA_M2, blob_grid(cell_deg))
        ec_err.append(abs(result.expected_casualties / ec_exact - 1.0))
        pc_err.append(abs(result.hits_per_person.max() / hits_peak - 1.0))
    ec_orders = np.log2(np.array(ec_err[:-1]) / np.array(ec_err[1:]))
    pc_orders = np.log2(np.array(pc_err[:-1]) / np.array(pc_err[1:]))
    assert np.all(ec_orders > 1.9), (ec_err, ec_orders)
    # the densest cell is about the impact spread at 7 km: its order settles once the cells are finer
    assert np.all(pc_orders[1:] > 1.8) and pc_orders[0] > 1.5, (pc_err, pc_orders)
    assert ec_err[-1] < 3e-4 and pc_err[-1] < 5e-3


def test_sampled_ec_converges_at_order_one_half():
    grid = blob_grid(1 / 64)
    normal = impacts()
    exact = expected_casualties(ImpactDistribution.from_normal(normal), N_FRAGMENTS, AREA_M2, grid)
    rng = np.random.default_rng(20261207)
    rms = {}
    for n in (100, 1600):
        errors = []
        for _ in range(48):
            north = SIGMA_I_M * rng.standard_normal(n)
            east = SIGMA_I_M * rng.standard_normal(n)
            lat, lon = north / M0_M / DEG, east / A_M / DEG
            sampled = ImpactDistribution(normal, lat, lon, np.full(n, 1.0 / n))
            errors.append(expected_casualties(sampled, N_FRAGMENTS, AREA_M2, grid, method="samples") / exact - 1.0)
        rms[n] = math.sqrt(float(np.mean(np.square(errors))))
    order = math.log(rms[100] / rms[1600]) / math.log(16.0)
    assert 0.35 < order < 0.65, (rms, order)

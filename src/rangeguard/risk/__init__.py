"""Flight safety risk analysis: where people are, where debris lands, and the expected casualties.

The collective and individual risk criteria of 14 CFR 450.101 (analysed per 450.108, 450.133 and
450.135), bottom up:

- :mod:`rangeguard.risk.population` (a population grid on the WGS84 ellipsoid, GeoTIFF rasters) and
  :mod:`rangeguard.risk.world` (the embedded world population, a mission's ``population`` section);
- :mod:`rangeguard.risk.casualty` (casualty areas of inert debris, impact distributions of fragment
  groups and the expected casualties they cause);
- :mod:`rangeguard.risk.breakup` (the fragments of a break-up flown to the ground, and the conditional
  expected casualties of 450.108);
- :mod:`rangeguard.risk.ensemble`, :mod:`rangeguard.risk.failures`, :mod:`rangeguard.risk.analysis`
  and :mod:`rangeguard.risk.sweep` (the flight, its failure times and response modes, the whole
  sweep: :func:`analyse`);
- :mod:`rangeguard.risk.hazard` (ship and aircraft hazard areas, drop zones) and
  :mod:`rangeguard.risk.results` (the summary and the output folder of ``rangeguard risk``).

See design/risk.md.
"""

from __future__ import annotations

from rangeguard.constants import PERSON_HEIGHT_M, PERSON_RADIUS_M
from rangeguard.risk.breakup import (
    BreakupCasualties,
    FragmentImpacts,
    conditional_expected_casualties,
    fragment_impacts,
)
from rangeguard.risk.casualty import (
    BivariateNormal,
    CasualtyMap,
    ImpactDistribution,
    casualty_area_m2,
    casualty_map,
    expected_casualties,
    fit_bivariate_normal,
    impact_probability,
)
from rangeguard.risk.population import PopulationGrid, population_centres, read_population_raster
from rangeguard.risk.sweep import RiskOptions, RiskResult, analyse

__all__ = [
    "PERSON_HEIGHT_M",
    "PERSON_RADIUS_M",
    "BivariateNormal",
    "BreakupCasualties",
    "CasualtyMap",
    "FragmentImpacts",
    "ImpactDistribution",
    "PopulationGrid",
    "RiskOptions",
    "RiskResult",
    "analyse",
    "casualty_area_m2",
    "casualty_map",
    "conditional_expected_casualties",
    "expected_casualties",
    "fit_bivariate_normal",
    "fragment_impacts",
    "impact_probability",
    "population_centres",
    "read_population_raster",
]

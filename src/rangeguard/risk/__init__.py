"""Flight safety risk analysis: where people are, where debris lands, and the expected casualties.

The foundations of the collective and individual risk criteria of 14 CFR 450.101 (analysed per
450.108 and 450.135): :mod:`rangeguard.risk.population` (a population grid on the WGS84 ellipsoid,
read from GeoTIFF rasters) and :mod:`rangeguard.risk.casualty` (casualty areas of inert debris,
impact distributions of fragment groups and the expected casualties they cause) and
:mod:`rangeguard.risk.breakup` (the fragments of a break-up flown to the ground, and the conditional
expected casualties of 450.108). See design/risk.md.
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

__all__ = [
    "PERSON_HEIGHT_M",
    "PERSON_RADIUS_M",
    "BivariateNormal",
    "BreakupCasualties",
    "CasualtyMap",
    "FragmentImpacts",
    "ImpactDistribution",
    "PopulationGrid",
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

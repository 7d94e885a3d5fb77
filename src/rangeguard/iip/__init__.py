"""Instantaneous impact point (IIP): where the vehicle would hit the ground if
thrust stopped now.

- :func:`impact_point`: vacuum two-body arc on the rotating WGS84 ellipsoid,
  solved exactly (:mod:`rangeguard.iip.vacuum`).
- :func:`impact_point_nb`: the same, as a numba scalar kernel for rule code
  (:func:`impact_point_unit_nb` also gives the impact point's geocentric unit vector).
- :func:`impact_point_drag`: numerical flight through the US Standard
  Atmosphere 1976 with a ballistic coefficient (:mod:`rangeguard.iip.drag`).
"""

from rangeguard.iip.drag import impact_point_drag
from rangeguard.iip.vacuum import impact_point, impact_point_nb, impact_point_unit_nb

__all__ = ["impact_point", "impact_point_drag", "impact_point_nb", "impact_point_unit_nb"]

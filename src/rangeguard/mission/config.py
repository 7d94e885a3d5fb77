"""The one pydantic configuration every mission model shares (docs/mission-format.md, "Numbers").

- ``extra="forbid"``: an unknown or misspelt field is an error naming the allowed ones;
- ``frozen=True``: a loaded mission is never changed behind the engine's back;
- ``allow_inf_nan=False``: every number is finite (a NaN limit silently turns a rule off);
- ``strict=True``: a value must already have the field's type. A number field takes an integer or a
  float, never a boolean (``lon_deg: true`` is not 1.0) or a string (``"5"`` is not 5); an integer
  field takes an integer, never ``3.0``; a boolean field takes ``true``/``false``, never 0/1. Lax
  coercion would let a typo fly as a silently different number. (pydantic's strict float accepts a
  Python int, so ``lat_deg: 33`` stays valid.)

A fixed-length list of the file (a YAML sequence) is a ``tuple`` in the model; such fields are built
with :data:`TUPLE_FROM_LIST`, which lets the container be a list while its items stay strict.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from pydantic import ConfigDict

MODEL_CONFIG = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, strict=True)

TUPLE_FROM_LIST = False
"""``Field(..., strict=TUPLE_FROM_LIST)`` on a tuple field: YAML gives a list, and pydantic's strict mode takes
only a tuple for a tuple. Only the container is relaxed: its items keep the model's strict mode (a boolean is
still not a number)."""


def strictly_increasing(values: Sequence[float], name: str) -> None:
    """Raise ValueError (a validator's message) unless ``values`` is strictly increasing."""
    for a, b in itertools.pairwise(values):
        if not b > a:
            raise ValueError(f"{name} must be strictly increasing; found {a} followed by {b}")

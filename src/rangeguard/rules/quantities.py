"""Derived flight quantities the envelope rules and detected events watch.

Their names, units and definitions are the one table of
:mod:`rangeguard.mission.quantities`; each is a column of a
:class:`~rangeguard.rules.base.RuleContext`'s kinematics, computed for all rows
in one compiled pass per cycle.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from rangeguard.rules.base import RuleContext
from rangeguard.rules.kinematics import QUANTITY_COLUMNS

NAMES = tuple(QUANTITY_COLUMNS)


def get(ctx: RuleContext, name: str) -> NDArray[np.float64]:
    """(M,) quantity ``name`` for every row: a column of the context's kinematics, computed once per cycle."""
    return ctx.kin.table[:, QUANTITY_COLUMNS[name]]

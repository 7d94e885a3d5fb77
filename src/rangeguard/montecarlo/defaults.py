"""The defaults of a validation run, in one place: the library's functions and the ``validate`` command
both read them (this module imports nothing, so the command line can show them without loading the
validation stack)."""

from __future__ import annotations

DEFAULT_RUNS = 3000
"""Dispersed nominal flights: with none terminated, the 95 % upper bound on the false-termination
probability is about 1e-3 (the rule of three, 3 / 3000)."""

DEFAULT_FAILURE_RUNS = 100
"""Dispersed flights per failure scenario."""

DEFAULT_CHUNK_SIZE = 250
"""Runs per chunk (one Parquet file each; the unit of resumption)."""

T_MAX_S = 3600.0
"""Longest flight of a validation run, s (every Kii or sounding flight is decided or down well before)."""

DEFAULT_SPREAD = 1.0
"""``--suggest``: the dispersed extremes are pushed out by this times their distance from the median."""

"""Shared test fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

# numba's on-disk cache inside the work tree, one folder per state of the source (rangeguard.jit), for
# the suite and every process it starts
os.environ.setdefault("RANGEGUARD_NUMBA_CACHE", str(Path(__file__).resolve().parents[1] / ".venv" / "numba-cache"))


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator: tests are repeatable."""
    return np.random.default_rng(20240313)

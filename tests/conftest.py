"""Shared test fixtures."""

from __future__ import annotations

import os

import numpy as np
import pytest

# Keep numba's on-disk cache inside the work tree, never in site-packages.
os.environ.setdefault("NUMBA_CACHE_DIR", os.path.join(os.path.dirname(__file__), "..", ".venv", "numba-cache"))


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator: tests are repeatable."""
    return np.random.default_rng(20240313)

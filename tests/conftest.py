"""Shared test fixtures."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest


def _numba_cache_dir() -> Path:
    """numba's on-disk cache, inside the work tree (never in site-packages), one folder per state of
    the source: numba re-checks only the file of the kernel it loads, so a kernel compiled with an
    inlined helper from another file would otherwise run stale after that file changed. Folders
    of earlier states are removed."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted((root / "src" / "rangeguard").rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(path.read_bytes())
    base = root / ".venv" / "numba-cache"
    here = base / digest.hexdigest()[:16]
    if base.is_dir():
        for old in base.iterdir():
            if old.is_dir() and old != here and len(old.name) == 16:
                shutil.rmtree(old, ignore_errors=True)
    return here


os.environ.setdefault("NUMBA_CACHE_DIR", str(_numba_cache_dir()))


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator: tests are repeatable."""
    return np.random.default_rng(20240313)

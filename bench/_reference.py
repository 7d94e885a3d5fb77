"""Shared by the bench scripts: a fixed workload that says how fast this machine is right now."""

from __future__ import annotations

import time

import numpy as np


def reference_s() -> float:
    """A fixed single-threaded numpy workload (elementwise transcendental functions), best of 3."""
    x = np.linspace(0.0, 10.0, 2_000_000)
    best = np.inf
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(5):
            x = np.sin(x) + np.exp(-x * x)
        best = min(best, time.perf_counter() - t0)
    return best


def sig(x: float, digits: int = 4) -> float:
    """``x`` rounded to ``digits`` significant digits, for ratios to the reference (they span 1e-4 to 1e6)."""
    return float(f"{x:.{digits}g}")

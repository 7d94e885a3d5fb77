"""Replaying recorded nav data through the engine.

The nav log it reads and the decision log it writes are formats of their own
(:mod:`rangeguard.formats.navlog`, :mod:`rangeguard.formats.decisionlog`).
"""

from rangeguard.replay.run import ReplayResult, replay

__all__ = ["ReplayResult", "replay"]

"""Replaying recorded nav data through the engine, and the decision log it writes."""

from rangeguard.replay.decisionlog import DecisionLog
from rangeguard.replay.navlog import NavLog, read_navlog
from rangeguard.replay.run import ReplayResult, replay

__all__ = ["DecisionLog", "NavLog", "ReplayResult", "read_navlog", "replay"]

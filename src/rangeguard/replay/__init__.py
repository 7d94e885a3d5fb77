"""Replaying recorded nav data through the engine, and the decision log it writes."""

from rangeguard.replay.decisionlog import DecisionLog
from rangeguard.replay.navlog import NavLog, NavLogReader, read_navlog
from rangeguard.replay.run import ReplayResult, replay

__all__ = ["DecisionLog", "NavLog", "NavLogReader", "ReplayResult", "read_navlog", "replay"]

"""The onboard decision loop: arming, phases, persistence, voting, latching, safing."""

from rangeguard.engine.decide import decide
from rangeguard.engine.decisions import Decisions
from rangeguard.engine.engine import Engine
from rangeguard.engine.setup import EngineSetup
from rangeguard.engine.state import AfssState, Cause, EngineState

__all__ = ["AfssState", "Cause", "Decisions", "Engine", "EngineSetup", "EngineState", "decide"]

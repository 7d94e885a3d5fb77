"""The mission file: schema (pydantic), loading and validation.

>>> from rangeguard.mission import load_mission
>>> mission = load_mission("missions/kii-sso.yaml")   # raises MissionError listing every problem
"""

from rangeguard.mission.load import MissionError, load_mission, mission_from_dict
from rangeguard.mission.model import Mission

__all__ = ["Mission", "MissionError", "load_mission", "mission_from_dict"]

"""Fixtures shared by the integration tests: the bundled vehicles."""

from __future__ import annotations

import pytest

from rangeguard.mission.vehicle import VehicleSpec, load_vehicle


@pytest.fixture(scope="module")
def sounding() -> VehicleSpec:
    """The bundled single-stage sounding rocket (missions/vehicles/sounding.yaml)."""
    return load_vehicle("missions/vehicles/sounding.yaml")


@pytest.fixture(scope="module")
def kairos() -> VehicleSpec:
    """The bundled four-stage Kairos-class launcher (missions/vehicles/kairos-class.yaml)."""
    return load_vehicle("missions/vehicles/kairos-class.yaml")

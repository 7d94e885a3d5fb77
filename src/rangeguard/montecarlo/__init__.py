"""Monte Carlo and closed-loop flights: simulator, sensors and the AFSS engine wired together."""

from rangeguard.montecarlo.closedloop import FlightResult, fly

__all__ = ["FlightResult", "fly"]

"""rangeguard.mission (see DESIGN.md)."""

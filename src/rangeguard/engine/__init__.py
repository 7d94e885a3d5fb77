"""rangeguard.engine (see DESIGN.md)."""

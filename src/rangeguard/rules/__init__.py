"""rangeguard.rules (see DESIGN.md)."""

"""rangeguard.iip (see DESIGN.md)."""

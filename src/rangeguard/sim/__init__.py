"""rangeguard.sim: outer layer (see DESIGN.md); filled by its issue."""

"""rangeguard.console: outer layer (see DESIGN.md); filled by its issue."""

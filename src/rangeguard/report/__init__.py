"""rangeguard.report: outer layer (see DESIGN.md); filled by its issue."""

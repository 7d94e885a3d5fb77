"""rangeguard.telemetry: outer layer (see DESIGN.md); filled by its issue."""

"""File formats shared by the outer packages: the nav log and the decision log.

- :mod:`rangeguard.formats.navlog`: the nav-log schema (columns, kinds, the strict reading rules), its
  reader (CSV or Parquet, in batches, with the derived receive clock) and its writer. Documented for
  users in docs/navlog.md. Imports numpy, pyarrow and rangeguard.nav only.
- :mod:`rangeguard.formats.decisionlog`: the decision log (Parquet), one row per engine cycle. It takes
  the engine's Decisions, so it imports rangeguard.engine.

Nothing is imported here, so that a module that needs only the nav log (the sensor models in
rangeguard.sim, which know nothing of the engine) does not load the engine: import the module you need.
"""

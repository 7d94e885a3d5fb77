"""rangeguard.report: HTML reports with maps and plots, and KML/GeoJSON export.

>>> from rangeguard.report import write_report
>>> write_report("rangeguard-out")          # -> rangeguard-out/report.html (self-contained, offline)

Reads what ``demo``, ``simulate`` and ``validate`` write; never imported by
the flight core (earth, iip, rules, engine).
"""

from rangeguard.report.html import build_report, write_report

__all__ = ["build_report", "write_report"]

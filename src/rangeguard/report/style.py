"""Shared look of reports and the console: status colours, caution bands, figure embedding.

A rule's status is shown as a traffic light from its signed margin (the
distance to its limit in the rule's unit, negative = violated):

- red: margin < 0 (violated now);
- amber: 0 <= margin < the caution band of the rule's unit (close to its limit);
- green: margin >= the caution band;
- grey: NaN (the rule is not judged: not armed, not in its phase, no nav).

The caution band is a display choice, not a safety limit: it only says
"look here". It is :data:`CAUTION_FRACTION` of the rule's own limit where the
rule has one (an envelope's half-width at that time, a tumble rate, a green
time, a disagreement threshold, an attitude error), and for distance rules
(IIP and present-position polygons, gates) :data:`CAUTION_DISTANCE_M`,
about what an IIP moving at 5-10 km/s late in the first stage covers in a
few seconds.
"""

from __future__ import annotations

import base64
import io

import numpy as np

CAUTION_FRACTION = 0.2
"""A rule shows amber when its margin is below this fraction of its own limit scale."""
CAUTION_DISTANCE_M = 25_000.0
"""Caution band of the distance rules (iip_polygon, position_polygon, gate), m."""

COLORS = {"green": "#2e9d44", "amber": "#e8a317", "red": "#d62728", "grey": "#9e9e9e"}
STATE_COLORS = {"SAFE": "#9e9e9e", "ARMED": "#2e9d44", "TERMINATED": "#d62728", "SAFED": "#1f77b4"}


def caution_band(spec, t_s=None):
    """Margin below which rule ``spec`` shows amber, in the rule's unit; (N,) for (N,) ``t_s`` (envelopes)."""
    kind = spec.type
    if kind in ("iip_polygon", "position_polygon", "gate"):
        return CAUTION_DISTANCE_M
    if kind == "body_rate":
        return CAUTION_FRACTION * spec.max_rate_deg_s
    if kind == "attitude_error":
        return CAUTION_FRACTION * spec.max_error_deg
    if kind == "source_disagreement":
        return CAUTION_FRACTION * spec.max_difference
    if kind == "data_loss":
        if spec.green_time_s is not None:
            return CAUTION_FRACTION * spec.green_time_s
        t = np.nan_to_num(np.asarray(0.0 if t_s is None else t_s, dtype=np.float64))
        return CAUTION_FRACTION * np.interp(t, spec.table["t_s"], spec.table["green_time_s"])
    if kind == "envelope":
        tab = spec.table
        if tab.lower is None or tab.upper is None:
            return 0.0
        lo = np.array([np.nan if x is None else x for x in tab.lower])
        hi = np.array([np.nan if x is None else x for x in tab.upper])
        t = np.nan_to_num(np.asarray(0.0 if t_s is None else t_s, dtype=np.float64))
        with np.errstate(invalid="ignore"):
            half = np.interp(t, tab.t_s, (hi - lo) / 2.0)
        return np.nan_to_num(CAUTION_FRACTION * half)
    return 0.0


def status_of(margin, band=0.0) -> np.ndarray:
    """'green' / 'amber' / 'red' / 'grey' for each margin (array-like, the rule's unit).

    ``band``: the caution band (scalar or matching array, see :func:`caution_band`).
    """
    m = np.asarray(margin, dtype=np.float64)
    out = np.full(m.shape, "green", dtype=object)
    with np.errstate(invalid="ignore"):
        out[m < band] = "amber"
        out[m < 0.0] = "red"
    out[np.isnan(m)] = "grey"
    return out


def figure_png_data_uri(fig, dpi: int = 100) -> str:
    """Render a matplotlib Figure (Agg) to a ``data:image/png;base64,...`` URI; the figure is closed."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    fig.clear()
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def new_figure(width_in: float, height_in: float):
    """A matplotlib Figure not attached to pyplot (no global state, no display backend)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in), layout="constrained")

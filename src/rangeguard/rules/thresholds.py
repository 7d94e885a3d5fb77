"""Threshold rules evaluated together: one compiled pass instead of numpy calls per rule.

Envelope, attitude-error, body-rate and data-loss rules compare one number
per row with a limit, so a mission's whole set of them is packed once into
parameter arrays (:class:`ThresholdProgram`) and evaluated in a single loop
over the rows (:mod:`rangeguard.rules._threshold_kernels`). The rule classes
evaluate themselves through the same program (a program of one rule), so the
engine's fused pass and a rule evaluated on its own are the same code.
"""

from __future__ import annotations

import numpy as np

from rangeguard.rules import _threshold_kernels as tk
from rangeguard.rules import quantities
from rangeguard.rules.kinematics import QUANTITY_COLUMNS

FUSED_TYPES = ("envelope", "attitude_error", "body_rate", "data_loss")
"""Rule types the threshold program evaluates."""


class ThresholdProgram:
    """Packed parameters of threshold rules.

    ``entries`` pairs each rule with the row of the (R, M) output arrays it
    writes. ``columns`` maps envelope quantities to columns of the value
    table passed to :meth:`evaluate` (the engine's kinematics table by
    default).
    """

    def __init__(self, entries, site, columns=None):
        columns = QUANTITY_COLUMNS if columns is None else columns
        ints, floats = [], []
        tab_t, tab_a, tab_b = [], [], []
        self.rows = tuple(row for row, _ in entries)
        for row, rule in entries:
            i = np.zeros(tk.N_INT, np.int64)
            f = np.zeros(tk.N_FLOAT)
            i[tk.I_ROW] = row
            i[tk.I_TAB] = len(tab_t)
            if rule.type == "envelope":
                i[tk.I_KIND] = tk.KIND_ENVELOPE
                i[tk.I_COL] = columns[rule.quantity]
                i[tk.I_FLAG_A] = rule.lower is not None
                i[tk.I_FLAG_B] = rule.upper is not None
                nan = np.full(rule.t_s.shape, np.nan)
                tables = (rule.t_s, nan if rule.lower is None else rule.lower, nan if rule.upper is None else rule.upper)
            elif rule.type == "attitude_error":
                i[tk.I_KIND] = tk.KIND_ATTITUDE
                f[tk.F_LIMIT] = rule.max_error_deg
                tables = (rule.t_s, rule.az_rad, rule.el_rad)
            elif rule.type == "body_rate":
                i[tk.I_KIND] = tk.KIND_BODY_RATE
                f[tk.F_LIMIT] = rule.max_rate_deg_s
                tables = ((), (), ())
            elif rule.type == "data_loss":
                i[tk.I_KIND] = tk.KIND_DATA_LOSS
                if rule.t_s is None:
                    f[tk.F_LIMIT] = rule.green_s
                    tables = ((), (), ())
                else:
                    i[tk.I_FLAG_A] = True
                    tables = (rule.t_s, rule.green_s, np.full(rule.t_s.shape, np.nan))
            else:
                raise ValueError(f"rule type {rule.type!r} is not a threshold rule; these are {FUSED_TYPES}")
            i[tk.I_LEN] = len(tables[0])
            tab_t.extend(tables[0])
            tab_a.extend(tables[1])
            tab_b.extend(tables[2])
            ints.append(i)
            floats.append(f)
        self.ints = np.array(ints, np.int64).reshape(-1, tk.N_INT)
        self.floats = np.array(floats, np.float64).reshape(-1, tk.N_FLOAT)
        self.tab_t = np.array(tab_t, np.float64)
        self.tab_a = np.array(tab_a, np.float64)
        self.tab_b = np.array(tab_b, np.float64)
        self.frame = np.ascontiguousarray(site.enu_from_ecef, dtype=np.float64)

    def __len__(self) -> int:
        return self.ints.shape[0]

    def evaluate(self, ctx, values, active, margin, violated) -> None:
        """Write each rule's margin and violation flag where ``active`` (R, M) holds.

        ``values`` is the (M, C) table the envelope columns index; ``margin``
        and ``violated`` are the (R, M) outputs, left untouched where a rule
        is not active.
        """
        if not len(self):
            return
        nav = ctx.nav
        flight_t = ctx.flight_time_s
        if flight_t is None:
            with np.errstate(invalid="ignore"):
                flight_t = ctx.t_s + ctx.since_valid_s
        m_rows = ctx.t_s.shape[0]
        kernel = tk.evaluate_parallel if m_rows >= tk.PARALLEL_MIN_ROWS else tk.evaluate_serial
        kernel(
            self.ints, self.floats, self.tab_t, self.tab_a, self.tab_b, self.frame,
            np.ascontiguousarray(values, dtype=np.float64),
            np.ascontiguousarray(ctx.t_s, dtype=np.float64),
            np.ascontiguousarray(flight_t, dtype=np.float64),
            np.ascontiguousarray(ctx.since_valid_s, dtype=np.float64),
            np.ascontiguousarray(nav.q_body_to_ecef, dtype=np.float64),
            np.ascontiguousarray(nav.omega_body_rad_s, dtype=np.float64),
            active, margin, violated,
        )


def evaluate_one(rule, ctx):
    """(violated, margin) of one threshold rule on every row of ``ctx`` (the rule's own ``evaluate``)."""
    m_rows = ctx.t_s.shape[0]
    if rule.type == "envelope":
        values = np.asarray(quantities.get(ctx, rule.quantity), dtype=np.float64).reshape(m_rows, 1)
        program = ThresholdProgram([(0, rule)], ctx.site, columns={rule.quantity: 0})
    else:
        values = np.zeros((m_rows, 1))
        program = ThresholdProgram([(0, rule)], ctx.site)
    margin = np.full((1, m_rows), np.nan)
    violated = np.zeros((1, m_rows), bool)
    program.evaluate(ctx, values, np.ones((1, m_rows), bool), margin, violated)
    return violated[0], margin[0]

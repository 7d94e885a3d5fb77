"""A mission's rules evaluated together: one compiled pass instead of Python calls per rule.

Every rule type whose judgement is a function of the cycle's rows (envelopes,
attitude error, body rate, data loss, IIP and present-position polygons,
source disagreement) declares a compiled ``kind`` and packs its parameters
(:meth:`rangeguard.rules.base.Rule.pack`) into a :class:`RuleProgram`: rows of
integer and float parameters, flat tables and the polygons' arrays. The
program is evaluated in a single loop over the rows
(:mod:`rangeguard.rules._program_kernels`), whose dispatch raises on a kind it
does not know. A rule evaluated on its own runs as a program of one rule, so
the engine's fused pass and a rule's own ``evaluate`` are the same code.
Stateful rules (the gate) keep ``kind = None`` and evaluate themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from rangeguard.jit import PARALLEL_MIN_ROWS
from rangeguard.rules import _program_kernels as pk
from rangeguard.rules.kinematics import QUANTITY_COLUMNS

if TYPE_CHECKING:
    from rangeguard.earth.polygon import GreatCirclePolygon
    from rangeguard.rules.base import Rule, RuleContext, Site

_POLYGON_ARRAYS = ("_edges", "_gp", "_cell_start", "_cell_edges", "_tf", "_ti")
"""The GreatCirclePolygon arrays the compiled polygon loop takes, in ``pk.P_*`` column order."""
_POLYGON_EMPTY: tuple[np.ndarray, ...] = (
    np.empty((0, 21)),
    np.empty(0),
    np.empty(0, np.int64),
    np.empty(0, np.int32),
    np.empty((0, 8)),
    np.empty((0, 4), np.int64),
)


KERNELS: dict[str, int] = {
    "envelope": pk.KIND_ENVELOPE,
    "attitude_error": pk.KIND_ATTITUDE,
    "body_rate": pk.KIND_BODY_RATE,
    "data_loss": pk.KIND_DATA_LOSS,
    "iip_polygon": pk.KIND_IIP_POLYGON,
    "position_polygon": pk.KIND_POSITION_POLYGON,
    "source_disagreement": pk.KIND_DISAGREEMENT,
}
"""The compiled pass's kernels by the name a rule type gives (``RuleType.kernel``)."""


def kernel_id(name: str) -> int:
    """The compiled kind of kernel ``name``; a name the pass does not have is an error, never a default."""
    try:
        return KERNELS[name]
    except KeyError:
        raise ValueError(
            f"no compiled rule kernel named {name!r} (known: {', '.join(KERNELS)}); a new kernel needs its "
            "branch in rangeguard.rules._program_kernels and its name here"
        ) from None


class Entry:
    """One rule's packed parameters, filled by its rule type's ``pack`` (the
    :class:`~rangeguard.mission.rule_types.base.Packing` protocol)."""

    def __init__(
        self, program: RuleProgram, kind: int, row: int, areas: Mapping[str, GreatCirclePolygon], sources: Sequence[str]
    ):
        self._program = program
        self._areas = areas
        self._sources = sources
        self.ints = np.zeros(pk.N_INT, np.int64)
        self.floats = np.zeros(pk.N_FLOAT)
        self.ints[pk.I_KIND] = kind
        self.ints[pk.I_ROW] = row
        self.tables: tuple[Any, Any, Any] = ((), (), ())

    def set(self, **values: float | int | bool) -> None:
        """Parameters by column name: ``col``, ``flag_a``, ``flag_b``, ``src_a``, ``src_b`` (ints);
        ``limit``, ``low``, ``high`` (floats)."""
        for name, value in values.items():
            column = getattr(pk, "I_" + name.upper(), None)
            if column is not None:
                self.ints[column] = value
            else:
                self.floats[getattr(pk, "F_" + name.upper())] = value

    def column(self, quantity: str) -> int:
        """The value-table column of an envelope quantity."""
        return self._program.columns[quantity]

    def polygon(self, area: str) -> int:
        """The index of the polygon of ``area`` in the program (added once, however many rules use it)."""
        return self._program.add_polygon(self._areas[area])

    def source(self, name: str) -> int:
        """The index of nav source ``name``."""
        return list(self._sources).index(name)


class RuleProgram:
    """Packed parameters of rules evaluated by the compiled pass.

    ``entries`` pairs each rule with the row of the (R, M) output arrays it
    writes. ``columns`` maps envelope quantities to columns of the row values
    table (the engine's kinematics table by default).
    """

    def __init__(
        self, entries: Sequence[tuple[int, Rule]], site: Site, columns: Mapping[str, int] | None = None
    ) -> None:
        self.columns = QUANTITY_COLUMNS if columns is None else columns
        self._polygons: list[GreatCirclePolygon] = []
        ints: list[NDArray[np.int64]] = []
        floats: list[NDArray[np.float64]] = []
        tab_t: list[float] = []
        tab_a: list[float] = []
        tab_b: list[float] = []
        self.rows = tuple(row for row, _ in entries)
        for row, rule in entries:
            if rule.kind is None or not 0 <= rule.kind < pk.N_KINDS:
                raise ValueError(f"rule {rule.name!r} ({rule.type}) has no compiled kind; it evaluates itself")
            entry = Entry(self, rule.kind, row, rule.polygons, rule.source_names)
            rule.pack(entry)
            t, a, b = (np.asarray(x, dtype=np.float64) for x in entry.tables)
            entry.ints[pk.I_TAB] = len(tab_t)
            entry.ints[pk.I_LEN] = len(t)
            tab_t.extend(t)
            tab_a.extend(a)
            tab_b.extend(b)
            ints.append(entry.ints)
            floats.append(entry.floats)
        self.ints = np.array(ints, np.int64).reshape(-1, pk.N_INT)
        self.floats = np.array(floats, np.float64).reshape(-1, pk.N_FLOAT)
        self.tab_t = np.array(tab_t, np.float64)
        self.tab_a = np.array(tab_a, np.float64)
        self.tab_b = np.array(tab_b, np.float64)
        self.frame = np.ascontiguousarray(site.enu_from_ecef, dtype=np.float64)
        self._pack_polygons()

    def add_polygon(self, polygon: GreatCirclePolygon) -> int:
        for p, known in enumerate(self._polygons):
            if known is polygon:
                return p
        self._polygons.append(polygon)
        return len(self._polygons) - 1

    def _pack_polygons(self) -> None:
        arrays = [[getattr(poly, name) for poly in self._polygons] for name in _POLYGON_ARRAYS]
        offsets = np.zeros((len(self._polygons) + 1, pk.N_POLY), np.int64)
        for col, parts in enumerate(arrays):
            offsets[1:, col] = np.cumsum([len(a) for a in parts])
        self.poly_off = offsets
        self.polygons = tuple(
            np.ascontiguousarray(np.concatenate(parts) if parts else empty, dtype=empty.dtype)
            for parts, empty in zip(arrays, _POLYGON_EMPTY, strict=True)
        )

    def __len__(self) -> int:
        return int(self.ints.shape[0])

    def evaluate(
        self, rows: pk.Rows, active: NDArray[np.bool_], margin: NDArray[np.float64], violated: NDArray[np.bool_]
    ) -> None:
        """Write each rule's margin and violation flag where ``active`` (R, M) holds.

        ``rows`` are the cycle's row inputs (:meth:`RuleContext.rows`); ``margin``
        and ``violated`` are the (R, M) outputs, left untouched where a rule is
        not active.
        """
        if not len(self):
            return
        m_rows = rows.t_s.shape[0]
        args = (
            self.ints,
            self.floats,
            self.tab_t,
            self.tab_a,
            self.tab_b,
            self.frame,
            self.poly_off,
            *self.polygons,
            *rows,
            active,
            margin,
            violated,
            np.empty(m_rows, np.bool_),
            np.empty(m_rows),
        )
        # the rows' arrays one by one (numba types them faster than a tuple); a small batch (an onboard
        # cycle) calls the serial loop directly
        if m_rows < PARALLEL_MIN_ROWS:
            pk.evaluate_rows.serial(*args, 0, m_rows)
        else:
            pk.evaluate_rows(m_rows, *args)


def evaluate_alone(rule: Rule, ctx: RuleContext) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """(violated, margin) of one packed rule on every row of ``ctx`` (the rule's own ``evaluate``)."""
    m_rows = ctx.t_s.shape[0]
    program = RuleProgram([(0, rule)], ctx.site)
    margin = np.full((1, m_rows), np.nan)
    violated = np.zeros((1, m_rows), bool)
    program.evaluate(ctx.rows(), np.ones((1, m_rows), bool), margin, violated)
    return violated[0], margin[0]

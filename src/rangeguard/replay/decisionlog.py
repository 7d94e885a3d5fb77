"""The decision log: one row per engine cycle for one vehicle, written to Parquet.

Columns: ``cycle``, ``t_s``, ``receive_time_s``, ``state``, ``terminate_now``,
``fired_by`` (rule name or string-fault:NAME, on the cycle of termination),
``reason`` (on cycles where the state changed), ``iip_lat_deg``,
``iip_lon_deg`` (first string's), then ``margin__<rule>`` and
``violated__<rule>`` for every rule (margins: smallest over the voting
strings; NaN where not judged). Writing the same decisions twice gives
byte-identical files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from rangeguard.engine import AfssState


class DecisionLog:
    """Accumulates one vehicle's decisions and writes them as a Parquet table."""

    def __init__(self, rule_names, vehicle: int = 0):
        self.rule_names = tuple(rule_names)
        self.vehicle = vehicle
        self._rows: dict[str, list] = {
            k: [] for k in (
                "cycle", "t_s", "receive_time_s", "state", "terminate_now", "fired_by", "reason",
                "iip_lat_deg", "iip_lon_deg",
            )
        }
        self._margins: list[np.ndarray] = []
        self._violated: list[np.ndarray] = []
        self._last_state = int(AfssState.SAFE)

    def __len__(self) -> int:
        return len(self._rows["cycle"])

    def add(self, decisions) -> None:
        i = self.vehicle
        state = int(decisions.states[i])
        changed = state != self._last_state
        self._last_state = state
        rows = self._rows
        rows["cycle"].append(len(rows["cycle"]))
        rows["t_s"].append(float(decisions.t_s[i]))
        rows["receive_time_s"].append(float(decisions.receive_time_s[i]))
        rows["state"].append(AfssState(state).name)
        now = bool(decisions.terminate_now[i])
        rows["terminate_now"].append(now)
        rows["fired_by"].append(decisions.fired_by(i) if now else None)
        rows["reason"].append(decisions.reason(i) if changed else None)
        rows["iip_lat_deg"].append(float(decisions.iip_lat_deg[0, i]))
        rows["iip_lon_deg"].append(float(decisions.iip_lon_deg[0, i]))
        self._margins.append(decisions.margins[i])
        self._violated.append(decisions.violated[:, i, :].any(axis=0))

    def table(self) -> pa.Table:
        cols = {
            "cycle": pa.array(self._rows["cycle"], pa.int64()),
            "t_s": pa.array(self._rows["t_s"], pa.float64()),
            "receive_time_s": pa.array(self._rows["receive_time_s"], pa.float64()),
            "state": pa.array(self._rows["state"], pa.string()),
            "terminate_now": pa.array(self._rows["terminate_now"], pa.bool_()),
            "fired_by": pa.array(self._rows["fired_by"], pa.string()),
            "reason": pa.array(self._rows["reason"], pa.string()),
            "iip_lat_deg": pa.array(self._rows["iip_lat_deg"], pa.float64()),
            "iip_lon_deg": pa.array(self._rows["iip_lon_deg"], pa.float64()),
        }
        r = len(self.rule_names)
        rows = len(self)
        margins = np.array(self._margins, dtype=np.float64).reshape(rows, r)  # (rows, 0) for a mission without rules
        violated = np.array(self._violated, dtype=bool).reshape(rows, r)
        for j, name in enumerate(self.rule_names):
            cols[f"margin__{name}"] = pa.array(margins[:, j], pa.float64())
        for j, name in enumerate(self.rule_names):
            cols[f"violated__{name}"] = pa.array(violated[:, j], pa.bool_())
        return pa.table(cols)

    def write(self, path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        pq.write_table(self.table(), tmp, compression="zstd", write_statistics=False)
        tmp.replace(path)  # atomic: a crash never leaves half a log
        return path

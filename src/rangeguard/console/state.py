"""What the live console knows: the mission picture and the stream of AFSS status packets.

:class:`ConsoleState` turns datagrams from ``rangeguard run --status`` into
JSON-ready messages for the web page. It is plain Python (no I/O, no clock):
the server feeds it bytes and reads messages. Packets are decoded with
:func:`rangeguard.telemetry.packets.decode_packet`; anything that is not a
valid packet is counted and dropped, never an exception.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque

import numpy as np

from rangeguard.mission.rules_spec import rule_unit
from rangeguard.report.geometry import area_rings, gate_lines
from rangeguard.report.maps import auto_bbox
from rangeguard.report.style import COLORS, caution_band, status_of

HISTORY_MAX = 20_000
"""Most status samples kept for the plots and the track (about 33 min at 10 Hz)."""
ENVELOPE_PLOTS = ("altitude_m", "speed_mps")


def _num(x) -> float | None:
    """JSON-safe float: NaN and inf become None (JSON has no NaN)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _list(a) -> list:
    return [_num(v) for v in np.asarray(a, dtype=np.float64).tolist()]


def mission_picture(mission) -> dict:
    """Everything static the page draws: site, areas, gates, rules with units, envelope tables, map box."""
    rings = area_rings(mission)
    gates = gate_lines(mission)
    site = mission.site
    bbox = auto_bbox([np.array([site.lat_deg])] + [r.lat_deg for r in rings],
                     [np.array([site.lon_deg])] + [r.lon_deg for r in rings], pad_frac=0.04)
    envelopes: dict[str, list] = {}
    for r in mission.rules:
        if r.type == "envelope" and r.enabled and r.quantity in ENVELOPE_PLOTS:
            envelopes.setdefault(r.quantity, []).append({
                "rule": r.name, "t_s": list(r.table.t_s),
                "lower": None if r.table.lower is None else [_num(v) for v in r.table.lower],
                "upper": None if r.table.upper is None else [_num(v) for v in r.table.upper],
            })
    return {
        "name": mission.name,
        "description": mission.description,
        "site": {"name": site.name, "lat_deg": site.lat_deg, "lon_deg": site.lon_deg},
        "areas": [{"name": r.name, "kind": r.kind, "lat_deg": _list(r.lat_deg), "lon_deg": _list(r.lon_deg)} for r in rings],
        "gates": [{"name": g.name, "lat_deg": _list(g.lat_deg), "lon_deg": _list(g.lon_deg)} for g in gates],
        "rules": [{"name": r.name, "type": r.type, "unit": rule_unit(r), "description": r.description,
                   "action": r.action or ("degrade" if r.type == "data_loss" else "terminate")}
                  for r in mission.rules if r.enabled],
        "envelopes": envelopes,
        "bbox": list(bbox),
        "colors": COLORS,
    }


def coastline_geojson(bbox) -> dict:
    """Natural Earth land (Polygons) and coastlines (LineStrings) inside the box, as GeoJSON."""
    from rangeguard.geodata import coastline_lines, land_polygons

    x0, y0, x1, y1 = bbox
    # wider than the box: the page letterboxes the map, and the close-up may look past its edges
    pad = 0.6 * max(x1 - x0, y1 - y0)
    x0, x1 = x0 - pad, x1 + pad
    y0, y1 = max(y0 - pad, -89.0), min(y1 + pad, 89.0)
    if x1 - x0 > 360.0:
        x0, x1 = -180.0, 180.0
    feats = []
    for p in land_polygons(x0, y0, x1, y1):
        ring = [[round(x, 4), round(y, 4)] for x, y in p.exterior.coords]
        feats.append({"type": "Feature", "properties": {"kind": "land"}, "geometry": {"type": "Polygon", "coordinates": [ring]}})
    for line in coastline_lines((x0, y0, x1, y1)):
        coords = [[round(float(x), 4), round(float(y), 4)] for x, y in line]
        feats.append({"type": "Feature", "properties": {"kind": "coastline"},
                      "geometry": {"type": "LineString", "coordinates": coords}})
    return {"type": "FeatureCollection", "features": feats}


class ConsoleState:
    """Latest AFSS status, its history, and link counters, from raw datagrams."""

    def __init__(self, mission, history_max: int = HISTORY_MAX):
        self.mission = mission
        self.rules = {r.name: r for r in mission.rules}
        self.history: deque = deque(maxlen=history_max)
        self.latest: dict | None = None
        self.heartbeat: dict | None = None
        self.counters = {"datagrams": 0, "status": 0, "heartbeat": 0, "malformed": 0, "other": 0}
        self.last_error: str | None = None
        self.t_terminate_s: float | None = None
        self._decode = None

    def _decoder(self):
        if self._decode is None:
            from rangeguard.telemetry.packets import decode_packet

            self._decode = decode_packet
        return self._decode

    def ingest(self, data: bytes) -> dict | None:
        """Decode one datagram; return the status message for the page if it was a status packet."""
        from rangeguard.errors import RangeguardError
        from rangeguard.telemetry.packets import HeartbeatPacket, StatusPacket

        self.counters["datagrams"] += 1
        try:
            pkt = self._decoder()(bytes(data))
        except RangeguardError as exc:
            self.counters["malformed"] += 1
            self.last_error = str(exc)
            return None
        if isinstance(pkt, HeartbeatPacket):
            self.counters["heartbeat"] += 1
            fields = dataclasses.asdict(pkt)
            self.heartbeat = {k: (_num(v) if isinstance(v, float) else v) for k, v in fields.items() if k != "seq"}
            return None
        if not isinstance(pkt, StatusPacket):
            self.counters["other"] += 1
            return None
        self.counters["status"] += 1
        msg = self.status_message(pkt)
        if pkt.state == "TERMINATED" and self.t_terminate_s is None:
            self.t_terminate_s = msg["t_s"]
        self.latest = msg
        self.history.append(msg)
        return msg

    def rule_rows(self, t_s: float, margins: dict[str, float]) -> list[dict]:
        """Per rule (mission order, then any unknown names): margin, unit, traffic-light status."""
        rows = []
        names = [n for n in self.rules if self.rules[n].enabled] + [n for n in margins if n not in self.rules]
        for name in names:
            m = margins.get(name, math.nan)
            spec = self.rules.get(name)
            band = caution_band(spec, t_s) if spec is not None else 0.0
            rows.append({"name": name, "margin": _num(m), "unit": rule_unit(spec) if spec is not None else "",
                         "status": str(status_of(m, band).item())})
        return rows

    def status_message(self, pkt) -> dict:
        """The JSON message for one StatusPacket."""
        return {
            "type": "status", "seq": pkt.seq, "t_s": _num(pkt.t_s), "state": pkt.state, "fired_by": pkt.fired_by,
            "reason": pkt.reason, "lat_deg": _num(pkt.lat_deg), "lon_deg": _num(pkt.lon_deg), "alt_m": _num(pkt.alt_m),
            "speed_mps": _num(pkt.speed_mps), "iip_lat_deg": _num(pkt.iip_lat_deg), "iip_lon_deg": _num(pkt.iip_lon_deg),
            "rules": self.rule_rows(pkt.t_s, dict(pkt.margins)),
            "link": dict(pkt.counters),
        }

    def snapshot(self) -> dict:
        """Everything a newly connected page needs: the latest status, the history for the plots, counters."""
        h = list(self.history)
        return {
            "type": "snapshot",
            "latest": self.latest,
            "t_terminate_s": self.t_terminate_s,
            "history": {k: [m[k] for m in h] for k in ("t_s", "alt_m", "speed_mps", "lat_deg", "lon_deg",
                                                        "iip_lat_deg", "iip_lon_deg")},
            "counters": dict(self.counters),
            "heartbeat": self.heartbeat,
        }

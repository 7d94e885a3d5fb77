"""What the live console knows: the mission picture and the stream of AFSS status packets.

:class:`ConsoleState` turns datagrams from ``rangeguard run --status`` into
JSON-ready messages for the web page. It is plain Python (no I/O, no clock):
the server feeds it bytes with their sender and receive time, and reads
messages. A datagram first passes the intake (:mod:`rangeguard.console.intake`:
size, sender, authentication), then is decoded with
:func:`rangeguard.telemetry.packets.decode_packet`; anything turned away or
not a valid packet is counted and dropped, never an exception.

Memory is bounded whatever arrives: the plotted history is a preallocated
ring of :data:`HISTORY_KEYS` floats (:class:`History`, bounded by samples and
bytes), the latest message is one packet's worth, a packet is at most
``max_packet_bytes`` and rule names the mission does not know are shown up
to :data:`MAX_UNKNOWN_RULES`.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from rangeguard.console.intake import REJECTIONS, SenderAllowList, StatusIntake, default_max_packet_bytes
from rangeguard.report.geometry import area_rings, gate_lines
from rangeguard.report.maps import auto_bbox
from rangeguard.report.style import COLORS, caution_band, status_of

HISTORY_MAX = 20_000
"""Most status samples kept for the plots and the track (about 33 min at 10 Hz)."""
HISTORY_MAX_BYTES = 4 * 1024 * 1024
"""Most bytes the history ring may take (20,000 samples take 1.1 MB)."""
HISTORY_KEYS = ("t_s", "alt_m", "speed_mps", "lat_deg", "lon_deg", "iip_lat_deg", "iip_lon_deg")
"""The values of a status message the plots and the map track keep (float64 each)."""
MAX_UNKNOWN_RULES = 16
"""Most margins of rules the mission does not know that one message shows (the rest are counted)."""
SENDER_WINDOW_S = 5.0
"""Status senders heard within this time of the newest datagram count as live (the two-sender alarm), s."""
MAX_SENDERS = 8
"""Most distinct status senders remembered for the alarm (the oldest is forgotten first)."""
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
    bbox = auto_bbox(
        [np.array([site.lat_deg])] + [r.lat_deg for r in rings],
        [np.array([site.lon_deg])] + [r.lon_deg for r in rings],
        pad_frac=0.04,
    )
    envelopes: dict[str, list] = {}
    for r in mission.rules:
        if r.type == "envelope" and r.enabled and r.quantity in ENVELOPE_PLOTS:
            envelopes.setdefault(r.quantity, []).append(
                {
                    "rule": r.name,
                    "t_s": list(r.table.t_s),
                    "lower": None if r.table.lower is None else [_num(v) for v in r.table.lower],
                    "upper": None if r.table.upper is None else [_num(v) for v in r.table.upper],
                }
            )
    return {
        "name": mission.name,
        "description": mission.description,
        "site": {"name": site.name, "lat_deg": site.lat_deg, "lon_deg": site.lon_deg},
        "areas": [
            {"name": r.name, "kind": r.kind, "lat_deg": _list(r.lat_deg), "lon_deg": _list(r.lon_deg)} for r in rings
        ],
        "gates": [{"name": g.name, "lat_deg": _list(g.lat_deg), "lon_deg": _list(g.lon_deg)} for g in gates],
        "rules": [
            {
                "name": r.name,
                "type": r.type,
                "unit": r.margin_unit(),
                "description": r.description,
                "action": r.effective_action,
            }
            for r in mission.rules
            if r.enabled
        ],
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
        feats.append(
            {"type": "Feature", "properties": {"kind": "land"}, "geometry": {"type": "Polygon", "coordinates": [ring]}}
        )
    for line in coastline_lines((x0, y0, x1, y1)):
        coords = [[round(float(x), 4), round(float(y), 4)] for x, y in line]
        feats.append(
            {
                "type": "Feature",
                "properties": {"kind": "coastline"},
                "geometry": {"type": "LineString", "coordinates": coords},
            }
        )
    return {"type": "FeatureCollection", "features": feats}


class History:
    """The newest status samples' plotted values: a preallocated float64 ring, ``len(HISTORY_KEYS)`` per sample.

    Its size never changes after construction: ``capacity`` samples, the smaller of ``max_samples`` and
    what fits in ``max_bytes``; older samples are overwritten. Unknown values (None) are stored as NaN.
    """

    BYTES_PER_SAMPLE = 8 * len(HISTORY_KEYS)

    def __init__(self, max_samples: int = HISTORY_MAX, max_bytes: int = HISTORY_MAX_BYTES):
        self.capacity = max(1, min(int(max_samples), int(max_bytes) // self.BYTES_PER_SAMPLE))
        self._ring = np.full((self.capacity, len(HISTORY_KEYS)), np.nan)
        self._count = 0  # samples ever appended

    def __len__(self) -> int:
        return min(self._count, self.capacity)

    @property
    def nbytes(self) -> int:
        return self._ring.nbytes

    def append(self, msg: dict) -> None:
        self._ring[self._count % self.capacity] = [math.nan if msg[k] is None else msg[k] for k in HISTORY_KEYS]
        self._count += 1

    def columns(self) -> dict[str, list]:
        """Oldest to newest, per key, JSON-ready (None where unknown)."""
        n = len(self)
        start = self._count % self.capacity if self._count > self.capacity else 0
        rows = np.roll(self._ring[:n], -start, axis=0) if start else self._ring[:n]
        return {k: [_num(v) for v in rows[:, j].tolist()] for j, k in enumerate(HISTORY_KEYS)}


class ConsoleState:
    """Latest AFSS status, its history, and link counters, from raw datagrams.

    ``intake`` decides which datagrams are decoded (default: senders on 127.0.0.1, packets up to
    :func:`rangeguard.console.intake.default_max_packet_bytes` of the mission).
    """

    def __init__(
        self,
        mission,
        intake: StatusIntake | None = None,
        history_max: int = HISTORY_MAX,
        history_max_bytes: int = HISTORY_MAX_BYTES,
    ):
        self.mission = mission
        self.rules = {r.name: r for r in mission.rules}
        self.intake = (
            intake
            if intake is not None
            else StatusIntake(SenderAllowList.parse("127.0.0.1"), default_max_packet_bytes(mission))
        )
        self.history = History(history_max, history_max_bytes)
        self.latest: dict | None = None
        self.heartbeat: dict | None = None
        self.counters = {
            "datagrams": 0,
            "status": 0,
            "heartbeat": 0,
            "malformed": 0,
            "other": 0,
            **dict.fromkeys(REJECTIONS, 0),
            "unknown_rules_omitted": 0,
        }
        self.last_error: str | None = None
        self.t_terminate_s: float | None = None
        self.t_destruct_s: float | None = None
        self.senders: dict[str, float] = {}  # "host:port" of accepted status/heartbeat senders -> last receive time
        self._newest_s = -math.inf
        self._decode = None

    def _decoder(self):
        if self._decode is None:
            from rangeguard.telemetry.packets import decode_packet

            self._decode = decode_packet
        return self._decode

    def ingest(self, data: bytes, sender: tuple, receive_s: float) -> dict | None:
        """Judge and decode one datagram from ``sender`` ``(host, port)`` received at ``receive_s``
        (any monotonic clock, s); return the status message for the page if it was an accepted status packet."""
        from rangeguard.errors import RangeguardError
        from rangeguard.telemetry.packets import HeartbeatPacket, StatusPacket

        self.counters["datagrams"] += 1
        packet, rejected = self.intake.admit(data, sender)
        if rejected is not None:
            self.counters[rejected] += 1
            return None
        try:
            pkt = self._decoder()(packet)
        except RangeguardError as exc:
            self.counters["malformed"] += 1
            self.last_error = str(exc)[:500]
            return None
        if isinstance(pkt, HeartbeatPacket | StatusPacket):
            self._heard(sender, receive_s)
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
        if pkt.state in ("TERMINATED", "DESTRUCTED") and self.t_terminate_s is None:
            self.t_terminate_s = msg["t_s"]
        if pkt.state == "DESTRUCTED" and self.t_destruct_s is None:
            self.t_destruct_s = msg["t_s"]
        self.latest = msg
        if msg["t_s"] is not None:
            self.history.append(msg)
        return msg

    def _heard(self, sender: tuple, receive_s: float) -> None:
        key = f"{sender[0]}:{sender[1]}"
        self.senders.pop(key, None)
        self.senders[key] = receive_s  # newest last
        self._newest_s = max(self._newest_s, receive_s)
        while len(self.senders) > MAX_SENDERS:
            del self.senders[next(iter(self.senders))]

    def recent_senders(self) -> list[str]:
        """Status senders heard within :data:`SENDER_WINDOW_S` of the newest datagram; more than one is an
        alarm: the AFSS sends status and heartbeat from one socket, so another sender may be forging."""
        return sorted(k for k, t in self.senders.items() if t >= self._newest_s - SENDER_WINDOW_S)

    def rule_rows(self, t_s: float, margins: dict[str, float]) -> list[dict]:
        """Per rule (mission order, then any unknown names): margin, unit, traffic-light status."""
        rows = []
        unknown = [n for n in margins if n not in self.rules]
        if len(unknown) > MAX_UNKNOWN_RULES:
            self.counters["unknown_rules_omitted"] += len(unknown) - MAX_UNKNOWN_RULES
            unknown = unknown[:MAX_UNKNOWN_RULES]
        names = [n for n in self.rules if self.rules[n].enabled] + unknown
        for name in names:
            m = margins.get(name, math.nan)
            spec = self.rules.get(name)
            band = caution_band(spec, t_s) if spec is not None else 0.0
            rows.append(
                {
                    "name": name,
                    "margin": _num(m),
                    "unit": spec.margin_unit() if spec is not None else "",
                    "status": str(status_of(m, band).item()),
                }
            )
        return rows

    def status_message(self, pkt) -> dict:
        """The JSON message for one StatusPacket."""
        return {
            "type": "status",
            "seq": pkt.seq,
            "t_s": _num(pkt.t_s),
            "state": pkt.state,
            "fired_by": pkt.fired_by,
            "reason": pkt.reason,
            "lat_deg": _num(pkt.lat_deg),
            "lon_deg": _num(pkt.lon_deg),
            "alt_m": _num(pkt.alt_m),
            "speed_mps": _num(pkt.speed_mps),
            "iip_lat_deg": _num(pkt.iip_lat_deg),
            "iip_lon_deg": _num(pkt.iip_lon_deg),
            "rules": self.rule_rows(pkt.t_s, dict(pkt.margins)),
            "link": dict(pkt.counters),
            "load_sha256": pkt.load_sha256 or None,
        }

    def intake_report(self) -> dict:
        """What the page shows about the link besides status: counters, live senders, the packet limit."""
        return {
            "counters": dict(self.counters),
            "senders": self.recent_senders(),
            "max_packet_bytes": self.intake.max_packet_bytes,
            "authenticated": self.intake.authenticator is not None,
        }

    def snapshot(self) -> dict:
        """Everything a newly connected page needs: the latest status, the history for the plots, counters."""
        return {
            "type": "snapshot",
            "latest": self.latest,
            "t_terminate_s": self.t_terminate_s,
            "t_destruct_s": self.t_destruct_s,
            "history": self.history.columns(),
            "history_max": self.history.capacity,
            "heartbeat": self.heartbeat,
            **self.intake_report(),
        }

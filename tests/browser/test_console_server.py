"""The console server without a browser: read-only HTTP, status intake over UDP, websocket pushes.

Status packets are made with the telemetry codec
(:func:`rangeguard.telemetry.packets.encode_status`), as `rangeguard run`
sends them. Traffic-light colours are checked against hand-computed caution
bands of missions/kii-sso.yaml (distance rules: 25 km; the speed envelope at
T+0 s: lower 0, upper 30 m/s, so 20 % of the 15 m/s half-width = 3 m/s).
"""

from __future__ import annotations

import inspect
import json
import math
import socket
import time

import pytest

from rangeguard.console.server import create_app
from rangeguard.console.state import ConsoleState
from rangeguard.demo import missions_dir
from rangeguard.mission import load_mission
from rangeguard.telemetry.packets import HeartbeatPacket, StatusPacket, encode_heartbeat, encode_status

pytestmark = [pytest.mark.console, pytest.mark.filterwarnings("ignore:Using .httpx. with .starlette.testclient.")]

BASE = "http://127.0.0.1:8000"
"""create_app's default page address: the Host the test client must send."""
AFSS = ("127.0.0.1", 40_000)
"""A sender on the default allow-list (127.0.0.1, any port)."""


@pytest.fixture(scope="module")
def kii():
    return load_mission(missions_dir() / "kii-sso.yaml")


def _status(t_s=0.0, state="ARMED", **margins):
    m = {k.replace("_", "-"): v for k, v in margins.items()}
    return StatusPacket(
        t_s=t_s,
        state=state,
        fired_by="iip-corridor" if state == "TERMINATED" else None,
        reason="r",
        margins=m,
        lat_deg=33.0,
        lon_deg=135.5,
        alt_m=5e4,
        speed_mps=2e3,
        iip_lat_deg=29.0,
        iip_lon_deg=134.0,
    )


def test_console_state_colours_and_counters(kii):
    st = ConsoleState(kii)
    msg = st.ingest(
        encode_status(
            _status(0.0, iip_corridor=-1.0, iip_shikoku=24_999.0, iip_kyushu=25_000.0, speed=2.9, tumble=math.nan),
            seq=1,
        ),
        AFSS,
        0.0,
    )
    rows = {r["name"]: r for r in msg["rules"]}
    assert rows["iip-corridor"]["status"] == "red"
    assert rows["iip-shikoku"]["status"] == "amber"
    assert rows["iip-kyushu"]["status"] == "green"
    assert rows["speed"]["status"] == "amber" and rows["speed"]["unit"] == "m/s"
    assert rows["tumble"]["status"] == "grey" and rows["tumble"]["margin"] is None
    assert rows["altitude"]["status"] == "grey"  # not in the packet: not judged
    assert [r["name"] for r in msg["rules"]] == [r.name for r in kii.rules if r.enabled]
    assert st.ingest(b"\x00garbage", AFSS, 0.1) is None
    assert st.ingest(encode_heartbeat(HeartbeatPacket(t_s=1.0, uptime_s=2.0), seq=2), AFSS, 0.2) is None
    st.ingest(encode_status(_status(103.2, "TERMINATED"), seq=3), AFSS, 0.3)
    assert st.counters == {
        "datagrams": 4,
        "status": 2,
        "heartbeat": 1,
        "malformed": 1,
        "other": 0,
        "oversized": 0,
        "rejected_sender": 0,
        "rejected_auth": 0,
        "unknown_rules_omitted": 0,
    }
    snap = st.snapshot()
    assert snap["t_terminate_s"] == 103.2 and snap["latest"]["fired_by"] == "iip-corridor"
    assert snap["history"]["t_s"] == [0.0, 103.2]
    assert snap["t_destruct_s"] is None
    json.dumps(snap, allow_nan=False)  # JSON without NaN: the browser's JSON.parse accepts it
    st.ingest(encode_status(_status(104.2, "DESTRUCTED"), seq=4), AFSS, 0.4)
    snap = st.snapshot()
    assert snap["t_terminate_s"] == 103.2 and snap["t_destruct_s"] == 104.2 and snap["latest"]["state"] == "DESTRUCTED"


def test_console_is_read_only_and_serves_the_page(kii):
    from fastapi.testclient import TestClient

    with TestClient(create_app(kii), base_url=BASE) as client:
        page = client.get("/")
        assert page.status_code == 200 and 'id="banner"' in page.text
        assert client.get("/static/console.js").status_code == 200
        assert client.get("/static/console.css").status_code == 200
        mission = client.get("/api/mission").json()
        assert mission["name"] == "kii-sso" and len(mission["areas"]) == len(kii.areas)
        assert mission["envelopes"]["speed_mps"][0]["rule"] == "speed"
        coast = client.get("/api/coastline").json()
        assert coast["type"] == "FeatureCollection" and len(coast["features"]) > 10
        for path in ("/", "/api/status", "/api/mission", "/ws", "/static/console.js", "/api/terminate"):
            for method in ("POST", "PUT", "PATCH", "DELETE"):
                r = client.request(method, path)
                assert r.status_code == 405, (method, path, r.status_code)


def test_console_udp_status_reaches_the_websocket(kii):
    from fastapi.testclient import TestClient

    with TestClient(create_app(kii), base_url=BASE) as client:
        udp = client.get("/api/health").json()["status_udp"]
        host, port = udp.removeprefix("udp://").split(":")
        assert host == "127.0.0.1"
        with client.websocket_connect(BASE.replace("http", "ws") + "/ws") as ws:
            first = json.loads(ws.receive_text())
            assert first["type"] == "snapshot" and first["latest"] is None
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.sendto(encode_status(_status(50.0, iip_corridor=10.0), seq=7), (host, int(port)))
                s.sendto(encode_status(_status(103.2, "TERMINATED", iip_corridor=-3014.0), seq=8), (host, int(port)))
            items = []
            deadline = time.monotonic() + 5
            while len(items) < 2 and time.monotonic() < deadline:
                msg = json.loads(ws.receive_text())
                assert msg["type"] == "batch"
                items += msg["items"]
        assert [m["t_s"] for m in items] == [50.0, 103.2]
        assert items[1]["state"] == "TERMINATED" and items[1]["fired_by"] == "iip-corridor"
        status = client.get("/api/status").json()
        assert status["t_terminate_s"] == 103.2


def test_console_binds_loopback_by_default():
    from rangeguard.cli.console import console_cmd
    from rangeguard.console.server import serve

    http_default = inspect.signature(console_cmd).parameters["http"].default.default
    assert http_default.startswith("127.0.0.1:")
    assert inspect.signature(serve).parameters["http_host"].default == "127.0.0.1"

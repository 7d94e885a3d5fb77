"""The console trusts nothing it did not ask for (issue 14, item 4), checked without a browser.

- status only from the allowed senders (a forged SAFED from another address is dropped and counted);
- Host and Origin must be the console's own (DNS rebinding, cross-site websockets: 403);
- memory bounded: oversized packets dropped and counted, the history a fixed-size ring, the push queue capped;
- HEAD answered like GET;
- a port in use or an unusable address: one line, exit 2 (the real command, as a subprocess).

The same attacks in a real browser are in test_browser_console_security.py.
"""

from __future__ import annotations

import json
import math
import socket
import time

import pytest
from rgbrowser import free_port

from rangeguard.console.server import create_app
from rangeguard.console.state import HISTORY_MAX, ConsoleState
from rangeguard.demo import missions_dir
from rangeguard.mission import load_mission
from rangeguard.telemetry.packets import StatusPacket, encode_status

pytestmark = [pytest.mark.console, pytest.mark.filterwarnings("ignore:Using .httpx. with .starlette.testclient.")]

BASE = "http://127.0.0.1:8000"
WS = "ws://127.0.0.1:8000/ws"
AFSS = ("127.0.0.1", 40_000)
FORGER = ("127.0.0.2", 40_001)  # another loopback address: another sender


@pytest.fixture(scope="module")
def kii():
    return load_mission(missions_dir() / "kii-sso.yaml")


def _status(state="ARMED", t_s=10.0, **margins) -> StatusPacket:
    return StatusPacket(
        t_s=t_s,
        state=state,
        fired_by=None,
        reason="r",
        margins=margins,
        lat_deg=33.0,
        lon_deg=135.5,
        alt_m=5e4,
        speed_mps=2e3,
        iip_lat_deg=29.0,
        iip_lon_deg=134.0,
    )


def _huge_status(n_rules: int, state="SAFED") -> bytes:
    """A well-formed status packet with ``n_rules`` invented rule names (40-byte names: 49 bytes each)."""
    margins = {f"forged-rule-{i:06d}".ljust(40, "x"): float(i) for i in range(n_rules)}
    return encode_status(_status(state, **margins), seq=1)


# --- status only from the configured AFSS ---------------------------------------------------------------


def test_forged_status_from_another_sender_is_dropped_and_counted(kii):
    from rangeguard.console.intake import SenderAllowList, StatusIntake

    st = ConsoleState(kii)  # default: senders on 127.0.0.1
    assert st.ingest(encode_status(_status("ARMED"), seq=1), AFSS, 0.0)["state"] == "ARMED"
    assert st.ingest(encode_status(_status("SAFED"), seq=2), FORGER, 0.1) is None
    assert st.latest["state"] == "ARMED"
    assert st.counters["rejected_sender"] == 1 and st.counters["status"] == 1
    assert len(st.history) == 1

    # pinned to one socket: the same host from another port is another sender
    pinned = ConsoleState(kii, StatusIntake(SenderAllowList.parse("127.0.0.1:40000"), 4096))
    assert pinned.ingest(encode_status(_status("SAFED"), seq=1), ("127.0.0.1", 40_002), 0.0) is None
    assert pinned.ingest(encode_status(_status("ARMED"), seq=2), AFSS, 0.1)["state"] == "ARMED"
    assert pinned.counters["rejected_sender"] == 1


def test_second_sender_on_an_allowed_address_raises_the_alarm(kii):
    st = ConsoleState(kii)
    st.ingest(encode_status(_status("ARMED"), seq=1), AFSS, 100.0)
    assert st.recent_senders() == ["127.0.0.1:40000"]
    st.ingest(encode_status(_status("SAFED"), seq=2), ("127.0.0.1", 40_002), 100.5)
    assert st.recent_senders() == ["127.0.0.1:40000", "127.0.0.1:40002"]
    assert st.snapshot()["senders"] == st.recent_senders()
    st.ingest(encode_status(_status("ARMED"), seq=3), AFSS, 106.0)  # the other one silent for 5.5 s
    assert st.recent_senders() == ["127.0.0.1:40000"]


def test_sender_allow_list_options_are_checked():
    from rangeguard.console.intake import SenderAllowList
    from rangeguard.errors import InputError

    assert SenderAllowList.parse("127.0.0.1, 127.0.0.3:9000").accepts(("127.0.0.3", 9000))
    for bad, words in (
        ("10.0.0.1", "can never reach"),
        ("0.0.0.0", "never the source"),
        ("::1", "IPv6"),
        ("127.0.0.1:0", "port"),
        ("localhost", "not an IPv4"),
        ("", "at least one"),
    ):
        with pytest.raises(InputError, match=words):
            SenderAllowList.parse(bad, "127.0.0.1")
    assert SenderAllowList.parse("10.0.0.1", "0.0.0.0").accepts(("10.0.0.1", 5))


def test_forged_status_over_udp_never_reaches_the_websocket(kii):
    from fastapi.testclient import TestClient

    with TestClient(create_app(kii), base_url=BASE) as client:
        udp = client.get("/api/health").json()["status_udp"]
        host, port = udp.removeprefix("udp://").split(":")
        dest = (host, int(port))
        with (
            client.websocket_connect(WS) as ws,
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as afss,
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as forger,
        ):
            assert json.loads(ws.receive_text())["type"] == "snapshot"
            forger.bind(("127.0.0.2", 0))
            for seq in range(3):
                forger.sendto(encode_status(_status("SAFED", 20.0 + seq), seq=100 + seq), dest)
            afss.sendto(encode_status(_status("ARMED", 30.0), seq=1), dest)
            items: list[dict] = []
            while not any(m["state"] == "ARMED" for m in items):  # the genuine packet, sent last, ends it
                items += json.loads(ws.receive_text()).get("items", [])
        assert [m["state"] for m in items] == ["ARMED"]
        health = client.get("/api/health").json()
        assert health["counters"]["rejected_sender"] == 3 and health["status_from"] == "127.0.0.1"
        assert client.get("/api/status").json()["latest"]["state"] == "ARMED"


# --- Host and Origin --------------------------------------------------------------------------------------


def test_foreign_host_header_is_refused_dns_rebinding(kii):
    from fastapi.testclient import TestClient

    with TestClient(create_app(kii), base_url=BASE) as client:
        for path in ("/", "/api/status", "/api/health", "/static/console.js"):
            r = client.get(path, headers={"host": "rebind.attacker.example:8000"})
            assert r.status_code == 403, path
            assert "rebind.attacker.example:8000" in r.text and "--allow-host" in r.text
            assert "ARMED" not in r.text and "snapshot" not in r.text
        assert client.get("/", headers={"host": "localhost:8000"}).status_code == 200
        assert client.get("/", headers={"host": "127.0.0.1:9999"}).status_code == 403  # another port
        assert client.get("/api/health").json()["refused_requests"]["refused_host"] == 5
    # --allow-host admits a name (the console's port unless given)
    app = create_app(kii, allow_hosts=["console.range.example", "proxy.example:443"])
    with TestClient(app, base_url="http://console.range.example:8000") as client:
        assert client.get("/api/status").status_code == 200
        assert client.get("/", headers={"host": "proxy.example:443"}).status_code == 200


def test_cross_origin_websocket_and_request_are_refused(kii):
    from fastapi.testclient import TestClient
    from starlette.testclient import WebSocketDenialResponse

    with TestClient(create_app(kii), base_url=BASE) as client:
        for origin in ("http://evil.example", "http://127.0.0.1:8001", "null"):
            with pytest.raises(WebSocketDenialResponse) as denied:
                with client.websocket_connect(WS, headers={"origin": origin}):
                    pass
            assert denied.value.status_code == 403
            assert "--allow-origin" in denied.value.text
            assert client.get("/api/status", headers={"origin": origin}).status_code == 403
        with client.websocket_connect(WS, headers={"origin": BASE}) as ws:  # the console's own page
            assert json.loads(ws.receive_text())["type"] == "snapshot"
        with pytest.raises(WebSocketDenialResponse):  # DNS rebinding on the websocket too
            with client.websocket_connect("ws://rebind.example:8000/ws"):
                pass
        assert client.get("/api/health").json()["refused_requests"]["refused_origin"] == 6
    app = create_app(kii, allow_origins=["http://proxy.example:8080"])
    with TestClient(app, base_url=BASE) as client:
        with client.websocket_connect(WS, headers={"origin": "http://proxy.example:8080"}) as ws:
            assert json.loads(ws.receive_text())["type"] == "snapshot"


def test_allow_options_are_checked(kii):
    from rangeguard.errors import InputError

    for kw, bad, words in (
        ("allow_hosts", ["http://x.example"], "is a URL"),
        ("allow_hosts", ["[::1]:8000"], "IPv6"),
        ("allow_hosts", ["bad host"], "not a host name"),
        ("allow_origins", ["proxy.example"], "not an origin"),
        ("allow_origins", ["http://p.example/path"], "not an origin"),
    ):
        with pytest.raises(InputError, match=words):
            create_app(kii, **{kw: bad})


# --- HEAD like GET ----------------------------------------------------------------------------------------


def test_head_is_answered_like_get(kii):
    from fastapi.testclient import TestClient

    with TestClient(create_app(kii), base_url=BASE) as client:
        for path in ("/", "/api/mission", "/api/status", "/api/health", "/favicon.ico", "/static/console.js"):
            get, head = client.get(path), client.head(path)
            assert head.status_code == get.status_code == 200, (path, head.status_code)
            assert head.content == b""
            assert head.headers["content-type"] == get.headers["content-type"]
            if path not in ("/api/health", "/api/status"):  # these change between the two requests
                assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.content))
        assert client.head("/nowhere").status_code == client.get("/nowhere").status_code == 404


# --- bounded memory ---------------------------------------------------------------------------------------


def test_oversized_packets_are_dropped_and_counted(kii):
    from rangeguard.console.intake import default_max_packet_bytes

    st = ConsoleState(kii)
    limit = default_max_packet_bytes(kii)
    assert 16_384 < limit < 17_000  # 16 KiB of room plus the Kii mission's 14 margins
    assert st.ingest(_huge_status(1_300), AFSS, 0.0) is None  # ~64 KB: a whole UDP datagram of margins
    assert st.counters["oversized"] == 1 and st.counters["status"] == 0 and st.latest is None
    # a packet just under the limit is shown, but only MAX_UNKNOWN_RULES invented rules of it
    n = (limit - 2_000) // 49
    data = _huge_status(n, "ARMED")
    assert len(data) <= limit
    msg = st.ingest(data, AFSS, 0.1)
    assert msg["state"] == "ARMED"
    assert len(msg["rules"]) == len([r for r in kii.rules if r.enabled]) + 16
    assert st.counters["unknown_rules_omitted"] == n - 16
    # the genuine status packet of this mission fits with room to spare
    genuine = encode_status(_status("ARMED", **{r.name: 1.0 for r in kii.rules}), seq=3)
    assert len(genuine) < limit / 10
    assert st.ingest(genuine, AFSS, 0.2) is not None


def test_history_is_bounded_by_samples_and_bytes(kii):
    from rangeguard.console.state import History

    assert History(max_samples=100, max_bytes=10**9).capacity == 100
    assert History(max_samples=10**6, max_bytes=56 * 50).capacity == 50
    h = History(max_samples=10, max_bytes=10**9)
    before = h.nbytes
    for i in range(25):
        h.append(
            {
                "t_s": float(i),
                "alt_m": None,
                "speed_mps": 1.0,
                "lat_deg": 0.0,
                "lon_deg": 0.0,
                "iip_lat_deg": math.nan,
                "iip_lon_deg": 0.0,
            }
        )
    assert len(h) == 10 and h.nbytes == before == 10 * 56
    cols = h.columns()
    assert cols["t_s"] == [float(i) for i in range(15, 25)]  # the newest, oldest first
    assert cols["alt_m"] == [None] * 10 and cols["iip_lat_deg"] == [None] * 10

    st = ConsoleState(kii)
    data = encode_status(_status("ARMED"), seq=1)
    for i in range(HISTORY_MAX + 500):
        st.ingest(data, AFSS, i * 1e-3)
    snap = st.snapshot()
    assert len(snap["history"]["t_s"]) == HISTORY_MAX == snap["history_max"]
    assert st.history.nbytes == HISTORY_MAX * 56


def test_push_queue_is_bounded_and_resyncs_with_a_snapshot(kii):
    from rangeguard.console.server import PENDING_MAX_BYTES, PENDING_MAX_ITEMS, _Hub

    st = ConsoleState(kii)
    hub = _Hub(st)
    msg = st.ingest(encode_status(_status("ARMED"), seq=1), AFSS, 0.0)
    for _ in range(PENDING_MAX_ITEMS * 3):
        hub.publish(msg)
        assert len(hub.pending) <= PENDING_MAX_ITEMS and hub.pending_bytes <= PENDING_MAX_BYTES
    assert hub.counters["push_overflow"] >= 2
    last_overflow = hub.counters["push_overflow"]
    # the next push after an overflow is a snapshot (the page replaces its history), then batches again
    hub.resync = True
    assert json.loads(hub._message())["type"] == "snapshot"
    hub.publish(msg)
    batch = json.loads(hub._message())
    assert batch["type"] == "batch" and len(batch["items"]) == 1 and "counters" in batch
    assert hub.counters["push_overflow"] == last_overflow


@pytest.mark.slow
def test_console_memory_stays_bounded_under_a_flood_of_forged_packets(processes):
    """Forged status packets, oversized and just under the limit, from allowed and other senders: the
    console's resident memory must not grow by more than GROWTH_MAX_MB (the old console grew without bound:
    a 20,000-entry history of whatever arrived). The flood stops early if memory runs away."""
    growth_max = 60 * 1024 * 1024
    rounds = 20  # 20 x 300 datagrams, 4,000 of them 64 KB
    http_port = free_port()
    console = processes(
        [
            "console",
            "--status",
            "udp://127.0.0.1:0",
            "--http",
            f"127.0.0.1:{http_port}",
            "--mission",
            "missions/kii-sso.yaml",
        ],
        "console",
    )
    console.wait_for("console on http://")
    health_url = f"http://127.0.0.1:{http_port}/api/health"
    udp = _get_json(health_url)["status_udp"].removeprefix("udp://").split(":")
    dest = (udp[0], int(udp[1]))
    oversized = _huge_status(1_300)
    at_limit = _huge_status(300, "ARMED")  # ~15 KB: accepted, 300 invented rules each
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as afss,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as forger,
    ):
        forger.bind(("127.0.0.2", 0))
        afss.sendto(encode_status(_status("ARMED"), seq=1), dest)
        _wait_datagrams(health_url, 1)
        base = console.rss_bytes()
        sent, peak = 1, base
        for _ in range(rounds):
            for _ in range(100):  # paced: a socket buffer holds only a few 64 KB datagrams
                for sock, data in ((afss, oversized), (forger, oversized), (afss, at_limit)):
                    sock.sendto(data, dest)
                    time.sleep(0.0003)
            sent += 300
            _wait_datagrams(health_url, sent, tolerate_loss=True)
            peak = max(peak, console.rss_bytes())
            assert peak - base < growth_max, f"RSS grew {(peak - base) / 2**20:.0f} MB after {sent} datagrams"
    health = _get_json(health_url)
    counters = health["counters"]
    assert counters["status"] > 0.5 * rounds * 100 and counters["oversized"] > 0.5 * rounds * 200, counters
    assert health["history"]["bytes"] == health["history"]["capacity"] * 56
    print(
        f"console RSS: {base / 2**20:.1f} MB before, peak {peak / 2**20:.1f} MB after "
        f"{counters['datagrams']} datagrams ({counters['oversized']} oversized)"
    )


def _get_json(url: str) -> dict:
    import urllib.request

    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def _wait_datagrams(health_url: str, n: int, tolerate_loss: bool = False, timeout_s: float = 20.0) -> None:
    """Until the console has read ``n`` datagrams (or, with ``tolerate_loss``, its count stops rising)."""
    deadline = time.monotonic() + timeout_s
    last = -1
    while time.monotonic() < deadline:
        got = _get_json(health_url)["counters"]["datagrams"]
        if got >= n or (tolerate_loss and got == last):
            return
        last = got
        time.sleep(0.1)
    raise AssertionError(f"the console read {last} of {n} datagrams in {timeout_s} s")


# --- clear errors for unusable addresses --------------------------------------------------------------------


def test_port_in_use_and_unusable_addresses_are_one_line_exit_2(processes):
    busy_tcp = socket.socket()
    busy_tcp.bind(("127.0.0.1", 0))
    busy_tcp.listen()
    busy_udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    busy_udp.bind(("127.0.0.1", 0))
    tcp_port, udp_port = busy_tcp.getsockname()[1], busy_udp.getsockname()[1]
    m = ["--mission", "missions/kii-sso.yaml"]
    cases = [
        (
            ["--status", "udp://127.0.0.1:0", "--http", f"127.0.0.1:{tcp_port}"],
            [f"--http 127.0.0.1:{tcp_port}", "is using port", "127.0.0.1:0"],
        ),
        (
            ["--status", f"udp://127.0.0.1:{udp_port}", "--http", "127.0.0.1:0"],
            ["--status", "is using port", "udp://127.0.0.1:0"],
        ),
        (["--status", "udp://127.0.0.1:0", "--http", "[::1]:8000"], ["--http", "IPv6", "127.0.0.1"]),
        (["--status", "udp://127.0.0.1:0", "--http", "::1:8000"], ["--http", "IPv6"]),
        (["--status", "udp://[::1]:9000", "--http", "127.0.0.1:0"], ["--status", "IPv6"]),
        (
            ["--status", "udp://127.0.0.1:0", "--http", "no-such-host.invalid:8000"],
            ["cannot resolve", "no-such-host.invalid"],
        ),
        (["--status", "udp://127.0.0.1:0", "--http", "192.0.2.55:8000"], ["no address 192.0.2.55", "127.0.0.1"]),
        (
            ["--status", "udp://127.0.0.1:0", "--http", "127.0.0.1:0", "--status-from", "10.1.2.3"],
            ["--status-from", "never reach"],
        ),
    ]
    try:
        for i, (args, words) in enumerate(cases):
            proc = processes(["console", *args, *m], f"bad-{i}")
            rc = proc.wait_exit(30)
            out = proc.output().strip()
            assert rc == 2, (args, rc, out)
            assert len(out.splitlines()) == 1 and "Traceback" not in out, (args, out)
            for w in words:
                assert w in out, (args, w, out)
    finally:
        busy_tcp.close()
        busy_udp.close()

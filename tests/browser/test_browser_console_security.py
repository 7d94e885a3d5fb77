"""The console against a hostile web and a forging sender, in the real browser (Debian's Chromium).

- a page served from another origin (another port of 127.0.0.1) opens the console's websocket and
  fetches its status: both must fail, and the console must have refused the websocket itself;
- DNS rebinding: Chromium resolves ``rebind.test`` to 127.0.0.1 (``--host-resolver-rules``, as an
  attacker's DNS would after rebinding); the console must refuse that Host;
- a forged status (SAFED, TERMINATED) from another sender never reaches the screen, and the page shows
  how many datagrams it rejected; a second sender on an allowed address raises the alarm.

Screenshots go to tests/browser/artifacts/.
"""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
import urllib.request

import pytest
from rgbrowser import ARTIFACTS, free_port

from rangeguard.telemetry.packets import StatusPacket, encode_status

pytestmark = [pytest.mark.browser, pytest.mark.console]

MISSION = ["--mission", "missions/kii-sso.yaml"]


def _get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as r:
        return json.loads(r.read())


def _console(processes, *extra) -> tuple[str, tuple[str, int]]:
    """Start a console; its page URL and its status UDP address."""
    http_port = free_port()
    console = processes(
        ["console", "--status", "udp://127.0.0.1:0", "--http", f"127.0.0.1:{http_port}", *MISSION, *extra], "console"
    )
    console.wait_for("console on http://")
    base = f"http://127.0.0.1:{http_port}"
    host, port = _get_json(base + "/api/health")["status_udp"].removeprefix("udp://").split(":")
    return base, (host, int(port))


class _ForeignSite:
    """Another origin on this machine (http://127.0.0.1:OTHER/) serving one attacking page."""

    def __init__(self, html: str):
        body = html.encode()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


ATTACK_JS = """
window.out = {ws: "pending", fetch: "pending", messages: 0, close: null};
const ws = new WebSocket("WS_URL");
ws.onopen = () => { out.ws = "open"; };
ws.onmessage = (e) => { out.messages += 1; out.data = String(e.data).slice(0, 80); };
ws.onclose = (e) => { out.close = e.code; if (out.ws === "pending") out.ws = "refused"; };
fetch("HTTP_URL").then((r) => r.text()).then((t) => { out.fetch = "read " + t.slice(0, 40); })
  .catch(() => { out.fetch = "blocked"; });
"""


def test_browser_cross_origin_page_cannot_open_the_console_websocket(processes, browser_page):
    page, errors = browser_page
    base, _ = _console(processes)
    js = ATTACK_JS.replace("WS_URL", base.replace("http:", "ws:") + "/ws").replace("HTTP_URL", base + "/api/status")
    with _ForeignSite(f"<!DOCTYPE html><title>elsewhere</title><script>{js}</script>") as site:
        page.goto(site.url)
        page.wait_for_function("() => out.ws !== 'pending' && out.fetch !== 'pending'", timeout=15_000)
        out = page.evaluate("out")
    assert out["ws"] == "refused" and out["messages"] == 0 and out["close"] == 1006, out
    assert out["fetch"] == "blocked", out
    # the console itself refused the handshake (not a network accident)
    assert _get_json(base + "/api/health")["refused_requests"]["refused_origin"] >= 1
    # the console's own page still connects
    errors.clear()
    page.goto(base + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=15_000)
    page.wait_for_function("() => document.querySelector('#link').textContent === 'connected'", timeout=10_000)
    assert errors == []


def test_browser_dns_rebinding_name_is_refused(processes, browser_page_with):
    base, _ = _console(processes)
    port = base.rsplit(":", 1)[1]
    page, errors = browser_page_with(
        ["--host-resolver-rules=MAP rebind.test 127.0.0.1"],
        ("http://127.0.0.1", "ws://127.0.0.1", "http://rebind.test", "ws://rebind.test"),
    )
    response = page.goto(f"http://rebind.test:{port}/")
    assert response.status == 403
    body = page.inner_text("body")
    assert "rebind.test" in body and "--allow-host" in body
    assert page.locator("#banner").count() == 0
    # script on the rebound origin (the attacker's) reads nothing either
    js = ATTACK_JS.replace("WS_URL", f"ws://rebind.test:{port}/ws").replace(
        "HTTP_URL", f"http://rebind.test:{port}/api/status"
    )
    page.evaluate(f"() => {{ {js} }}")
    page.wait_for_function("() => out.ws !== 'pending' && out.fetch !== 'pending'", timeout=15_000)
    out = page.evaluate("out")
    assert out["ws"] == "refused" and out["messages"] == 0, out
    assert out["fetch"].startswith("read refused: Host"), out  # the 403's text, not the status
    assert _get_json(base + "/api/health")["refused_requests"]["refused_host"] >= 3
    # by its own address the console answers
    errors.clear()
    page.goto(base + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=15_000)
    assert errors == []


def _status(state: str, t_s: float, fired_by=None, **margins) -> bytes:
    pkt = StatusPacket(
        t_s=t_s,
        state=state,
        fired_by=fired_by,
        reason=f"{state} at T+{t_s}",
        margins=margins,
        lat_deg=33.4,
        lon_deg=135.8,
        alt_m=2e4,
        speed_mps=900.0,
        iip_lat_deg=33.0,
        iip_lon_deg=135.9,
    )
    return encode_status(pkt, seq=int(t_s * 10) % 16384)


RECORD_BANNER_JS = """() => {
  window.seen = new Set([document.querySelector('#banner-state').textContent]);
  new MutationObserver(() => seen.add(document.querySelector('#banner-state').textContent))
    .observe(document.querySelector('#banner'), {subtree: true, childList: true, characterData: true});
}"""


def test_browser_forged_status_never_reaches_the_screen(processes, browser_page):
    page, errors = browser_page
    base, dest = _console(processes)
    page.goto(base + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=15_000)
    page.evaluate(RECORD_BANNER_JS)
    huge = _status("SAFED", 1.0, **{f"forged-{i:05d}".ljust(40, "x"): 0.0 for i in range(1_300)})
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as afss,
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as forger,
    ):
        forger.bind(("127.0.0.2", 0))  # another sender: another address on this machine
        for i in range(30):
            t_s = 10.0 + 0.1 * i
            forger.sendto(_status("SAFED", t_s + 0.05), dest)
            forger.sendto(_status("TERMINATED", t_s + 0.06, fired_by="iip-corridor"), dest)
            afss.sendto(_status("ARMED", t_s, **{"iip-corridor": 5e4}), dest)
            if i % 10 == 0:
                afss.sendto(huge, dest)  # from the right address, but larger than any status of this mission
            time.sleep(0.05)
        afss.sendto(_status("ARMED", 13.5), dest)  # newer than anything forged: the page must settle on it
        page.wait_for_function("() => document.querySelector('#t-now').textContent === '13.50'", timeout=10_000)
        assert sorted(page.evaluate("Array.from(seen)")) == ["ARMED", "NO DATA"]  # nothing forged was ever shown
        assert "ARMED" in page.inner_text("#banner")
        health = _get_json(base + "/api/health")["counters"]
        assert health["rejected_sender"] == 60 and health["oversized"] == 3 and health["status"] == 31, health
        page.wait_for_function("() => document.querySelector('#rejected').textContent === '63'", timeout=10_000)
        assert "FIRED" not in page.inner_text("#rules")
        detail = page.inner_text("#rejected-detail")
        assert "sender 60" in detail and "oversized 3" in detail
        assert page.locator("#alarm").is_hidden()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "console-forged-status-rejected.png"))

        # a second sender on the allowed address cannot be told apart by address: the operator is warned
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as second:
            for i in range(5):
                second.sendto(_status("ARMED", 20.0 + i), dest)
                afss.sendto(_status("ARMED", 20.05 + i), dest)
                time.sleep(0.05)
        page.wait_for_selector("#alarm:not([hidden])", timeout=10_000)
        alarm = page.inner_text("#alarm")
        assert "2 senders" in alarm and "--status-from HOST:PORT" in alarm
        page.screenshot(path=str(ARTIFACTS / "console-two-senders-alarm.png"))
    assert errors == []

"""The live console server: AFSS status over UDP in, a read-only web page and a websocket out.

Endpoints (GET and HEAD only; any other method gets 405, so the page can
command nothing):

- ``/``: the page (``static/index.html``), ``/static/*`` its script and style;
- ``/api/mission``: the static picture (:func:`rangeguard.console.state.mission_picture`);
- ``/api/coastline``: Natural Earth land and coastlines in the mission's box (GeoJSON);
- ``/api/status``: the latest status, history and counters (the websocket's first message);
- ``/api/health``: liveness, the UDP address listened on, the intake's and the front door's counters;
- ``/ws``: websocket; the server sends a snapshot, then batches of new status
  messages at most every :data:`PUSH_PERIOD_S`; it reads nothing from the page.

Every request first passes :class:`rangeguard.console.guard.RequestGuard`
(Host and Origin must be the console's own: DNS rebinding and cross-site
websockets are refused). Status datagrams pass
:class:`rangeguard.console.intake.StatusIntake` (size, sender,
authentication) before they are decoded.

The UDP listener runs in the server's event loop (asyncio datagram endpoint)
and binds to the address given (``127.0.0.1`` by default; port 0 picks a
free port, reported by ``/api/health``). :func:`serve` binds both sockets
before anything starts, so a port in use or an address this machine does not
have is one line and exit 2 (:func:`bind_socket`).

Memory is bounded whatever arrives: the state's own bounds
(:mod:`rangeguard.console.state`), at most :data:`PENDING_MAX_ITEMS` /
:data:`PENDING_MAX_BYTES` of messages waiting for the next push (beyond
that the pending batch is dropped and the next push is a full snapshot), at
most :data:`MAX_PAGES` websockets, and a page that does not take a push
within :data:`SEND_TIMEOUT_S` is dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import socket
import time
from collections import deque
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from rangeguard.console.guard import Allowed, RequestGuard
from rangeguard.console.intake import SenderAllowList, StatusIntake, default_max_packet_bytes
from rangeguard.console.state import HISTORY_MAX, HISTORY_MAX_BYTES, ConsoleState, coastline_geojson, mission_picture
from rangeguard.errors import InputError

PUSH_PERIOD_S = 0.1
"""Websocket push period, s (10 Hz is what an operator can read; every packet still reaches the plots)."""
PENDING_MAX_ITEMS = 1_000
"""Most status messages waiting for one push (the AFSS sends 10 a second)."""
PENDING_MAX_BYTES = 1024 * 1024
"""Most bytes of JSON waiting for one push."""
MAX_PAGES = 16
"""Most websockets (open console pages) at once; more are closed with code 1013 (try again later)."""
SEND_TIMEOUT_S = 2.0
"""A page that has not taken a push within this time is dropped (it reconnects and gets a snapshot), s."""
WS_MAX_MESSAGE_BYTES = 4096
"""Largest websocket message read from a page (the page sends nothing the console acts on)."""
MAX_CONNECTIONS = 64
"""Most HTTP connections and websockets at once (more get 503)."""
SHUTDOWN_S = 2
"""On SIGINT/SIGTERM, how long open pages may take to close before the console exits anyway, s."""


def static_dir() -> Path:
    """The page's shipped static assets (inside the package)."""
    return Path(str(resources.files("rangeguard.console").joinpath("static")))


class _Hub:
    """Fan-out of status messages to websocket clients, batched per push period, bounded in memory."""

    def __init__(self, state: ConsoleState) -> None:
        self.state = state
        self.clients: set = set()
        self.pages = 0  # open websockets, including any dropped from ``clients`` but not yet closed
        self.pending: deque[str] = deque()
        self.pending_bytes = 0
        self.resync = False
        self.counters = {"push_overflow": 0, "pages_dropped": 0, "pages_refused": 0}
        self.event = asyncio.Event()

    def publish(self, msg: dict) -> None:
        text = json.dumps(msg, allow_nan=False)
        if len(self.pending) >= PENDING_MAX_ITEMS or self.pending_bytes + len(text) > PENDING_MAX_BYTES:
            # more than a push can carry: drop the batch, the next push is a snapshot (history included)
            self.pending.clear()
            self.pending_bytes = 0
            self.resync = True
            self.counters["push_overflow"] += 1
        else:
            self.pending.append(text)
            self.pending_bytes += len(text)
        self.event.set()

    def touch(self) -> None:
        """Counters changed (a datagram was turned away): the page hears of it at the next push."""
        self.event.set()

    def _message(self) -> str:
        if self.resync:
            self.resync = False
            self.pending.clear()
            self.pending_bytes = 0
            return json.dumps(self.state.snapshot(), allow_nan=False)
        items = ",".join(self.pending)
        self.pending.clear()
        self.pending_bytes = 0
        report = json.dumps(self.state.intake_report(), allow_nan=False)
        return f'{{"type":"batch","items":[{items}],{report[1:]}'

    async def pump(self) -> None:
        while True:
            await self.event.wait()
            self.event.clear()
            text = self._message()
            clients = list(self.clients)
            if clients:
                results = await asyncio.gather(
                    *(asyncio.wait_for(ws.send_text(text), SEND_TIMEOUT_S) for ws in clients), return_exceptions=True
                )
                for ws, result in zip(clients, results, strict=True):
                    if isinstance(result, BaseException):  # closed, or too slow to read: dropped
                        self.clients.discard(ws)
                        self.counters["pages_dropped"] += 1
            await asyncio.sleep(PUSH_PERIOD_S)


class _UdpIntake(asyncio.DatagramProtocol):
    def __init__(self, state: ConsoleState, hub: _Hub) -> None:
        self.state = state
        self.hub = hub

    def datagram_received(self, data: bytes, addr) -> None:
        msg = self.state.ingest(data, addr, time.monotonic())
        if msg is not None:
            self.hub.publish(msg)
        else:
            self.hub.touch()

    def error_received(self, exc: Exception) -> None:
        pass  # an ICMP error for a datagram we never sent: nothing to do


def create_app(
    mission,
    status_host: str = "127.0.0.1",
    status_port: int = 0,
    *,
    http_host: str = "127.0.0.1",
    http_port: int = 8000,
    http_name: str | None = None,
    status_from="127.0.0.1",
    allow_hosts=(),
    allow_origins=(),
    max_packet_bytes: int | None = None,
    authenticator=None,
    history_max: int = HISTORY_MAX,
    history_max_bytes: int = HISTORY_MAX_BYTES,
    status_sock: socket.socket | None = None,
):
    """The ASGI application: serves the page and listens for status packets on UDP.

    ``http_host:http_port`` is where the page is served (IPv4 address; ``http_name`` the name the user
    gave for it): with ``allow_hosts`` / ``allow_origins`` it sets which Host and Origin headers are
    answered (:class:`rangeguard.console.guard.Allowed`). ``status_from`` (``HOST`` / ``HOST:PORT``
    items) and ``max_packet_bytes`` (default: :func:`default_max_packet_bytes` of the mission) set which
    datagrams are believed; ``authenticator`` (:class:`rangeguard.console.intake.Authenticator`) is the
    hook for authenticated status. ``status_sock``: an already bound UDP socket (:func:`serve`), else
    ``status_host:status_port`` is bound at startup.
    """
    if status_sock is not None:
        status_host = status_sock.getsockname()[0]
    intake = StatusIntake(
        SenderAllowList.parse(status_from, status_host),
        default_max_packet_bytes(mission) if max_packet_bytes is None else int(max_packet_bytes),
        authenticator,
    )
    allowed = Allowed.for_bind(http_host, http_port, http_name, allow_hosts, allow_origins)
    state = ConsoleState(mission, intake, history_max, history_max_bytes)
    picture = mission_picture(mission)
    coast_cache: dict = {}
    info: dict = {"udp": None, "hub": None}
    refused = {"refused_host": 0, "refused_origin": 0, "refused_method": 0}

    @contextlib.asynccontextmanager
    async def lifespan(app):
        loop = asyncio.get_running_loop()
        hub = info["hub"] = app.state.hub = _Hub(state)
        if status_sock is not None:
            transport, _ = await loop.create_datagram_endpoint(lambda: _UdpIntake(state, hub), sock=status_sock)
        else:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _UdpIntake(state, hub), local_addr=(status_host, status_port)
            )
        host, port = transport.get_extra_info("sockname")[:2]
        info["udp"] = app.state.status_udp = f"udp://{host}:{port}"
        pump = asyncio.create_task(hub.pump())
        try:
            yield
        finally:
            pump.cancel()
            transport.close()

    app = FastAPI(title="rangeguard console", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.console = state
    app.state.allowed = allowed
    app.add_middleware(RequestGuard, allowed=allowed, counters=refused)

    @app.get("/")
    async def index():
        return FileResponse(static_dir() / "index.html", media_type="text/html")

    @app.get("/favicon.ico")
    async def favicon():
        return FileResponse(static_dir() / "favicon.svg", media_type="image/svg+xml")

    @app.get("/api/mission")
    async def api_mission():
        return picture

    @app.get("/api/coastline")
    async def api_coastline():
        if "geojson" not in coast_cache:
            coast_cache["geojson"] = coastline_geojson(picture["bbox"])
        return coast_cache["geojson"]

    @app.get("/api/status")
    async def api_status():
        return Response(json.dumps(state.snapshot(), allow_nan=False), media_type="application/json")

    @app.get("/api/health")
    async def api_health():
        hub = info["hub"]
        return {
            "ok": True,
            "mission": mission.name,
            "status_udp": info["udp"],
            "status_from": str(intake.senders),
            "authenticated": authenticator is not None,
            "max_packet_bytes": intake.max_packet_bytes,
            "counters": state.counters,
            "senders": state.recent_senders(),
            "history": {
                "samples": len(state.history),
                "capacity": state.history.capacity,
                "bytes": state.history.nbytes,
            },
            "push": {"pages": hub.pages if hub else 0, **(hub.counters if hub else {})},
            "refused_requests": refused,
        }

    @app.websocket("/ws")
    async def ws(websocket: WebSocket):
        hub: _Hub = websocket.app.state.hub
        if hub.pages >= MAX_PAGES:
            hub.counters["pages_refused"] += 1
            await websocket.close(code=1013, reason=f"more than {MAX_PAGES} console pages are open")
            return
        hub.pages += 1
        try:
            await websocket.accept()
            await asyncio.wait_for(websocket.send_text(json.dumps(state.snapshot(), allow_nan=False)), SEND_TIMEOUT_S)
            hub.clients.add(websocket)
            while True:  # the page sends nothing that is acted on; this only notices it closing
                await websocket.receive_text()
        except (WebSocketDisconnect, asyncio.TimeoutError):
            pass
        finally:
            hub.pages -= 1
            hub.clients.discard(websocket)

    app.mount("/static", StaticFiles(directory=static_dir()), name="static")
    return app


def bind_socket(kind: int, host: str, port: int, what: str, shown: str) -> socket.socket:
    """A bound IPv4 socket (``SOCK_STREAM`` or ``SOCK_DGRAM``), or InputError naming ``what`` ``shown`` and the fix.

    ``shown`` is the address as the user wrote it; its port replaced by 0 is the suggested free port.
    """
    sock = socket.socket(socket.AF_INET, kind)
    try:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restart while old connections wait
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            free = shown[: shown.rfind(":") + 1] + "0"
            fix = (
                f"another program (another console?) is using port {port}; stop it, or choose another port "
                f"({what} {free} picks a free one)"
            )
        elif exc.errno == errno.EADDRNOTAVAIL:
            fix = f"this machine has no address {host}; use 127.0.0.1 (this machine only) or one of its own addresses"
        elif exc.errno == errno.EACCES:
            fix = f"not allowed to use port {port} (below 1024 needs administrator rights); choose a port from 1024 up"
        else:
            fix = f"cannot listen there ({exc.strerror or exc})"
        raise InputError(f"{what} {shown}: {fix}") from None
    return sock


def serve(
    mission,
    status_host: str,
    status_port: int,
    http_host: str = "127.0.0.1",
    http_port: int = 8000,
    *,
    http_name: str | None = None,
    status_from="127.0.0.1",
    allow_hosts=(),
    allow_origins=(),
    max_packet_bytes: int | None = None,
    announce=print,
    authenticator=None,
) -> None:
    """Run the console until interrupted (SIGINT/SIGTERM). Binds both sockets first (InputError if it cannot)."""
    import uvicorn

    SenderAllowList.parse(status_from, status_host)  # a bad option is reported before anything is bound
    udp = bind_socket(socket.SOCK_DGRAM, status_host, status_port, "--status", f"udp://{status_host}:{status_port}")
    try:
        tcp = bind_socket(socket.SOCK_STREAM, http_host, http_port, "--http", f"{http_name or http_host}:{http_port}")
    except InputError:
        udp.close()
        raise
    http_port = tcp.getsockname()[1]
    try:
        app = create_app(
            mission,
            http_host=http_host,
            http_port=http_port,
            http_name=http_name,
            status_from=status_from,
            allow_hosts=allow_hosts,
            authenticator=authenticator,
            allow_origins=allow_origins,
            max_packet_bytes=max_packet_bytes,
            status_sock=udp,
        )
    except InputError:
        udp.close()
        tcp.close()
        raise
    config = uvicorn.Config(
        app,
        log_level="warning",
        access_log=False,
        ws_max_size=WS_MAX_MESSAGE_BYTES,
        limit_concurrency=MAX_CONNECTIONS,
        timeout_graceful_shutdown=SHUTDOWN_S,
        ws="websockets-sansio" if _has_ws("websockets-sansio") else "auto",
    )
    server = uvicorn.Server(config)

    async def main():
        task = asyncio.create_task(server.serve(sockets=[tcp]))
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        if server.started:
            announce(
                f"console on http://{http_name or http_host}:{http_port}/ (mission {mission.name}; "
                f"status packets on {app.state.status_udp} from {app.state.console.intake.senders}); read-only"
            )
        await task

    try:
        asyncio.run(main())
    finally:
        tcp.close()


def _has_ws(name: str) -> bool:
    try:
        from uvicorn.config import WS_PROTOCOLS
    except ImportError:  # pragma: no cover
        return False
    return name in WS_PROTOCOLS

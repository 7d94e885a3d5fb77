"""The live console server: AFSS status over UDP in, a read-only web page and a websocket out.

Endpoints (all GET; any other method gets 405, so the page can command
nothing):

- ``/``: the page (``static/index.html``), ``/static/*`` its script and style;
- ``/api/mission``: the static picture (:func:`rangeguard.console.state.mission_picture`);
- ``/api/coastline``: Natural Earth land and coastlines in the mission's box (GeoJSON);
- ``/api/status``: the latest status, history and counters (the websocket's first message);
- ``/api/health``: liveness and the UDP address listened on;
- ``/ws``: websocket; the server sends a snapshot, then batches of new status
  messages at most every :data:`PUSH_PERIOD_S`; it reads nothing from the page.

The UDP listener runs in the server's event loop (asyncio datagram endpoint)
and binds to the address given (``127.0.0.1`` by default; port 0 picks a
free port, reported by ``/api/health``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from rangeguard.console.state import ConsoleState, coastline_geojson, mission_picture

PUSH_PERIOD_S = 0.1
"""Websocket push period, s (10 Hz is what an operator can read; every packet still reaches the plots)."""
READ_ONLY_METHODS = frozenset({"GET", "HEAD"})


def static_dir() -> Path:
    """The page's shipped static assets (inside the package)."""
    return Path(str(resources.files("rangeguard.console").joinpath("static")))


class _Hub:
    """Fan-out of status messages to websocket clients, batched per push period."""

    def __init__(self) -> None:
        self.clients: set = set()
        self.pending: list[dict] = []
        self.event = asyncio.Event()

    def publish(self, msg: dict) -> None:
        self.pending.append(msg)
        self.event.set()

    async def pump(self) -> None:
        while True:
            await self.event.wait()
            self.event.clear()
            batch, self.pending = self.pending, []
            if batch and self.clients:
                text = json.dumps({"type": "batch", "items": batch}, allow_nan=False)
                for ws in list(self.clients):
                    try:
                        await ws.send_text(text)
                    except Exception:  # noqa: BLE001 - a closed page is simply dropped
                        self.clients.discard(ws)
            await asyncio.sleep(PUSH_PERIOD_S)


class _UdpIntake(asyncio.DatagramProtocol):
    def __init__(self, state: ConsoleState, hub: _Hub) -> None:
        self.state = state
        self.hub = hub

    def datagram_received(self, data: bytes, addr) -> None:
        msg = self.state.ingest(data)
        if msg is not None:
            self.hub.publish(msg)


def create_app(mission, status_host: str = "127.0.0.1", status_port: int = 0):
    """The FastAPI application: serves the page and listens for status packets on UDP."""
    state = ConsoleState(mission)
    picture = mission_picture(mission)
    coast_cache: dict = {}
    info = {"udp": None}

    @contextlib.asynccontextmanager
    async def lifespan(app):
        loop = asyncio.get_running_loop()
        hub = _Hub()
        app.state.hub = hub
        transport, _ = await loop.create_datagram_endpoint(lambda: _UdpIntake(state, hub),
                                                           local_addr=(status_host, status_port))
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

    @app.middleware("http")
    async def read_only(request: Request, call_next):
        if request.method not in READ_ONLY_METHODS:
            return JSONResponse({"detail": "the console is read-only: only GET is served"}, status_code=405,
                                headers={"Allow": "GET, HEAD"})
        response = await call_next(request)
        response.headers["Cache-Control"] = "no-store"
        return response

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
        return {"ok": True, "mission": mission.name, "status_udp": info["udp"], "counters": state.counters}

    @app.websocket("/ws")
    async def ws(websocket: WebSocket):
        await websocket.accept()
        hub: _Hub = websocket.app.state.hub
        await websocket.send_text(json.dumps(state.snapshot(), allow_nan=False))
        hub.clients.add(websocket)
        try:
            while True:  # the page sends nothing that is acted on; this only notices it closing
                await websocket.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            hub.clients.discard(websocket)

    app.mount("/static", StaticFiles(directory=static_dir()), name="static")
    return app


def serve(mission, status_host: str, status_port: int, http_host: str = "127.0.0.1", http_port: int = 8000,
          announce=print) -> None:
    """Run the console until interrupted (SIGINT/SIGTERM)."""
    import uvicorn

    app = create_app(mission, status_host, status_port)
    config = uvicorn.Config(app, host=http_host, port=http_port, log_level="warning", access_log=False,
                            ws="websockets-sansio" if _has_ws("websockets-sansio") else "auto")
    server = uvicorn.Server(config)

    async def main():
        task = asyncio.create_task(server.serve())
        while not server.started and not task.done():
            await asyncio.sleep(0.05)
        if server.started:
            announce(f"console on http://{http_host}:{http_port}/ (mission {mission.name}; "
                     f"status packets on {app.state.status_udp}); read-only")
        await task

    asyncio.run(main())


def _has_ws(name: str) -> bool:
    try:
        from uvicorn.config import WS_PROTOCOLS
    except ImportError:  # pragma: no cover
        return False
    return name in WS_PROTOCOLS

"""The console's front door: which requests it answers (Host, Origin, method), for HTTP and the websocket.

A web page the operator visits elsewhere must not read the console:

- **DNS rebinding**: a name the attacker controls is re-pointed at 127.0.0.1,
  so the browser treats the console as that site's own origin. The browser
  still sends the attacker's name in the ``Host`` header, so a request whose
  Host is not one of the console's own names is refused (403).
- **Cross-site websockets**: browsers let any page open a websocket to any
  address and do not apply CORS to it; they do send the page's ``Origin``.
  A request (HTTP or websocket handshake) with an Origin that is not the
  console's own is refused; the websocket handshake gets 403. Requests
  without an Origin (curl, scripts on this machine) are served if their Host
  is right.

The console's own names are derived from the address it is bound to
(:meth:`Allowed.for_bind`): ``127.0.0.1:PORT`` and ``localhost:PORT`` on
loopback, the name given with ``--http``, and the machine's names when bound
to every interface; ``--allow-host`` and ``--allow-origin`` add more (e.g.
the name of a reverse proxy). Every refusal is one line that says what was
refused and which option admits it, and is counted (``refused_host``,
``refused_origin``, ``refused_method`` on ``/api/health``).

The console is read-only: any method but GET and HEAD gets 405, and HEAD is
answered exactly like GET without the body. Responses carry ``no-store`` and
a content security policy that keeps the page to this server.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from rangeguard.errors import InputError

READ_ONLY_METHODS = frozenset({"GET", "HEAD"})
SECURITY_HEADERS = (
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (
        b"content-security-policy",
        b"default-src 'self'; connect-src 'self'; img-src 'self' data:; "
        b"frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    ),
)
_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _check_name(name: str, item: str, what: str) -> str:
    name = name.lower().rstrip(".")
    if name.startswith("[") or ":" in name:
        raise InputError(f"{what}: {item!r} looks like an IPv6 address; the console serves IPv4 only")
    if not _NAME.match(name):
        raise InputError(f"{what}: {item!r} is not a host name or IPv4 address (e.g. console.example or 10.0.0.5)")
    return name


def _host_entry(item: str, port: int, what: str = "--allow-host") -> set[str]:
    """``NAME`` (the console's port) or ``NAME:PORT`` -> the Host header values it admits."""
    if "://" in item or "/" in item:
        raise InputError(
            f"{what}: {item!r} is a URL; give the host name as in the address bar, NAME or NAME:PORT "
            "(for a whole origin use --allow-origin)"
        )
    name, sep, port_text = item.strip().lower().partition(":")
    if item.strip().startswith("[") or port_text.count(":"):
        raise InputError(f"{what}: {item!r} looks like an IPv6 address; the console serves IPv4 only")
    name = _check_name(name, item, what)
    if sep:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise InputError(f"{what}: {item!r}: the port must be 1..65535 (NAME or NAME:PORT)")
        port = int(port_text)
    return {f"{name}:{port}"} | ({name} if port == 80 else set())


def _origin_entry(item: str, what: str = "--allow-origin") -> str:
    """``http(s)://NAME[:PORT]`` -> the Origin header value it admits (default ports dropped, as browsers do)."""
    text = item.strip().lower()
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        parts, port = None, None
    if (
        parts is None
        or parts.scheme not in _DEFAULT_PORTS
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
    ):
        raise InputError(
            f"{what}: {item!r} is not an origin; write it as the browser sends it, e.g. http://console.example:8000"
        )
    name = _check_name(parts.hostname, item, what)
    if port is None or port == _DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{name}"
    return f"{parts.scheme}://{name}:{port}"


def _machine_names() -> set[str]:
    """This machine's host name, its fully qualified name and their IPv4 addresses (best effort)."""
    names: set[str] = set()
    for name in {socket.gethostname(), socket.getfqdn()}:
        try:
            names.add(_check_name(name, name, "host name"))
            names.update(socket.gethostbyname_ex(name)[2])
        except (InputError, OSError):
            continue
    return names


@dataclass(frozen=True)
class Allowed:
    """The Host header values and Origins the console answers."""

    hosts: frozenset[str]
    origins: frozenset[str]

    @classmethod
    def for_bind(
        cls, bind_host: str, port: int, given_name: str | None = None, extra_hosts=(), extra_origins=()
    ) -> Allowed:
        """The console's own names on ``bind_host:port`` (module docstring) plus ``extra_*``.

        ``bind_host`` is the IPv4 address bound; ``given_name`` the name the user gave (e.g. ``localhost``).
        Extra items may be comma-separated.
        """
        ip = ipaddress.IPv4Address(bind_host)
        names = {str(ip)}
        if given_name:
            names.add(_check_name(given_name, given_name, "--http"))
        if ip.is_loopback or ip.is_unspecified:
            names |= {"127.0.0.1", "localhost"}
        if ip.is_unspecified:
            names |= _machine_names()
        hosts: set[str] = set()
        for name in names:
            hosts |= _host_entry(name, port, "--http")
        for item in (s for text in extra_hosts for s in text.split(",") if s.strip()):
            hosts |= _host_entry(item, port)
        origins = {f"http://{h}" for h in hosts if ":" not in h or not h.endswith(":80")}
        origins |= {_origin_entry(item) for text in extra_origins for item in text.split(",") if item.strip()}
        return cls(frozenset(hosts), frozenset(origins))

    def refusal(self, host: str | None, origin: str | None) -> tuple[str, str] | None:
        """None when a request with these headers is answered, else ``(counter, one-line reason)``."""
        if host is None or host.lower() not in self.hosts:
            shown = "none" if host is None else repr(host[:200])
            return "refused_host", (
                f"refused: Host {shown} is not this console's address (it answers "
                f"{_listing(self.hosts)}); if you reach it by that name, start it with "
                f"--allow-host NAME"
            )
        if origin is not None and origin.lower() not in self.origins:
            return "refused_origin", (
                f"refused: a page from origin {origin[:200]!r} may not read this console (it "
                f"admits {_listing(self.origins)}); to admit it, start the console with "
                f"--allow-origin ORIGIN"
            )
        return None


def _listing(items) -> str:
    items = sorted(items)
    return ", ".join(items[:6]) + (f" and {len(items) - 6} more" if len(items) > 6 else "")


class RequestGuard:
    """Pure ASGI middleware (HTTP and websocket): Host and Origin check, read-only methods, HEAD as GET."""

    def __init__(self, app, allowed: Allowed, counters: dict[str, int]):
        self.app = app
        self.allowed = allowed
        self.counters = counters  # refused_host, refused_origin, refused_method (shared with /api/health)

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)  # lifespan
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        refusal = self.allowed.refusal(headers.get("host"), headers.get("origin"))
        if scope["type"] == "websocket":
            if refusal is not None:
                self.counters[refusal[0]] += 1
                await _deny_websocket(scope, receive, send, refusal[1])
                return
            await self.app(scope, receive, send)
            return
        if refusal is not None:
            self.counters[refusal[0]] += 1
            await _plain(send, 403, refusal[1], head=scope["method"] == "HEAD")
            return
        if scope["method"] not in READ_ONLY_METHODS:
            self.counters["refused_method"] += 1
            await _plain(
                send, 405, "the console is read-only: only GET and HEAD are served", extra=[(b"allow", b"GET, HEAD")]
            )
            return
        head = scope["method"] == "HEAD"
        if head:
            scope = dict(scope, method="GET")

        async def send_guarded(message):
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in names]
                message = dict(message, headers=list(message.get("headers", [])) + extra)
            elif message["type"] == "http.response.body" and head:
                message = dict(message, body=b"")  # HEAD: GET's status and headers (Content-Length too), no body
            await send(message)

        await self.app(scope, receive, send_guarded)


async def _plain(send, status: int, text: str, head: bool = False, extra=()) -> None:
    body = (text + "\n").encode("utf-8")
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        *extra,
        *SECURITY_HEADERS,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


async def _deny_websocket(scope, receive, send, reason: str) -> None:
    """Refuse a websocket handshake: 403 with the reason as its body where the server can, else close 1008."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    if "websocket.http.response" in scope.get("extensions", {}):
        await _plain(_ws_http(send), 403, reason)
    else:
        short = reason.encode("utf-8")[:123].decode("utf-8", "ignore")  # a close reason is at most 123 bytes
        await send({"type": "websocket.close", "code": 1008, "reason": short})


def _ws_http(send):
    async def relay(message):
        await send(dict(message, type="websocket." + message["type"]))

    return relay

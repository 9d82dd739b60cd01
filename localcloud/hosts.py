"""Only loopback names in `Host`: localcloud's defence against DNS rebinding.

localcloud listens on 127.0.0.1 and trusts whoever reaches it, so a web page whose own name an attacker
re-points at 127.0.0.1 could read it from the victim's browser (health shows the data directory, and the
sign-in pages answer). Such a browser still sends the attacker's name in `Host`; every request whose `Host`
is not `127.0.0.1`, `localhost` or `[::1]` (any port) is answered 421 Misdirected Request, on every route,
websocket handshakes included.

What the official clients send, and so what is allowed besides the bare names: `oss2` uses path-style URLs
(`/{bucket}/{key}`) for any IP or `localhost` endpoint, so it never sends `<bucket>.127.0.0.1` (no subdomain is
allowed); dashscope, MCP and httpx send the endpoint's host; the app's `/lc` proxy connects to
`http://127.0.0.1:PORT`. The Tea SDKs copy their configured endpoint into `Host` verbatim, and
`python -m localcloud env` exports endpoints as URLs (`STS_ENDPOINT=http://127.0.0.1:PORT`), so `Host` may also be
`http://` plus a loopback name: no browser ever sends a scheme in `Host`.
"""

from __future__ import annotations

import re

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketClose

__all__ = ["LOOPBACK_NAMES", "LoopbackHostOnly", "is_loopback_host"]

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})
# RFC 9110 §7.2: Host = uri-host [ ":" port ]; an IPv6 literal keeps its brackets. Plus the Tea SDKs' `http://`.
_HOST = re.compile(r"(?:http://)?(?P<name>\[[0-9A-Fa-f:.]+\]|[^:\[\]@/\\]+)(?::(?P<port>[0-9]{1,5}))?")
_REFUSAL = ("Misdirected Request: localcloud only answers requests addressed to 127.0.0.1, localhost or [::1] "
            "(any port).\n")
_DENIAL_EXTENSION = "websocket.http.response"


def is_loopback_host(value: str) -> bool:
    """Whether a `Host` header value names this machine's loopback interface (any port)."""
    match = _HOST.fullmatch(value)
    return match is not None and match["name"].lower() in LOOPBACK_NAMES


def _host_headers(scope: Scope) -> list[str]:
    return [value.decode("latin-1") for name, value in scope.get("headers", []) if name.lower() == b"host"]


def _host_allowed(scope: Scope) -> bool:
    """Exactly one `Host` header, naming loopback (a missing or repeated one is refused too)."""
    hosts = _host_headers(scope)
    return len(hosts) == 1 and is_loopback_host(hosts[0])


class LoopbackHostOnly:
    """ASGI middleware: requests and websocket handshakes for any other `Host` get 421 and go no further."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or _host_allowed(scope):
            await self.app(scope, receive, send)
            return
        refusal = PlainTextResponse(_REFUSAL, status_code=421, headers={"Cache-Control": "no-store"})
        if scope["type"] == "http":
            await refusal(scope, receive, send)
        elif _DENIAL_EXTENSION in scope.get("extensions", {}):
            await WebSocket(scope, receive, send).send_denial_response(refusal)
        else:  # a server without the denial extension can only refuse the handshake (403)
            await WebSocketClose(code=1008)(scope, receive, send)

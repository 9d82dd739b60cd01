"""The guard in front of every request the Streamlit server answers (pages, static files, the app's routes, `/lc`).

- **Host allowlist** (DNS rebinding): a request or websocket for a Host the app is not (see `web.hosts`) gets 421
  and a short text, never the page.
- **Websocket origin**: `/_stcore/stream` drives every page as the browser's user, so it (like any websocket) is
  accepted only from the app's own origin (not another port of the same host, not a page with no Origin), and with
  Streamlit's XSRF token when that protection is on. Streamlit itself accepts a websocket with no Origin and no
  token.
- **Closed endpoints**: `/_stcore/metrics` (sessions, cache names) and Streamlit's agent API answer 404.
- **Headers on every answer**: no framing (`frame-ancestors 'none'`, `X-Frame-Options: DENY`), `nosniff`, a
  `Referrer-Policy`, and `no-store` where a token, code or state passes. Streamlit's component frames (the sign-in
  button) are framed by the app itself, so they alone may be framed, and only by the same origin.
"""

from __future__ import annotations

from collections.abc import Callable
from http.cookies import CookieError, SimpleCookie

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.hosts import HostAllowlist

__all__ = ["CLOSED_PATHS", "NO_STORE_PREFIXES", "AppGuard", "XsrfCheck"]

CLOSED_PATHS = ("/_stcore/metrics", "/_stcore/agent/")
NO_STORE_PREFIXES = ("/auth/", "/callback", "/consent/", "/oauth2callback", "/lc/")
_FRAMED_BY_THE_APP = ("/component/", "/_stcore/bidi-components/")
_DENY_FRAMING = {"x-frame-options": "DENY", "content-security-policy": "frame-ancestors 'none'"}
_SAME_ORIGIN_FRAMING = {"x-frame-options": "SAMEORIGIN", "content-security-policy": "frame-ancestors 'self'"}
_ALWAYS = {"x-content-type-options": "nosniff", "referrer-policy": "same-origin"}

# (the websocket's XSRF token from its subprotocol header, the `_streamlit_xsrf` cookie) → valid?
XsrfCheck = Callable[[str | None, str | None], bool]


def _path(scope: Scope) -> str:
    return scope.get("path", "")


def _security_headers(path: str, present: Headers) -> list[tuple[bytes, bytes]]:
    """The headers to add to an answer for `path` that does not set them itself."""
    framing = _SAME_ORIGIN_FRAMING if path.startswith(_FRAMED_BY_THE_APP) else _DENY_FRAMING
    wanted = {**framing, **_ALWAYS}
    if path.startswith(NO_STORE_PREFIXES):
        wanted["cache-control"] = "no-store"
    added = [(name.encode(), value.encode()) for name, value in wanted.items() if name not in present]
    csp = present.get("content-security-policy")
    if csp is not None and "frame-ancestors" not in csp:  # a policy of its own still must not allow framing
        added.append((b"content-security-policy", framing["content-security-policy"].encode()))
    return added


def _secure_cookies(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """`Secure` added to every Set-Cookie without it: behind a proxy terminating TLS, Streamlit sets its XSRF cookie
    without (it adds Secure only when it terminates TLS itself)."""
    return [(name, value + b"; Secure") if name.lower() == b"set-cookie" and not _is_secure(value) else (name, value)
            for name, value in headers]


def _is_secure(set_cookie: bytes) -> bool:
    return any(part.strip().lower() == b"secure" for part in set_cookie.split(b";")[1:])


def _xsrf_cookie(headers: Headers) -> str | None:
    try:
        jar = SimpleCookie(headers.get("cookie", ""))
    except CookieError:
        return None
    found = jar.get("_streamlit_xsrf")
    return found.value if found is not None else None


def _xsrf_token(headers: Headers) -> str | None:
    """The second entry of `Sec-WebSocket-Protocol`, where Streamlit's client sends its XSRF token."""
    entries = [entry.strip() for entry in headers.get("sec-websocket-protocol", "").split(",")]
    return entries[1] if len(entries) > 1 and entries[1] else None


class AppGuard:
    """ASGI middleware; `allowlist()` and `xsrf_check()` are read per request (settings load lazily)."""

    def __init__(self, app: ASGIApp, allowlist: Callable[[], HostAllowlist],
                 xsrf_check: Callable[[], XsrfCheck | None]) -> None:
        self.app, self._allowlist, self._xsrf_check = app, allowlist, xsrf_check

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers, path, allowlist = Headers(scope=scope), _path(scope), self._allowlist()
        if not allowlist.permits(headers.get("host")):
            await _plain(send, 421, "Misdirected request: this server does not answer for that host name.")
        elif any(closed in path for closed in CLOSED_PATHS):  # also below a `server.baseUrlPath`
            await _plain(send, 404, "Not found.")
        else:
            await self.app(scope, receive, _with_headers(send, path, secure=allowlist.https))

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope)
        allowlist = self._allowlist()
        refused = not allowlist.permits(headers.get("host"))
        if not refused:  # every websocket: `/_stcore/stream` (also under a base URL path) is the only one served
            check = self._xsrf_check()
            refused = not allowlist.permits_origin(headers.get("origin")) or (
                check is not None and not check(_xsrf_token(headers), _xsrf_cookie(headers)))
        if refused:  # closing before accepting answers the handshake with 403
            await send({"type": "websocket.close", "code": 1008})
            return
        await self.app(scope, receive, send)


def _with_headers(send: Send, path: str, *, secure: bool) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            raw = list(message.get("headers", []))
            raw = _secure_cookies(raw) if secure else raw
            message = {**message, "headers": [*raw, *_security_headers(path, Headers(raw=raw))]}
        await send(message)

    return sending


async def _plain(send: Send, status: int, text: str) -> None:
    body = (text + "\n").encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode()),
               *_security_headers("/", Headers())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

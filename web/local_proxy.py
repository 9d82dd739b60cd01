"""`/lc/…` on the app's own origin: a reverse proxy to the built-in localcloud's browser-facing pages.

In local mode the user's browser visits localcloud's sign-in and consent pages and the data plane's
authorization URL and callback at `{APP_REDIRECT_URI}/lc`, so a hosted demo works from any visitor's
browser while localcloud itself listens on 127.0.0.1 only. Just the front channel passes, what a browser visits:
the sign-in server's authorize, login, consent and logout pages, the data plane's authorization URL and
callback, and the order service's consent and sign-in pages (`/order-service/oauth/authorize` and `…/login`).
Never the back channel (token, userinfo, revocation, introspection, JWKS, discovery: the app reaches
those on localcloud's own loopback address, as its discovery document says), the Tea RPC front (`POST /`, which
acts with the root key), `/_localcloud/` (health, reset), or the order service's metadata, token endpoint and API.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from urllib.parse import quote

import anyio
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocketClose

from web.bodies import read_body

__all__ = [
    "ALLOWED_METHODS",
    "ALLOWED_PREFIXES",
    "FRONT_CHANNEL_PAGES",
    "LOCALCLOUD_MOUNT",
    "ORDER_SERVICE_PAGES",
    "LocalCloudProxy",
    "Upstream",
    "is_forwardable",
    "request_headers",
    "response_headers",
]

LOCALCLOUD_MOUNT = "/lc"  # the path of `Settings.localcloud_public_url` by default
ALLOWED_PREFIXES = ("/oauth/", "/oauth2/")
# The front channel: /oauth/<realm>/<page> and the data plane's /oauth2/authorize and /oauth2/callback/<id>.
FRONT_CHANNEL_PAGES = frozenset({"authorize", "login", "consent", "logout"})
# The order service's pages (localcloud.orders: its ORDER_SERVICE_PATH plus the two page paths), written out here so
# this module imports nothing of localcloud (`streamlit run` imports it before its health check answers).
ORDER_SERVICE_PAGES = frozenset({"/order-service/oauth/authorize", "/order-service/oauth/login"})
ALLOWED_METHODS = frozenset({"GET", "HEAD", "POST"})
MAX_BODY_BYTES = 64 * 1024  # localcloud refuses bigger forms anyway: never buffer more than that here
TIMEOUT_SECONDS, CONNECT_TIMEOUT_SECONDS = 15.0, 3.0

# RFC 9110 §7.6.1 hop-by-hop fields; `date` and `server` are added again by the server in front of us.
_NOT_FORWARDED_BACK = frozenset({"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                                 "trailer", "transfer-encoding", "upgrade", "proxy-connection", "date", "server"})
_FORWARDED = frozenset({"accept", "accept-language", "authorization", "content-type", "user-agent"})
# localcloud names its cookies `lc_…`; the app's own (Streamlit's session, XSRF, login) must not leave it.
_OWN_COOKIE_PREFIX = "lc_"
_PAGE_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"}
_PATH_SAFE = "/:@!$&'()*+,;=-._~"

Upstream = Callable[[], str | None]


def is_forwardable(path: str) -> bool:
    """Whether a path below the mount is one of localcloud's browser-facing pages (no dot segments)."""
    if path in ORDER_SERVICE_PAGES:  # exact paths: nothing below or beside them
        return True
    if not path.startswith(ALLOWED_PREFIXES) or "\\" in path:
        return False
    segments = path.split("/")
    # httpx resolves `..` before sending, so `/oauth/../_localcloud/reset` would escape the allowlist.
    if any(segment in (".", "..") for segment in segments):
        return False
    if segments[1] == "oauth":  # ["", "oauth", realm, page]
        return len(segments) == 4 and segments[3] in FRONT_CHANNEL_PAGES
    return path == "/oauth2/authorize" or (len(segments) == 4 and segments[2] == "callback" and bool(segments[3]))


def _own_cookies(values: Iterable[str]) -> str:
    pairs = (pair.strip() for value in values for pair in value.split(";"))
    return "; ".join(pair for pair in pairs if pair.startswith(_OWN_COOKIE_PREFIX))


def request_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The browser's headers localcloud may see: a short allowlist, and only localcloud's own cookies."""
    pairs = [(name.lower(), value) for name, value in headers]
    forwarded = {name: value for name, value in pairs if name in _FORWARDED}
    cookies = _own_cookies(value for name, value in pairs if name == "cookie")
    if cookies:
        forwarded["cookie"] = cookies
    forwarded["accept-encoding"] = "identity"  # the body is passed on as received, so take it unencoded
    return forwarded


def response_headers(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """localcloud's headers minus hop-by-hop ones; Location and Set-Cookie pass untouched (public URL already)."""
    pairs = [(name.lower(), value) for name, value in raw]
    listed = {token.strip().lower() for name, value in pairs if name == b"connection" for token in value.split(b",")}
    return [(name, value) for name, value in pairs
            if name.decode("latin-1") not in _NOT_FORWARDED_BACK and name not in listed]


def _page(status: int, title: str, message: str, headers: dict[str, str] | None = None) -> HTMLResponse:
    body = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body style='font-family:sans-serif;max-width:36rem;margin:4rem auto'><h1>{html.escape(title)}</h1>"
            f"<p>{html.escape(message)}</p></body></html>")
    return HTMLResponse(body, status_code=status, headers={**_PAGE_HEADERS, **(headers or {})})


def _route_path(scope: Scope) -> str:
    """The request path below the mount point (Starlette keeps the full path and extends `root_path`)."""
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root):] if root and path.startswith(root) else path


class LocalCloudProxy:
    """ASGI app: forwards `/oauth/…` and `/oauth2/…` (GET, HEAD, POST) to localcloud; 404 for anything else.

    `upstream()` returns localcloud's `http://127.0.0.1:PORT`, or None when the app runs no localcloud; it
    may block (the first call can start localcloud), so it runs in a worker thread.
    """

    def __init__(self, upstream: Upstream, timeout: float = TIMEOUT_SECONDS) -> None:
        self._upstream, self._timeout = upstream, timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # localcloud's pages need no websocket
            await WebSocketClose(code=1008)(scope, receive, send)
            return
        response = await self._respond(Request(scope, receive))
        await response(scope, receive, send)

    async def _respond(self, request: Request) -> Response:
        path = _route_path(request.scope)
        if not is_forwardable(path):
            return _page(404, "Not found", "There is no page here.")
        if request.method not in ALLOWED_METHODS:
            return _page(405, "Method not allowed", "Use GET or POST.", {"Allow": "GET, HEAD, POST"})
        base = await anyio.to_thread.run_sync(self._upstream)
        if base is None:
            return _page(404, "No local cloud here", "This app runs no built-in local cloud (it is in cloud mode, "
                         "or its settings are invalid), so there are no local sign-in pages here.")
        body = await read_body(request, MAX_BODY_BYTES)
        if body is None:
            return _page(413, "Request too large", "This page takes small forms only.")
        return await self._forward(base, request, path, body)

    async def _forward(self, base: str, request: Request, path: str, body: bytes) -> Response:
        import httpx  # here: `streamlit run` imports this module before its health check answers

        query = request.scope.get("query_string", b"")
        try:
            url = httpx.URL(base).copy_with(raw_path=quote(path, safe=_PATH_SAFE).encode("ascii")
                                            + (b"?" + query if query else b""))
        except httpx.InvalidURL:  # e.g. a raw '#' in the query: no browser sends one, and httpx cannot forward it
            return _page(400, "Bad request", "This address cannot be forwarded to the local cloud.")
        # As bytes: Starlette decoded the headers as Latin-1, and httpx would encode str values as ASCII (a
        # non-ASCII User-Agent or cookie raised UnicodeEncodeError: a 500).
        headers = {name.encode("latin-1"): value.encode("latin-1")
                   for name, value in request_headers(request.headers.items()).items()}
        try:
            timeout = httpx.Timeout(self._timeout, connect=min(self._timeout, CONNECT_TIMEOUT_SECONDS))
            # Plain http to 127.0.0.1: no TLS, so no CA bundle to load (that would cost ~25 ms per page).
            async with httpx.AsyncClient(trust_env=False, timeout=timeout, follow_redirects=False,
                                         verify=False) as client:  # noqa: S501
                answer = await client.request(request.method, url, content=body, headers=headers)
        except httpx.HTTPError:
            return _page(502, "Local cloud unavailable", "The built-in local cloud did not answer. Reload the "
                         "app and try again.")
        response = Response(answer.content, status_code=answer.status_code)
        response.raw_headers = response_headers(answer.headers.raw)
        return response

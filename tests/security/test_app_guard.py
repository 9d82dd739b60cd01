"""Cases 14, 15, 17 and 22, tried against a real `streamlit run app.py` from outside: the websocket only from the
app's own origin with Streamlit's XSRF token, no page for a foreign Host (DNS rebinding), no framing and `nosniff` on
every answer, `/_stcore/metrics` closed; and a page on another port of the same host, in a real Chromium, cannot
open the app's websocket. Security state survives Streamlit's `clear_cache`.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from streamlit.runtime import caching

from identity.broker import ConsentRequired
from tests.e2e.conftest import CHROMIUM_ARGS, AppServer, require_chromium, running_app
from tests.support import verified_sign_in
from tools.documents import DINGTALK_SCOPES
from tools.services import MCP_SCOPES
from ui.runtime import get_runtime

REBIND_HOST = "rebind.attacker.example"
PAGES = ("/", "/chat", "/credentials", "/inspect", "/policies", "/setup", "/login")
ROUTES = ("/callback?state=x", "/consent/authorize?state=x", "/auth/logout", "/oauth2callback",
          "/lc/oauth/aliyun/authorize", "/_stcore/health", "/_stcore/host-config")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    with running_app(tmp_path_factory.mktemp("guarded")) as running:
        yield running


def _port(server: AppServer) -> int:
    return int(server.url.rsplit(":", 1)[1])


def _get(server: AppServer, path: str, **headers: str) -> httpx.Response:
    return httpx.get(f"{server.url}{path}", headers=headers, trust_env=False, timeout=15, follow_redirects=False)


def _xsrf_cookie(server: AppServer) -> str:
    """The `_streamlit_xsrf` cookie the app hands a browser with its health check (its client sends it back)."""
    return _get(server, "/_stcore/health").cookies["_streamlit_xsrf"]


def websocket_status(server: AppServer, *, host: str | None = None, origin: str | None = None,
                     token: str | None = None, cookie: str | None = None) -> int:
    """The HTTP status of a raw websocket handshake on `/_stcore/stream` (101 = opened), as any client can send."""
    lines = ["GET /_stcore/stream HTTP/1.1", f"Host: {host or f'127.0.0.1:{_port(server)}'}", "Upgrade: websocket",
             "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13",
             f"Sec-WebSocket-Protocol: streamlit, {token}" if token else "Sec-WebSocket-Protocol: streamlit"]
    lines += [f"Origin: {origin}"] if origin else []
    lines += [f"Cookie: _streamlit_xsrf={cookie}"] if cookie else []
    with socket.create_connection(("127.0.0.1", _port(server)), timeout=10) as connection:
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        status_line = connection.recv(4096).split(b"\r\n", 1)[0].decode()
    return int(status_line.split()[1])


# -- case 14: the websocket ----------------------------------------------------------------------------------------
def test_the_apps_own_page_opens_the_websocket_with_its_xsrf_token(server):
    cookie = _xsrf_cookie(server)

    assert websocket_status(server, origin=server.url, token=cookie, cookie=cookie) == 101


@pytest.mark.parametrize("case", ["no origin, no cookie", "another port of this host", "another site",
                                  "no xsrf token", "a forged xsrf token"])
def test_a_websocket_from_anywhere_else_is_refused(server, case):
    cookie, other_port = _xsrf_cookie(server), _port(server) + 1
    attempts = {
        "no origin, no cookie": {},
        "another port of this host": {"origin": f"http://127.0.0.1:{other_port}", "token": cookie, "cookie": cookie},
        "another site": {"origin": "http://evil.example", "token": cookie, "cookie": cookie},
        "no xsrf token": {"origin": server.url, "cookie": cookie},
        "a forged xsrf token": {"origin": server.url, "token": "2|00000000|11111111|1", "cookie": cookie},
    }

    assert websocket_status(server, **attempts[case]) == 403


def test_a_page_on_another_port_of_the_same_host_cannot_open_the_apps_websocket_in_a_real_browser(server):
    """The attack as it was run: alice's Chromium opens the app, then a page served from another port of 127.0.0.1,
    which reads the (port-blind) XSRF cookie and opens `/_stcore/stream` with it."""
    from playwright.sync_api import sync_playwright

    with _attacker_page(_port(server)) as attacker_url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(require_chromium()), args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page()
            page.goto(server.url)  # alice has the app open: her browser holds the app's cookies
            page.wait_for_function("document.cookie.includes('_streamlit_xsrf')", timeout=15_000)
            page.goto(attacker_url)
            page.wait_for_function("window.outcome !== undefined", timeout=15_000)
            outcome, had_token = page.evaluate("[window.outcome, window.hadToken]")
        finally:
            browser.close()

    assert had_token and outcome == "closed before open"


_ATTACK_PAGE = """<!doctype html><html><body><script>
const token = (document.cookie.match(/_streamlit_xsrf=([^;]+)/) || [])[1];
window.hadToken = Boolean(token);
const ws = new WebSocket("ws://127.0.0.1:APP_PORT/_stcore/stream", ["streamlit", token || "none"]);
ws.onopen = () => { window.outcome = "opened"; };
ws.onclose = () => { if (window.outcome === undefined) window.outcome = "closed before open"; };
</script></body></html>"""


class _AttackHandler(BaseHTTPRequestHandler):
    page = b""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args: object) -> None:
        pass


class _attacker_page:
    """The attacker's page, served by a plain HTTP server on another port of 127.0.0.1."""

    def __init__(self, app_port: int) -> None:
        handler = type("Handler", (_AttackHandler,), {"page": _ATTACK_PAGE.replace("APP_PORT", str(app_port)).encode()})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)

    def __enter__(self) -> str:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_security_state_survives_streamlits_clear_cache(chat_runtime):
    """What any websocket client's `clear_cache` message makes Streamlit do (both caches cleared, for every user)
    leaves the broker as it was: alice's pending consent, her Disconnect mark and her activity log."""
    runtime, settings = chat_runtime, chat_runtime.settings
    alice = verified_sign_in(runtime.target.local, settings, runtime.target.oauth_discovery_url, "alice")
    mcp = (settings.mcp_oauth_provider_name, MCP_SCOPES)
    runtime.broker.disconnect(alice, "oauth2", *mcp)
    with pytest.raises(ConsentRequired) as needed:
        runtime.broker.oauth2_token(alice, settings.dingtalk_oauth_provider_name, DINGTALK_SCOPES)

    caching.cache_data.clear()  # AppSession._handle_clear_cache_request
    caching.cache_resource.clear()

    after = get_runtime()
    assert after is runtime
    assert after.broker.consents.get(needed.value.consent.state).status == "pending"
    assert "disconnect" in [entry.action for entry in after.broker.log.of(alice.key)]
    assert after.broker.held_oauth2_token(alice, *mcp) is None  # still disconnected: no token without consent


# -- case 17: the Host allowlist ------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", PAGES + ROUTES)
def test_a_foreign_host_gets_421_and_never_the_page(server, path):
    response = _get(server, path, Host=f"{REBIND_HOST}:{_port(server)}", Origin=f"http://{REBIND_HOST}:{_port(server)}")

    assert response.status_code == 421 and "<html" not in response.text.lower()
    assert "set-cookie" not in response.headers


def test_a_websocket_for_a_foreign_host_is_refused_even_with_a_matching_origin(server):
    rebind, cookie = f"{REBIND_HOST}:{_port(server)}", _xsrf_cookie(server)

    assert websocket_status(server, host=rebind, origin=f"http://{rebind}") == 403
    # the Host alone decides too: a foreign Host with the app's own Origin and token is still misdirected
    assert websocket_status(server, host=rebind, origin=server.url, token=cookie, cookie=cookie) == 403


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_loopback_names_on_the_apps_port_are_served(server, host):
    assert _get(server, "/_stcore/health", Host=f"{host}:{_port(server)}").status_code == 200


# -- case 15: headers ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", PAGES + ROUTES + ("/static/favicon.png", "/no-such-page"))
def test_every_answer_refuses_framing_and_sniffing(server, path):
    headers = _get(server, path).headers

    assert headers["x-frame-options"] == "DENY" and headers["x-content-type-options"] == "nosniff"
    assert any("frame-ancestors 'none'" in csp for csp in headers.get_list("content-security-policy"))
    assert headers["referrer-policy"] in ("same-origin", "no-referrer")


@pytest.mark.parametrize("path", ["/callback?state=x", "/consent/authorize?state=x", "/auth/session?ticket=x",
                                  "/oauth2callback?code=c&state=s", "/lc/oauth/aliyun/authorize?client_id=x"])
def test_answers_that_carry_a_token_code_or_state_are_never_stored(server, path):
    assert "no-store" in _get(server, path).headers["cache-control"]


# -- case 22: closed endpoints --------------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/_stcore/metrics", "/_stcore/agent/interact", "/_stcore/agent/openapi.json"])
def test_metrics_and_the_agent_api_answer_404(server, path):
    response = _get(server, path)

    assert response.status_code == 404 and "session" not in response.text.lower()

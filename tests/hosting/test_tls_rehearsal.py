"""The hosting rehearsal: the app behind nginx terminating TLS (deploy/nginx-tls.conf), driven as a person would.

Over https the app must behave as it does on plain localhost, and more strictly: every cookie it sets is Secure and
its own are `__Host-` prefixed (so no other port or subdomain can plant one), nothing redirects a browser to plain
http, and its websocket opens from its https origin only.

1. A raw websocket client (trusting the test's certificate) opens `/_stcore/stream` with the app's own Origin and is
   refused with another port's or another site's, the XSRF token being valid each time.
2. Chromium through nginx: Setup → Provision, sign in as alice, a chat turn that needs a consent (approved in the
   provider's tab, the answer arrives), then Disconnect on the Credentials page and a reload that keeps her signed
   in. Every `Set-Cookie` and `Location` the app's origin sent on the way is checked.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Request, Response, expect
from playwright.sync_api import Error as PlaywrightError
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.conftest import repo_root
from tests.e2e import conftest as e2e
from tests.e2e import journey as j
from tests.hosting import harness
from tests.hosting.harness import TLS_TEMPLATE, TlsCertificate, TlsDeployment, render_tls_conf, tls_deployment

ARTIFACTS = repo_root() / "test-artifacts" / "hosting"
TIME_PROMPT = "What time is it in Shanghai?"
TIME_CARD = "get_current_time · OAuth2 from test-provider-for-mcp-oauth"
TIME_ANSWER = "Asia/Shanghai"
APP_COOKIES = ("aid_signin", "aid_session", "aid_consent")  # identity/cookies.py's names, without the prefix
XSRF_COOKIE = "_streamlit_xsrf"  # Streamlit's own; the websocket's XSRF token
HOST_PREFIX = "__Host-"

# Debian's Chromium through Playwright, failing (never skipping) without it: tests/e2e/conftest.py's fixture.
chromium = e2e.chromium


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[TlsDeployment]:
    with tls_deployment(tmp_path) as running:
        yield running


# -- what the app's origin sent to the browser ---------------------------------------------------------------------
@dataclass(frozen=True)
class SetCookie:
    """One `Set-Cookie` header: the cookie's name and its attributes (lower-cased names; flags map to "")."""

    url: str
    name: str
    attributes: dict[str, str]

    @classmethod
    def parse(cls, url: str, header: str) -> SetCookie:
        first, *rest = (part.strip() for part in header.split(";"))
        attributes = {name.strip().lower(): value.strip()
                      for name, _, value in (part.partition("=") for part in rest if part)}
        return cls(url, first.partition("=")[0].strip(), attributes)

    def __str__(self) -> str:
        return f"{self.name} ({'; '.join(f'{k}={v}' if v else k for k, v in self.attributes.items())}) from {self.url}"


@dataclass
class OriginLedger:
    """Every `Set-Cookie` and redirect the app's https origin answered with, and every plain-http request made."""

    origin: str
    cookies: list[SetCookie] = field(default_factory=list)
    redirects: list[tuple[str, str]] = field(default_factory=list)
    plain_http: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # a tab closed before its raw headers were read

    def response(self, response: Response) -> None:
        if not response.url.startswith(f"{self.origin}/"):
            return
        try:
            headers = response.headers_array()  # the raw headers: one entry per Set-Cookie
        except PlaywrightError:
            self.unreadable.append(response.url)  # context.cookies() still shows what such a response set
            return
        for header in headers:
            name = header["name"].lower()
            if name == "set-cookie":
                self.cookies.extend(SetCookie.parse(response.url, line) for line in header["value"].split("\n"))
            elif name == "location":
                self.redirects.append((response.url, header["value"]))

    def request(self, request: Request) -> None:
        if request.url.startswith(("http://", "ws://")):
            self.plain_http.append(request.url)

    def names(self) -> set[str]:
        return {cookie.name for cookie in self.cookies}

    def report(self) -> str:
        return "\n".join([*(f"Set-Cookie {cookie}" for cookie in self.cookies),
                          *(f"Location {location} from {url}" for url, location in self.redirects),
                          *(f"plain http: {url}" for url in self.plain_http),
                          *(f"headers not readable: {url}" for url in self.unreadable)]) + "\n"


def _new_context(browser: Browser) -> BrowserContext:
    """A cookie-less context like tests/e2e's, accepting the test's self-signed certificate."""
    context = browser.new_context(viewport=e2e.VIEWPORT, locale="en-US", timezone_id="UTC", ignore_https_errors=True)
    context.set_default_timeout(e2e.EXPECT_TIMEOUT_MS)
    context.set_default_navigation_timeout(e2e.EXPECT_TIMEOUT_MS)
    return context


def _keep_evidence(context: BrowserContext, deployment: TlsDeployment, ledger: OriginLedger, folder: Path) -> None:
    """On failure: a screenshot of every open page, what the app's origin sent, and the app's and nginx's logs."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "origin.txt").write_text(ledger.report())
    for index, page in enumerate(context.pages, start=1):
        try:
            page.screenshot(path=str(folder / f"failure-{index:02d}.png"), full_page=True,
                            timeout=e2e.EXPECT_TIMEOUT_MS)
        except PlaywrightError:
            continue
    for log in (deployment.app_log, *deployment.nginx_logs):
        if log.is_file():
            shutil.copyfile(log, folder / log.name)


# -- the template and its harness ----------------------------------------------------------------------------------
def test_the_tls_template_renders_with_the_ports_and_certificate_and_forwards_what_the_app_needs():
    certificate = TlsCertificate(Path("/certs/localhost.crt"), Path("/certs/localhost.key"))

    conf = render_tls_conf(TLS_TEMPLATE.read_text(), 40443, 40501, certificate)

    lines = {line.strip() for line in conf.splitlines()}
    assert {"listen 127.0.0.1:40443 ssl;", "server 127.0.0.1:40501;", "ssl_certificate /certs/localhost.crt;",
            "ssl_certificate_key /certs/localhost.key;"} <= lines
    assert {"proxy_set_header Host $http_host;", "proxy_set_header X-Forwarded-Proto https;",
            "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;", "proxy_set_header Upgrade $http_upgrade;",
            "proxy_set_header Connection $connection_upgrade;", "proxy_read_timeout 1h;"} <= lines
    directives = "\n".join(line for line in lines if not line.startswith("#"))
    assert "8443" not in directives and "8501" not in directives and "../.nginx" not in directives


def test_a_missing_nginx_fails_the_hosting_tests_instead_of_skipping(monkeypatch):
    monkeypatch.setattr(harness.shutil, "which", lambda _name: None)
    monkeypatch.setattr(harness.os, "access", lambda _path, _mode: False)

    with pytest.raises(pytest.fail.Exception, match="apt-get install -y nginx"):
        harness._nginx_binary()


# -- the websocket -------------------------------------------------------------------------------------------------
def _xsrf_token(deployment: TlsDeployment) -> str:
    """The XSRF cookie Streamlit hands out, fetched through nginx as the page's script does."""
    answer = httpx.get(f"{deployment.url}/_stcore/health", verify=deployment.certificate.client_context(),
                       trust_env=False, timeout=15)
    assert answer.status_code == 200
    return answer.cookies[XSRF_COOKIE]


def _open_stream(deployment: TlsDeployment, origin: str, xsrf: str) -> int:
    """The handshake status of `/_stcore/stream` over wss, as the app's page opens it (Origin, the XSRF cookie and
    the same token as a subprotocol)."""
    url = deployment.url.replace("https://", "wss://", 1) + "/_stcore/stream"
    try:
        with connect(url, ssl=deployment.certificate.client_context(), origin=origin,
                     additional_headers={"Cookie": f"{XSRF_COOKIE}={xsrf}"}, subprotocols=["streamlit", xsrf],
                     proxy=None, open_timeout=15, close_timeout=5) as websocket:
            assert websocket.response is not None
            return websocket.response.status_code
    except InvalidStatus as refused:
        return refused.response.status_code


def test_the_websocket_opens_over_tls_from_the_apps_own_https_origin_only(deployment):
    xsrf = _xsrf_token(deployment)

    assert _open_stream(deployment, deployment.url, xsrf) == 101
    assert _open_stream(deployment, f"https://localhost:{deployment.port + 1}", xsrf) == 403
    assert _open_stream(deployment, "https://evil.example", xsrf) == 403


# -- the browser ---------------------------------------------------------------------------------------------------
def _cookies_are_secure_and_prefixed(ledger: OriginLedger, context: BrowserContext) -> None:
    """Every cookie the app's origin set is Secure; the app's own are `__Host-` (Path=/, no Domain), none bare."""
    expected = {HOST_PREFIX + name for name in APP_COOKIES} | {XSRF_COOKIE}
    assert expected <= ledger.names(), f"not all cookies were seen, so this check proves too little: {ledger.names()}"
    assert any(name.startswith("lc_") for name in ledger.names()), ledger.names()  # localcloud's, through /lc
    not_secure = [str(cookie) for cookie in ledger.cookies if "secure" not in cookie.attributes]
    assert not_secure == [], "cookies set over https without Secure:\n" + "\n".join(not_secure)
    for cookie in ledger.cookies:
        if cookie.name.startswith(HOST_PREFIX):
            assert cookie.attributes.get("path") == "/" and "domain" not in cookie.attributes, str(cookie)
    assert not ledger.names() & set(APP_COOKIES), "an app cookie without the __Host- prefix"
    held = context.cookies()
    assert f"{HOST_PREFIX}aid_session" in {cookie["name"] for cookie in held}
    assert [cookie["name"] for cookie in held if not cookie["secure"]] == []


def _nothing_went_to_plain_http(ledger: OriginLedger) -> None:
    assert ledger.redirects, "no redirect was seen, so this check proves nothing"
    to_http = [(url, location) for url, location in ledger.redirects if location.startswith(("http://", "//"))]
    assert to_http == [], f"redirects to plain http: {to_http}"
    assert ledger.plain_http == [], f"requests over plain http: {ledger.plain_http}"


@pytest.mark.e2e
def test_a_browser_signs_in_chats_with_consent_and_disconnects_over_https(
        deployment: TlsDeployment, chromium: Browser, request: pytest.FixtureRequest) -> None:
    folder = ARTIFACTS / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    steps = j.Steps()
    ledger = OriginLedger(deployment.url)
    context = _new_context(chromium)
    context.on("response", ledger.response)
    context.on("request", ledger.request)
    try:
        with steps("Setup → Provision and Login as alice, over https"):
            page = j.open_app(context, deployment.url)
            counts, _ = j.provision(page)
            assert set(counts) == {"created", "kept"}, counts
            j.sign_in(page, j.ALICE)

        with steps("a chat turn that needs a consent: Authorize, approve, the answer"):
            j.open_chat(page)
            bubble = j.ask_example(page, TIME_PROMPT)
            j.approve_consent_card(page, bubble, j.MCP_PROVIDER, j.ALICE)
            j.expect_tool_card(bubble, TIME_CARD)
            expect(bubble).to_contain_text(TIME_ANSWER, timeout=j.TURN_TIMEOUT_MS)

        with steps("Credentials → Disconnect; a reload keeps alice signed in"):
            j.open_credentials(page)
            j.expect_status(page, j.MCP_ROW, j.CONNECTED)
            j.press(page, j.MCP_ROW, "Disconnect")
            j.expect_status(page, j.MCP_ROW, j.NOT_CONNECTED)
            page.reload()  # a new Streamlit session: only the __Host- session cookie says who this is
            j.expect_signed_in_on_credentials(page)
            j.expect_status(page, j.MCP_ROW, j.NOT_CONNECTED)

        with steps("cookies and redirects"):
            _cookies_are_secure_and_prefixed(ledger, context)
            _nothing_went_to_plain_http(ledger)
    except BaseException:
        _keep_evidence(context, deployment, ledger, folder)
        print(f"\nScreenshots and logs: {folder}")
        raise
    finally:
        context.close()
    print(f"\n{steps.report()}")

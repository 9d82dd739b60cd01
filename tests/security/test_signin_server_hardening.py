"""Cases 17, 18, 20 and 21: localcloud's own port and its sign-in server, against what an outside security run got
through. Everything goes over real HTTP to a real localcloud, and through the app's `/lc` proxy where the attack did.

- 17: DNS rebinding: any `Host` but a loopback name gets 421 on every route (hosts.py).
- 18: RP-Initiated Logout ends the sign-in server's session; its cookie is a browser-session cookie.
- 20: password guessing is throttled per pending request and per user name (state in the store, clock moved, no
  sleeps); unknown names cost one password hash, like known ones, and get the same answer.
- 21: a DingTalk redirect_uri that a browser would resolve outside the callback prefix is refused.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

import httpx
import jwt
import oss2
import pytest
from alibabacloud_ims20190815 import models as ims_models
from alibabacloud_ims20190815.client import Client as ImsClient
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette

import localcloud
from localcloud.app import build_app
from localcloud.oss.seed import DEFAULT_DEMO_BUCKET
from localcloud.store import open_store
from tests.conftest import tea_config
from tests.localcloud.oidc.oidc_client import (
    WEB_REDIRECT,
    Browser,
    discovery,
    exchange,
    is_consent_form,
    is_login_form,
    request_id_of,
)
from tests.security.signin_server_support import (
    HashCounter,
    ProxiedCloud,
    every_route,
    proxied_cloud,
    raw_status_line,
    set_cookie,
)

FOREIGN = "rebind.attacker.example"
PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
APP_ORIGIN = "http://localhost:8501"  # WEB_REDIRECT's origin
BURNT = "Too many attempts: start the sign-in again"
OpenBrowser = Callable[..., Browser]


@pytest.fixture(scope="module")
def signin_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxiedCloud]:
    with proxied_cloud(tmp_path_factory.mktemp("signin-server")) as proxied:
        yield proxied


@pytest.fixture(autouse=True)
def clock_at_start(signin_cloud: ProxiedCloud) -> Iterator[None]:
    signin_cloud.clock.offset = 0.0
    yield
    signin_cloud.clock.offset = 0.0


@pytest.fixture
def open_browser(signin_cloud: ProxiedCloud) -> Iterator[OpenBrowser]:
    """Browsers on the proxied localcloud (their pages at `/lc/oauth/{realm}`); closed afterwards."""
    opened: list[Browser] = []

    def open_one(realm: str = "aliyun") -> Browser:
        opened.append(Browser(signin_cloud.cloud, realm))
        return opened[-1]

    yield open_one
    for browser in opened:
        browser.close()


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> HashCounter:
    return HashCounter(monkeypatch)


def _pending(browser: Browser, signin_cloud: ProxiedCloud) -> str:
    """A new pending sign-in of the web app in this browser (with the password asked, even if signed in)."""
    page = browser.authorize(signin_cloud.apps.web, WEB_REDIRECT, state="s", prompt="login")
    assert page.status_code == 200 and is_login_form(page), page.text[:300]
    return request_id_of(page)


def _http(**kwargs: object) -> httpx.Client:
    return httpx.Client(trust_env=False, timeout=10, follow_redirects=False, **kwargs)


# -- 17: Host allowlist (DNS rebinding) ----------------------------------------------------------------------------
def test_a_foreign_host_gets_421_on_every_localcloud_route(signin_cloud: ProxiedCloud) -> None:
    cloud, routes = signin_cloud.cloud, every_route(signin_cloud.cloud)
    assert len(routes) >= 30, routes
    with _http(base_url=cloud.url) as http:
        for method, path in routes:
            response = http.request(method, path, headers={"Host": f"{FOREIGN}:{cloud.port}"})
            assert response.status_code == 421, (method, path, response.status_code, response.text[:200])
            if method != "HEAD":
                assert response.headers["content-type"].startswith("text/plain"), (method, path)
                assert "Misdirected" in response.text and cloud.account_id not in response.text
                assert str(cloud.data_dir) not in response.text
            # The same request for a loopback name reaches the route (whatever that route then answers).
            assert http.request(method, path).status_code != 421, (method, path)


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}", "LOCALHOST:{port}",
                                  "127.0.0.1", "localhost:1", "http://127.0.0.1:{port}"])
def test_loopback_names_with_any_port_are_served(signin_cloud: ProxiedCloud, host: str) -> None:
    response = httpx.get(f"{signin_cloud.cloud.url}/_localcloud/health",
                         headers={"Host": host.format(port=signin_cloud.cloud.port)}, trust_env=False, timeout=10)
    assert response.status_code == 200 and response.json()["service"] == "localcloud"


@pytest.mark.parametrize("host", ["127.0.0.1.nip.io", "localhost.attacker.example", f"{DEFAULT_DEMO_BUCKET}.127.0.0.1",
                                  "127.0.0.2", "0.0.0.0", "localhost.", "127.0.0.1@attacker.example", "[::2]",
                                  "https://127.0.0.1", "localhost:", ""])
def test_lookalike_hosts_get_421(signin_cloud: ProxiedCloud, host: str) -> None:
    response = httpx.get(f"{signin_cloud.cloud.url}/oauth/aliyun/.well-known/openid-configuration",
                         headers={"Host": host}, trust_env=False, timeout=10)
    assert response.status_code == 421, host


def test_a_request_without_host_gets_421(signin_cloud: ProxiedCloud) -> None:
    port = signin_cloud.cloud.port
    missing = raw_status_line(port, b"GET /_localcloud/health HTTP/1.0\r\n\r\n")
    # A repeated Host never reaches the app: the HTTP parser refuses it first (the middleware would too).
    repeated = raw_status_line(port, f"GET /_localcloud/health HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nHost: {FOREIGN}"
                                     "\r\nConnection: close\r\n\r\n".encode())
    assert missing.startswith(b"HTTP/1.1 421"), missing
    assert repeated.startswith((b"HTTP/1.1 400", b"HTTP/1.1 421")), repeated


def test_a_websocket_handshake_for_a_foreign_host_gets_421(signin_cloud: ProxiedCloud) -> None:
    def handshake(host: str) -> bytes:
        return raw_status_line(signin_cloud.cloud.port, (
            f"GET /oauth/aliyun/jwks HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())

    assert handshake(f"{FOREIGN}:{signin_cloud.cloud.port}").startswith(b"HTTP/1.1 421")
    assert not handshake(f"127.0.0.1:{signin_cloud.cloud.port}").startswith(b"HTTP/1.1 421")  # no such route: 403


def test_official_clients_configured_with_localhost_still_reach_localcloud(signin_cloud: ProxiedCloud) -> None:
    cloud, base = signin_cloud.cloud, f"localhost:{signin_cloud.cloud.port}"
    # oss2 uses path-style for a loopback endpoint, so no `<bucket>.localhost` Host is ever needed.
    bucket = oss2.Bucket(oss2.Auth(cloud.access_key_id, cloud.access_key_secret), f"http://{base}",
                         DEFAULT_DEMO_BUCKET)
    assert bucket.get_object("docs/welcome.md").read()
    # The Tea SDKs put the endpoint in Host as configured: a bare host, or the URL `python -m localcloud env` exports.
    for endpoint in (base, f"http://localhost:{cloud.port}"):
        ims = ImsClient(tea_config(cloud, endpoint=endpoint))
        found = ims.get_application(ims_models.GetApplicationRequest(app_id=signin_cloud.apps.web)).body.application
        assert found.app_id == signin_cloud.apps.web


# -- 18: sign-out ends the sign-in server's session ----------------------------------------------------------------
@pytest.mark.parametrize("realm", ["aliyun", "dingtalk"])
def test_discovery_names_the_logout_endpoint_on_the_public_base(signin_cloud: ProxiedCloud, realm: str) -> None:
    meta = discovery(signin_cloud.cloud, realm)
    assert meta["end_session_endpoint"] == f"{signin_cloud.public}/oauth/{realm}/logout"
    assert meta["end_session_endpoint"] == meta["authorization_endpoint"].removesuffix("/authorize") + "/logout"


def test_the_sign_in_session_cookie_lasts_for_the_browser_session_only(signin_cloud: ProxiedCloud,
                                                                       open_browser: OpenBrowser) -> None:
    browser = open_browser()
    signed_in = browser.login(_pending(browser, signin_cloud), "alice", "demo")
    assert signed_in.status_code == 303
    cookie = set_cookie(signed_in.headers.get_list("set-cookie"), "lc_oauth_session").lower()
    assert "max-age" not in cookie and "expires" not in cookie
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/lc/oauth/aliyun" in cookie
    assert "secure" not in cookie  # the public URL is http here; see the https test below


def test_the_sign_in_session_cookie_is_secure_when_the_public_url_is_https(tmp_path: Path) -> None:
    cloud = localcloud.start(port=0, data_dir=tmp_path / "https", public_url="https://demo.example.com/lc")
    client_id = ImsClient(tea_config(cloud)).create_application(ims_models.CreateApplicationRequest(
        app_name=f"https-{secrets.token_hex(4)}", display_name="https", app_type="WebApp",
        predefined_scopes="openid", required_scopes="openid", redirect_uris=WEB_REDIRECT,
        protocol_version="2.1")).body.application.app_id
    with _http(base_url=cloud.url) as http:
        page = http.get("/oauth/aliyun/authorize", params={
            "response_type": "code", "client_id": client_id, "redirect_uri": WEB_REDIRECT,
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256"})
        binding = set_cookie(page.headers.get_list("set-cookie"), "lc_oauth_browser").split(";")[0]
        signed_in = http.post("/oauth/aliyun/login", headers={"Cookie": binding}, data={
            "request_id": request_id_of(page), "username": "alice", "password": "demo"})
        session = set_cookie(signed_in.headers.get_list("set-cookie"), "lc_oauth_session")
        signed_out = http.get("/oauth/aliyun/logout", headers={"Cookie": session.split(";")[0]})
    assert "; secure" in session.lower() and "max-age" not in session.lower()
    cleared = set_cookie(signed_out.headers.get_list("set-cookie"), "lc_oauth_session").lower()
    assert "max-age=0" in cleared and "; secure" in cleared and "path=/lc/oauth/aliyun" in cleared


def _signed_in_browser(signin_cloud: ProxiedCloud, open_browser: OpenBrowser) -> tuple[Browser, str]:
    """A browser signed in as alice (through the proxy), and its sign-in session cookie's value."""
    browser = open_browser()
    signed_in = browser.login(_pending(browser, signin_cloud), "alice", "demo")
    assert signed_in.status_code == 303, signed_in.text[:300]
    session = set_cookie(signed_in.headers.get_list("set-cookie"), "lc_oauth_session").split(";")[0]
    assert is_consent_form(browser.authorize(signin_cloud.apps.web, WEB_REDIRECT))  # the session skips the password
    return browser, session.split("=", 1)[1]


def test_sign_out_ends_the_sign_in_session_and_clears_its_cookie(signin_cloud: ProxiedCloud,
                                                                 open_browser: OpenBrowser) -> None:
    browser, session = _signed_in_browser(signin_cloud, open_browser)

    signed_out = browser.http.get(browser.url("logout"))

    assert signed_out.status_code == 200 and "You are signed out" in signed_out.text
    assert signed_out.headers["cache-control"] == "no-store" and signed_out.headers["x-frame-options"] == "DENY"
    assert signed_out.headers["x-content-type-options"] == "nosniff"
    assert signed_out.headers["content-security-policy"] == PAGE_CSP
    cleared = set_cookie(signed_out.headers.get_list("set-cookie"), "lc_oauth_session").lower()
    assert "max-age=0" in cleared and "path=/lc/oauth/aliyun" in cleared
    assert is_login_form(browser.authorize(signin_cloud.apps.web, WEB_REDIRECT))
    # The server forgot it too: the old cookie, sent again by hand, signs no one in.
    with _http() as other:
        replayed = other.get(browser.url("authorize"), headers={"Cookie": f"lc_oauth_session={session}"}, params={
            "response_type": "code", "client_id": signin_cloud.apps.web, "redirect_uri": WEB_REDIRECT,
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256"})
    assert is_login_form(replayed), replayed.text[:300]


def test_sign_out_also_forgets_a_consent_page_left_open(signin_cloud: ProxiedCloud, open_browser: OpenBrowser) -> None:
    browser, _ = _signed_in_browser(signin_cloud, open_browser)
    consent = browser.authorize(signin_cloud.apps.web, WEB_REDIRECT)
    browser.http.get(browser.url("logout"))

    answer = browser.consent(request_id_of(consent), "approve")

    assert answer.status_code == 400 and "location" not in answer.headers and "not found" in answer.text


def test_sign_out_by_post_returns_to_a_registered_origin_with_state(signin_cloud: ProxiedCloud,
                                                                    open_browser: OpenBrowser) -> None:
    browser, _ = _signed_in_browser(signin_cloud, open_browser)

    back = browser.http.post(browser.url("logout"), data={
        "client_id": signin_cloud.apps.web, "post_logout_redirect_uri": f"{APP_ORIGIN}/signed-out?x=1",
        "state": "st 1"})

    assert back.status_code == 303 and back.headers["location"] == f"{APP_ORIGIN}/signed-out?x=1&state=st+1"
    assert "max-age=0" in set_cookie(back.headers.get_list("set-cookie"), "lc_oauth_session").lower()
    assert is_login_form(browser.authorize(signin_cloud.apps.web, WEB_REDIRECT))


def _id_token(signin_cloud: ProxiedCloud, browser: Browser, client_id: str) -> dict[str, str]:
    tokens = exchange(signin_cloud.cloud, browser.sign_in(client_id, WEB_REDIRECT))
    assert tokens.status_code == 200, tokens.text
    return tokens.json()


def test_an_expired_id_token_hint_names_the_client_to_return_to(signin_cloud: ProxiedCloud,
                                                                 open_browser: OpenBrowser) -> None:
    browser = open_browser()
    hint = _id_token(signin_cloud, browser, signin_cloud.apps.web)["id_token"]
    signin_cloud.clock.offset = 3 * 24 * 3600  # long after the ID token expired: RP-Initiated Logout §2 still takes it

    back = browser.http.get(browser.url("logout"), params={"id_token_hint": hint,
                                                           "post_logout_redirect_uri": f"{APP_ORIGIN}/"})

    assert back.status_code == 303 and back.headers["location"] == f"{APP_ORIGIN}/"


def _forged_hint(signin_cloud: ProxiedCloud, genuine: str) -> str:
    """The genuine hint's claims and key id, signed with another key."""
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    claims = jwt.decode(genuine, options={"verify_signature": False})
    return jwt.encode(claims, other, algorithm="RS256", headers={"kid": jwt.get_unverified_header(genuine)["kid"]})


def test_sign_out_never_redirects_where_the_client_did_not_register(signin_cloud: ProxiedCloud,
                                                                    open_browser: OpenBrowser) -> None:
    browser, apps = open_browser(), signin_cloud.apps
    web_tokens = _id_token(signin_cloud, browser, apps.web)
    other_hint = _id_token(signin_cloud, browser, apps.openid_only)
    good = f"{APP_ORIGIN}/"
    refused = {
        "another origin": {"client_id": apps.web, "post_logout_redirect_uri": "https://attacker.example/"},
        "another port": {"client_id": apps.web, "post_logout_redirect_uri": "http://localhost:8502/"},
        "another scheme": {"client_id": apps.web, "post_logout_redirect_uri": "https://localhost:8501/"},
        "user info": {"client_id": apps.web, "post_logout_redirect_uri": f"{APP_ORIGIN}@attacker.example/"},
        "backslash": {"client_id": apps.web, "post_logout_redirect_uri": f"{APP_ORIGIN}\\@attacker.example/"},
        "script": {"client_id": apps.web, "post_logout_redirect_uri": "javascript:alert(1)//localhost:8501/"},
        "unknown client": {"client_id": "no-such-app", "post_logout_redirect_uri": good},
        "no client": {"post_logout_redirect_uri": good},
        "hint of another client": {"client_id": apps.web, "id_token_hint": other_hint["id_token"],
                                   "post_logout_redirect_uri": good},
        "forged hint": {"id_token_hint": _forged_hint(signin_cloud, web_tokens["id_token"]),
                        "post_logout_redirect_uri": good},
        "access token as hint": {"id_token_hint": web_tokens["access_token"], "post_logout_redirect_uri": good},
    }
    for case, params in refused.items():
        answer = browser.http.get(f"{browser.url('logout')}?{urlencode(params)}")
        assert answer.status_code == 200 and "location" not in answer.headers, case
        assert "You are signed out" in answer.text, case
        assert "max-age=0" in set_cookie(answer.headers.get_list("set-cookie"), "lc_oauth_session").lower(), case
    # The same requests with what the client did register are sent back: the refusals above are about the target.
    allowed = browser.http.get(browser.url("logout"), params={"client_id": apps.web, "post_logout_redirect_uri": good})
    assert allowed.status_code == 303


# -- 20: password guessing and timing ------------------------------------------------------------------------------
def test_a_demo_user_with_the_right_password_signs_in_at_once(signin_cloud: ProxiedCloud, open_browser: OpenBrowser,
                                                              hashes: HashCounter) -> None:
    browser = open_browser()
    with hashes.counting():
        answer = browser.login(_pending(browser, signin_cloud), "bob", "demo")
    assert answer.status_code == 303 and "/consent?request_id=" in answer.headers["location"]
    assert hashes.calls == 1


def test_a_sign_in_request_is_burnt_after_five_wrong_passwords(signin_cloud: ProxiedCloud,
                                                               open_browser: OpenBrowser) -> None:
    browser = open_browser()
    request_id = _pending(browser, signin_cloud)
    answers = [browser.login(request_id, "carol", f"guess-{n}") for n in range(5)]

    assert [a.status_code for a in answers] == [401, 401, 401, 401, 429]
    assert BURNT in answers[-1].text and not is_login_form(answers[-1])
    signin_cloud.clock.offset = 301  # whatever the name's delay was, it is over
    right = browser.login(request_id, "carol", "demo")
    assert right.status_code == 429 and BURNT in right.text and "set-cookie" not in right.headers
    assert BURNT in browser.http.get(browser.url("login"), params={"request_id": request_id}).text
    # A new sign-in works.
    assert browser.login(_pending(browser, signin_cloud), "carol", "demo").status_code == 303


def test_parallel_guesses_on_one_request_check_no_more_than_five_passwords(signin_cloud: ProxiedCloud,
                                                                           open_browser: OpenBrowser,
                                                                           hashes: HashCounter) -> None:
    browser = open_browser()
    request_id = _pending(browser, signin_cloud)
    names = [f"nobody-{n}-{secrets.token_hex(3)}" for n in range(20)]  # one guess per name: only the request limits
    with hashes.counting(), ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda name: browser.login(request_id, name, "guess"), names))

    assert hashes.calls <= 5, hashes.calls
    assert sorted(a.status_code for a in answers).count(401) <= 4
    assert browser.login(request_id, "dave", "demo").status_code == 429


def _wrong(browser: Browser, signin_cloud: ProxiedCloud, username: str) -> httpx.Response:
    """One wrong password for `username`, on a fresh pending request (so only the name's limit applies)."""
    return browser.login(_pending(browser, signin_cloud), username, "wrong-password")


def test_wrong_passwords_for_one_name_make_it_wait_longer_and_longer(signin_cloud: ProxiedCloud,
                                                                     open_browser: OpenBrowser,
                                                                     hashes: HashCounter) -> None:
    browser = open_browser()
    assert [_wrong(browser, signin_cloud, "erin").status_code for _ in range(5)] == [401] * 5
    waits = []
    for _ in range(10):
        with hashes.counting():
            locked = browser.login(_pending(browser, signin_cloud), "erin", "demo")  # even the right password
        assert locked.status_code == 429 and hashes.calls == 0, locked.text[:300]
        wait = int(locked.headers["retry-after"])
        assert f"Too many attempts for this account: wait {wait} s" in locked.text
        waits.append(wait)
        signin_cloud.clock.offset += wait
        assert _wrong(browser, signin_cloud, "erin").status_code == 401
    assert waits == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]


def test_the_wait_is_per_name_after_normalisation(signin_cloud: ProxiedCloud, open_browser: OpenBrowser) -> None:
    browser = open_browser()
    for variant in ("Frank", " FRANK ", "ｆｒａｎｋ", "frank", "FrAnK"):  # fullwidth: NFKC makes it frank
        assert _wrong(browser, signin_cloud, variant).status_code == 401
    assert browser.login(_pending(browser, signin_cloud), "frank", "demo").status_code == 429
    # other names are not held
    assert browser.login(_pending(browser, signin_cloud), "grace", "demo").status_code == 303


def test_a_success_resets_the_names_count(signin_cloud: ProxiedCloud, open_browser: OpenBrowser) -> None:
    browser = open_browser()
    assert [_wrong(browser, signin_cloud, "heidi").status_code for _ in range(4)] == [401] * 4
    assert browser.login(_pending(browser, signin_cloud), "heidi", "demo").status_code == 303
    assert [_wrong(browser, signin_cloud, "heidi").status_code for _ in range(4)] == [401] * 4
    assert browser.login(_pending(browser, signin_cloud), "heidi", "demo").status_code == 303


def test_the_wait_survives_a_restart(signin_cloud: ProxiedCloud, open_browser: OpenBrowser) -> None:
    browser = open_browser()
    for _ in range(5):
        _wrong(browser, signin_cloud, "ivan")
    # A second app on the same data directory: what a restarted localcloud would read.
    store = open_store(signin_cloud.cloud.data_dir, signin_cloud.clock)
    try:
        app = build_app(store, signin_cloud.clock, signin_cloud.cloud.region, lambda: signin_cloud.cloud.urls)
        answer = asyncio.run(_sign_in_at(app, signin_cloud.apps.web, "ivan"))
    finally:
        store.close()
    assert answer.status_code == 429 and answer.headers["retry-after"] == "2"


async def _sign_in_at(app: Starlette, client_id: str, username: str) -> httpx.Response:
    """The right password for `username` at an in-process localcloud app: authorize, then the login form."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", follow_redirects=False) as http:
        page = await http.get("/oauth/aliyun/authorize", params={
            "response_type": "code", "client_id": client_id, "redirect_uri": WEB_REDIRECT,
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "code_challenge_method": "S256"})
        binding = set_cookie(page.headers.get_list("set-cookie"), "lc_oauth_browser").split(";")[0]
        return await http.post("/oauth/aliyun/login", headers={"Cookie": binding},
                               data={"request_id": request_id_of(page), "username": username, "password": "demo"})


def test_an_unknown_name_costs_exactly_one_password_hash_like_a_known_one(signin_cloud: ProxiedCloud,
                                                                          open_browser: OpenBrowser,
                                                                          hashes: HashCounter) -> None:
    browser = open_browser()
    request_id = _pending(browser, signin_cloud)
    with hashes.counting():
        assert browser.login(request_id, "judy", "wrong-password").status_code == 401
    known = hashes.calls
    with hashes.counting():
        assert browser.login(request_id, "nobody-at-all", "wrong-password").status_code == 401
    assert known == hashes.calls == 1


def test_the_login_form_answers_an_unknown_name_as_it_answers_a_wrong_password(signin_cloud: ProxiedCloud,
                                                                               open_browser: OpenBrowser) -> None:
    browser = open_browser()
    request_id = _pending(browser, signin_cloud)
    wrong = browser.login(request_id, "oscar", "wrong-password")
    unknown = browser.login(request_id, "zzzzz", "wrong-password")  # as long as "oscar"

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.text.replace('value="oscar"', 'value="zzzzz"') == unknown.text
    assert {k: v for k, v in wrong.headers.items() if k not in ("date", "content-length")} == \
        {k: v for k, v in unknown.headers.items() if k not in ("date", "content-length")}


# -- 21: redirect_uri checks read the URI as a browser does --------------------------------------------------------
TRICKS = {
    "encoded dots, lower case": "x/%2e%2e/%2e%2e/%2e%2e/%2e%2e/chat",
    "encoded dots, upper case": "x/%2E%2E/%2E%2E/%2E%2E/%2E%2E/chat",
    "encoded dots, mixed case": "x/%2e%2E/%2E%2e/%2e%2E/%2E%2e/chat",
    "dot then encoded dot": "x/.%2e/.%2e/.%2e/.%2e/chat",
    "encoded dot then dot": "x/%2e./%2e./%2e./%2e./chat",
    "backslashes": "x\\..\\..\\..\\..\\chat",
    "plain dot segments": "x/../../../../chat",
    "single dot segment": "x/./y",
    "double-encoded dots": "x/%252e%252e/%252e%252e/%252e%252e/%252e%252e/chat",
    "encoded slash": "x%2f..%2f..%2f..%2f..%2fchat",
    "tab inside a dot segment": "x/.\t./.\t./.\t./.\t./chat",
}


@pytest.mark.parametrize("trick", TRICKS)
def test_dingtalk_refuses_a_redirect_uri_a_browser_would_resolve_elsewhere(
        signin_cloud: ProxiedCloud, open_browser: OpenBrowser, trick: str) -> None:
    ding = open_browser("dingtalk")
    redirect_uri = f"{signin_cloud.public}/oauth2/callback/{TRICKS[trick]}"

    page = ding.authorize(signin_cloud.cloud.dingtalk_client_id, redirect_uri, state="s")

    assert page.status_code == 400 and "location" not in page.headers, (trick, page.status_code)
    assert "Redirect address not allowed" in page.text


def test_dingtalk_still_accepts_a_plain_callback_below_its_prefix(signin_cloud: ProxiedCloud,
                                                                  open_browser: OpenBrowser) -> None:
    ding = open_browser("dingtalk")
    page = ding.authorize(signin_cloud.cloud.dingtalk_client_id,
                          f"{signin_cloud.public}/oauth2/callback/{secrets.token_hex(8)}")
    assert page.status_code == 200 and is_login_form(page)


@pytest.mark.parametrize("redirect_uri", [f"{WEB_REDIRECT}/../chat", f"{WEB_REDIRECT}/%2e%2e/chat", f"{WEB_REDIRECT}/",
                                          "http://LOCALHOST:8501/oauth2callback", "http://localhost:8501/oauth2callbacK"])
def test_aliyun_redirect_uris_still_match_exactly(signin_cloud: ProxiedCloud, open_browser: OpenBrowser,
                                                  redirect_uri: str) -> None:
    page = open_browser().authorize(signin_cloud.apps.web, redirect_uri, state="s")
    assert page.status_code == 400 and "location" not in page.headers and "Redirect address not allowed" in page.text

"""`/lc/…` forwards localcloud's browser pages from the app's origin, and nothing else of localcloud."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

import localcloud
from tests.support import free_port
from web.local_proxy import LOCALCLOUD_MOUNT, LocalCloudProxy, is_forwardable, request_headers, response_headers

ORIGIN = "http://testserver"  # where httpx's ASGITransport says the app is
PUBLIC = f"{ORIGIN}{LOCALCLOUD_MOUNT}"


@pytest.fixture(scope="module")
def cloud_under_lc(tmp_path_factory: pytest.TempPathFactory) -> localcloud.LocalCloud:
    """A localcloud whose browser pages say they live under the app's `/lc`, as in local mode."""
    return localcloud.start(port=0, data_dir=tmp_path_factory.mktemp("proxied"), public_url=PUBLIC)


def _app(upstream: str | None) -> Starlette:
    return Starlette(routes=[Mount(LOCALCLOUD_MOUNT, app=LocalCloudProxy(lambda: upstream))])


def _send(app: Starlette, method: str, url: str, **kwargs: object) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=ORIGIN, follow_redirects=False) as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(call())


def _cookie(response: httpx.Response) -> str:
    """The `name=value` part of the response's single Set-Cookie."""
    [header] = response.headers.get_list("set-cookie")
    return header.split(";")[0]


@pytest.mark.parametrize("realm", ["aliyun", "dingtalk"])
@pytest.mark.parametrize(("method", "endpoint"), [
    ("POST", "token"), ("GET", "userinfo"), ("POST", "revoke"), ("POST", "introspect"), ("GET", "jwks"),
    ("GET", ".well-known/openid-configuration")])
def test_the_back_channel_is_not_on_the_apps_origin(cloud_under_lc: localcloud.LocalCloud, realm: str, method: str,
                                                    endpoint: str) -> None:
    direct = httpx.request(method, f"{cloud_under_lc.url}/oauth/{realm}/{endpoint}", trust_env=False, timeout=10)

    proxied = _send(_app(cloud_under_lc.url), method, f"/lc/oauth/{realm}/{endpoint}")

    assert direct.status_code != 404  # localcloud serves it, on its own loopback port
    assert proxied.status_code == 404 and "localcloud" not in proxied.text


def test_the_discovery_document_names_the_back_channel_on_localclouds_own_port(
        cloud_under_lc: localcloud.LocalCloud) -> None:
    document = httpx.get(cloud_under_lc.urls.discovery("aliyun"), trust_env=False, timeout=10).json()

    assert document["issuer"] == f"{PUBLIC}/oauth/aliyun"
    assert document["authorization_endpoint"].startswith(f"{PUBLIC}/oauth/aliyun/")  # the front channel: public
    for name in ("token_endpoint", "jwks_uri", "userinfo_endpoint", "introspection_endpoint", "revocation_endpoint"):
        assert document[name].startswith(f"{cloud_under_lc.url}/oauth/aliyun/"), name


def test_a_sign_in_passes_location_and_set_cookie_through_untouched(cloud_under_lc: localcloud.LocalCloud) -> None:
    app, callback = _app(cloud_under_lc.url), f"{PUBLIC}/oauth2/callback/proxy-test"
    page = _send(app, "GET", "/lc/oauth/dingtalk/authorize", params={
        "response_type": "code", "client_id": cloud_under_lc.dingtalk_client_id, "redirect_uri": callback,
        "state": "s1", "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256"})
    assert page.status_code == 200, page.text[:300]
    assert "Path=/lc/oauth/dingtalk" in page.headers["set-cookie"] and "HttpOnly" in page.headers["set-cookie"]
    request_id = re.search(r'name="request_id" value="([^"]+)"', page.text).group(1)

    # The app's own cookies ride along in the browser; localcloud's binding cookie must still get through.
    signed_in = _send(app, "POST", "/lc/oauth/dingtalk/login",
                      data={"request_id": request_id, "username": "alice", "password": "demo"},
                      headers={"cookie": f"_streamlit_xsrf=abc; {_cookie(page)}"})

    assert signed_in.status_code == 303, signed_in.text[:300]
    assert signed_in.headers["location"].startswith(f"{PUBLIC}/oauth/dingtalk/consent?request_id=")
    assert _cookie(signed_in).startswith("lc_oauth_session=")
    assert "Path=/lc/oauth/dingtalk" in signed_in.headers["set-cookie"]

    approved = _send(app, "POST", "/lc/oauth/dingtalk/consent", data={"request_id": request_id, "decision": "approve"},
                     headers={"cookie": f"{_cookie(page)}; {_cookie(signed_in)}"})
    assert approved.status_code == 302 and approved.headers["location"].startswith(f"{callback}?code=")


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/lc/"),                               # the Tea RPC front, which acts with the root key
    ("GET", "/lc/_localcloud/health"),
    ("POST", "/lc/_localcloud/reset"),
    ("GET", "/lc/oauth/%2e%2e/_localcloud/health"),  # decoded before routing: must not climb out
    ("GET", "/lc/oauthx/aliyun/jwks"),
])
def test_only_browser_facing_prefixes_are_forwarded(cloud_under_lc: localcloud.LocalCloud, method: str,
                                                    path: str) -> None:
    response = _send(_app(cloud_under_lc.url), method, path)

    assert response.status_code == 404
    assert "localcloud" not in response.text and "account_id" not in response.text


def test_other_methods_are_refused(cloud_under_lc: localcloud.LocalCloud) -> None:
    response = _send(_app(cloud_under_lc.url), "PUT", "/lc/oauth/aliyun/login", content=b"x")

    assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD, POST"


def test_without_a_local_cloud_nothing_is_served() -> None:
    response = _send(_app(None), "GET", "/lc/oauth/aliyun/authorize")

    assert response.status_code == 404 and "runs no built-in local cloud" in response.text


def test_a_local_cloud_that_is_down_is_a_502_page() -> None:
    response = _send(_app(f"http://127.0.0.1:{free_port()}"), "GET", "/lc/oauth/aliyun/authorize")

    assert response.status_code == 502
    assert response.headers["content-type"].startswith("text/html") and "did not answer" in response.text


def test_an_oversized_body_is_refused_before_forwarding(cloud_under_lc: localcloud.LocalCloud) -> None:
    response = _send(_app(cloud_under_lc.url), "POST", "/lc/oauth/aliyun/login", content=b"x" * (65 * 1024))

    assert response.status_code == 413


@pytest.mark.parametrize(("path", "allowed"), [
    ("/oauth/aliyun/authorize", True), ("/oauth2/callback/abc", True), ("/oauth2/authorize", True),
    ("/oauth/dingtalk/login", True), ("/oauth/aliyun/consent", True), ("/oauth/aliyun/logout", True),
    ("/oauth/aliyun/token", False), ("/oauth/aliyun/jwks", False), ("/oauth/aliyun/introspect", False),
    ("/oauth/aliyun/.well-known/openid-configuration", False), ("/oauth/aliyun/authorize/x", False),
    ("/oauth2/callback/", False), ("/oauth2/token", False),
    ("/", False), ("", False), ("/_localcloud/health", False), ("/oauth", False),
    ("/oauth/../_localcloud/reset", False),
    ("/oauth2/./x", False), ("/oauth/aliyun/..", False), ("/oauth\\..\\x", False),
    ("/order-service/oauth/authorize", True), ("/order-service/oauth/login", True),
    ("/order-service/oauth/token", False), ("/order-service/.well-known/oauth-authorization-server", False),
    ("/order-service/orders", False), ("/order-service/orders/abc", False), ("/order-service/oauth/authorize/x", False),
    ("/order-service/oauth/../oauth/token", False), ("/order-service/oauth/authorize/", False),
])
def test_is_forwardable(path: str, allowed: bool) -> None:
    assert is_forwardable(path) is allowed


def test_request_headers_keep_only_localclouds_cookies_and_safe_fields() -> None:
    forwarded = request_headers([
        ("Host", "demo.example"), ("Cookie", "_streamlit_xsrf=a; lc_oauth_browser=b"), ("cookie", "lc_oauth_session=c"),
        ("Content-Type", "application/x-www-form-urlencoded"), ("X-Forwarded-For", "1.2.3.4"),
        ("Accept-Encoding", "gzip"), ("Content-Length", "3"), ("Accept-Language", "en")])

    assert forwarded == {"cookie": "lc_oauth_browser=b; lc_oauth_session=c",
                         "content-type": "application/x-www-form-urlencoded", "accept-language": "en",
                         "accept-encoding": "identity"}


def test_request_headers_send_no_cookie_header_when_none_is_localclouds() -> None:
    assert "cookie" not in request_headers([("cookie", "_streamlit_user=secret")])


def test_response_headers_drop_hop_by_hop_and_keep_every_set_cookie() -> None:
    raw = [(b"Location", b"http://testserver/lc/oauth/x"), (b"Set-Cookie", b"a=1; Path=/lc"),
           (b"set-cookie", b"b=2; Path=/lc"), (b"Connection", b"keep-alive, x-private"), (b"X-Private", b"1"),
           (b"Transfer-Encoding", b"chunked"), (b"Date", b"today"), (b"Server", b"uvicorn"),
           (b"Content-Length", b"0")]

    assert response_headers(raw) == [(b"location", b"http://testserver/lc/oauth/x"), (b"set-cookie", b"a=1; Path=/lc"),
                                     (b"set-cookie", b"b=2; Path=/lc"), (b"content-length", b"0")]


def test_the_mount_matches_the_settings_default_public_path() -> None:
    from identity.settings import load_settings

    settings = load_settings({"APP_REDIRECT_URI": "https://demo.example"}, config_file=Path("/nonexistent.yml"))

    assert settings.localcloud_public_url == f"https://demo.example{LOCALCLOUD_MOUNT}"


def test_the_order_services_pages_are_the_ones_it_serves() -> None:
    from localcloud.orders.service import AUTHORIZE_PATH, LOGIN_PATH, ORDER_SERVICE_PATH
    from web.local_proxy import ORDER_SERVICE_PAGES

    assert {f"{ORDER_SERVICE_PATH}{AUTHORIZE_PATH}", f"{ORDER_SERVICE_PATH}{LOGIN_PATH}"} == ORDER_SERVICE_PAGES


def test_the_order_services_consent_works_through_the_apps_origin(cloud_under_lc: localcloud.LocalCloud) -> None:
    app, callback = _app(cloud_under_lc.url), f"{PUBLIC}/oauth2/callback/order-proxy-test"
    metadata = httpx.get(f"{cloud_under_lc.order_service_url}/.well-known/oauth-authorization-server",
                         trust_env=False, timeout=10).json()
    assert metadata["authorization_endpoint"] == f"{PUBLIC}/order-service/oauth/authorize"
    assert metadata["issuer"] == cloud_under_lc.order_service_url  # the back channel stays on localcloud's port

    page = _send(app, "GET", "/lc/order-service/oauth/authorize", params={
        "client_id": "order-client", "redirect_uri": callback, "response_type": "code", "state": "s1"})
    assert page.status_code == 200, page.text[:300]
    assert "Path=/lc/order-service/oauth" in page.headers["set-cookie"]
    request_id = re.search(r'name="request_id" value="([^"]+)"', page.text).group(1)
    signed_in = _send(app, "POST", "/lc/order-service/oauth/login",
                      data={"request_id": request_id, "username": "alice", "password": "demo"},
                      headers={"cookie": f"_streamlit_xsrf=abc; {_cookie(page)}"})
    assert signed_in.status_code == 303
    assert signed_in.headers["location"].startswith(f"{PUBLIC}/order-service/oauth/authorize?request_id=")
    approved = _send(app, "POST", "/lc/order-service/oauth/authorize",
                     data={"request_id": request_id, "action": "approve"},
                     headers={"cookie": f"{_cookie(page)}; {_cookie(signed_in)}"})
    assert approved.status_code == 302 and approved.headers["location"].startswith(f"{callback}?code=")


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/lc/order-service/.well-known/oauth-authorization-server"), ("POST", "/lc/order-service/oauth/token"),
    ("GET", "/lc/order-service/orders"), ("POST", "/lc/order-service/orders"),
    ("GET", "/lc/order-service/orders/abc")])
def test_the_order_services_back_channel_and_api_are_not_on_the_apps_origin(
        cloud_under_lc: localcloud.LocalCloud, method: str, path: str) -> None:
    direct = httpx.request(method, f"{cloud_under_lc.url}{path.removeprefix('/lc')}", trust_env=False, timeout=10)

    proxied = _send(_app(cloud_under_lc.url), method, path)

    assert direct.status_code != 404  # localcloud serves it, on its own port
    assert proxied.status_code == 404 and "order" not in proxied.text.lower()

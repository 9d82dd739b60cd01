"""The AI Gateway sample's order service in localcloud: its OAuth2 server and orders API, over real HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from alibabacloud_agentidentity20250901 import models as ai
from alibabacloud_agentidentity20250901.client import Client as ControlClient
from alibabacloud_agentidentitydata20251127 import models as data

import localcloud
from lab.browser import Browser, forms, pkce_pair, query_of
from localcloud.orders import ORDER_SERVICE_PATH, ORDER_TOOLS, order_tool
from localcloud.store import DB_NAME
from tests.conftest import repo_root, tea_config
from tests.localcloud.order_support import (
    MovableClock,
    api,
    authorize_url,
    callback,
    consent,
    metadata,
    token_request,
    user_tokens,
)
from tests.localcloud.sample_setup import INBOUND_REDIRECT, RETURN_URL, data_client, prepare
from tests.support import free_port

ORDER = {"customer_name": "张三", "items": [{"name": "pen", "quantity": 3, "unit_price": 1.1},
                                          {"name": "ink", "quantity": 1, "unit_price": 4.5}]}


@pytest.fixture(scope="module")
def clock() -> MovableClock:
    return MovableClock(time.time())


@pytest.fixture(scope="module")
def clocked_cloud(tmp_path_factory: pytest.TempPathFactory, clock: MovableClock) -> localcloud.LocalCloud:
    """A localcloud of these tests' own, on a clock they move (expiry without sleeping)."""
    return localcloud.start(port=0, data_dir=tmp_path_factory.mktemp("orders-clocked"), clock=clock)


# -- metadata and the client ------------------------------------------------------------------------------------
def test_metadata_is_the_samples_with_the_issuer_at_the_services_base(cloud):
    document = metadata(cloud)

    assert cloud.order_service_url == f"{cloud.url}{ORDER_SERVICE_PATH}" == f"{cloud.url}/order-service"
    assert document["issuer"] == cloud.order_service_url  # the base the discovery URL was made from
    assert document["authorization_endpoint"] == f"{cloud.urls.public}/order-service/oauth/authorize"
    assert document["token_endpoint"] == f"{cloud.order_service_url}/oauth/token"
    assert document["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert document["token_endpoint_auth_methods_supported"] == ["client_secret_post"]
    assert document["scopes_supported"] == ["orders:read", "orders:write"]
    assert document["response_types_supported"] == ["code"]


def test_the_client_is_order_client_with_a_generated_secret_in_the_environment(cloud):
    env = cloud.env()

    assert (env["ORDER_CLIENT_ID"], env["ORDER_SERVICE_URL"]) == ("order-client", cloud.order_service_url)
    assert len(env["ORDER_CLIENT_SECRET"]) >= 32 and env["ORDER_CLIENT_SECRET"] != "order-secret"
    assert env["ORDER_CLIENT_SECRET"] not in repr(cloud)


# -- the authorization code flow --------------------------------------------------------------------------------
def test_a_user_signs_in_approves_and_the_client_redeems_the_code_for_tokens(fresh_cloud):
    with Browser() as browser:
        landed = consent(browser, authorize_url(fresh_cloud), "alice", stop_at=callback(fresh_cloud))
        answer = query_of(landed)
        assert landed.startswith(f"{callback(fresh_cloud)}?") and answer["state"] == "st-1"
        tokens = token_request(fresh_cloud, grant_type="authorization_code", code=answer["code"],
                               redirect_uri=callback(fresh_cloud))

        assert tokens.status_code == 200 and tokens.headers["cache-control"] == "no-store"
        body = tokens.json()
        assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
        assert body["scope"] == "orders:read orders:write" and body["access_token"] and body["refresh_token"]
        assert api(fresh_cloud, "GET", "/orders", body["access_token"]).json() == []

        # Signed in once: the next consent in this browser asks no password, only the question.
        page = browser.get(authorize_url(fresh_cloud))
        assert "Signed in as <strong>Alice Chen</strong>" in page.text and 'name="password"' not in page.text


def test_a_denied_consent_goes_back_with_access_denied_and_the_state(fresh_cloud):
    with Browser() as browser:
        landed = consent(browser, authorize_url(fresh_cloud, state="keep-me"), "bob", action="deny",
                         stop_at=callback(fresh_cloud))

    assert query_of(landed) == {"error": "access_denied", "error_description": "User denied", "state": "keep-me"}


def test_a_code_works_once(fresh_cloud):
    with Browser() as browser:
        code = query_of(consent(browser, authorize_url(fresh_cloud), "alice", stop_at=callback(fresh_cloud)))["code"]
    first = token_request(fresh_cloud, grant_type="authorization_code", code=code)
    again = token_request(fresh_cloud, grant_type="authorization_code", code=code)

    assert first.status_code == 200
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


def test_a_code_expires_after_five_minutes(clocked_cloud, clock):
    with Browser() as browser:
        code = query_of(consent(browser, authorize_url(clocked_cloud), "alice",
                                stop_at=callback(clocked_cloud)))["code"]
    clock.advance(301)

    late = token_request(clocked_cloud, grant_type="authorization_code", code=code)

    assert (late.status_code, late.json()["error"]) == (400, "invalid_grant")


def test_pkce_binds_the_code_to_its_verifier_when_the_request_had_a_challenge(fresh_cloud):
    challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636 appendix B
    with Browser() as browser:
        code = query_of(consent(browser, authorize_url(fresh_cloud, code_challenge=challenge,
                                                       code_challenge_method="S256"),
                                "alice", stop_at=callback(fresh_cloud)))["code"]
    wrong = token_request(fresh_cloud, grant_type="authorization_code", code=code, code_verifier="x" * 43)

    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize("form", [
    {"client_secret": "order-secret"},                       # the sample's default secret is not this one's
    {"client_id": "another-client"},
    {"client_secret": ""},
])
def test_a_wrong_client_is_401_invalid_client(fresh_cloud, form):
    answer = token_request(fresh_cloud, grant_type="authorization_code", code="whatever", **form)

    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")


def test_client_secret_basic_is_refused_the_metadata_lists_client_secret_post_only(fresh_cloud):
    answer = httpx.post(metadata(fresh_cloud)["token_endpoint"], trust_env=False, timeout=10,
                        data={"grant_type": "authorization_code", "code": "c"},
                        auth=(fresh_cloud.order_client_id, fresh_cloud.order_client_secret))

    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")


def test_refresh_rotates_and_the_old_refresh_token_stops_working(fresh_cloud):
    first = user_tokens(fresh_cloud, "alice")

    refreshed = token_request(fresh_cloud, grant_type="refresh_token", refresh_token=first["refresh_token"])
    replayed = token_request(fresh_cloud, grant_type="refresh_token", refresh_token=first["refresh_token"])

    assert refreshed.status_code == 200
    body = refreshed.json()
    assert body["refresh_token"] != first["refresh_token"] and body["access_token"] != first["access_token"]
    assert (body["scope"], body["expires_in"], body["token_type"]) == ("orders:read orders:write", 3600, "Bearer")
    assert (replayed.status_code, replayed.json()["error"]) == (400, "invalid_grant")
    assert api(fresh_cloud, "GET", "/orders", body["access_token"]).status_code == 200
    again = token_request(fresh_cloud, grant_type="refresh_token", refresh_token=body["refresh_token"])
    assert again.status_code == 200


@pytest.mark.parametrize("redirect_uri", [
    "https://evil.example/oauth2/callback/x",
    "http://127.0.0.1:1/oauth2/callback/x",
    "{public}/oauth2/callback/",                 # the prefix itself names no callback
    "{public}/oauth2/callback/x/../../chat",     # climbs out of it
    "{public}/oauth2/callback/x/%2e%2e/y",
    "{public}/chat",
    "",
])
def test_a_redirect_uri_outside_the_data_planes_callback_is_refused_with_a_page(fresh_cloud, redirect_uri):
    target = redirect_uri.format(public=fresh_cloud.urls.public)
    with Browser() as browser:
        page = browser.get(authorize_url(fresh_cloud, redirect_uri=target))

    assert page.status_code == 400 and "location" not in page.headers
    assert "redirect_uri" in page.text and page.headers["content-type"].startswith("text/html")


def test_an_unknown_client_id_is_refused_with_a_page(fresh_cloud):
    with Browser() as browser:
        page = browser.get(authorize_url(fresh_cloud, client_id="someone-else"))

    assert page.status_code == 400 and "location" not in page.headers and "client_id" in page.text


def test_errors_after_the_redirect_is_trusted_go_back_to_it(fresh_cloud):
    with Browser() as browser:
        bad_scope = browser.get(authorize_url(fresh_cloud, scope="orders:read admin"))
        bad_type = browser.get(authorize_url(fresh_cloud, response_type="token"))

    assert bad_scope.status_code == 302
    assert query_of(bad_scope.headers["location"])["error"] == "invalid_scope"
    assert query_of(bad_type.headers["location"]) == {
        "error": "unsupported_response_type", "error_description": "Only response_type=code is supported",
        "state": "st-1"}


def test_the_consent_form_only_counts_from_the_browser_that_opened_it(fresh_cloud):
    with Browser() as alice, Browser() as attacker:
        page = alice.follow(alice.get(authorize_url(fresh_cloud)), callback(fresh_cloud))
        page = alice.follow(alice.submit(page, {"username": "alice", "password": "demo"}), callback(fresh_cloud))
        request_id = forms(page.text)[0].fields["request_id"]
        forged = attacker.http.post(metadata(fresh_cloud)["authorization_endpoint"],
                                    data={"request_id": request_id, "action": "approve"})

        assert forged.status_code == 400 and "location" not in forged.headers
        assert "another browser" in forged.text
        landed = alice.follow(alice.submit(page, {}, button="action=approve"), callback(fresh_cloud))
        assert "code" in query_of(landed)


def test_a_wrong_password_is_refused_on_the_page(fresh_cloud):
    with Browser() as browser:
        page = browser.get(authorize_url(fresh_cloud))
        refused = browser.submit(page, {"username": "alice", "password": "wrong"})

    assert refused.status_code == 401 and "Wrong user name or password" in refused.text


# -- the orders API ---------------------------------------------------------------------------------------------
def test_orders_are_created_listed_got_and_deleted_as_the_sample_answers(fresh_cloud):
    token = user_tokens(fresh_cloud, "alice")["access_token"]

    created = api(fresh_cloud, "POST", "/orders", token, json=ORDER)

    assert created.status_code == 201
    order = created.json()
    assert set(order) == {"id", "customer_name", "status", "items", "total_amount", "created_at", "updated_at"}
    assert len(order["id"]) == 8 and int(order["id"], 16) >= 0
    assert (order["customer_name"], order["status"], order["total_amount"]) == ("张三", "pending", 7.8)
    assert order["items"] == ORDER["items"] and order["created_at"] == order["updated_at"]
    assert api(fresh_cloud, "GET", "/orders", token).json() == [order]
    assert api(fresh_cloud, "GET", f"/orders/{order['id']}", token).json() == order
    assert api(fresh_cloud, "GET", "/orders", token, params={"customer_name": "张三", "status": "pending"}).json() \
        == [order]
    assert api(fresh_cloud, "GET", "/orders", token, params={"status": "paid"}).json() == []
    assert api(fresh_cloud, "GET", "/orders", token, params={"customer_name": "李四"}).json() == []
    deleted = api(fresh_cloud, "DELETE", f"/orders/{order['id']}", token)
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert api(fresh_cloud, "GET", "/orders", token).json() == []


def test_unknown_orders_are_404(fresh_cloud):
    token = user_tokens(fresh_cloud, "alice")["access_token"]

    for method in ("GET", "DELETE"):
        answer = api(fresh_cloud, method, "/orders/order-001", token)
        assert (answer.status_code, answer.json()) == (404, {"detail": "Order order-001 not found"})


def test_alices_orders_are_invisible_to_bobs_token(fresh_cloud):
    alice, bob = user_tokens(fresh_cloud, "alice")["access_token"], user_tokens(fresh_cloud, "bob")["access_token"]
    order = api(fresh_cloud, "POST", "/orders", alice, json=ORDER).json()

    assert api(fresh_cloud, "GET", "/orders", bob).json() == []
    assert api(fresh_cloud, "GET", f"/orders/{order['id']}", bob).status_code == 404
    assert api(fresh_cloud, "DELETE", f"/orders/{order['id']}", bob).status_code == 404
    assert api(fresh_cloud, "GET", "/orders", alice).json() == [order]  # bob's delete touched nothing


@pytest.mark.parametrize(("authorization", "message"), [
    (None, "Missing or invalid Authorization header"),
    ("Basic b3JkZXI6c2VjcmV0", "Missing or invalid Authorization header"),
    ("bearer lower-case-scheme", "Missing or invalid Authorization header"),
    ("Bearer not-a-token-we-issued", "Invalid token"),
])
def test_calls_without_a_valid_token_are_401(fresh_cloud, authorization, message):
    headers = {"Authorization": authorization} if authorization else {}

    answer = api(fresh_cloud, "GET", "/orders", headers=headers)

    assert (answer.status_code, answer.json()) == (401, {"detail": message})
    assert answer.headers["www-authenticate"].startswith("Bearer")


def test_an_expired_token_is_401_token_expired_and_a_refresh_brings_a_fresh_one(clocked_cloud, clock):
    tokens = user_tokens(clocked_cloud, "alice")
    clock.advance(3601)

    expired = api(clocked_cloud, "GET", "/orders", tokens["access_token"])
    fresh = token_request(clocked_cloud, grant_type="refresh_token", refresh_token=tokens["refresh_token"]).json()

    assert (expired.status_code, expired.json()) == (401, {"detail": "Token expired"})
    assert api(clocked_cloud, "GET", "/orders", fresh["access_token"]).status_code == 200


def test_a_refresh_token_expires_after_a_day(clocked_cloud, clock):
    tokens = user_tokens(clocked_cloud, "bob")
    clock.advance(24 * 3600 + 1)

    late = token_request(clocked_cloud, grant_type="refresh_token", refresh_token=tokens["refresh_token"])

    assert (late.status_code, late.json()["error"]) == (400, "invalid_grant")


def test_a_token_without_the_scope_a_call_needs_is_403(fresh_cloud):
    reader = user_tokens(fresh_cloud, "alice", scope="orders:read")
    writer = user_tokens(fresh_cloud, "alice", scope="orders:write")
    assert (reader["scope"], writer["scope"]) == ("orders:read", "orders:write")

    cases = [(reader, "POST", "/orders", "orders:write"), (reader, "DELETE", "/orders/abc", "orders:write"),
             (writer, "GET", "/orders", "orders:read"), (writer, "GET", "/orders/abc", "orders:read")]
    for tokens, method, path, needed in cases:
        answer = api(fresh_cloud, method, path, tokens["access_token"], json=ORDER if method == "POST" else None)
        assert (answer.status_code, answer.json()) == (403, {"detail": f"Insufficient scope: {needed} required"})
    assert api(fresh_cloud, "POST", "/orders", writer["access_token"], json=ORDER).status_code == 201


@pytest.mark.parametrize(("body", "loc", "kind"), [
    ({"items": ORDER["items"]}, ["body", "customer_name"], "missing"),
    ({"customer_name": "张三", "items": []}, ["body", "items"], "too_short"),
    ({"customer_name": "张三"}, ["body", "items"], "missing"),
    ({"customer_name": 42, "items": ORDER["items"]}, ["body", "customer_name"], "string_type"),
    ({"customer_name": "a", "items": [{"name": "pen", "quantity": 0, "unit_price": 1}]},
     ["body", "items", 0, "quantity"], "greater_than"),
    ({"customer_name": "a", "items": [{"name": "pen", "quantity": 1, "unit_price": -2}]},
     ["body", "items", 0, "unit_price"], "greater_than"),
    ({"customer_name": "a", "items": [{"name": "pen", "quantity": 1.5, "unit_price": 2}]},
     ["body", "items", 0, "quantity"], "int_from_float"),
    # The sample's pitfall: `price` instead of `unit_price`.
    ({"customer_name": "a", "items": [{"name": "pen", "quantity": 1, "price": 2}]},
     ["body", "items", 0, "unit_price"], "missing"),
    ({"customer_name": "a" * 201, "items": ORDER["items"]}, ["body", "customer_name"], "string_too_long"),
    ({"customer_name": "a", "items": [{"name": "pen", "quantity": 1, "unit_price": 1}] * 101}, ["body", "items"],
     "too_long"),
    ([ORDER], ["body"], "model_type"),
])
def test_an_order_that_does_not_validate_is_422_with_fastapis_detail(fresh_cloud, body, loc, kind):
    token = user_tokens(fresh_cloud, "alice")["access_token"]

    answer = api(fresh_cloud, "POST", "/orders", token, json=body)

    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert isinstance(detail, list) and {"type": kind, "loc": loc} in [{"type": d["type"], "loc": d["loc"]}
                                                                       for d in detail], detail
    assert api(fresh_cloud, "GET", "/orders", token).json() == []


@pytest.mark.parametrize("content", [b"", b"{not json", b'{"customer_name": "a", "items": [{"name": "x", '
                                     b'"quantity": 1, "unit_price": NaN}]}', b"\xff\xfe"])
def test_a_body_that_is_not_json_is_422(fresh_cloud, content):
    token = user_tokens(fresh_cloud, "alice")["access_token"]

    answer = api(fresh_cloud, "POST", "/orders", token, content=content,
                 headers={"Content-Type": "application/json"})

    assert answer.status_code == 422 and answer.json()["detail"][0]["type"] in ("json_invalid", "missing")


def test_a_bad_status_filter_is_422_and_a_huge_body_413(fresh_cloud):
    token = user_tokens(fresh_cloud, "alice")["access_token"]

    status = api(fresh_cloud, "GET", "/orders", token, params={"status": "shipped"})
    huge = api(fresh_cloud, "POST", "/orders", token, content=b"x" * (65 * 1024),
               headers={"Content-Type": "application/json"})

    assert status.status_code == 422 and status.json()["detail"][0]["loc"] == ["query", "status"]
    assert huge.status_code == 413 and "too large" in huge.json()["detail"]


# -- storage ----------------------------------------------------------------------------------------------------
def test_codes_and_tokens_are_never_stored_as_they_were_issued(fresh_cloud):
    with Browser() as browser:
        code = query_of(consent(browser, authorize_url(fresh_cloud), "alice", stop_at=callback(fresh_cloud)))["code"]
        cookies = [cookie.value for cookie in browser.http.cookies.jar]
    tokens = token_request(fresh_cloud, grant_type="authorization_code", code=code).json()
    unused = user_tokens(fresh_cloud, "bob")

    files = b"".join(path.read_bytes() for path in fresh_cloud.data_dir.glob(f"{DB_NAME}*"))
    for secret in [code, tokens["access_token"], tokens["refresh_token"], unused["access_token"],
                   unused["refresh_token"], *cookies]:
        assert secret.encode() not in files


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if "proxy" not in k.lower() and not k.startswith("ALIBABA_CLOUD")}


@contextmanager
def _standalone(port: int, data_dir: Path) -> Iterator[None]:
    """`python -m localcloud` in a child process until the block ends (a real restart between two of these)."""
    process = subprocess.Popen([sys.executable, "-m", "localcloud", "--port", str(port), "--data-dir", str(data_dir)],
                               cwd=repo_root(), env=_clean_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            assert process.poll() is None and time.monotonic() < deadline, "localcloud did not start"
            try:
                httpx.get(f"http://127.0.0.1:{port}/_localcloud/health", timeout=1, trust_env=False)
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        yield
    finally:
        process.terminate()
        process.communicate(timeout=10)


def _exported(port: int, data_dir: Path) -> dict[str, str]:
    done = subprocess.run([sys.executable, "-m", "localcloud", "env", "--port", str(port), "--data-dir",
                           str(data_dir)], cwd=repo_root(), env=_clean_env(), capture_output=True, text=True,
                          timeout=60, check=True)
    pairs = (line.removeprefix("export ").split("=", 1) for line in done.stdout.splitlines())
    return {name: value.strip("'") for name, value in pairs}


def test_orders_tokens_and_the_client_secret_survive_a_restart(tmp_path):
    port, data_dir = free_port(), tmp_path / "orders-restart"
    with _standalone(port, data_dir):
        exported = _exported(port, data_dir)
        running = localcloud.LocalCloud(port, data_dir, "cn-beijing", "", "", "", "", order_client_id="order-client",
                                        order_client_secret=exported["ORDER_CLIENT_SECRET"])
        tokens = user_tokens(running, "alice")
        order = api(running, "POST", "/orders", tokens["access_token"], json=ORDER).json()
    with _standalone(port, data_dir):
        assert _exported(port, data_dir)["ORDER_CLIENT_SECRET"] == exported["ORDER_CLIENT_SECRET"]
        assert exported["ORDER_SERVICE_URL"] == f"http://127.0.0.1:{port}/order-service"
        assert api(running, "GET", "/orders", tokens["access_token"]).json() == [order]
        refreshed = token_request(running, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
        assert refreshed.status_code == 200


# -- the tools the gateway serves -------------------------------------------------------------------------------
def test_the_tools_are_the_samples_four_with_their_rest_calls():
    assert [(t.name, t.method, t.path) for t in ORDER_TOOLS] == [
        ("createOrder", "POST", "/orders"), ("deleteOrder", "DELETE", "/orders/{order_id}"),
        ("getOrder", "GET", "/orders/{order_id}"), ("listOrders", "GET", "/orders")]
    create = order_tool("createOrder")
    assert create.input_schema["required"] == ["customer_name", "items"]
    assert create.input_schema["properties"]["items"]["items"]["required"] == ["name", "quantity", "unit_price"]
    assert order_tool("listOrders").input_schema["properties"]["status"]["enum"] == ["pending", "paid", "cancelled"]
    assert order_tool("getOrder").rest_call({"order_id": "a/b", "x": 1}).path == "/orders/a%2Fb"
    listing = order_tool("listOrders").rest_call({"status": "paid", "customer_name": None})
    assert (listing.method, listing.query, listing.body) == ("GET", {"status": "paid"}, None)
    assert create.rest_call({**ORDER, "extra": 1}).body == ORDER


def test_a_tool_call_planned_from_the_tools_works_against_the_service(fresh_cloud):
    token = user_tokens(fresh_cloud, "alice")["access_token"]
    created = order_tool("createOrder").rest_call(ORDER)
    order = api(fresh_cloud, created.method, created.path, token, json=created.body).json()

    listed = order_tool("listOrders").rest_call({"customer_name": "张三"})
    got = order_tool("getOrder").rest_call({"order_id": order["id"]})

    assert api(fresh_cloud, listed.method, listed.path, token, params=listed.query).json() == [order]
    assert api(fresh_cloud, got.method, got.path, token).json() == order


# -- the data plane as the order service's client ----------------------------------------------------------------
def _order_provider(cloud: localcloud.LocalCloud, name: str) -> None:
    """The sample's `mcp-order-oauth2`: USER_FEDERATION, custom, the order service's metadata as discovery."""
    discovery = f"{cloud.order_service_url}/.well-known/oauth-authorization-server"
    ControlClient(tea_config(cloud)).create_oauth2_credential_provider(ai.CreateOAuth2CredentialProviderRequest(
        oauth2_credential_provider_name=name, credential_provider_vendor="CustomOAuth2",
        oauth2_provider_config=ai.OAuth2ProviderConfig(custom_oauth2_provider_config=ai.CustomOAuth2ProviderConfig(
            client_id=cloud.order_client_id, client_secret=cloud.order_client_secret,
            oauth2_discovery=ai.OAuth2Discovery(discovery_url=discovery)))))


def _id_token(cloud: localcloud.LocalCloud, inbound_app_id: str, username: str) -> str:
    verifier, challenge = pkce_pair()
    issuer = cloud.urls.issuer("aliyun")
    query = httpx.QueryParams({"client_id": inbound_app_id, "redirect_uri": INBOUND_REDIRECT,
                               "response_type": "code", "scope": "openid profile aliuid", "state": "s",
                               "nonce": "n", "code_challenge": challenge, "code_challenge_method": "S256"})
    with Browser() as browser:
        landed = browser.sign_in_and_decide(f"{issuer}/authorize?{query}", username, "demo", "approve",
                                            INBOUND_REDIRECT)
        return browser.http.post(cloud.urls.oauth_endpoint("aliyun", "token"), data={
            "grant_type": "authorization_code", "code": query_of(landed)["code"], "redirect_uri": INBOUND_REDIRECT,
            "client_id": inbound_app_id, "code_verifier": verifier}).json()["id_token"]


def test_the_data_plane_gets_an_order_token_for_alice_after_her_consent(fresh_cloud):
    sample, provider = prepare(fresh_cloud), f"mcp-order-oauth2-{uuid.uuid4().hex[:6]}"
    _order_provider(fresh_cloud, provider)
    id_token = _id_token(fresh_cloud, sample.inbound_app_id, "alice")
    client = data_client(fresh_cloud)
    wat = client.get_workload_access_token_for_jwt(data.GetWorkloadAccessTokenForJWTRequest(
        workload_identity_name=sample.workload, user_token=id_token)).body.workload_access_token

    def ask(**extra: object) -> data.GetResourceOAuth2TokenResponseBody:
        return client.get_resource_oauth2_token(data.GetResourceOAuth2TokenRequest(
            resource_credential_provider_name=provider, scopes=["orders:read", "orders:write"],
            oauth2_flow="USER_FEDERATION", workload_access_token=wat, resource_oauth2_return_url=RETURN_URL,
            custom_state="orders-1", **extra)).body

    started = ask()
    assert started.session_status == "IN_PROGRESS" and started.access_token is None
    with Browser() as browser:
        back = query_of(consent(browser, started.authorization_url, "alice", stop_at=RETURN_URL))
    assert back == {"session_uri": started.session_uri, "state": "orders-1"}
    client.complete_resource_token_auth(data.CompleteResourceTokenAuthRequest(
        session_uri=started.session_uri,
        user_identifier=data.CompleteResourceTokenAuthRequestUserIdentifier(user_jwt=id_token)))
    token = ask().access_token

    assert token and api(fresh_cloud, "GET", "/orders", token).json() == []
    assert api(fresh_cloud, "POST", "/orders", token, json=ORDER).status_code == 201

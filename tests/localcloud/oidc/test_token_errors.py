"""The token, userinfo, revoke and introspect endpoints refuse bad grants, clients and input with RFC errors."""

from __future__ import annotations

import base64

import httpx
import pytest

import localcloud
from tests.localcloud.oidc.oidc_client import (
    MCP_REDIRECT,
    WEB_REDIRECT,
    Apps,
    Browser,
    Pkce,
    exchange,
    post_form,
    refresh,
    userinfo,
)


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error and response.json()["error_description"]
    assert response.headers["cache-control"] == "no-store"


def test_a_code_verifier_that_does_not_match_the_challenge_is_invalid_grant(
        cloud: localcloud.LocalCloud, apps: Apps, browser: Browser) -> None:
    sign_in = browser.sign_in(apps.web, WEB_REDIRECT)

    response = exchange(cloud, sign_in, code_verifier=Pkce().verifier)

    assert_oauth_error(response, 400, "invalid_grant")
    assert "PKCE" in response.json()["error_description"]


def test_a_code_that_failed_its_pkce_check_cannot_be_retried(cloud: localcloud.LocalCloud, apps: Apps,
                                                            browser: Browser) -> None:
    sign_in = browser.sign_in(apps.web, WEB_REDIRECT)
    exchange(cloud, sign_in, code_verifier=Pkce().verifier)

    assert_oauth_error(exchange(cloud, sign_in), 400, "invalid_grant")


def test_a_reused_code_is_refused_and_revokes_what_it_issued(cloud: localcloud.LocalCloud, apps: Apps,
                                                             browser: Browser) -> None:
    sign_in = browser.sign_in(apps.web, WEB_REDIRECT)
    tokens = exchange(cloud, sign_in).json()

    reuse = exchange(cloud, sign_in)

    assert_oauth_error(reuse, 400, "invalid_grant")
    assert userinfo(cloud, tokens["access_token"]).status_code == 401
    assert_oauth_error(refresh(cloud, apps.web, tokens["refresh_token"]), 400, "invalid_grant")


def test_a_code_is_bound_to_its_redirect_uri_and_client(cloud: localcloud.LocalCloud, apps: Apps,
                                                        browser: Browser) -> None:
    wrong_uri = exchange(cloud, browser.sign_in(apps.web, WEB_REDIRECT), redirect_uri=MCP_REDIRECT)
    wrong_client = exchange(cloud, browser.sign_in(apps.web, WEB_REDIRECT), client_id=apps.openid_only)
    no_uri = exchange(cloud, browser.sign_in(apps.web, WEB_REDIRECT), redirect_uri=None)

    assert_oauth_error(wrong_uri, 400, "invalid_grant")
    assert_oauth_error(wrong_client, 400, "invalid_grant")
    assert_oauth_error(no_uri, 400, "invalid_request")


def test_a_wrong_secret_for_a_web_app_is_invalid_client_401(cloud: localcloud.LocalCloud, apps: Apps,
                                                            browser: Browser) -> None:
    sign_in = browser.sign_in(apps.web, WEB_REDIRECT)

    by_basic = exchange(cloud, sign_in, auth=(apps.web, "wrong-secret"), client_id=None)
    by_post = exchange(cloud, sign_in, client_secret="wrong-secret")

    for response in (by_basic, by_post):
        assert_oauth_error(response, 401, "invalid_client")
        assert response.headers["www-authenticate"].startswith("Basic")
    assert exchange(cloud, sign_in).status_code == 200  # the code was not spent on a failed client check


def test_a_native_app_presenting_a_secret_is_refused(cloud: localcloud.LocalCloud, apps: Apps,
                                                     browser: Browser) -> None:
    sign_in = browser.sign_in(apps.native, MCP_REDIRECT)

    response = exchange(cloud, sign_in, client_secret=apps.web_secret)

    assert_oauth_error(response, 401, "invalid_client")
    assert "public client" in response.json()["error_description"]


def test_unknown_or_missing_clients_are_invalid_client(cloud: localcloud.LocalCloud) -> None:
    for data in ({"grant_type": "refresh_token", "refresh_token": "x", "client_id": "9999"},
                 {"grant_type": "refresh_token", "refresh_token": "x"}):
        assert_oauth_error(post_form(cloud, "aliyun", "token", data), 401, "invalid_client")


def test_two_client_authentication_methods_at_once_are_refused(cloud: localcloud.LocalCloud, apps: Apps) -> None:
    response = post_form(cloud, "aliyun", "token", {"grant_type": "client_credentials",
                                                    "client_secret": apps.web_secret},
                         auth=(apps.web, apps.web_secret))

    assert_oauth_error(response, 400, "invalid_request")


@pytest.mark.parametrize("header", ["Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(),
                                    "Basic " + base64.b64encode(b"\xff:\xfe").decode()])
def test_a_malformed_basic_header_is_invalid_client(cloud: localcloud.LocalCloud, header: str) -> None:
    response = post_form(cloud, "aliyun", "token", {"grant_type": "client_credentials"},
                         headers={"Authorization": header})

    assert_oauth_error(response, 401, "invalid_client")


@pytest.mark.parametrize("data, status, error", [
    ({}, 400, "invalid_request"),
    ({"grant_type": "password", "username": "alice", "password": "demo"}, 400, "unsupported_grant_type"),
])
def test_bad_token_requests_get_rfc_errors(cloud: localcloud.LocalCloud, data: dict[str, str], status: int,
                                           error: str) -> None:
    assert_oauth_error(post_form(cloud, "aliyun", "token", data), status, error)


def test_a_code_exchange_without_code_or_verifier_is_invalid_request(cloud: localcloud.LocalCloud,
                                                                     apps: Apps) -> None:
    for missing in ("code", "code_verifier"):
        data = {"grant_type": "authorization_code", "code": "c", "code_verifier": Pkce().verifier,
                "redirect_uri": WEB_REDIRECT, "client_id": apps.web}
        del data[missing]
        assert_oauth_error(post_form(cloud, "aliyun", "token", data), 400, "invalid_request")


def test_a_garbage_code_is_invalid_grant(cloud: localcloud.LocalCloud, apps: Apps) -> None:
    response = post_form(cloud, "aliyun", "token", {
        "grant_type": "authorization_code", "code": "garbage", "code_verifier": Pkce().verifier,
        "redirect_uri": WEB_REDIRECT, "client_id": apps.web})

    assert_oauth_error(response, 400, "invalid_grant")


@pytest.mark.parametrize("content, content_type", [
    (b'{"grant_type": "client_credentials"}', "application/json"),
    (b"grant_type=client_credentials&grant_type=refresh_token", "application/x-www-form-urlencoded"),
    (b"\xff\xfe\x00", "application/x-www-form-urlencoded"),
    (b"x=" + b"a" * 70_000, "application/x-www-form-urlencoded"),
])
def test_malformed_bodies_are_4xx_not_500(cloud: localcloud.LocalCloud, content: bytes, content_type: str) -> None:
    for endpoint in ("token", "revoke", "introspect"):
        response = httpx.post(f"{cloud.url}/oauth/aliyun/{endpoint}", content=content,
                              headers={"content-type": content_type}, trust_env=False)
        assert 400 <= response.status_code < 500 and response.json()["error"] == "invalid_request"


@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer garbage", "Bearer a.b.c", "Basic abc"])
def test_userinfo_without_a_valid_access_token_is_401(cloud: localcloud.LocalCloud,
                                                      authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.get(f"{cloud.url}/oauth/aliyun/userinfo", headers=headers, trust_env=False)

    assert_oauth_error(response, 401, "invalid_token")
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_an_id_token_is_not_accepted_as_an_access_token(cloud: localcloud.LocalCloud, apps: Apps,
                                                        browser: Browser) -> None:
    tokens = exchange(cloud, browser.sign_in(apps.web, WEB_REDIRECT)).json()

    assert_oauth_error(userinfo(cloud, tokens["id_token"]), 401, "invalid_token")


def test_userinfo_needs_the_openid_scope(cloud: localcloud.LocalCloud, apps: Apps) -> None:
    machine = post_form(cloud, "aliyun", "token", {"grant_type": "client_credentials", "scope": "profile"},
                        auth=(apps.web, apps.web_secret)).json()

    assert_oauth_error(userinfo(cloud, machine["access_token"]), 403, "insufficient_scope")


def test_a_token_of_one_realm_is_not_accepted_by_the_other(cloud: localcloud.LocalCloud, apps: Apps,
                                                           browser: Browser) -> None:
    tokens = exchange(cloud, browser.sign_in(apps.web, WEB_REDIRECT)).json()

    assert_oauth_error(userinfo(cloud, tokens["access_token"], realm="dingtalk"), 401, "invalid_token")


def test_revoke_needs_a_token(cloud: localcloud.LocalCloud, apps: Apps) -> None:
    assert_oauth_error(post_form(cloud, "aliyun", "revoke", {"client_id": apps.web}), 400, "invalid_request")

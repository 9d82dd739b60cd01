"""Signing in through the HTML forms with PKCE, then using the tokens: an independent client over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable

import localcloud
from tests.localcloud.oidc.oidc_client import (
    MCP_REDIRECT,
    WEB_REDIRECT,
    Apps,
    Browser,
    Pkce,
    SignIn,
    exchange,
    is_consent_form,
    is_login_form,
    query_of,
    request_id_of,
    userinfo,
    verify_id_token,
)


def test_alice_signs_in_like_the_sample_and_her_id_token_verifies_through_the_jwks(
        cloud: localcloud.LocalCloud, apps: Apps, browser: Browser) -> None:
    pkce = Pkce()
    page = browser.authorize(apps.web, WEB_REDIRECT, pkce, state="s-123", nonce="n-456")
    assert page.status_code == 200 and is_login_form(page)
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"

    consent = browser.follow(browser.login(request_id_of(page), "alice", "demo"))
    assert is_consent_form(consent) and "Agent Identity Demo" in consent.text and "aliuid" in consent.text
    answer = browser.consent(request_id_of(consent), "approve")
    assert answer.status_code == 302 and answer.headers["location"].startswith(WEB_REDIRECT + "?")
    params = query_of(answer)
    assert params["state"] == "s-123"

    tokens = exchange(cloud, SignIn(params["code"], "s-123", "n-456", pkce, apps.web, WEB_REDIRECT))
    assert tokens.status_code == 200 and tokens.headers["cache-control"] == "no-store"
    body = tokens.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["refresh_token"]
    assert set(body["scope"].split()) == {"aliuid", "profile", "openid"}  # no scope sent: the required ones
    claims = verify_id_token(cloud, body["id_token"], apps.web, "n-456")
    assert claims["iss"] == cloud.urls.issuer("aliyun") and claims["aud"] == apps.web
    assert claims["name"] == "Alice Chen" and claims["login_name"] == claims["preferred_username"] == "alice"
    assert claims["aliuid"] == claims["sub"] and claims["sub"].isdigit() and claims["upn"].startswith("alice@")
    assert claims["exp"] > time.time() and claims["auth_time"] <= claims["iat"]


def test_state_with_odd_characters_comes_back_untouched(apps: Apps, browser: Browser) -> None:
    odd_state = "a b&c=d/é%41"
    page = browser.authorize(apps.web, WEB_REDIRECT, state=odd_state)
    consent = browser.follow(browser.login(request_id_of(page), "bob", "demo"))

    answer = browser.consent(request_id_of(consent), "approve")

    assert query_of(answer)["state"] == odd_state and query_of(answer)["code"]


def test_userinfo_returns_the_claims_of_the_granted_scopes(cloud: localcloud.LocalCloud, apps: Apps,
                                                           browser: Browser) -> None:
    full = exchange(cloud, browser.sign_in(apps.web, WEB_REDIRECT)).json()
    narrow = exchange(cloud, browser.sign_in(apps.openid_only, WEB_REDIRECT, scope="openid")).json()

    info = userinfo(cloud, full["access_token"])

    assert info.status_code == 200 and info.headers["cache-control"] == "no-store"
    assert info.json()["name"] == "Alice Chen"
    assert set(info.json()) == {"sub", "aliuid", "name", "preferred_username", "login_name", "upn"}
    assert narrow["scope"] == "openid"
    assert userinfo(cloud, narrow["access_token"]).json() == {"sub": info.json()["sub"]}


def test_requested_scopes_are_granted_with_the_required_ones(cloud: localcloud.LocalCloud, apps: Apps,
                                                            browser: Browser) -> None:
    sign_in = browser.sign_in(apps.openid_only, WEB_REDIRECT, scope="profile")
    body = exchange(cloud, sign_in).json()

    assert set(body["scope"].split()) == {"profile", "openid"}
    claims = verify_id_token(cloud, body["id_token"], apps.openid_only, sign_in.nonce)
    assert claims["name"] and "aliuid" not in claims


def test_second_authorize_skips_the_password_but_still_asks_consent(apps: Apps, browser: Browser) -> None:
    browser.sign_in(apps.web, WEB_REDIRECT, username="bob")

    again = browser.authorize(apps.web, WEB_REDIRECT, state="x")

    assert is_consent_form(again) and not is_login_form(again)
    assert "Bob Li" in again.text and "not you?" in again.text


def test_prompt_login_forces_the_login_form_even_when_signed_in(apps: Apps, browser: Browser) -> None:
    browser.sign_in(apps.web, WEB_REDIRECT)

    again = browser.authorize(apps.web, WEB_REDIRECT, prompt="login")

    assert is_login_form(again) and not is_consent_form(again)


def test_not_you_link_lets_another_user_sign_in_for_the_same_request(
        cloud: localcloud.LocalCloud, apps: Apps, browser: Browser) -> None:
    alice = exchange(cloud, browser.sign_in(apps.web, WEB_REDIRECT)).json()
    pkce = Pkce()
    consent = browser.authorize(apps.web, WEB_REDIRECT, pkce, state="s", nonce="n")
    switch = browser.http.get(browser.url("login"), params={"request_id": request_id_of(consent)})
    assert is_login_form(switch)

    as_bob = browser.follow(browser.login(request_id_of(switch), "bob", "demo"))
    code = query_of(browser.consent(request_id_of(as_bob), "approve"))["code"]

    bob = exchange(cloud, SignIn(code, "s", "n", pkce, apps.web, WEB_REDIRECT)).json()
    assert userinfo(cloud, bob["access_token"]).json()["name"] == "Bob Li"
    assert userinfo(cloud, alice["access_token"]).json()["name"] == "Alice Chen"


def test_subjects_are_stable_per_user(cloud: localcloud.LocalCloud, apps: Apps,
                                      new_browser: Callable[..., Browser]) -> None:
    subs = [verify_id_token(cloud, exchange(cloud, s).json()["id_token"], apps.web, s.nonce)["sub"]
            for s in (new_browser().sign_in(apps.web, WEB_REDIRECT, username=u) for u in ("alice", "bob", "alice"))]

    assert subs[0] == subs[2] != subs[1]


def test_native_app_signs_in_as_a_public_client_with_the_mcp_scope(cloud: localcloud.LocalCloud, apps: Apps,
                                                                   browser: Browser) -> None:
    sign_in = browser.sign_in(apps.native, MCP_REDIRECT, scope="/acs/mcp-server")

    body = exchange(cloud, sign_in).json()

    assert "/acs/mcp-server" in body["scope"].split() and body["refresh_token"]


def test_web_app_may_authenticate_with_its_secret_by_basic_or_post(cloud: localcloud.LocalCloud, apps: Apps,
                                                                   browser: Browser) -> None:
    by_basic = exchange(cloud, browser.sign_in(apps.web, WEB_REDIRECT), auth=(apps.web, apps.web_secret),
                        client_id=None)
    by_post = exchange(cloud, browser.sign_in(apps.web, WEB_REDIRECT), client_secret=apps.web_secret)

    assert by_basic.status_code == 200 and by_post.status_code == 200

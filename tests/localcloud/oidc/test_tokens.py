"""Using the tokens: refresh rotation, revocation (RFC 7009), introspection (RFC 7662), client credentials."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest

import localcloud
from localcloud.oidc import verify_access_token
from localcloud.store import open_store
from tests.localcloud.oidc.oidc_client import (
    MCP_REDIRECT,
    WEB_REDIRECT,
    Apps,
    Browser,
    exchange,
    post_form,
    refresh,
    userinfo,
    verify_id_token,
)


def signed_in_tokens(cloud: localcloud.LocalCloud, apps: Apps, browser: Browser, **auth: Any) -> dict[str, Any]:
    response = exchange(cloud, browser.sign_in(apps.web, WEB_REDIRECT), **auth)
    assert response.status_code == 200, response.text
    return response.json()


def introspect(cloud: localcloud.LocalCloud, token: str, auth: tuple[str, str], **extra: Any) -> dict[str, Any]:
    response = post_form(cloud, "aliyun", "introspect", {"token": token}, auth=auth, **extra)
    assert response.status_code == 200, response.text
    return response.json()


def test_refresh_returns_new_tokens_and_the_old_refresh_token_is_refused(
        cloud: localcloud.LocalCloud, apps: Apps, browser: Browser) -> None:
    first = signed_in_tokens(cloud, apps, browser)

    second = refresh(cloud, apps.web, first["refresh_token"])
    replay = refresh(cloud, apps.web, first["refresh_token"])

    assert second.status_code == 200 and second.headers["cache-control"] == "no-store"
    body = second.json()
    assert body["refresh_token"] != first["refresh_token"] and body["access_token"] != first["access_token"]
    assert "nonce" not in verify_id_token(cloud, body["id_token"], apps.web, None)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"


def test_reusing_a_rotated_refresh_token_revokes_the_whole_sign_in(cloud: localcloud.LocalCloud, apps: Apps,
                                                                 browser: Browser) -> None:
    first = signed_in_tokens(cloud, apps, browser)
    second = refresh(cloud, apps.web, first["refresh_token"]).json()

    refresh(cloud, apps.web, first["refresh_token"])  # an attacker replays the stolen, already-used one

    assert refresh(cloud, apps.web, second["refresh_token"]).json()["error"] == "invalid_grant"
    assert userinfo(cloud, second["access_token"]).status_code == 401
    assert userinfo(cloud, first["access_token"]).status_code == 401


def test_refresh_may_narrow_but_never_widen_the_scopes(cloud: localcloud.LocalCloud, apps: Apps,
                                                       browser: Browser) -> None:
    tokens = exchange(cloud, browser.sign_in(apps.openid_only, WEB_REDIRECT)).json()
    assert tokens["scope"] == "openid"

    widened = refresh(cloud, apps.openid_only, tokens["refresh_token"], scope="openid profile")
    still_usable = refresh(cloud, apps.openid_only, tokens["refresh_token"], scope="openid")

    assert widened.status_code == 400 and widened.json()["error"] == "invalid_scope"
    assert still_usable.status_code == 200 and still_usable.json()["scope"] == "openid"


def test_refresh_by_another_client_is_refused(cloud: localcloud.LocalCloud, apps: Apps, browser: Browser) -> None:
    tokens = signed_in_tokens(cloud, apps, browser)

    stolen = refresh(cloud, apps.native, tokens["refresh_token"])

    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"


def test_a_sign_in_made_with_the_secret_needs_the_secret_to_refresh(cloud: localcloud.LocalCloud, apps: Apps,
                                                                   browser: Browser) -> None:
    tokens = signed_in_tokens(cloud, apps, browser, client_secret=apps.web_secret)

    without = refresh(cloud, apps.web, tokens["refresh_token"])
    with_secret = refresh(cloud, apps.web, tokens["refresh_token"], client_secret=apps.web_secret)

    assert without.status_code == 401 and without.json()["error"] == "invalid_client"
    assert with_secret.status_code == 200


def test_revoking_a_refresh_token_revokes_its_access_tokens(cloud: localcloud.LocalCloud, apps: Apps,
                                                            browser: Browser) -> None:
    tokens = signed_in_tokens(cloud, apps, browser)

    revoked = post_form(cloud, "aliyun", "revoke", {"token": tokens["refresh_token"], "client_id": apps.web,
                                                    "token_type_hint": "refresh_token"})

    assert revoked.status_code == 200 and revoked.content == b""
    assert refresh(cloud, apps.web, tokens["refresh_token"]).json()["error"] == "invalid_grant"
    assert userinfo(cloud, tokens["access_token"]).status_code == 401


def test_revoking_an_access_token_makes_userinfo_refuse_it(cloud: localcloud.LocalCloud, apps: Apps,
                                                           browser: Browser) -> None:
    tokens = signed_in_tokens(cloud, apps, browser)
    assert userinfo(cloud, tokens["access_token"]).status_code == 200

    revoked = post_form(cloud, "aliyun", "revoke", {"token": tokens["access_token"]},
                        auth=(apps.web, apps.web_secret))

    assert revoked.status_code == 200
    refused = userinfo(cloud, tokens["access_token"])
    assert refused.status_code == 401 and 'error="invalid_token"' in refused.headers["www-authenticate"]
    assert refresh(cloud, apps.web, tokens["refresh_token"]).status_code == 200  # only that token went


def test_revoking_another_clients_token_is_refused_and_unknown_tokens_are_ignored(
        cloud: localcloud.LocalCloud, apps: Apps, browser: Browser) -> None:
    tokens = signed_in_tokens(cloud, apps, browser)

    other = post_form(cloud, "aliyun", "revoke", {"token": tokens["refresh_token"], "client_id": apps.native})
    unknown = post_form(cloud, "aliyun", "revoke", {"token": "not-a-token", "client_id": apps.native})

    assert other.status_code == 400 and other.json()["error"] == "unauthorized_client"
    assert unknown.status_code == 200
    assert refresh(cloud, apps.web, tokens["refresh_token"]).status_code == 200


def test_introspection_reports_live_tokens_with_their_claims_and_revoked_ones_inactive(
        cloud: localcloud.LocalCloud, apps: Apps, browser: Browser) -> None:
    tokens = signed_in_tokens(cloud, apps, browser)

    client = (apps.web, apps.web_secret)
    access = introspect(cloud, tokens["access_token"], client)
    refresh_info = introspect(cloud, tokens["refresh_token"], client)
    post_form(cloud, "aliyun", "revoke", {"token": tokens["refresh_token"], "client_id": apps.web})

    assert access["active"] is True and access["client_id"] == apps.web and access["token_type"] == "Bearer"
    assert set(access["scope"].split()) == {"aliuid", "profile", "openid"} and access["sub"].isdigit()
    assert refresh_info["active"] is True and refresh_info["client_id"] == apps.web
    assert introspect(cloud, tokens["refresh_token"], client) == {"active": False}
    assert introspect(cloud, tokens["access_token"], client) == {"active": False}
    assert introspect(cloud, "garbage", client) == {"active": False}


def test_introspection_needs_the_clients_credentials(cloud: localcloud.LocalCloud, apps: Apps,
                                                     browser: Browser) -> None:
    token = signed_in_tokens(cloud, apps, browser)["access_token"]
    wrong = post_form(cloud, "aliyun", "introspect", {"token": token}, auth=(apps.web, "wrong"))
    anonymous = post_form(cloud, "aliyun", "introspect", {"token": token})
    named_only = post_form(cloud, "aliyun", "introspect", {"token": token, "client_id": apps.web})

    for refused in (wrong, anonymous, named_only):  # RFC 7662 §2.1: a live token alone learns nothing
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_client", refused.text
        assert "active" not in refused.json()


def test_client_credentials_with_the_secret_gives_an_access_token_only(cloud: localcloud.LocalCloud,
                                                                       apps: Apps) -> None:
    response = post_form(cloud, "aliyun", "token", {"grant_type": "client_credentials", "scope": "aliuid"},
                         auth=(apps.web, apps.web_secret))

    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    body = response.json()
    assert "refresh_token" not in body and "id_token" not in body and body["scope"] == "aliuid"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == claims["client_id"] == claims["aud"] == apps.web
    assert introspect(cloud, body["access_token"], (apps.web, apps.web_secret))["active"] is True


@pytest.mark.parametrize("names_itself", [True, False])
def test_client_credentials_without_the_secret_is_invalid_client(cloud: localcloud.LocalCloud, apps: Apps,
                                                                 names_itself: bool) -> None:
    data = {"grant_type": "client_credentials", **({"client_id": apps.web} if names_itself else {})}

    response = post_form(cloud, "aliyun", "token", data)

    assert response.status_code == 401 and response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")


def test_client_credentials_is_not_for_public_clients(cloud: localcloud.LocalCloud, apps: Apps) -> None:
    response = post_form(cloud, "aliyun", "token", {"grant_type": "client_credentials", "client_id": apps.native})

    assert response.status_code == 400 and response.json()["error"] == "unauthorized_client"


def test_client_credentials_cannot_ask_for_openid_or_foreign_scopes(cloud: localcloud.LocalCloud,
                                                                    apps: Apps) -> None:
    for scope in ("openid", "/acs/ecs"):
        response = post_form(cloud, "aliyun", "token", {"grant_type": "client_credentials", "scope": scope},
                             auth=(apps.web, apps.web_secret))
        assert response.status_code == 400 and response.json()["error"] == "invalid_scope"


def test_access_tokens_are_rs256_jwts_with_the_documented_claims(cloud: localcloud.LocalCloud, apps: Apps,
                                                                 browser: Browser) -> None:
    tokens = exchange(cloud, browser.sign_in(apps.native, MCP_REDIRECT)).json()
    store = open_store(cloud.data_dir, time.time)
    try:
        header = jwt.get_unverified_header(tokens["access_token"])
        claims = verify_access_token(store, cloud.urls, "aliyun", tokens["access_token"], time.time())
    finally:
        store.close()

    assert header["alg"] == "RS256" and header["typ"] == "at+jwt" and header["kid"]
    assert {"iss", "sub", "aud", "client_id", "scope", "exp", "iat", "jti"} <= set(claims)
    assert claims["aud"] == claims["client_id"] == apps.native and claims["exp"] - claims["iat"] == 3600

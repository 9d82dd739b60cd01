"""The DingTalk stand-in: its seeded demo app, redirects under the data plane's callback, and its scopes."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

import localcloud
from localcloud.oidc import dingtalk_demo_app
from localcloud.store import open_store
from tests.localcloud.oidc.oidc_client import Browser, exchange, post_form, userinfo, verify_id_token


@pytest.fixture(scope="module")
def demo_app(cloud: localcloud.LocalCloud) -> Iterator[tuple[str, str]]:
    store = open_store(cloud.data_dir, time.time)
    yield dingtalk_demo_app(store)
    store.close()


@pytest.fixture
def ding(browser: Browser) -> Browser:
    browser.realm = "dingtalk"
    return browser


def callback(cloud: localcloud.LocalCloud, suffix: str = "6f1c0a2e-provider") -> str:
    return cloud.urls.data_plane_callback_prefix() + suffix


def test_the_demo_app_is_stable_and_has_a_dingtalk_shaped_id(cloud: localcloud.LocalCloud,
                                                             demo_app: tuple[str, str]) -> None:
    store = open_store(cloud.data_dir, time.time)
    try:
        assert dingtalk_demo_app(store) == demo_app
    finally:
        store.close()
    assert demo_app[0].startswith("ding") and len(demo_app[1]) >= 32


def test_a_user_signs_in_at_dingtalk_for_a_data_plane_callback(cloud: localcloud.LocalCloud, ding: Browser,
                                                               demo_app: tuple[str, str]) -> None:
    page = ding.authorize(demo_app[0], callback(cloud))
    assert "DingTalk" in page.text and "Alibaba Cloud" not in page.text

    sign_in = ding.sign_in(demo_app[0], callback(cloud), scope="openid corpid Document.Document.Write")
    response = exchange(cloud, sign_in, realm="dingtalk", auth=demo_app, client_id=None)

    body = response.json()
    assert response.status_code == 200 and body["expires_in"] == 7200
    claims = verify_id_token(cloud, body["id_token"], demo_app[0], sign_in.nonce, realm="dingtalk")
    assert claims["iss"] == cloud.urls.issuer("dingtalk") and claims["nick"] == "Alice Chen" and claims["corpid"]
    assert userinfo(cloud, body["access_token"], realm="dingtalk").json()["sub"] == claims["sub"]


def test_without_a_scope_dingtalk_grants_openid(cloud: localcloud.LocalCloud, ding: Browser,
                                                demo_app: tuple[str, str]) -> None:
    body = exchange(cloud, ding.sign_in(demo_app[0], callback(cloud)), realm="dingtalk").json()

    assert body["scope"] == "openid"


@pytest.mark.parametrize("redirect", ["https://evil.example/oauth2/callback/x", "{prefix}", "{prefix}../../evil",
                                      "{prefix}x#frag"])
def test_dingtalk_refuses_redirects_outside_the_data_plane_callback(cloud: localcloud.LocalCloud, ding: Browser,
                                                                    demo_app: tuple[str, str], redirect: str) -> None:
    response = ding.authorize(demo_app[0], redirect.format(prefix=cloud.urls.data_plane_callback_prefix()))

    assert response.status_code == 400 and "location" not in response.headers


def test_dingtalk_refuses_scopes_it_does_not_know(cloud: localcloud.LocalCloud, ding: Browser,
                                                  demo_app: tuple[str, str]) -> None:
    response = ding.authorize(demo_app[0], callback(cloud), scope="openid aliuid", state="st")

    assert response.status_code == 302 and "error=invalid_scope" in response.headers["location"]


def test_the_demo_app_gets_machine_tokens_with_its_secret_only(cloud: localcloud.LocalCloud,
                                                               demo_app: tuple[str, str]) -> None:
    form = {"grant_type": "client_credentials", "scope": "Document.Document.Read"}

    with_secret = post_form(cloud, "dingtalk", "token", form, auth=demo_app)
    without = post_form(cloud, "dingtalk", "token", {**form, "client_id": demo_app[0]})

    assert with_secret.status_code == 200 and with_secret.json()["scope"] == "Document.Document.Read"
    assert "refresh_token" not in with_secret.json() and "id_token" not in with_secret.json()
    assert without.status_code == 401 and without.json()["error"] == "invalid_client"


def test_aliyun_clients_are_unknown_at_dingtalk(cloud: localcloud.LocalCloud, ding: Browser) -> None:
    response = post_form(cloud, "dingtalk", "token", {"grant_type": "client_credentials", "client_id": "1" * 19})

    assert response.status_code == 401 and response.json()["error"] == "invalid_client"

"""Discovery documents and JWKS of both realms, and URLs built from the public base."""

from __future__ import annotations

import time

import httpx
import pytest

import localcloud
from localcloud.oidc.handlers.discovery import discovery_document
from localcloud.oidc.realm import Realm
from localcloud.store import open_store
from localcloud.urls import LocalUrls
from tests.localcloud.oidc.oidc_client import discovery


@pytest.mark.parametrize("realm", ["aliyun", "dingtalk"])
def test_discovery_advertises_the_code_flow_with_s256_and_internal_back_channel(cloud: localcloud.LocalCloud,
                                                                               realm: str) -> None:
    meta = discovery(cloud, realm)

    issuer = cloud.urls.issuer(realm)
    assert meta["issuer"] == issuer and meta["authorization_endpoint"] == f"{issuer}/authorize"
    for field, name in [("token_endpoint", "token"), ("jwks_uri", "jwks"), ("userinfo_endpoint", "userinfo"),
                        ("revocation_endpoint", "revoke"), ("introspection_endpoint", "introspect")]:
        assert meta[field] == cloud.urls.oauth_endpoint(realm, name)
    assert meta["code_challenge_methods_supported"] == ["S256"] and meta["response_types_supported"] == ["code"]
    assert set(meta["grant_types_supported"]) == {"authorization_code", "refresh_token", "client_credentials"}
    assert meta["id_token_signing_alg_values_supported"] == ["RS256"] and "openid" in meta["scopes_supported"]
    assert set(meta["token_endpoint_auth_methods_supported"]) == {"none", "client_secret_basic",
                                                                  "client_secret_post"}
    assert meta["subject_types_supported"] == ["public"]


def test_each_realm_publishes_its_own_signing_key(cloud: localcloud.LocalCloud) -> None:
    keys = {realm: httpx.get(discovery(cloud, realm)["jwks_uri"], trust_env=False).json()["keys"]
            for realm in ("aliyun", "dingtalk")}

    for realm_keys in keys.values():
        assert len(realm_keys) == 1 and realm_keys[0]["kty"] == "RSA" and realm_keys[0]["alg"] == "RS256"
        assert "d" not in realm_keys[0]  # the public half only
    assert keys["aliyun"][0]["kid"] != keys["dingtalk"][0]["kid"]


def test_a_public_base_moves_the_issuer_pages_and_cookies_but_not_the_back_channel(
        cloud: localcloud.LocalCloud) -> None:
    urls = LocalUrls(internal="http://127.0.0.1:9", public="https://demo.example.com/lc")
    store = open_store(cloud.data_dir, time.time)
    try:
        realm = Realm("aliyun", store, urls, time.time())
        meta = discovery_document(realm)
    finally:
        store.close()

    assert meta["issuer"] == "https://demo.example.com/lc/oauth/aliyun"
    assert meta["authorization_endpoint"] == "https://demo.example.com/lc/oauth/aliyun/authorize"
    assert meta["token_endpoint"] == "http://127.0.0.1:9/oauth/aliyun/token"
    assert realm.cookie_path == "/lc/oauth/aliyun" and realm.secure_cookies

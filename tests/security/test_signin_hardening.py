"""Case 2, sign-in hardening, with real tokens: each attack starts from what localcloud's sign-in server really
issued (or refused) and goes through the app's own verification (`OidcProvider.verify`, which fetches the live
discovery document and JWKS over HTTP), the app's own OAuth client, or the Login page under AppTest.

The pure checks of `verify_id_token` on tokens minted in-process are in tests/identity/signin/test_id_token.py; the
sign-in server's refusals (PKCE, codes, redirect URIs) in tests/localcloud/oidc/. This module adds what those cannot
show: that a token the real provider issued, altered one way, is refused with a message saying why.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import pytest
import streamlit_oauth
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from httpx_oauth.oauth2 import GetAccessTokenError

import localcloud
from identity import provision
from identity.clients import Clients
from identity.cloud import connect
from identity.settings import Settings
from identity.signin import OidcProvider, PublicOAuth2Client, SignInError, token_error_message
from lab.browser import Browser, pkce_pair, query_of
from tests.app import test_login_page as login_tests
from tests.identity.conftest import local_settings
from tests.localcloud.oidc.oidc_client import create_app
from tests.support import scripted_id_token

# The Login page tests' fixtures, by reference: local-mode settings on the session's localcloud, provisioned.
app_env, provisioned_client_id = login_tests.app_env, login_tests.provisioned_client_id
NONCE = "n-hardening"
SCOPE = "openid profile aliuid"


@dataclass(frozen=True)
class Issued:
    """A provisioned localcloud, the app's inbound client id, and a genuine ID token it issued to alice."""

    cloud: localcloud.LocalCloud
    settings: Settings
    client_id: str
    id_token: str
    provider: OidcProvider

    def verify(self, token: str, *, client_id: str | None = None, nonce: str = NONCE,
               now: float | None = None) -> Any:
        return self.provider.verify(token, client_id=client_id or self.client_id, nonce=nonce,
                                    now=time.time() if now is None else now)

    def refusal(self, token: str, **overrides: Any) -> str:
        """Why the app refuses `token`; the message never repeats the token or one of its parts."""
        with pytest.raises(SignInError) as refused:
            self.verify(token, **overrides)
        message = str(refused.value)
        assert token not in message and all(part not in message for part in token.split(".") if len(part) > 8)
        return message


@pytest.fixture
def issued(fresh_cloud: localcloud.LocalCloud, tmp_path: Path) -> Issued:
    settings = local_settings(fresh_cloud, tmp_path)
    provision.apply(Clients(connect(settings)), settings)
    client_id = provision.read_config(settings.config_json)["inbound_app_id"]
    token = scripted_id_token(fresh_cloud, settings, "alice", NONCE)
    return Issued(fresh_cloud, settings, client_id, token, OidcProvider(fresh_cloud.urls.discovery("aliyun")))


# -- building altered tokens from a genuine one ---------------------------------------------------------------------
def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode())


def _parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})


def _hmac_signed(token: str, alg: str, secret: bytes) -> str:
    """The genuine claims, "signed" with HMAC under `secret`: the classic algorithm-confusion forgery."""
    header, claims = _parts(token)
    signing_input = f"{_segment({**header, 'alg': alg})}.{_segment(claims)}"
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}[alg]
    return f"{signing_input}.{_b64(hmac.new(secret, signing_input.encode(), digest).digest())}"


def _live_public_key_forms(issued: Issued) -> dict[str, bytes]:
    """Every form in which an attacker holds the provider's public key: the JWKS as served, and its key as PEM,
    PKCS#1, DER, and the bare modulus."""
    jwks = httpx.get(issued.provider.metadata().jwks_uri, trust_env=False, timeout=10)
    kid = jwt.get_unverified_header(issued.id_token)["kid"]
    [entry] = [key for key in jwks.json()["keys"] if key["kid"] == kid]
    public = jwt.PyJWK(entry).key
    return {
        "jwks": jwks.content, "jwk": json.dumps(entry).encode(),
        "pem": public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
        "pkcs1": public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1),
        "der": public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
        "modulus": base64.urlsafe_b64decode(entry["n"] + "=="),
    }


def _attacker_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _resigned(token: str, key: rsa.RSAPrivateKey, **header: Any) -> str:
    """The genuine claims and kid, RS256-signed with the attacker's own key and extra header fields."""
    original, claims = _parts(token)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": original["kid"], **header})


# -- the ID token -----------------------------------------------------------------------------------------------------
def test_the_genuine_token_is_accepted(issued):
    user = issued.verify(issued.id_token)

    assert user.name == "Alice Chen" and user.id_token == issued.id_token


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "nOnE"])
def test_an_unsigned_copy_of_a_genuine_token_is_refused(issued, alg):
    header, claims = _parts(issued.id_token)
    unsigned = f"{_segment({**header, 'alg': alg})}.{_segment(claims)}."

    assert f"algorithm {alg!r} is refused" in issued.refusal(unsigned)


@pytest.mark.parametrize("form", ["jwks", "jwk", "pem", "pkcs1", "der", "modulus"])
@pytest.mark.parametrize("alg", ["HS256", "HS512"])
def test_hmac_signed_with_the_providers_public_key_is_refused(issued, form, alg):
    forged = _hmac_signed(issued.id_token, alg, _live_public_key_forms(issued)[form])

    assert f"algorithm {alg!r} is refused" in issued.refusal(forged)


@pytest.mark.parametrize("header", ["jwk", "jku", "x5u", "x5c"])
def test_a_key_named_in_the_tokens_own_header_is_never_trusted(issued, header):
    attacker = _attacker_key()
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(attacker.public_key()))
    der = attacker.public_key().public_bytes(serialization.Encoding.DER,
                                             serialization.PublicFormat.SubjectPublicKeyInfo)
    offered = {"jwk": public, "jku": "https://evil.example/jwks.json", "x5u": "https://evil.example/key.pem",
               "x5c": [base64.b64encode(der).decode()]}[header]

    forged = _resigned(issued.id_token, attacker, **{header: offered})

    assert "signature does not verify" in issued.refusal(forged)


def test_a_kid_naming_no_key_of_the_provider_is_refused_after_one_refetch(issued):
    forged = _resigned(issued.id_token, _attacker_key())
    header, claims = _parts(forged)
    renamed = jwt.encode(claims, _attacker_key(), algorithm="RS256", headers={**header, "kid": "attacker-key"})

    assert "is not among the sign-in server's keys" in issued.refusal(renamed)


def test_one_changed_signature_character_is_refused(issued):
    head, payload, signature = issued.id_token.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]

    assert "signature does not verify" in issued.refusal(f"{head}.{payload}.{flipped}")


def test_bobs_claims_under_alices_signature_are_refused(issued):
    head, _, signature = issued.id_token.split(".")
    bob = scripted_id_token(issued.cloud, issued.settings, "bob", NONCE)

    assert "signature does not verify" in issued.refusal(f"{head}.{bob.split('.')[1]}.{signature}")


def test_a_genuine_token_past_its_expiry_is_refused(issued):
    expiry = _parts(issued.id_token)[1]["exp"]

    assert issued.refusal(issued.id_token, now=expiry + 31) == "The ID token has expired."


def test_a_genuine_token_for_another_sign_in_is_refused_by_its_nonce(issued):
    message = issued.refusal(issued.id_token, nonce=secrets.token_urlsafe(16))

    assert "nonce does not match this sign-in" in message


def test_a_genuine_token_without_a_nonce_is_refused(issued):
    without = scripted_id_token(issued.cloud, issued.settings, "alice")

    assert "carries no nonce" in issued.refusal(without)


def _id_token_of_another_app(cloud: localcloud.LocalCloud, nonce: str) -> str:
    """A genuine ID token alice got from the same sign-in server, with `nonce`, for another application."""
    redirect = "http://127.0.0.1:9/other-app"
    other = create_app(cloud, "NativeApp", "openid;profile;aliuid", redirect)
    verifier, challenge = pkce_pair()
    query = {"client_id": other, "redirect_uri": redirect, "response_type": "code", "scope": SCOPE, "state": "s",
             "nonce": nonce, "code_challenge": challenge, "code_challenge_method": "S256"}
    browser = Browser()
    try:
        start = browser.get(f"{cloud.urls.issuer('aliyun')}/authorize?{urlencode(query)}")
        code = query_of(browser.sign_in_and_decide(start, "alice", "demo", "approve", redirect))["code"]
        return browser.http.post(cloud.urls.oauth_endpoint("aliyun", "token"), data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect, "client_id": other,
            "code_verifier": verifier}).json()["id_token"]
    finally:
        browser.close()


def test_a_genuine_token_issued_to_another_app_is_refused(issued):
    message = issued.refusal(_id_token_of_another_app(issued.cloud, NONCE))

    assert f"not meant for this app: its audience does not include {issued.client_id!r}" in message


def _dingtalk_id_token(cloud: localcloud.LocalCloud) -> str:
    """A genuine ID token of the other realm (the DingTalk stand-in), for its demo app."""
    redirect = f"{cloud.urls.data_plane_callback_prefix()}hardening"
    verifier, challenge = pkce_pair()
    query = {"client_id": cloud.dingtalk_client_id, "redirect_uri": redirect, "response_type": "code",
             "scope": "openid", "state": "s", "nonce": NONCE, "code_challenge": challenge,
             "code_challenge_method": "S256"}
    browser = Browser()
    try:
        start = browser.get(f"{cloud.urls.issuer('dingtalk')}/authorize?{urlencode(query)}")
        code = query_of(browser.sign_in_and_decide(start, "alice", "demo", "approve", redirect))["code"]
        return browser.http.post(cloud.urls.oauth_endpoint("dingtalk", "token"), data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect, "code_verifier": verifier},
            auth=(cloud.dingtalk_client_id, cloud.dingtalk_client_secret)).json()["id_token"]
    finally:
        browser.close()


def test_a_genuine_token_of_another_sign_in_server_is_refused(issued):
    foreign = _dingtalk_id_token(issued.cloud)
    audience = _parts(foreign)[1]["aud"]

    message = issued.refusal(foreign, client_id=audience)  # even were the app's client id the same as DingTalk's

    assert "is not among the sign-in server's keys" in message


def test_an_access_token_cannot_pass_as_an_id_token(issued):
    verifier, challenge = pkce_pair()
    redirect = issued.settings.inbound_redirect_uri
    query = {"client_id": issued.client_id, "redirect_uri": redirect, "response_type": "code", "scope": SCOPE,
             "state": "s", "nonce": NONCE, "code_challenge": challenge, "code_challenge_method": "S256"}
    browser = Browser()
    try:
        start = browser.get(f"{issued.cloud.urls.issuer('aliyun')}/authorize?{urlencode(query)}")
        code = query_of(browser.sign_in_and_decide(start, "alice", "demo", "approve", redirect))["code"]
        access = browser.http.post(issued.cloud.urls.oauth_endpoint("aliyun", "token"), data={
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect, "client_id": issued.client_id,
            "code_verifier": verifier}).json()["access_token"]
    finally:
        browser.close()

    assert "access token, not an ID token" in issued.refusal(access)


# -- the authorization request and the code exchange, as the app's own client makes them ------------------------------
@pytest.fixture
def alice_browser() -> Iterator[Browser]:
    browser = Browser()
    yield browser
    browser.close()


def _authorize(issued: Issued, browser: Browser, **pkce: str) -> dict[str, str]:
    """The inbound app's authorization request with `pkce` parameters; the redirect's query (code or error)."""
    redirect = issued.settings.inbound_redirect_uri
    query = {"client_id": issued.client_id, "redirect_uri": redirect, "response_type": "code", "scope": SCOPE,
             "state": "st", "nonce": NONCE, **pkce}
    start = browser.get(f"{issued.cloud.urls.issuer('aliyun')}/authorize?{urlencode(query)}")
    return query_of(browser.sign_in_and_decide(start, "alice", "demo", "approve", redirect)
                    if start.status_code == 200 else start.headers["location"])


@pytest.mark.parametrize("pkce", [{}, {"code_challenge": "x" * 43}, {"code_challenge": "x" * 43,
                                                                      "code_challenge_method": "plain"},
                                  {"code_challenge_method": "S256"}])
def test_the_inbound_app_gets_no_code_without_s256_pkce(issued, alice_browser, pkce):
    answer = _authorize(issued, alice_browser, **pkce)

    assert answer["error"] == "invalid_request" and answer["state"] == "st" and "code" not in answer


def _exchange(issued: Issued, code: str, verifier: str | None, redirect_uri: str | None = None) -> dict[str, Any]:
    """The code exchange streamlit-oauth makes through the app's `PublicOAuth2Client`."""
    metadata = issued.provider.metadata()
    client = PublicOAuth2Client(issued.client_id, metadata.authorization_endpoint, metadata.token_endpoint)
    return asyncio.run(client.get_access_token(code, redirect_uri or issued.settings.inbound_redirect_uri, verifier))


def _exchange_refusal(call: Callable[[], Any]) -> str:
    with pytest.raises(GetAccessTokenError) as refused:
        call()
    return token_error_message(refused.value)


def _code(issued: Issued, browser: Browser) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    return _authorize(issued, browser, code_challenge=challenge, code_challenge_method="S256")["code"], verifier


def test_a_reused_code_is_refused_with_a_clear_message(issued, alice_browser):
    code, verifier = _code(issued, alice_browser)
    assert _exchange(issued, code, verifier)["id_token"]

    message = _exchange_refusal(lambda: _exchange(issued, code, verifier))

    assert message.startswith("The sign-in server refused to issue tokens: invalid_grant") and code not in message


@pytest.mark.parametrize("verifier", [None, "wrong-verifier-" + "x" * 40])
def test_a_code_without_its_pkce_verifier_is_refused(issued, alice_browser, verifier):
    code, _ = _code(issued, alice_browser)

    message = _exchange_refusal(lambda: _exchange(issued, code, verifier))

    assert message.startswith("The sign-in server refused to issue tokens: invalid_")


def test_a_code_sent_with_another_redirect_uri_is_refused(issued, alice_browser):
    code, verifier = _code(issued, alice_browser)

    message = _exchange_refusal(lambda: _exchange(issued, code, verifier, "http://127.0.0.1:9/elsewhere"))

    assert message.startswith("The sign-in server refused to issue tokens: invalid_grant")


# -- the Login page: a forged token is an error message, and nobody is signed in --------------------------------------
def _alg_none(cloud: localcloud.LocalCloud, client_id: str, nonce: str) -> str:
    now = int(time.time())
    claims = {"iss": cloud.urls.issuer("aliyun"), "sub": "1234567890123456", "aud": client_id, "iat": now,
              "exp": now + 600, "nonce": nonce, "name": "Mallory"}
    return f"{_segment({'alg': 'none', 'typ': 'JWT'})}.{_segment(claims)}."


def _for_another_app(cloud: localcloud.LocalCloud, client_id: str, nonce: str) -> str:
    """A genuine token with the nonce this page sent, but issued to another application than `client_id`."""
    return _id_token_of_another_app(cloud, nonce)


@pytest.mark.parametrize(("forge", "message"), [
    (_alg_none, "Sign-in failed: The ID token's algorithm 'none' is refused: only RS256 is accepted."),
    (_for_another_app, "Sign-in failed: The ID token is not meant for this app: its audience does not include "),
], ids=["alg-none", "another-apps-token"])
def test_the_login_page_refuses_a_forged_id_token_with_a_clear_message(provisioned_client_id, fresh_cloud, monkeypatch,
                                                                       forge, message):
    at = login_tests._open()
    forged = forge(fresh_cloud, provisioned_client_id, at.session_state["auth"].nonce)
    monkeypatch.setattr(streamlit_oauth.OAuth2Component, "authorize_button",
                        login_tests._answer_once({"token": {"id_token": forged}}))

    login_tests._run(at)

    assert login_tests._refused(at).startswith(message) and forged not in login_tests._texts(at)

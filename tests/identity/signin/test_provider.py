"""The provider's discovery and JWKS over (mocked) HTTP, and the public OAuth client's token request."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from httpx_oauth.oauth2 import GetAccessTokenError

from identity.signin import OidcProvider, PublicOAuth2Client, SignInError, token_error_message
from tests.identity.signin.test_id_token import (
    CLIENT_ID,
    DISCOVERY,
    FOREIGN_KEY,
    ISSUER,
    JWKS,
    NONCE,
    NOW,
    mint,
    public_jwk,
)

DISCOVERY_URL = f"{ISSUER}/.well-known/openid-configuration"
REDIRECT = "http://localhost:8501/oauth2callback"


class FakeProvider:
    """Serves discovery and a JWKS that the test can rotate; counts what was fetched."""

    def __init__(self, jwks: dict[str, Any] = JWKS, discovery: Any = DISCOVERY) -> None:
        self.jwks, self.discovery = jwks, discovery
        self.fetches: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.fetches.append(request.url.path.rsplit("/", 1)[-1])
        if str(request.url) == DISCOVERY_URL:
            return httpx.Response(200, json=self.discovery)
        if str(request.url) == DISCOVERY["jwks_uri"]:
            return httpx.Response(200, json=self.jwks)
        return httpx.Response(404)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def provider(fake: Any, clock: Clock | None = None) -> OidcProvider:
    return OidcProvider(DISCOVERY_URL, transport=httpx.MockTransport(fake), clock=clock or Clock())


def test_discovery_and_jwks_are_fetched_once_then_cached_until_they_age():
    fake, clock = FakeProvider(), Clock()
    oidc = provider(fake, clock)

    for _ in range(3):
        assert oidc.verify(mint(), client_id=CLIENT_ID, nonce=NONCE, now=NOW).name == "Alice Chen"
    assert fake.fetches == ["openid-configuration", "jwks"]
    assert oidc.metadata().authorization_endpoint == f"{ISSUER}/authorize"

    clock.now += 301
    oidc.verify(mint(), client_id=CLIENT_ID, nonce=NONCE, now=NOW)
    assert fake.fetches == ["openid-configuration", "jwks"] * 2


def test_a_rotated_key_is_found_by_one_jwks_refetch():
    fake = FakeProvider()
    oidc = provider(fake)
    oidc.jwks()
    fake.jwks = {"keys": [public_jwk(FOREIGN_KEY, "rotated")]}

    user = oidc.verify(mint(key=FOREIGN_KEY, kid="rotated"), client_id=CLIENT_ID, nonce=NONCE, now=NOW)

    assert user.subject == "1234567890123456"
    assert fake.fetches == ["openid-configuration", "jwks", "jwks"]


def test_a_kid_unknown_even_after_the_refetch_is_refused_after_one_refetch_only():
    fake = FakeProvider()
    oidc = provider(fake)

    with pytest.raises(SignInError, match="is not among the sign-in server's keys"):
        oidc.verify(mint(kid="nobody"), client_id=CLIENT_ID, nonce=NONCE, now=NOW)
    assert fake.fetches.count("jwks") == 2


def _failing(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


@pytest.mark.parametrize(("fake", "message"), [
    (_failing, "could not be fetched (ConnectError)"),
    (lambda request: httpx.Response(500), "answered HTTP 500"),
    (lambda request: httpx.Response(200, text="<html>"), "is not JSON"),
    (FakeProvider(discovery=["not", "an", "object"]), "is not a JSON object"),
    (FakeProvider(discovery={**DISCOVERY, "token_endpoint": None}), "has no token_endpoint"),
    (FakeProvider(jwks={"keys": "none"}), "has no list of keys"),
])
def test_an_unreachable_or_broken_provider_is_a_sign_in_error(fake, message):
    with pytest.raises(SignInError, match=message.replace("(", r"\(").replace(")", r"\)")):
        provider(fake).verify(mint(), client_id=CLIENT_ID, nonce=NONCE, now=NOW)


def _token_request(answer: httpx.Response) -> tuple[httpx.Request, Any]:
    """Exchange a code with PublicOAuth2Client against a mock token endpoint; the request it sent, and the outcome."""
    sent: list[httpx.Request] = []

    def endpoint(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return answer

    client = PublicOAuth2Client(CLIENT_ID, f"{ISSUER}/authorize", f"{ISSUER}/token")
    client.get_httpx_client = lambda: httpx.AsyncClient(transport=httpx.MockTransport(endpoint))  # type: ignore[method-assign]
    try:
        outcome: Any = asyncio.run(client.get_access_token("the-code", REDIRECT, "v" * 43))
    except GetAccessTokenError as error:
        outcome = error
    return sent[0], outcome


def test_the_public_client_names_itself_in_the_form_and_sends_no_secret():
    request, token = _token_request(httpx.Response(200, json={"access_token": "a", "id_token": "i", "expires_in": 60}))

    form = {k: v[0] for k, v in parse_qs(request.content.decode(), keep_blank_values=True).items()}
    assert form == {"grant_type": "authorization_code", "code": "the-code",
                    "redirect_uri": REDIRECT, "code_verifier": "v" * 43,
                    "client_id": CLIENT_ID}
    assert "authorization" not in request.headers
    assert token["id_token"] == "i"


def test_a_token_endpoint_refusal_is_explained_by_its_oauth_error():
    _, error = _token_request(httpx.Response(400, json={"error": "invalid_grant",
                                                        "error_description": "the code was already used"}))

    assert token_error_message(error) == ("The sign-in server refused to issue tokens: invalid_grant (the code was "
                                          "already used).")
    assert "the-code" not in token_error_message(error)

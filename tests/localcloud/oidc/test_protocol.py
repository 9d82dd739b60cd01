"""The pure request parsers and checks, without a socket."""

from __future__ import annotations

import base64

import pytest

from localcloud.oidc.authorization import parse_authorization_request, s256, verifier_matches
from localcloud.oidc.clients import OAuthClient
from localcloud.oidc.errors import AuthorizeRedirect, BrowserError, InvalidClient, InvalidRequest, InvalidScope
from localcloud.oidc.forms import basic_credentials, bearer_token, parse_form, parse_scope

CALLBACK = "https://app.example/cb"
CLIENT = OAuthClient(client_id="c1", display_name="App", app_type="WebApp", confidential=True,
                     redirect_uris=(CALLBACK,), redirect_prefix=None, scopes={"openid": "", "profile": "", "x": ""},
                     required_scopes=("openid",), default_scopes=("openid",), access_token_seconds=3600,
                     refresh_token_seconds=7200)
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def request(**overrides: str | None) -> list[tuple[str, str]]:
    params = {"response_type": "code", "client_id": "c1", "redirect_uri": CALLBACK, "state": "st",
              "code_challenge": CHALLENGE, "code_challenge_method": "S256", **overrides}
    return [(k, v) for k, v in params.items() if v is not None]


def find(client_id: str) -> OAuthClient | None:
    return CLIENT if client_id == "c1" else None


def test_s256_matches_the_rfc_7636_example() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

    assert s256(verifier) == CHALLENGE
    assert verifier_matches(verifier, CHALLENGE)
    assert not verifier_matches(verifier[:-1] + "l", CHALLENGE)
    assert not verifier_matches("short", s256("short")) and not verifier_matches("é" * 43, CHALLENGE)


def test_a_valid_request_grants_requested_plus_required_scopes() -> None:
    parsed = parse_authorization_request(request(scope="profile", nonce="n", prompt="login bogus"), find)

    assert parsed.scopes == ("profile", "openid") and parsed.nonce == "n" and parsed.state == "st"
    assert parsed.prompt == frozenset({"login"}) and parsed.client is CLIENT


def test_no_scope_means_the_default_scopes() -> None:
    assert parse_authorization_request(request(), find).scopes == ("openid",)


@pytest.mark.parametrize("overrides", [{"client_id": "nope"}, {"client_id": None}, {"redirect_uri": None},
                                       {"redirect_uri": CALLBACK + "/x"}])
def test_untrusted_client_or_redirect_is_a_page(overrides: dict[str, str | None]) -> None:
    with pytest.raises(BrowserError):
        parse_authorization_request(request(**overrides), find)


def test_a_repeated_redirect_uri_is_a_page_even_if_both_are_registered() -> None:
    with pytest.raises(BrowserError):
        parse_authorization_request([*request(), ("redirect_uri", CALLBACK)], find)


@pytest.mark.parametrize("overrides, error", [
    ({"response_type": "token"}, "unsupported_response_type"),
    ({"code_challenge": None}, "invalid_request"),
    ({"code_challenge_method": "plain"}, "invalid_request"),
    ({"code_challenge_method": None}, "invalid_request"),
    ({"code_challenge": "short"}, "invalid_request"),
    ({"scope": "openid admin"}, "invalid_scope"),
    ({"scope": 'openid "quoted"'}, "invalid_scope"),
    ({"prompt": "none login"}, "invalid_request"),
    ({"response_mode": "fragment"}, "invalid_request"),
    ({"state": "s" * 5000}, "invalid_request"),
])
def test_other_errors_go_back_to_the_redirect_uri_with_the_state(overrides: dict[str, str | None],
                                                                 error: str) -> None:
    with pytest.raises(AuthorizeRedirect) as caught:
        parse_authorization_request(request(**overrides), find)

    assert caught.value.oauth_error.error == error
    location = caught.value.location()
    assert location.startswith(CALLBACK + "?error=" + error)
    assert ("state=st" in location) is (error != "invalid_request" or "state" not in overrides)


def test_scopes_are_space_separated_without_repeats() -> None:
    assert parse_scope(None) is None and parse_scope("  ") is None
    assert parse_scope("openid  profile openid") == ("openid", "profile")
    with pytest.raises(InvalidScope):
        parse_scope("a\\b")


def test_forms_must_be_urlencoded_single_valued_utf8() -> None:
    assert parse_form(b"a=1&b=%C3%A9&c=", "application/x-www-form-urlencoded; charset=UTF-8") == \
        {"a": "1", "b": "é", "c": ""}
    for body, content_type in [(b"a=1&a=2", "application/x-www-form-urlencoded"), (b"a=1", "text/plain"),
                               (b"a=%FF", "application/x-www-form-urlencoded"), (b"a=1", None)]:
        with pytest.raises(InvalidRequest):
            parse_form(body, content_type)


def test_basic_credentials_are_form_decoded() -> None:
    header = "Basic " + base64.b64encode(b"my%20app:s%3Acret").decode()

    assert basic_credentials(header) == ("my app", "s:cret")
    assert basic_credentials(None) is None and basic_credentials("Bearer x") is None
    with pytest.raises(InvalidClient):
        basic_credentials("Basic " + base64.b64encode(b":secret").decode())


def test_bearer_tokens_are_read_case_insensitively() -> None:
    assert bearer_token("bearer abc") == "abc" and bearer_token("Bearer ") is None and bearer_token(None) is None


def test_a_redirect_prefix_allows_paths_below_it_only() -> None:
    ding = OAuthClient(**{**CLIENT.__dict__, "redirect_uris": (), "redirect_prefix": "http://h/oauth2/callback/"})

    assert ding.allows_redirect("http://h/oauth2/callback/abc")
    for uri in ("http://h/oauth2/callback/", "http://h/oauth2/callback/../x", "http://h/oauth2/other",
                "http://h/oauth2/callback/a#b", "http://evil/oauth2/callback/abc"):
        assert not ding.allows_redirect(uri), uri

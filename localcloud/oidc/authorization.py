"""The authorization request (RFC 6749 §4.1.1, RFC 7636, OIDC Core §3.1.2.1), parsed and checked purely.

Order matters: until the client and its redirect URI are trusted, errors are pages (a redirect could hand
the answer to an attacker); after that, they go back to the redirect URI with the client's state.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from localcloud.oidc.clients import OAuthClient
from localcloud.oidc.errors import (
    AuthorizeRedirect,
    BrowserError,
    InvalidRequest,
    OAuthError,
    UnsupportedResponseType,
)
from localcloud.oidc.forms import parse_scope

__all__ = ["AuthorizationRequest", "parse_authorization_request", "s256", "verifier_matches"]

# RFC 7636 §4.2 / §4.1: 43-128 characters of the unreserved set.
_PKCE_VALUE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_PROMPTS = {"none", "login", "consent", "select_account"}
_MAX_STATE = 2048
_MAX_NONCE = 512


@dataclass(frozen=True)
class AuthorizationRequest:
    client: OAuthClient
    redirect_uri: str
    scopes: tuple[str, ...]  # as granted: requested (checked) plus the client's required scopes
    state: str | None
    nonce: str | None
    code_challenge: str
    prompt: frozenset[str]

    @property
    def client_id(self) -> str:
        return self.client.client_id


def s256(verifier: str) -> str:
    """The S256 code challenge of a verifier: unpadded base64url of its SHA-256."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def verifier_matches(verifier: str, challenge: str) -> bool:
    """RFC 7636 §4.6 with S256, in constant time; a malformed verifier never matches."""
    return bool(_PKCE_VALUE.fullmatch(verifier)) and hmac.compare_digest(s256(verifier), challenge)


def _trusted_target(params: dict[str, str], find_client: Callable[[str], OAuthClient | None]) -> OAuthClient:
    client = find_client(params.get("client_id", ""))
    if client is None:
        raise BrowserError("Unknown application", "The application that sent you here is not registered with this "
                           "sign-in service (unknown client_id). Nothing was shared; contact the app's owner.")
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_uri or not client.allows_redirect(redirect_uri):
        raise BrowserError("Redirect address not allowed", f"The application '{client.display_name}' asked to send "
                           "your sign-in to an address it has not registered (redirect_uri). Nothing was shared.")
    return client


def _checked(params: dict[str, str], client: OAuthClient) -> AuthorizationRequest:
    if params.get("response_type") != "code":
        raise UnsupportedResponseType("only response_type=code (authorization code flow) is supported")
    if params.get("response_mode", "query") != "query":
        raise InvalidRequest("only response_mode=query is supported")
    challenge, method = params.get("code_challenge"), params.get("code_challenge_method")
    if not challenge:
        raise InvalidRequest("PKCE is required: send code_challenge with code_challenge_method=S256")
    if method != "S256":
        raise InvalidRequest("code_challenge_method must be S256 (plain is not accepted)")
    if not _PKCE_VALUE.fullmatch(challenge):
        raise InvalidRequest("code_challenge is not 43-128 characters of [A-Za-z0-9-._~]")
    state, nonce = params.get("state"), params.get("nonce")
    if (state and len(state) > _MAX_STATE) or (nonce and len(nonce) > _MAX_NONCE):
        raise InvalidRequest("state or nonce is too long")
    return AuthorizationRequest(client, params["redirect_uri"],
                                client.grant_scopes(parse_scope(params.get("scope"))), state, nonce, challenge,
                                _prompt(params.get("prompt")))


def _prompt(raw: str | None) -> frozenset[str]:
    # Unknown values are ignored (OIDC lets providers do so); `none` cannot be combined with others.
    prompt = frozenset(raw.split()) & _PROMPTS if raw else frozenset()
    if "none" in prompt and len(prompt) > 1:
        raise InvalidRequest("prompt=none cannot be combined with other prompt values")
    return prompt


def parse_authorization_request(pairs: Iterable[tuple[str, str]],
                                find_client: Callable[[str], OAuthClient | None]) -> AuthorizationRequest:
    """The checked request; BrowserError before the redirect URI is trusted, AuthorizeRedirect after."""
    pairs = list(pairs)
    names = [name for name, _ in pairs]
    if names.count("client_id") > 1 or names.count("redirect_uri") > 1:
        raise BrowserError("Invalid sign-in request", "The request names its application or redirect address twice.")
    params = dict(pairs)
    client = _trusted_target(params, find_client)
    state = params.get("state")
    try:
        if len(names) != len(set(names)):
            raise InvalidRequest("a parameter was sent more than once")
        return _checked(params, client)
    except OAuthError as error:
        raise AuthorizeRedirect(error, params["redirect_uri"], state) from None

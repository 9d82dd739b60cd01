"""The authorization request (`GET /oauth/authorize`), parsed and checked as a pure function.

As in RFC 6749 §4.1.2.1: until the client and its redirect URI are trusted, an error is a page (a redirect could
hand the answer to an attacker); after that, errors go back to the redirect URI with the client's state. What the
sample accepts is accepted (no `response_type` means `code`, no `scope` means both scopes, PKCE optional); PKCE, when
sent, must be S256, and the token endpoint then checks the verifier.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from localcloud.orders.client import ORDER_CLIENT_ID
from localcloud.orders.errors import (
    AuthorizeRedirect,
    InvalidRequest,
    InvalidScope,
    OAuthError,
    PageError,
    UnsupportedResponseType,
)
from localcloud.orders.service import DEFAULT_SCOPES, SCOPES

__all__ = ["MAX_STATE", "AuthorizationRequest", "parse_authorization_request"]

MAX_STATE = 2048
_PKCE_VALUE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")  # RFC 7636 §4.2


@dataclass(frozen=True)
class AuthorizationRequest:
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str | None


def _single(pairs: list[tuple[str, str]]) -> dict[str, str]:
    names = [name for name, _ in pairs]
    if names.count("client_id") > 1 or names.count("redirect_uri") > 1:
        raise PageError("Invalid authorization request", "The request names its application or its redirect "
                        "address twice. Nothing was shared.")
    return dict(pairs)


def _trusted_redirect(params: dict[str, str], allowed: Callable[[str], bool]) -> str:
    if params.get("client_id") != ORDER_CLIENT_ID:
        raise PageError("Unknown application", "The application that sent you here is not registered with the "
                        "order service (invalid client_id). Nothing was shared.")
    redirect_uri = params.get("redirect_uri", "")
    if not redirect_uri or not allowed(redirect_uri):
        raise PageError("Redirect address not allowed", "The application asked to send your answer to an address "
                        "the order service does not allow (invalid redirect_uri). Nothing was shared.")
    return redirect_uri


def _scopes(raw: str | None) -> tuple[str, ...]:
    names = tuple(dict.fromkeys((raw or "").split()))
    if not names:
        return DEFAULT_SCOPES
    if unknown := [name for name in names if name not in SCOPES]:
        raise InvalidScope(f"unknown scope: {' '.join(unknown)[:200]}")
    return names


def _challenge(params: dict[str, str]) -> str | None:
    challenge, method = params.get("code_challenge"), params.get("code_challenge_method")
    if not challenge:
        if method:
            raise InvalidRequest("code_challenge_method was sent without a code_challenge")
        return None
    if method != "S256":
        raise InvalidRequest("code_challenge_method must be S256")
    if not _PKCE_VALUE.fullmatch(challenge):
        raise InvalidRequest("code_challenge is not 43-128 characters of [A-Za-z0-9-._~]")
    return challenge


def _checked(params: dict[str, str], redirect_uri: str, duplicated: bool) -> AuthorizationRequest:
    if duplicated:
        raise InvalidRequest("a parameter was sent more than once")
    if params.get("response_type", "code") != "code":
        raise UnsupportedResponseType("Only response_type=code is supported")
    state = params.get("state") or None
    if state is not None and len(state) > MAX_STATE:
        raise InvalidRequest(f"state is longer than {MAX_STATE} characters")
    return AuthorizationRequest(redirect_uri, _scopes(params.get("scope")), state, _challenge(params))


def parse_authorization_request(pairs: Iterable[tuple[str, str]],
                                allowed: Callable[[str], bool]) -> AuthorizationRequest:
    """The checked request; PageError before the redirect URI is trusted, AuthorizeRedirect after."""
    listed = list(pairs)
    params = _single(listed)
    redirect_uri = _trusted_redirect(params, allowed)
    state = params.get("state") or None
    try:
        return _checked(params, redirect_uri, len(listed) != len(params))
    except OAuthError as error:
        returned = state if state is None or len(state) <= MAX_STATE else None
        raise AuthorizeRedirect(error, redirect_uri, returned) from None

"""OpenID Connect RP-Initiated Logout 1.0, decided purely: which client asks, and where the browser may go next.

The sign-out itself always happens; these functions only decide whether the browser is sent back to the
client (303 to `post_logout_redirect_uri`, plus `state`) or shown the "signed out" page. It is sent back only
when the client is known (from `client_id`, or the audience of an `id_token_hint` this realm signed: §2 lets an
expired one count) and the URI shares the origin of one of its redirect URIs; anything else would make the
endpoint an open redirect.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt

from localcloud.jose import JwtError, signed_claims
from localcloud.oidc.clients import OAuthClient
from localcloud.oidc.errors import with_query

__all__ = ["LogoutRequest", "hint_claims", "parse_logout_request", "requesting_client_id", "return_location"]

_MAX_STATE = 2048
_ACCESS_TOKEN_TYPE = "at+jwt"  # RFC 9068: signed by the same key, but not an ID token


@dataclass(frozen=True)
class LogoutRequest:
    client_id: str | None
    id_token_hint: str | None
    post_logout_redirect_uri: str | None
    state: str | None


def parse_logout_request(params: Mapping[str, str]) -> LogoutRequest:
    """The four parameters of §2 that matter here (an empty value counts as absent)."""
    return LogoutRequest(*(params.get(name) or None for name in
                           ("client_id", "id_token_hint", "post_logout_redirect_uri", "state")))


def hint_claims(hint: str, jwks: Mapping[str, Any], issuer: str) -> dict[str, Any] | None:
    """The claims of an ID token this realm signed (expiry ignored, as §2 allows), or None."""
    try:
        if jwt.get_unverified_header(hint).get("typ") == _ACCESS_TOKEN_TYPE:
            return None
        claims = signed_claims(hint, jwks)
    except (JwtError, jwt.PyJWTError):
        return None
    return claims if claims.get("iss") == issuer else None


def _audience(claims: Mapping[str, Any]) -> str | None:
    """The one client an ID token was issued to: `azp`, else its single audience."""
    azp, aud = claims.get("azp"), claims.get("aud")
    if isinstance(azp, str):
        return azp
    if isinstance(aud, list) and len(aud) == 1:
        aud = aud[0]
    return aud if isinstance(aud, str) else None


def requesting_client_id(request: LogoutRequest, claims: Mapping[str, Any] | None) -> str | None:
    """The client asking for the logout; None when a hint did not verify or names another client than
    `client_id` (§2: the OP must check they match)."""
    if request.id_token_hint is None:
        return request.client_id
    hinted = _audience(claims) if claims is not None else None
    if hinted is None or (request.client_id is not None and request.client_id != hinted):
        return None
    return hinted


def return_location(request: LogoutRequest, client_id: str | None,
                    find_client: Callable[[str], OAuthClient | None]) -> str | None:
    """Where to send the browser after signing out, or None for the "signed out" page."""
    uri, state = request.post_logout_redirect_uri, request.state
    if uri is None or client_id is None or (state is not None and len(state) > _MAX_STATE):
        return None
    client = find_client(client_id)
    if client is None or not client.allows_post_logout_redirect(uri):
        return None
    return with_query(uri, {"state": state}) if state is not None else uri

"""`POST /introspect` (RFC 7662): is this token live, and what does it say?

Client authentication is required (RFC 7662 §2.1): only a client that proves its secret may ask, so a token
alone tells nobody whether it is live. A public client (no secret) or none at all is `invalid_client` (401); the
endpoint is also only on localcloud's own port, never on the app's origin.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from localcloud.jose import JwtError
from localcloud.oidc.client_auth import authenticate_client
from localcloud.oidc.errors import InvalidClient, InvalidRequest, OAuthError
from localcloud.oidc.forms import parse_form
from localcloud.oidc.grants import find_refresh
from localcloud.oidc.realm import Realm
from localcloud.oidc.responses import oauth_error, token_json
from localcloud.oidc.tokens import verify_access_token

__all__ = ["introspect"]

_INACTIVE: dict[str, Any] = {"active": False}


def _refresh_info(realm: Realm, token: str) -> dict[str, Any] | None:
    found = find_refresh(realm, token)
    if found is None:
        return None
    record, grant = found
    if grant.revoked or record.rotated or realm.now >= record.expires_at:
        return _INACTIVE
    return {"active": True, "client_id": record.client_id, "sub": grant.sub, "scope": " ".join(grant.scopes),
            "iss": realm.issuer, "iat": int(record.issued_at), "exp": int(record.expires_at)}


def _access_info(realm: Realm, token: str) -> dict[str, Any]:
    try:
        claims = verify_access_token(realm.store, realm.urls, realm.name, token, realm.now)
    except JwtError:
        return _INACTIVE
    # verify_jwt allows clock-skew leeway; introspection answers for this server's own clock.
    if realm.now >= claims["exp"]:
        return _INACTIVE
    return {"active": True, "token_type": "Bearer", **claims}


def introspect(realm: Realm, request: Request, body: bytes) -> Response:
    """`{"active": false}` for anything not live; otherwise `active` with the token's claims."""
    try:
        form = parse_form(body, request.headers.get("content-type"))
        # RFC 7662 §2.1: only an authenticated client may ask; a token is no key to its own details.
        if not authenticate_client(realm, form, request.headers.get("authorization")).authenticated:
            raise InvalidClient("introspection needs the calling client's credentials (its client secret)")
        token = form.get("token")
        if not token:
            raise InvalidRequest("the parameter 'token' is required")
        return token_json(_refresh_info(realm, token) or _access_info(realm, token))
    except OAuthError as error:
        return oauth_error(realm, error)

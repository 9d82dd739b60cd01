"""`POST /introspect` (RFC 7662): is this token live, and what does it say?

Choice: client authentication is optional. The endpoint is only on 127.0.0.1, where localcloud trusts
every caller anyway, and resource servers of any client may ask; access tokens are JWTs whose claims are
readable without it. Credentials that are sent are checked (a wrong secret is `invalid_client`).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from localcloud.jose import JwtError
from localcloud.oidc.client_auth import authenticate_client
from localcloud.oidc.errors import InvalidRequest, OAuthError
from localcloud.oidc.forms import basic_credentials, parse_form
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
        authorization = request.headers.get("authorization")
        if form.get("client_id") or basic_credentials(authorization):
            authenticate_client(realm, form, authorization)
        token = form.get("token")
        if not token:
            raise InvalidRequest("the parameter 'token' is required")
        return token_json(_refresh_info(realm, token) or _access_info(realm, token))
    except OAuthError as error:
        return oauth_error(realm, error)

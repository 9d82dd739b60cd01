"""`POST /revoke` (RFC 7009): revoke a refresh token (with its whole grant) or an access token (by `jti`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from localcloud.jose import JwtError
from localcloud.oidc.client_auth import authenticate_client
from localcloud.oidc.errors import InvalidRequest, OAuthError, UnauthorizedClient
from localcloud.oidc.forms import parse_form
from localcloud.oidc.grants import find_refresh, revoke_access_token, revoke_grant
from localcloud.oidc.realm import Realm
from localcloud.oidc.responses import NO_STORE, oauth_error
from localcloud.oidc.tokens import verify_access_token

__all__ = ["revoke"]


def _revoke(realm: Realm, token: str, client_id: str) -> None:
    """Revoke what `token` is, if it is this client's; unknown tokens are ignored (RFC 7009 §2.2)."""
    found = find_refresh(realm, token)
    if found is not None:
        if found[0].client_id != client_id:
            raise UnauthorizedClient("the token was issued to another client")
        # RFC 7009 §2.1: revoking a refresh token also revokes the access tokens of its grant.
        revoke_grant(realm, found[1].id)
        return
    try:
        claims = verify_access_token(realm.store, realm.urls, realm.name, token, realm.now)
    except JwtError:
        return
    if claims.get("client_id") != client_id:
        raise UnauthorizedClient("the token was issued to another client")
    revoke_access_token(realm, str(claims["jti"]))


def revoke(realm: Realm, request: Request, body: bytes) -> Response:
    """200 with an empty body whether or not the token was live; errors only for bad requests and clients."""
    try:
        form = parse_form(body, request.headers.get("content-type"))
        auth = authenticate_client(realm, form, request.headers.get("authorization"))
        token = form.get("token")
        if not token:
            raise InvalidRequest("the parameter 'token' is required")
        _revoke(realm, token, auth.client.client_id)
        return Response(status_code=200, headers=NO_STORE)
    except OAuthError as error:
        return oauth_error(realm, error)

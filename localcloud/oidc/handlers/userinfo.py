"""`GET|POST /userinfo` (OIDC Core §5.3): the signed-in user's claims for a Bearer access token with `openid`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from localcloud.jose import JwtError
from localcloud.oidc.claims import user_claims
from localcloud.oidc.errors import InsufficientScope, InvalidToken, OAuthError
from localcloud.oidc.forms import bearer_token
from localcloud.oidc.realm import Realm
from localcloud.oidc.responses import oauth_error, token_json
from localcloud.oidc.tokens import verify_access_token
from localcloud.oidc.users import user_by_sub

__all__ = ["userinfo"]


def userinfo(realm: Realm, request: Request, body: bytes) -> Response:
    """The claims the token's scopes release (RFC 6750 errors otherwise)."""
    try:
        token = bearer_token(request.headers.get("authorization"))
        if token is None:
            raise InvalidToken("send the access token as 'Authorization: Bearer <token>'")
        try:
            claims = verify_access_token(realm.store, realm.urls, realm.name, token, realm.now)
        except JwtError as exc:
            raise InvalidToken(str(exc)) from None
        scopes = tuple(str(claims.get("scope", "")).split())
        if "openid" not in scopes:
            raise InsufficientScope("userinfo needs an access token with the openid scope")
        user = user_by_sub(realm.store, str(claims["sub"]))
        if user is None:
            raise InvalidToken("the token's user no longer exists")
        return token_json(user_claims(realm.name, user, scopes, realm.account_id))
    except OAuthError as error:
        return oauth_error(realm, error)

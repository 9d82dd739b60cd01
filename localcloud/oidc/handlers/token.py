"""`POST /token`: the token endpoint (RFC 6749 §3.2) for the code, refresh and client-credentials grants."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from localcloud.oidc.client_auth import ClientAuthentication, authenticate_client
from localcloud.oidc.clients import OAuthClient
from localcloud.oidc.errors import (
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    InvalidScope,
    OAuthError,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from localcloud.oidc.forms import parse_form, parse_scope
from localcloud.oidc.grants import Grant, issue_refresh, record_access_token, redeem_code, rotate_refresh
from localcloud.oidc.realm import Realm
from localcloud.oidc.responses import oauth_error, token_json
from localcloud.oidc.tokens import mint_access_token, mint_id_token
from localcloud.oidc.users import user_by_sub

__all__ = ["token"]


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name)
    if not value:
        raise InvalidRequest(f"the parameter '{name}' is required")
    return value


def _user_tokens(realm: Realm, client: OAuthClient, grant: Grant, scopes: tuple[str, ...],
                 nonce: str | None) -> dict[str, Any]:
    """Access token, rotated refresh token and (with openid) an ID token for the grant's user."""
    user = user_by_sub(realm.store, grant.sub)
    if user is None:
        raise InvalidGrant("the user of this grant no longer exists")
    access, jti = mint_access_token(realm, client, user.sub, scopes)
    record_access_token(realm, grant, jti)
    body = {"access_token": access, "token_type": "Bearer", "expires_in": client.access_token_seconds,
            "scope": " ".join(scopes), "refresh_token": issue_refresh(realm, grant, client.refresh_token_seconds)}
    if "openid" in scopes:
        body["id_token"] = mint_id_token(realm, client, user, scopes, grant.auth_time, nonce)
    return body


def _authorization_code(realm: Realm, auth: ClientAuthentication, form: dict[str, str]) -> dict[str, Any]:
    code, verifier = _required(form, "code"), _required(form, "code_verifier")
    redirect_uri = _required(form, "redirect_uri")
    grant = redeem_code(realm, code, auth.client.client_id, redirect_uri, verifier, auth.authenticated)
    return _user_tokens(realm, auth.client, grant, grant.scopes, grant.nonce)


def _refresh_token(realm: Realm, auth: ClientAuthentication, form: dict[str, str]) -> dict[str, Any]:
    requested = parse_scope(form.get("scope"))
    grant = rotate_refresh(realm, _required(form, "refresh_token"), auth.client.client_id, auth.authenticated,
                           requested)
    # OIDC Core §12.2: a refreshed ID token carries no nonce.
    return _user_tokens(realm, auth.client, grant, requested or grant.scopes, None)


def _machine_scopes(client: OAuthClient, requested: tuple[str, ...] | None) -> tuple[str, ...]:
    if requested is None:
        return tuple(s for s in client.required_scopes if s != "openid")
    if "openid" in requested:
        raise InvalidScope("openid needs a signed-in user; client_credentials has none")
    if unknown := [s for s in requested if s not in client.scopes]:
        raise InvalidScope(f"the application may not ask for: {' '.join(unknown)}")
    return requested


def _client_credentials(realm: Realm, auth: ClientAuthentication, form: dict[str, str]) -> dict[str, Any]:
    client = auth.client
    if not client.confidential:
        raise UnauthorizedClient(f"the {client.app_type} '{client.client_id}' is a public client: "
                                 "client_credentials is for confidential clients")
    if not auth.authenticated:
        raise InvalidClient("client_credentials needs the client secret (client_secret_basic or client_secret_post)")
    scopes = _machine_scopes(client, parse_scope(form.get("scope")))
    access, _ = mint_access_token(realm, client, client.client_id, scopes)
    return {"access_token": access, "token_type": "Bearer", "expires_in": client.access_token_seconds,
            "scope": " ".join(scopes)}


_GRANTS: dict[str, Callable[[Realm, ClientAuthentication, dict[str, str]], dict[str, Any]]] = {
    "authorization_code": _authorization_code,
    "refresh_token": _refresh_token,
    "client_credentials": _client_credentials,
}


def token(realm: Realm, request: Request, body: bytes) -> Response:
    """Exchange a grant for tokens; errors are RFC 6749 §5.2 JSON."""
    try:
        form = parse_form(body, request.headers.get("content-type"))
        grant_type = _required(form, "grant_type")
        if grant_type not in _GRANTS:
            raise UnsupportedGrantType(f"grant_type '{grant_type[:64]}' is not supported")
        auth = authenticate_client(realm, form, request.headers.get("authorization"))
        return token_json(_GRANTS[grant_type](realm, auth, form))
    except OAuthError as error:
        return oauth_error(realm, error)

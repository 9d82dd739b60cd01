"""`GET /.well-known/openid-configuration` (OIDC Discovery §3, RFC 8414) and `GET /jwks` (RFC 7517)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from localcloud.oidc.claims import SCOPES_SUPPORTED
from localcloud.oidc.client_auth import AUTH_METHODS
from localcloud.oidc.realm import Realm
from localcloud.oidc.tokens import jwks

__all__ = ["discovery_document", "show_discovery", "show_jwks"]

_CLAIMS = {"aliyun": ["sub", "aliuid", "name", "preferred_username", "login_name", "upn"],
           "dingtalk": ["sub", "nick", "corpid"]}
_CACHE = {"Cache-Control": "public, max-age=300"}


def discovery_document(realm: Realm) -> dict[str, Any]:
    """The realm's metadata: the authorize page on the public base, the rest on 127.0.0.1."""
    endpoint = realm.urls.oauth_endpoint
    return {
        "issuer": realm.issuer,
        "authorization_endpoint": f"{realm.issuer}/authorize",
        "token_endpoint": endpoint(realm.name, "token"),
        "jwks_uri": endpoint(realm.name, "jwks"),
        "userinfo_endpoint": endpoint(realm.name, "userinfo"),
        "revocation_endpoint": endpoint(realm.name, "revoke"),
        "introspection_endpoint": endpoint(realm.name, "introspect"),
        # RP-Initiated Logout: a browser page, so on the public base like the authorize page.
        "end_session_endpoint": f"{realm.issuer}/logout",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": list(SCOPES_SUPPORTED[realm.name]),
        "claims_supported": _CLAIMS[realm.name],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "revocation_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "introspection_endpoint_auth_methods_supported": list(AUTH_METHODS),
    }


def show_discovery(realm: Realm, request: Request, body: bytes) -> Response:
    """The discovery document."""
    return JSONResponse(discovery_document(realm), headers=_CACHE)


def show_jwks(realm: Realm, request: Request, body: bytes) -> Response:
    """The realm's public signing key."""
    return JSONResponse(jwks(realm.store, realm.name), headers=_CACHE)

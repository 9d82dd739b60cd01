"""Minting the realm's JWTs (access tokens per RFC 9068, ID tokens per OIDC Core §2) and checking access tokens."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

import jwt

from localcloud.jose import JwtError, sign_jwt, unverified_claims, verify_jwt
from localcloud.oidc.claims import user_claims
from localcloud.oidc.clients import OAuthClient
from localcloud.oidc.grants import is_revoked
from localcloud.oidc.realm import Realm, realm_key
from localcloud.oidc.users import DemoUser
from localcloud.store import Store
from localcloud.urls import REALMS, LocalUrls

__all__ = ["ACCESS_TOKEN_TYPE", "jwks", "mint_access_token", "mint_id_token", "verify_access_token"]

ACCESS_TOKEN_TYPE = "at+jwt"  # RFC 9068 §2.1: keeps an ID token from passing as an access token


def jwks(store: Store, realm: str) -> dict[str, Any]:
    """The realm's JSON Web Key Set."""
    return {"keys": [realm_key(store, realm).public_jwk()]}


def mint_access_token(realm: Realm, client: OAuthClient, sub: str, scopes: tuple[str, ...]) -> tuple[str, str]:
    """A signed access token and its `jti`; it lives for the client's AccessTokenValidity."""
    now = int(realm.now)
    jti = secrets.token_urlsafe(16)
    claims = {"iss": realm.issuer, "sub": sub, "aud": client.client_id, "client_id": client.client_id,
              "scope": " ".join(scopes), "iat": now, "exp": now + client.access_token_seconds, "jti": jti}
    return sign_jwt(realm.key, claims, typ=ACCESS_TOKEN_TYPE), jti


def mint_id_token(realm: Realm, client: OAuthClient, user: DemoUser, scopes: tuple[str, ...], auth_time: float,
                  nonce: str | None) -> str:
    """An ID token for the client, with the claims the granted scopes release."""
    now = int(realm.now)
    claims: dict[str, Any] = {**user_claims(realm.name, user, scopes, realm.account_id), "iss": realm.issuer,
                              "aud": client.client_id, "azp": client.client_id, "iat": now,
                              "exp": now + client.access_token_seconds, "auth_time": int(auth_time)}
    if nonce is not None:
        claims["nonce"] = nonce
    return sign_jwt(realm.key, claims)


def _audiences(token: str, audiences: Iterable[str] | None) -> list[str]:
    if audiences is not None:
        return list(audiences)
    # Without an expected audience, any client of the realm is fine: take the token's own (signature checked next).
    aud = unverified_claims(token).get("aud")
    return [aud] if isinstance(aud, str) else [a for a in aud or [] if isinstance(a, str)]


def verify_access_token(store: Store, urls: LocalUrls, realm: str, token: str, now: float, *,
                        audiences: Iterable[str] | None = None) -> dict[str, Any]:
    """The claims of a live access token of `realm` (signature, type, iss, exp, revocation); else JwtError."""
    if realm not in REALMS:
        raise JwtError(f"unknown realm {realm!r}")
    claims = verify_jwt(token, jwks(store, realm), issuer=urls.issuer(realm),
                        audiences=_audiences(token, audiences), now=now)
    if jwt.get_unverified_header(token).get("typ") != ACCESS_TOKEN_TYPE or not claims.get("jti"):
        raise JwtError("the token is not an access token")
    if is_revoked(store, realm, str(claims["jti"])):
        raise JwtError("the access token was revoked")
    return claims

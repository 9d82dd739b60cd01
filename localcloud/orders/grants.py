"""Authorization codes, access tokens and refresh tokens of the order service, in localcloud's store.

Every one is an opaque random string handed out once and stored only as its SHA-256, so a copy of the data
directory cannot replay one. Codes are single-use for `CODE_SECONDS`; access tokens live `ACCESS_TOKEN_SECONDS`;
refresh tokens `REFRESH_TOKEN_SECONDS` and rotate: redeeming one deletes it and issues the next. Expired entries are
swept whenever a new one of their kind is issued, so the store does not grow without bound.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, dataclass
from typing import Any

from localcloud.orders.errors import InvalidGrant, InvalidScope
from localcloud.orders.service import OrderService

__all__ = [
    "ACCESS_TOKEN_SECONDS",
    "CODE_SECONDS",
    "REFRESH_TOKEN_SECONDS",
    "AccessToken",
    "AuthorizationCode",
    "Grant",
    "access_token",
    "digest",
    "issue_code",
    "issue_tokens",
    "redeem_code",
    "rotate_refresh",
]

CODE_SECONDS = 300
ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 24 * 3600  # the sample's REFRESH_TOKEN_EXPIRES_IN
_CODE_KIND, _ACCESS_KIND, _REFRESH_KIND = "orders.code", "orders.access-token", "orders.refresh-token"
_EVERYONE = ""  # the store's account column: these belong to the service, not to an Alibaba Cloud account


def digest(value: str) -> str:
    """What a code or token is stored under."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Grant:
    """What a user allowed a client: the user's subject and the scopes."""

    sub: str
    scopes: tuple[str, ...]
    client_id: str

    @property
    def scope(self) -> str:
        return " ".join(self.scopes)


@dataclass(frozen=True)
class AuthorizationCode:
    grant: Grant
    redirect_uri: str
    code_challenge: str | None  # S256, when the authorization request carried one
    expires_at: float

    def is_expired(self, now: float) -> bool:
        return now >= self.expires_at


@dataclass(frozen=True)
class AccessToken:
    grant: Grant
    expires_at: float

    def is_expired(self, now: float) -> bool:
        return now >= self.expires_at

    def allows(self, scope: str) -> bool:
        return scope in self.grant.scopes


def _grant(doc: dict[str, Any]) -> Grant:
    return Grant(doc["sub"], tuple(doc["scopes"]), doc["client_id"])


def _store_new(service: OrderService, kind: str, value: str, doc: dict[str, Any]) -> None:
    _sweep(service, kind)
    service.store.insert(kind, _EVERYONE, digest(value), {**doc, "name": digest(value)})


def _sweep(service: OrderService, kind: str) -> None:
    for doc in service.store.list(kind, _EVERYONE):
        if service.now >= doc["expires_at"]:
            service.store.delete(kind, _EVERYONE, doc["name"])


def issue_code(service: OrderService, grant: Grant, redirect_uri: str, code_challenge: str | None) -> str:
    """A new single-use code for the grant."""
    code = secrets.token_urlsafe(32)
    _store_new(service, _CODE_KIND, code, {**asdict(grant), "redirect_uri": redirect_uri,
                                           "code_challenge": code_challenge,
                                           "expires_at": service.now + CODE_SECONDS})
    return code


def redeem_code(service: OrderService, code: str) -> AuthorizationCode:
    """Consume a code (whatever happens next, it never works again); InvalidGrant if unknown, used or expired."""
    with service.store.locked():
        doc = service.store.get(_CODE_KIND, _EVERYONE, digest(code))
        if doc is None or not service.store.delete(_CODE_KIND, _EVERYONE, digest(code)):
            raise InvalidGrant("Invalid or expired authorization code")
    redeemed = AuthorizationCode(_grant(doc), doc["redirect_uri"], doc["code_challenge"], doc["expires_at"])
    if redeemed.is_expired(service.now):
        raise InvalidGrant("Authorization code expired")
    return redeemed


def issue_tokens(service: OrderService, grant: Grant) -> dict[str, Any]:
    """A new access token and refresh token for the grant, as the token endpoint answers them."""
    access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    _store_new(service, _ACCESS_KIND, access, {**asdict(grant), "expires_at": service.now + ACCESS_TOKEN_SECONDS})
    _store_new(service, _REFRESH_KIND, refresh, {**asdict(grant),
                                                 "expires_at": service.now + REFRESH_TOKEN_SECONDS})
    return {"access_token": access, "token_type": "Bearer", "expires_in": ACCESS_TOKEN_SECONDS,
            "refresh_token": refresh, "scope": grant.scope}


def rotate_refresh(service: OrderService, refresh_token: str, client_id: str, scopes: tuple[str, ...]) -> Grant:
    """Consume a refresh token of this client: its grant (narrowed to `scopes`, when given) for the next tokens."""
    with service.store.locked():
        doc = service.store.get(_REFRESH_KIND, _EVERYONE, digest(refresh_token))
        if doc is None or doc["client_id"] != client_id:
            raise InvalidGrant("Invalid refresh token")
        grant = _grant(doc)
        if not set(scopes) <= set(grant.scopes):  # checked first: a refused refresh keeps its token
            raise InvalidScope("a refresh can only keep or narrow the granted scopes")
        if not service.store.delete(_REFRESH_KIND, _EVERYONE, digest(refresh_token)):
            raise InvalidGrant("Invalid refresh token")
    if service.now >= doc["expires_at"]:
        raise InvalidGrant("Refresh token expired")
    return Grant(grant.sub, scopes or grant.scopes, grant.client_id)


def access_token(service: OrderService, token: str) -> AccessToken | None:
    """The stored access token (expired or not), or None when it was never issued (or swept)."""
    doc = service.store.get(_ACCESS_KIND, _EVERYONE, digest(token))
    return AccessToken(_grant(doc), doc["expires_at"]) if doc else None

"""Authorization codes, grants and refresh tokens, with the revocation rules of RFC 6749 §4.1.2 and §10.4.

A grant is what one approved authorization produced: the access tokens (by `jti`) and the refresh-token
family issued from its code. Codes work once for 60 s; a second use revokes the grant. Refresh tokens
rotate; presenting a rotated one revokes the grant. Codes and refresh tokens are stored as SHA-256 hashes.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, dataclass, replace
from typing import Any

from localcloud.oidc.authorization import verifier_matches
from localcloud.oidc.errors import InvalidClient, InvalidGrant, InvalidScope
from localcloud.oidc.pending import PendingAuthorization
from localcloud.oidc.realm import Realm
from localcloud.store import Store

__all__ = ["CODE_SECONDS", "Grant", "RefreshRecord", "find_refresh", "is_revoked", "issue_code", "issue_refresh",
           "record_access_token", "redeem_code", "revoke_access_token", "revoke_grant", "rotate_refresh"]

CODE_SECONDS = 60
_CODE_KIND = "oidc.code"
_GRANT_KIND = "oidc.grant"
_REFRESH_KIND = "oidc.refresh"
_REVOKED_KIND = "oidc.revoked-jti"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Grant:
    id: str
    client_id: str
    sub: str
    scopes: tuple[str, ...]
    auth_time: float
    authenticated: bool  # the client proved its secret when redeeming the code: refreshes must too
    nonce: str | None = None
    revoked: bool = False
    access_jtis: tuple[str, ...] = ()


@dataclass(frozen=True)
class RefreshRecord:
    grant_id: str
    client_id: str
    issued_at: float
    expires_at: float
    rotated: bool = False


def _grant(doc: dict[str, Any]) -> Grant:
    return Grant(**{**doc, "scopes": tuple(doc["scopes"]), "access_jtis": tuple(doc["access_jtis"])})


def _load_grant(realm: Realm, grant_id: str) -> Grant | None:
    doc = realm.store.get(_GRANT_KIND, realm.name, grant_id)
    return _grant(doc) if doc else None


def issue_code(realm: Realm, pending: PendingAuthorization) -> str:
    """A fresh authorization code for an approved request, bound to its client, redirect URI and challenge."""
    code = secrets.token_urlsafe(32)
    realm.store.insert(_CODE_KIND, realm.name, _digest(code), {
        "pending": asdict(pending), "expires_at": realm.now + CODE_SECONDS, "used": False, "grant_id": None})
    return code


def _check_code(doc: dict[str, Any], now: float, client_id: str, redirect_uri: str | None, verifier: str) -> None:
    pending = doc["pending"]
    if now > doc["expires_at"]:
        raise InvalidGrant(f"the authorization code expired (codes are valid for {CODE_SECONDS} s)")
    if pending["client_id"] != client_id:
        raise InvalidGrant("the authorization code was issued to another client")
    if redirect_uri != pending["redirect_uri"]:
        raise InvalidGrant("redirect_uri does not match the one the code was issued for")
    if not verifier_matches(verifier, pending["code_challenge"]):
        raise InvalidGrant("code_verifier does not match the code_challenge (PKCE)")


def redeem_code(realm: Realm, code: str, client_id: str, redirect_uri: str | None, verifier: str,
                authenticated: bool) -> Grant:
    """The grant a code starts; a reused code revokes the grant it already started."""
    with realm.store.locked():
        doc = realm.store.get(_CODE_KIND, realm.name, _digest(code))
        if doc is None:
            raise InvalidGrant("the authorization code is not valid")
        if doc["used"]:
            if doc["grant_id"]:
                revoke_grant(realm, doc["grant_id"])
            raise InvalidGrant("the authorization code was already used; the tokens it gave were revoked")
        # Burnt before the checks: a wrong verifier must not leave the code open to guessing.
        realm.store.replace(_CODE_KIND, realm.name, _digest(code), {**doc, "used": True})
        _check_code(doc, realm.now, client_id, redirect_uri, verifier)
        pending = doc["pending"]
        grant = Grant(id=secrets.token_urlsafe(16), client_id=client_id, sub=pending["sub"],
                      scopes=tuple(pending["scopes"]), auth_time=pending["auth_time"], authenticated=authenticated,
                      nonce=pending["nonce"])
        realm.store.insert(_GRANT_KIND, realm.name, grant.id, asdict(grant))
        realm.store.replace(_CODE_KIND, realm.name, _digest(code), {**doc, "used": True, "grant_id": grant.id})
        return grant


def record_access_token(realm: Realm, grant: Grant, jti: str) -> None:
    """Remember an access token of the grant, so revoking the grant revokes it too."""
    with realm.store.locked():
        current = _load_grant(realm, grant.id) or grant
        updated = replace(current, access_jtis=(*current.access_jtis, jti))
        realm.store.replace(_GRANT_KIND, realm.name, grant.id, asdict(updated))


def issue_refresh(realm: Realm, grant: Grant, lifetime: int) -> str:
    """A new refresh token of the grant's family."""
    token = secrets.token_urlsafe(32)
    record = RefreshRecord(grant.id, grant.client_id, realm.now, realm.now + lifetime)
    realm.store.insert(_REFRESH_KIND, realm.name, _digest(token), asdict(record))
    return token


def find_refresh(realm: Realm, token: str) -> tuple[RefreshRecord, Grant] | None:
    """A refresh token's record and grant, whatever their state, or None."""
    doc = realm.store.get(_REFRESH_KIND, realm.name, _digest(token)) if token else None
    grant = _load_grant(realm, doc["grant_id"]) if doc else None
    return (RefreshRecord(**doc), grant) if doc and grant else None


def rotate_refresh(realm: Realm, token: str, client_id: str, authenticated: bool,
                   scopes: tuple[str, ...] | None) -> Grant:
    """Retire a refresh token and return its live grant; a retired one revokes the whole grant."""
    with realm.store.locked():
        found = find_refresh(realm, token)
        if found is None or found[1].revoked:
            raise InvalidGrant("the refresh token is not valid")
        record, grant = found
        if record.client_id != client_id:
            raise InvalidGrant("the refresh token was issued to another client")
        if grant.authenticated and not authenticated:
            raise InvalidClient("this sign-in was made with the client secret: refreshing it needs the secret too")
        if record.rotated:
            revoke_grant(realm, grant.id)
            raise InvalidGrant("the refresh token was already used; every token of this sign-in was revoked")
        if realm.now >= record.expires_at:
            raise InvalidGrant("the refresh token expired")
        if scopes and (extra := [s for s in scopes if s not in grant.scopes]):
            raise InvalidScope(f"a refresh cannot add scopes the user did not grant: {' '.join(extra)}")
        realm.store.replace(_REFRESH_KIND, realm.name, _digest(token), asdict(replace(record, rotated=True)))
        return grant


def revoke_grant(realm: Realm, grant_id: str) -> None:
    """Revoke every refresh token and access token the grant produced."""
    with realm.store.locked():
        grant = _load_grant(realm, grant_id)
        if grant is None:
            return
        realm.store.replace(_GRANT_KIND, realm.name, grant_id, asdict(replace(grant, revoked=True)))
        for jti in grant.access_jtis:
            revoke_access_token(realm, jti)


def revoke_access_token(realm: Realm, jti: str) -> None:
    """Deny an access token from now on (it is a JWT: only its `jti` can be listed)."""
    realm.store.insert(_REVOKED_KIND, realm.name, jti, {"revoked_at": realm.now})


def is_revoked(store: Store, realm: str, jti: str) -> bool:
    """Whether an access token's `jti` was revoked."""
    return store.get(_REVOKED_KIND, realm, jti) is not None

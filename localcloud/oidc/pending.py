"""State between the sign-in pages: pending authorization requests and per-realm sign-in sessions.

A pending request is found by an unguessable id carried in the forms, and is bound to the browser that
started it by a short-lived HttpOnly cookie: a copied form or link is useless in another browser. It counts
the password attempts made on it: after `MAX_REQUEST_FAILURES` it is burnt, and no later answer counts.
The sign-in session cookie lets a second authorization skip the password (consent is still asked); it lasts
until the browser closes, the server forgets it after `SESSION_SECONDS`, and sign-out ends it.
Both cookies are stored only as SHA-256 hashes, so a copy of the store cannot replay them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import asdict, dataclass, replace

from localcloud.oidc.authorization import AuthorizationRequest
from localcloud.oidc.errors import BrowserError, SignInBurnt
from localcloud.oidc.realm import Realm
from localcloud.oidc.throttle import MAX_REQUEST_FAILURES

__all__ = ["BINDING_COOKIE", "PENDING_SECONDS", "SESSION_COOKIE", "SESSION_SECONDS", "PendingAuthorization",
           "SignInSession", "begin", "browser_binding", "count_attempt", "current_session", "end_session", "finish",
           "load_bound", "open_session", "signed_in"]

PENDING_SECONDS = 600
SESSION_SECONDS = 8 * 3600
BINDING_COOKIE = "lc_oauth_browser"
SESSION_COOKIE = "lc_oauth_session"
_PENDING_KIND = "oidc.pending"
_SESSION_KIND = "oidc.session"
_COOKIE_VALUE = re.compile(r"[A-Za-z0-9_-]{43}")  # what secrets.token_urlsafe(32) makes


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class PendingAuthorization:
    id: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    nonce: str | None
    code_challenge: str
    binding: str  # SHA-256 of the browser-binding cookie
    created_at: float
    sub: str | None = None  # set once the user is known (password, or an existing session)
    auth_time: float | None = None
    failures: int = 0  # password attempts that failed (or are being checked right now)

    def expired(self, now: float) -> bool:
        return now > self.created_at + PENDING_SECONDS

    @property
    def burnt(self) -> bool:
        return self.failures >= MAX_REQUEST_FAILURES


@dataclass(frozen=True)
class SignInSession:
    sub: str
    auth_time: float
    expires_at: float


def browser_binding(cookie: str | None) -> str:
    """The browser's binding value: its existing cookie, or a fresh one to set."""
    return cookie if cookie and _COOKIE_VALUE.fullmatch(cookie) else secrets.token_urlsafe(32)


def begin(realm: Realm, request: AuthorizationRequest, binding: str,
          session: SignInSession | None) -> PendingAuthorization:
    """Store a new pending request for this browser (already signed in when `session` is given)."""
    pending = PendingAuthorization(
        id=secrets.token_urlsafe(32), client_id=request.client_id, redirect_uri=request.redirect_uri,
        scopes=request.scopes, state=request.state, nonce=request.nonce, code_challenge=request.code_challenge,
        binding=_digest(binding), created_at=realm.now, sub=session.sub if session else None,
        auth_time=session.auth_time if session else None)
    realm.store.insert(_PENDING_KIND, realm.name, pending.id, asdict(pending))
    return pending


def _stored(realm: Realm, pending_id: str) -> PendingAuthorization:
    doc = realm.store.get(_PENDING_KIND, realm.name, pending_id) if pending_id else None
    if doc is None:
        raise BrowserError("Sign-in request not found", "This sign-in page is no longer valid (it was already used "
                           "or never existed). Go back to the application and start signing in again.")
    return PendingAuthorization(**{**doc, "scopes": tuple(doc["scopes"])})


def load_bound(realm: Realm, pending_id: str, binding: str | None) -> PendingAuthorization:
    """The pending request, if it is alive and this browser started it; otherwise a page saying why."""
    pending = _stored(realm, pending_id)
    if not binding or not hmac.compare_digest(_digest(binding), pending.binding):
        raise BrowserError("Sign-in started in another browser", "This sign-in page belongs to another browser "
                           "session (or its cookie expired). Start signing in again from the application.")
    if pending.expired(realm.now):
        raise BrowserError("Sign-in request expired", f"Sign-in pages are valid for {PENDING_SECONDS // 60} "
                           "minutes. Go back to the application and start signing in again.")
    if pending.burnt:
        raise SignInBurnt()
    return pending


def count_attempt(realm: Realm, pending_id: str) -> PendingAuthorization:
    """Count a password attempt as failed before it is checked, so parallel posts cannot all slip under the limit
    (`signed_in` takes it back). SignInBurnt when the request already had its last try. Hold the store's lock."""
    pending = _stored(realm, pending_id)  # read again: another post may have counted since the page loaded it
    if pending.burnt:
        raise SignInBurnt()
    counted = replace(pending, failures=pending.failures + 1)
    realm.store.replace(_PENDING_KIND, realm.name, pending_id, asdict(counted))
    return counted


def signed_in(realm: Realm, pending_id: str, sub: str, auth_time: float) -> PendingAuthorization:
    """The pending request with its user now known, and its successful attempt no longer counted as failed."""
    with realm.store.locked():
        pending = _stored(realm, pending_id)
        updated = replace(pending, sub=sub, auth_time=auth_time, failures=max(0, pending.failures - 1))
        realm.store.replace(_PENDING_KIND, realm.name, pending_id, asdict(updated))
        return updated


def finish(realm: Realm, pending: PendingAuthorization) -> bool:
    """Consume the request; False if another submission already did (a double click)."""
    return realm.store.delete(_PENDING_KIND, realm.name, pending.id)


def open_session(realm: Realm, sub: str) -> str:
    """A new sign-in session for `sub`; the cookie value to set."""
    cookie = secrets.token_urlsafe(32)
    session = SignInSession(sub=sub, auth_time=realm.now, expires_at=realm.now + SESSION_SECONDS)
    realm.store.insert(_SESSION_KIND, realm.name, _digest(cookie), asdict(session))
    return cookie


def end_session(realm: Realm, cookie: str | None, binding: str | None) -> None:
    """Sign-out: forget the sign-in session this cookie names, and the browser's pending requests (a consent page
    left open would otherwise still answer as the signed-out user)."""
    if cookie and _COOKIE_VALUE.fullmatch(cookie):
        realm.store.delete(_SESSION_KIND, realm.name, _digest(cookie))
    if binding and _COOKIE_VALUE.fullmatch(binding):
        bound = _digest(binding)
        for doc in realm.store.list(_PENDING_KIND, realm.name):
            if hmac.compare_digest(doc["binding"], bound):
                realm.store.delete(_PENDING_KIND, realm.name, doc["id"])


def current_session(realm: Realm, cookie: str | None) -> SignInSession | None:
    """The live sign-in session this cookie names, or None."""
    if not cookie or not _COOKIE_VALUE.fullmatch(cookie):
        return None
    doc = realm.store.get(_SESSION_KIND, realm.name, _digest(cookie))
    session = SignInSession(**doc) if doc else None
    return session if session and realm.now < session.expires_at else None

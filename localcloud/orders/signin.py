"""Who is answering the consent page: pending authorization requests and the order service's sign-in sessions.

The sample's order service has no users; here orders belong to a user, so the consent page must know who approves.
Its users are localcloud's demo users (the same directory as the `aliyun` realm): the page asks for their user name
and password once, then an HttpOnly session cookie (`lc_orders_session`, until the browser closes, forgotten by the
server after `SESSION_SECONDS`) skips the password next time; consent is still asked each time. Wrong passwords count
against the same per-name throttle as the sign-in server's (`oidc.throttle`), and a pending request is burnt after
`MAX_PENDING_FAILURES`.

A pending request is named by an unguessable id carried in the forms and bound to the browser that started it by
the HttpOnly, SameSite=Lax cookie `lc_orders_browser`: a form posted from another site or another browser is refused
(that is the consent form's CSRF protection). Ids and cookies are stored only as SHA-256 hashes.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import asdict, dataclass, replace

from localcloud.oidc.throttle import count_name_failure, forget_name_failures, name_failures
from localcloud.oidc.users import DemoUser, user_by_sub, verify_password
from localcloud.orders.authorization import AuthorizationRequest
from localcloud.orders.errors import PageError
from localcloud.orders.grants import digest
from localcloud.orders.service import OrderService

__all__ = [
    "BINDING_COOKIE",
    "MAX_PENDING_FAILURES",
    "PENDING_SECONDS",
    "SESSION_COOKIE",
    "SESSION_SECONDS",
    "PendingAuthorization",
    "begin",
    "browser_binding",
    "check_password",
    "finish",
    "load_bound",
    "open_session",
    "session_user",
    "set_user",
]

PENDING_SECONDS = 600
SESSION_SECONDS = 8 * 3600
MAX_PENDING_FAILURES = 5
BINDING_COOKIE = "lc_orders_browser"  # `lc_`: the app's /lc proxy passes localcloud's own cookies only
SESSION_COOKIE = "lc_orders_session"
_PENDING_KIND, _SESSION_KIND = "orders.pending", "orders.session"
_EVERYONE = ""
_COOKIE_VALUE = re.compile(r"[A-Za-z0-9_-]{43}")  # what secrets.token_urlsafe(32) makes


@dataclass(frozen=True)
class PendingAuthorization:
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str | None
    binding: str  # SHA-256 of the browser-binding cookie
    created_at: float
    sub: str | None = None  # the user, once known (a password, or a live session)
    failures: int = 0

    def expired(self, now: float) -> bool:
        return now > self.created_at + PENDING_SECONDS


def browser_binding(cookie: str | None) -> str:
    """The browser's binding value: its existing cookie, or a fresh one to set."""
    return cookie if cookie and _COOKIE_VALUE.fullmatch(cookie) else secrets.token_urlsafe(32)


def begin(service: OrderService, request: AuthorizationRequest, binding: str,
          sub: str | None) -> tuple[str, PendingAuthorization]:
    """Store a new pending request for this browser; its id (for the forms) and the request."""
    request_id = secrets.token_urlsafe(32)
    pending = PendingAuthorization(request.redirect_uri, request.scopes, request.state, request.code_challenge,
                                   digest(binding), service.now, sub)
    _sweep(service, _PENDING_KIND)
    service.store.insert(_PENDING_KIND, _EVERYONE, digest(request_id),
                         {**asdict(pending), "name": digest(request_id),
                          "expires_at": service.now + PENDING_SECONDS})
    return request_id, pending


def _sweep(service: OrderService, kind: str) -> None:
    """Forget the expired entries of a kind (abandoned pages, old sessions) as new ones arrive."""
    for doc in service.store.list(kind, _EVERYONE):
        if service.now >= doc["expires_at"]:
            service.store.delete(kind, _EVERYONE, doc["name"])


def _stored(service: OrderService, request_id: str) -> PendingAuthorization:
    doc = service.store.get(_PENDING_KIND, _EVERYONE, digest(request_id)) if request_id else None
    if doc is None:
        raise PageError("Request not found", "This page is no longer valid (it was already answered, or never "
                        "existed). Go back to the application and start again.")
    fields = {name: value for name, value in doc.items() if name not in ("name", "expires_at")}
    return PendingAuthorization(**{**fields, "scopes": tuple(doc["scopes"])})


def load_bound(service: OrderService, request_id: str, binding: str | None) -> PendingAuthorization:
    """The pending request, if it is alive and this browser started it; otherwise a page saying why."""
    pending = _stored(service, request_id)
    if not binding or not hmac.compare_digest(digest(binding), pending.binding):
        raise PageError("Started in another browser", "This page belongs to another browser session (or its cookie "
                        "expired). Start again from the application.")
    if pending.expired(service.now):
        raise PageError("Request expired", f"This page is valid for {PENDING_SECONDS // 60} minutes. Go back to the "
                        "application and start again.")
    if pending.failures >= MAX_PENDING_FAILURES:
        raise PageError("Too many attempts", "Too many wrong passwords: start again from the application.", 429)
    return pending


def _save(service: OrderService, request_id: str, pending: PendingAuthorization) -> None:
    service.store.replace(_PENDING_KIND, _EVERYONE, digest(request_id),
                          {**asdict(pending), "name": digest(request_id),
                           "expires_at": pending.created_at + PENDING_SECONDS})


def set_user(service: OrderService, request_id: str, sub: str) -> None:
    """The pending request's user is now known (and its successful attempt no longer counts as failed)."""
    with service.store.locked():
        pending = _stored(service, request_id)
        _save(service, request_id, replace(pending, sub=sub, failures=max(0, pending.failures - 1)))


def finish(service: OrderService, request_id: str) -> bool:
    """Consume the request; False if another submission already did (a double click)."""
    return service.store.delete(_PENDING_KIND, _EVERYONE, digest(request_id))


def _count_attempt(service: OrderService, request_id: str, username: str) -> None:
    """Count the attempt as failed before the password is checked, so parallel posts cannot all slip through."""
    with service.store.locked():
        if wait := name_failures(service.store, username).wait_seconds(service.now):
            raise PageError("Too many attempts", f"Too many attempts for this account: wait {wait} s, then try "
                            "again.", 429, retry_after=wait)
        pending = _stored(service, request_id)
        if pending.failures >= MAX_PENDING_FAILURES:
            raise PageError("Too many attempts", "Too many wrong passwords: start again from the application.", 429)
        _save(service, request_id, replace(pending, failures=pending.failures + 1))
        count_name_failure(service.store, username, service.now)


def check_password(service: OrderService, request_id: str, username: str, password: str) -> DemoUser | None:
    """The demo user if the password is theirs (within the limits on guessing); None for a wrong one."""
    _count_attempt(service, request_id, username)
    user = verify_password(service.store, username, password)
    if user is not None:
        forget_name_failures(service.store, username)
        set_user(service, request_id, user.sub)
    return user


def open_session(service: OrderService, sub: str) -> str:
    """A new sign-in session at the order service; the cookie value to set."""
    cookie = secrets.token_urlsafe(32)
    _sweep(service, _SESSION_KIND)
    service.store.insert(_SESSION_KIND, _EVERYONE, digest(cookie),
                         {"name": digest(cookie), "sub": sub, "expires_at": service.now + SESSION_SECONDS})
    return cookie


def session_user(service: OrderService, cookie: str | None) -> DemoUser | None:
    """The demo user of a live session cookie, or None."""
    if not cookie or not _COOKIE_VALUE.fullmatch(cookie):
        return None
    doc = service.store.get(_SESSION_KIND, _EVERYONE, digest(cookie))
    if doc is None or service.now >= doc["expires_at"]:
        return None
    return user_by_sub(service.store, doc["sub"])

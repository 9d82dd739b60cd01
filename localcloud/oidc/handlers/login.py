"""`GET /login?request_id=` (switch user) and `POST /login` (the password form of a pending request).

A password attempt is counted as failed before it is checked, under the store's lock (so parallel posts cannot
all slip under the limits), and taken back when it succeeds: see `throttle` for the limits. A user name that
must wait is refused without its password being checked. Unknown names and wrong passwords get the same answer
after the same work (one password hash).
"""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from localcloud.oidc.clients import OAuthClient
from localcloud.oidc.errors import AccountThrottled, BrowserError, SignInBurnt
from localcloud.oidc.handlers.views import browser_form, client_of, login_view, page_for, pending_of
from localcloud.oidc.pages import PAGE_HEADERS
from localcloud.oidc.pending import SESSION_COOKIE, PendingAuthorization, count_attempt, open_session, signed_in
from localcloud.oidc.realm import Realm
from localcloud.oidc.responses import set_realm_cookie
from localcloud.oidc.throttle import count_name_failure, forget_name_failures, name_failures
from localcloud.oidc.users import DemoUser, verify_password

__all__ = ["show_login", "submit_login"]

_MAX_FIELD = 256


def show_login(realm: Realm, request: Request, body: bytes) -> Response:
    """The login form again for a pending request ("not you?" on the consent page)."""
    try:
        pending = pending_of(realm, request, request.query_params.get("request_id", ""))
        return login_view(realm, pending, client_of(realm, pending))
    except BrowserError as error:
        return page_for(realm, error)


def _count_attempt(realm: Realm, pending: PendingAuthorization, username: str) -> PendingAuthorization:
    """Charge the attempt to the request and the name; AccountThrottled while the name must wait."""
    with realm.store.locked():
        if wait := name_failures(realm.store, username).wait_seconds(realm.now):
            raise AccountThrottled(wait)
        counted = count_attempt(realm, pending.id)
        count_name_failure(realm.store, username, realm.now)
        return counted


def _signed_in(realm: Realm, pending: PendingAuthorization, user: DemoUser, username: str) -> Response:
    """Open a sign-in session and go on to consent (303, so a reload is safe)."""
    forget_name_failures(realm.store, username)
    cookie = open_session(realm, user.sub)
    signed_in(realm, pending.id, user.sub, realm.now)
    location = f"{realm.page_url('consent')}?request_id={quote(pending.id, safe='')}"
    response = RedirectResponse(location, status_code=303, headers=PAGE_HEADERS)
    set_realm_cookie(realm, response, SESSION_COOKIE, cookie, None)  # a browser-session cookie
    return response


def _check(realm: Realm, pending: PendingAuthorization, client: OAuthClient, username: str,
           password: str) -> Response:
    counted = _count_attempt(realm, pending, username)
    user = verify_password(realm.store, username, password)
    if user is not None:
        return _signed_in(realm, pending, user, username)
    if counted.burnt:
        raise SignInBurnt()
    return login_view(realm, pending, client, "Wrong user name or password. Try again.", username, 401)


def submit_login(realm: Realm, request: Request, body: bytes) -> Response:
    """Check the password of a pending request's form, within the limits on guessing."""
    try:
        form = browser_form(request, body)
        pending = pending_of(realm, request, form.get("request_id", ""))
        client = client_of(realm, pending)
        username, password = form.get("username", "").strip(), form.get("password", "")
        if not username or not password or len(username) > _MAX_FIELD or len(password) > _MAX_FIELD:
            return login_view(realm, pending, client, "Enter your user name and password.", username[:_MAX_FIELD],
                              400)
        return _check(realm, pending, client, username, password)
    except BrowserError as error:
        return page_for(realm, error)

"""`GET /login?request_id=` (switch user) and `POST /login` (the password form of a pending request)."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from localcloud.oidc.errors import BrowserError
from localcloud.oidc.handlers.views import browser_form, client_of, login_view, page_for, pending_of
from localcloud.oidc.pages import PAGE_HEADERS
from localcloud.oidc.pending import SESSION_COOKIE, SESSION_SECONDS, open_session, signed_in
from localcloud.oidc.realm import Realm
from localcloud.oidc.responses import set_realm_cookie
from localcloud.oidc.users import verify_password

__all__ = ["show_login", "submit_login"]

_MAX_FIELD = 256


def show_login(realm: Realm, request: Request, body: bytes) -> Response:
    """The login form again for a pending request ("not you?" on the consent page)."""
    try:
        pending = pending_of(realm, request, request.query_params.get("request_id", ""))
        return login_view(realm, pending, client_of(realm, pending))
    except BrowserError as error:
        return page_for(realm, error)


def submit_login(realm: Realm, request: Request, body: bytes) -> Response:
    """Check the password; on success open a sign-in session and go on to consent (303, so reload is safe)."""
    try:
        form = browser_form(request, body)
        pending = pending_of(realm, request, form.get("request_id", ""))
        client = client_of(realm, pending)
    except BrowserError as error:
        return page_for(realm, error)
    username, password = form.get("username", "").strip(), form.get("password", "")
    if not username or not password or len(username) > _MAX_FIELD or len(password) > _MAX_FIELD:
        return login_view(realm, pending, client, "Enter your user name and password.", username[:_MAX_FIELD], 400)
    user = verify_password(realm.store, username, password)
    if user is None:
        return login_view(realm, pending, client, "Wrong user name or password. Try again.", username, 401)
    cookie = open_session(realm, user.sub)
    signed_in(realm, pending, user.sub, realm.now)
    location = f"{realm.page_url('consent')}?request_id={quote(pending.id, safe='')}"
    response = RedirectResponse(location, status_code=303, headers=PAGE_HEADERS)
    set_realm_cookie(realm, response, SESSION_COOKIE, cookie, SESSION_SECONDS)
    return response

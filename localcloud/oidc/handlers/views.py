"""What the browser-facing handlers share: the login and consent views of a pending request."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from localcloud.oidc.clients import OAuthClient
from localcloud.oidc.errors import AccountThrottled, BrowserError, InvalidRequest
from localcloud.oidc.forms import parse_form
from localcloud.oidc.pages import consent_page, error_page, login_page
from localcloud.oidc.pending import BINDING_COOKIE, PendingAuthorization, load_bound
from localcloud.oidc.realm import Realm
from localcloud.oidc.users import DemoUser, demo_password_is_default, demo_users

__all__ = ["browser_form", "client_of", "consent_view", "login_view", "page_for", "pending_of"]


def page_for(realm: Realm, error: BrowserError) -> Response:
    """The error page for a BrowserError (with `Retry-After` when the user must wait)."""
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, AccountThrottled) else None
    return error_page(realm.name, error.title, error.message, error.status, headers)


def browser_form(request: Request, body: bytes) -> dict[str, str]:
    """A form posted by a browser; a malformed one is a page, not JSON."""
    try:
        return parse_form(body, request.headers.get("content-type"))
    except InvalidRequest as exc:
        raise BrowserError("Invalid form", f"The form could not be read ({exc.description}). Go back and retry.")\
            from None


def pending_of(realm: Realm, request: Request, request_id: str) -> PendingAuthorization:
    """The pending request named by the page, if this browser started it."""
    return load_bound(realm, request_id, request.cookies.get(BINDING_COOKIE))


def client_of(realm: Realm, pending: PendingAuthorization) -> OAuthClient:
    """The pending request's client (it may have been deleted since)."""
    client = realm.client(pending.client_id)
    if client is None:
        raise BrowserError("Application removed", "The application you were signing in to no longer exists.")
    return client


def login_view(realm: Realm, pending: PendingAuthorization, client: OAuthClient, message: str = "",
               username: str = "", status: int = 200) -> Response:
    """The login form for a pending request."""
    return login_page(realm.name, realm.page_url("login"), client, pending.id, demo_users(realm.store),
                      demo_password_is_default(realm.store), message, username, status)


def consent_view(realm: Realm, pending: PendingAuthorization, client: OAuthClient, user: DemoUser) -> Response:
    """The consent form for a pending request whose user is known."""
    return consent_page(realm.name, realm.page_url("consent"), realm.page_url("login"), client, pending.id, user,
                        pending.scopes)

"""`GET /authorize`: the authorization endpoint (RFC 6749 §4.1.1 with PKCE and OIDC's nonce and prompt)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from localcloud.oidc.authorization import AuthorizationRequest, parse_authorization_request
from localcloud.oidc.errors import AuthorizeRedirect, BrowserError, LoginRequired, UserConsentRequired
from localcloud.oidc.handlers.views import consent_view, login_view, page_for
from localcloud.oidc.pending import (
    BINDING_COOKIE,
    PENDING_SECONDS,
    SESSION_COOKIE,
    SignInSession,
    begin,
    browser_binding,
    current_session,
)
from localcloud.oidc.realm import Realm
from localcloud.oidc.responses import redirect, set_realm_cookie
from localcloud.oidc.users import user_by_sub

__all__ = ["authorize"]


def _session(realm: Realm, request: Request, auth: AuthorizationRequest) -> SignInSession | None:
    """The browser's sign-in session, unless the client forces a fresh login (prompt=login)."""
    if "login" in auth.prompt:
        return None
    session = current_session(realm, request.cookies.get(SESSION_COOKIE))
    return session if session and user_by_sub(realm.store, session.sub) else None


def _no_interaction(auth: AuthorizationRequest, session: SignInSession | None) -> Response:
    # Consent is asked on every authorization, so prompt=none can never succeed silently.
    error = UserConsentRequired("consent is always asked") if session else LoginRequired("the user is not signed in")
    return redirect(AuthorizeRedirect(error, auth.redirect_uri, auth.state).location())


def authorize(realm: Realm, request: Request, body: bytes) -> Response:
    """Check the request, then show the login form (or consent, when already signed in)."""
    try:
        auth = parse_authorization_request(request.query_params.multi_items(), realm.client)
    except BrowserError as error:
        return page_for(realm, error)
    except AuthorizeRedirect as error:
        return redirect(error.location())
    session = _session(realm, request, auth)
    if "none" in auth.prompt:
        return _no_interaction(auth, session)
    binding = browser_binding(request.cookies.get(BINDING_COOKIE))
    pending = begin(realm, auth, binding, session)
    user = user_by_sub(realm.store, session.sub) if session else None
    response = consent_view(realm, pending, auth.client, user) if user else login_view(realm, pending, auth.client)
    set_realm_cookie(realm, response, BINDING_COOKIE, binding, PENDING_SECONDS)
    return response

"""`GET /consent?request_id=` (the consent form) and `POST /consent` (`decision=approve|deny`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from localcloud.oidc.errors import AccessDenied, AuthorizeRedirect, BrowserError, with_query
from localcloud.oidc.grants import issue_code
from localcloud.oidc.handlers.views import browser_form, client_of, consent_view, login_view, page_for, pending_of
from localcloud.oidc.pending import PendingAuthorization, finish
from localcloud.oidc.realm import Realm
from localcloud.oidc.responses import redirect
from localcloud.oidc.users import DemoUser, user_by_sub

__all__ = ["show_consent", "submit_consent"]


def _user(realm: Realm, pending: PendingAuthorization) -> DemoUser | None:
    return user_by_sub(realm.store, pending.sub) if pending.sub else None


def show_consent(realm: Realm, request: Request, body: bytes) -> Response:
    """The consent form, or the login form while the user is not known yet."""
    try:
        pending = pending_of(realm, request, request.query_params.get("request_id", ""))
        client = client_of(realm, pending)
    except BrowserError as error:
        return page_for(realm, error)
    user = _user(realm, pending)
    return consent_view(realm, pending, client, user) if user else login_view(realm, pending, client)


def _answer(realm: Realm, pending: PendingAuthorization, decision: str) -> Response:
    """Consume the pending request once and send the client its code, or access_denied."""
    with realm.store.locked():
        if not finish(realm, pending):
            raise BrowserError("Already answered", "This request was already answered. Go back to the application.")
        if decision == "deny":
            error = AccessDenied("the user denied the request")
            return redirect(AuthorizeRedirect(error, pending.redirect_uri, pending.state).location())
        params = {"code": issue_code(realm, pending)}
    if pending.state is not None:
        params["state"] = pending.state
    return redirect(with_query(pending.redirect_uri, params))


def submit_consent(realm: Realm, request: Request, body: bytes) -> Response:
    """The user's decision for a pending request this browser started and signed in to."""
    try:
        form = browser_form(request, body)
        pending = pending_of(realm, request, form.get("request_id", ""))
        client = client_of(realm, pending)
        decision = form.get("decision", "")
        if decision not in ("approve", "deny"):
            raise BrowserError("Invalid answer", "Choose Allow or Deny on the consent page.")
        if _user(realm, pending) is None:
            return login_view(realm, pending, client, "Sign in first.")
        return _answer(realm, pending, decision)
    except BrowserError as error:
        return page_for(realm, error)

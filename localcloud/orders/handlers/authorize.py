"""`GET /oauth/authorize` (the consent page, or sign-in first) and `POST /oauth/authorize` (`action`=approve|deny).

A new request (`client_id`, `redirect_uri`, `response_type`, `scope`, `state`, optional PKCE) is checked, stored as
pending and bound to this browser; `GET /oauth/authorize?request_id=…` shows a pending request's page again (where
sign-in lands). Approving sends the browser to the redirect URI with a single-use code and the state; denying, with
`error=access_denied`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from localcloud.oidc.users import user_by_sub
from localcloud.orders.authorization import parse_authorization_request
from localcloud.orders.client import ORDER_CLIENT_ID, allowed_redirect
from localcloud.orders.errors import PageError, with_query
from localcloud.orders.grants import Grant, issue_code
from localcloud.orders.handlers.views import browser_form, login_view, pending_page, set_service_cookie
from localcloud.orders.service import OrderService
from localcloud.orders.signin import (
    BINDING_COOKIE,
    PENDING_SECONDS,
    SESSION_COOKIE,
    PendingAuthorization,
    begin,
    browser_binding,
    finish,
    load_bound,
    session_user,
)
from localcloud.orders.web import redirect

__all__ = ["show_authorize", "submit_authorize"]


def _start(service: OrderService, request: Request) -> Response:
    auth = parse_authorization_request(request.query_params.multi_items(),
                                       lambda uri: allowed_redirect(service.urls, uri))
    binding = browser_binding(request.cookies.get(BINDING_COOKIE))
    user = session_user(service, request.cookies.get(SESSION_COOKIE))
    request_id, pending = begin(service, auth, binding, user.sub if user else None)
    response = pending_page(service, request_id, pending)
    set_service_cookie(service, response, BINDING_COOKIE, binding, PENDING_SECONDS)
    return response


def show_authorize(service: OrderService, request: Request, body: bytes) -> Response:
    """A new authorization request, or (with `request_id` alone) a pending one's page again."""
    request_id = request.query_params.get("request_id")
    if request_id is not None and "client_id" not in request.query_params:
        pending = load_bound(service, request_id, request.cookies.get(BINDING_COOKIE))
        return pending_page(service, request_id, pending)
    return _start(service, request)


def _answer(service: OrderService, request_id: str, pending: PendingAuthorization, action: str) -> Response:
    """Consume the pending request once, then send the client its code, or access_denied."""
    with service.store.locked():
        if not finish(service, request_id):
            raise PageError("Already answered", "This request was already answered. Go back to the application.")
        if action == "deny":
            params = {"error": "access_denied", "error_description": "User denied"}
        else:
            grant = Grant(str(pending.sub), pending.scopes, ORDER_CLIENT_ID)
            params = {"code": issue_code(service, grant, pending.redirect_uri, pending.code_challenge)}
    if pending.state is not None:
        params["state"] = pending.state
    return redirect(with_query(pending.redirect_uri, params))


def submit_authorize(service: OrderService, request: Request, body: bytes) -> Response:
    """The user's answer on the consent page of a pending request this browser started."""
    form = browser_form(request, body)
    request_id = form.get("request_id", "")
    pending = load_bound(service, request_id, request.cookies.get(BINDING_COOKIE))
    action = form.get("action", "")
    if action not in ("approve", "deny"):
        raise PageError("Invalid answer", "Choose Allow or Deny on the consent page.")
    if pending.sub is None or user_by_sub(service.store, pending.sub) is None:
        return login_view(service, request_id, "Sign in first.")
    return _answer(service, request_id, pending, action)


"""`GET /oauth/login?request_id=` (sign in as someone else: "not you?") and `POST /oauth/login` (the password form).

A successful sign-in opens a session (`lc_orders_session`) and goes back to the pending request's consent page
with a 303, so a reload never posts the password again.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from localcloud.orders.handlers.views import browser_form, login_view, resume_url, set_service_cookie
from localcloud.orders.service import OrderService
from localcloud.orders.signin import BINDING_COOKIE, SESSION_COOKIE, check_password, load_bound, open_session
from localcloud.orders.web import redirect

__all__ = ["show_login", "submit_login"]

_MAX_FIELD = 256


def show_login(service: OrderService, request: Request, body: bytes) -> Response:
    """The sign-in form again for a pending request of this browser."""
    request_id = request.query_params.get("request_id", "")
    load_bound(service, request_id, request.cookies.get(BINDING_COOKIE))
    return login_view(service, request_id)


def submit_login(service: OrderService, request: Request, body: bytes) -> Response:
    """Check the password for a pending request of this browser, within the limits on guessing."""
    form = browser_form(request, body)
    request_id = form.get("request_id", "")
    load_bound(service, request_id, request.cookies.get(BINDING_COOKIE))
    username, password = form.get("username", "").strip(), form.get("password", "")
    if not username or not password or len(username) > _MAX_FIELD or len(password) > _MAX_FIELD:
        return login_view(service, request_id, "Enter your user name and password.", username[:_MAX_FIELD], 400)
    user = check_password(service, request_id, username, password)
    if user is None:
        return login_view(service, request_id, "Wrong user name or password. Try again.", username, 401)
    response = redirect(resume_url(service, request_id), status=303)
    set_service_cookie(service, response, SESSION_COOKIE, open_session(service, user.sub), None)
    return response

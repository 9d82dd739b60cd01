"""What the browser-facing handlers share: the sign-in and consent views of a pending request, and cookies."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from localcloud.oidc.users import demo_password_is_default, demo_users, user_by_sub
from localcloud.orders.errors import InvalidRequest, PageError
from localcloud.orders.forms import parse_form
from localcloud.orders.pages import consent_page, login_page
from localcloud.orders.service import AUTHORIZE_PATH, LOGIN_PATH, OrderService
from localcloud.orders.signin import PendingAuthorization

__all__ = ["browser_form", "login_view", "pending_page", "resume_url", "set_service_cookie"]


def set_service_cookie(service: OrderService, response: Response, name: str, value: str,
                       max_age: int | None) -> None:
    """An HttpOnly, SameSite=Lax cookie for the service's pages only; `max_age=None` lasts until the browser closes."""
    response.set_cookie(name, value, max_age=max_age, path=service.cookie_path, httponly=True, samesite="lax",
                        secure=service.secure_cookies)


def resume_url(service: OrderService, request_id: str) -> str:
    """Where a pending request's page is shown again (after signing in)."""
    return f"{service.page_url(AUTHORIZE_PATH)}?request_id={quote(request_id, safe='')}"


def browser_form(request: Request, body: bytes) -> dict[str, str]:
    """A form posted by a browser; a malformed one is a page, not JSON."""
    try:
        return parse_form(body, request.headers.get("content-type"))
    except InvalidRequest as error:
        raise PageError("Invalid form", f"The form could not be read ({error.description}). Go back and retry.") \
            from None


def login_view(service: OrderService, request_id: str, message: str = "", username: str = "",
               status: int = 200) -> Response:
    """The sign-in form of a pending request."""
    return login_page(service.page_url(LOGIN_PATH), request_id, demo_users(service.store),
                      demo_password_is_default(service.store), message, username, status)


def pending_page(service: OrderService, request_id: str, pending: PendingAuthorization) -> Response:
    """The consent form when the request's user is known, else the sign-in form."""
    user = user_by_sub(service.store, pending.sub) if pending.sub else None
    if user is None:
        return login_view(service, request_id)
    return consent_page(service.page_url(AUTHORIZE_PATH), service.page_url(LOGIN_PATH), request_id, user,
                        pending.scopes, pending.redirect_uri)

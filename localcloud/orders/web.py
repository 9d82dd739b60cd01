"""The thin HTTP layer of the order service: bounded bodies, store work off the event loop, errors rendered."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from localcloud.orders.errors import (
    ApiError,
    AuthorizeRedirect,
    InvalidClient,
    InvalidRequest,
    OAuthError,
    OrderServiceError,
    PageError,
    PayloadTooLarge,
)
from localcloud.orders.pages import PAGE_HEADERS, error_page
from localcloud.orders.service import OrderService
from localcloud.store import Store
from localcloud.urls import LocalUrls
from web.bodies import read_body

__all__ = ["MAX_API_BODY", "MAX_FORM_BODY", "NO_STORE", "Handler", "endpoint", "redirect", "token_json"]

MAX_FORM_BODY = 16 * 1024  # the forms are a few short fields
MAX_API_BODY = 64 * 1024  # an order of MAX_ITEMS items with long names fits several times over
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 §5.1

Handler = Callable[[OrderService, Request, bytes], Response]


def token_json(body: dict[str, Any], status: int = 200) -> JSONResponse:
    """A token endpoint answer (tokens or an RFC 6749 §5.2 error), never cached."""
    return JSONResponse(body, status_code=status, headers=NO_STORE)


def redirect(location: str, status: int = 302) -> RedirectResponse:
    """A redirect that is never cached and leaks no referrer."""
    return RedirectResponse(location, status_code=status, headers=PAGE_HEADERS)


def render(error: OrderServiceError) -> Response:
    """The answer for any of the service's errors, in its caller's shape."""
    if isinstance(error, ApiError):
        return JSONResponse({"detail": error.detail}, status_code=error.status, headers=error.headers)
    if isinstance(error, OAuthError):
        headers = {"WWW-Authenticate": 'Bearer realm="order-service"'} if isinstance(error, InvalidClient) else {}
        return JSONResponse(error.as_json(), status_code=error.status, headers={**NO_STORE, **headers})
    if isinstance(error, AuthorizeRedirect):
        return redirect(error.location())
    assert isinstance(error, PageError)
    return error_page(error.title, error.message, error.status, error.retry_after)


def _too_large(kind: str, limit: int) -> OrderServiceError:
    message = f"the request body is larger than {limit} bytes"
    if kind == "api":
        return PayloadTooLarge(f"Request body too large: at most {limit} bytes")
    if kind == "oauth":
        error = InvalidRequest(message)
        error.status = 413
        return error
    return PageError("Request too large", "This page takes small forms only.", 413)


def endpoint(store: Store, clock: Callable[[], float], urls: Callable[[], LocalUrls], handler: Handler, kind: str,
             max_body: int) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint running `handler` in the threadpool; `kind` (api, oauth, page) says how a body over
    `max_body` is refused."""
    async def run(request: Request) -> Response:
        try:
            body = await read_body(request, max_body) if request.method in ("POST", "PUT", "PATCH") else b""
            if body is None:
                raise _too_large(kind, max_body)
            # The store is SQLite behind a lock, and a password check is slow: keep both off the event loop.
            return await run_in_threadpool(handler, OrderService(store, urls(), clock()), request, body)
        except OrderServiceError as error:
            return render(error)
    return run

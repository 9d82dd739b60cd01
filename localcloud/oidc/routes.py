"""The sign-in server's routes: the same endpoints for every realm under `/oauth/{realm}/`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from localcloud.oidc.forms import MAX_FORM_BYTES
from localcloud.oidc.handlers.authorize import authorize
from localcloud.oidc.handlers.consent import show_consent, submit_consent
from localcloud.oidc.handlers.discovery import show_discovery, show_jwks
from localcloud.oidc.handlers.introspect import introspect
from localcloud.oidc.handlers.login import show_login, submit_login
from localcloud.oidc.handlers.logout import end_session_endpoint
from localcloud.oidc.handlers.revoke import revoke
from localcloud.oidc.handlers.token import token
from localcloud.oidc.handlers.userinfo import userinfo
from localcloud.oidc.realm import Realm
from localcloud.oidc.users import ensure_demo_users
from localcloud.store import Store
from localcloud.urls import REALMS, LocalUrls
from web.bodies import read_body

__all__ = ["oidc_routes"]

Handler = Callable[[Realm, Request, bytes], Response]

_ENDPOINTS: list[tuple[str, Handler, list[str]]] = [
    ("/.well-known/openid-configuration", show_discovery, ["GET"]),
    ("/jwks", show_jwks, ["GET"]),
    ("/authorize", authorize, ["GET"]),
    ("/login", show_login, ["GET"]),
    ("/login", submit_login, ["POST"]),
    ("/consent", show_consent, ["GET"]),
    ("/consent", submit_consent, ["POST"]),
    ("/token", token, ["POST"]),
    ("/userinfo", userinfo, ["GET", "POST"]),
    ("/revoke", revoke, ["POST"]),
    ("/introspect", introspect, ["POST"]),
    ("/logout", end_session_endpoint, ["GET", "POST"]),
]


def oidc_routes(store: Store, clock: Callable[[], float], urls: Callable[[], LocalUrls]) -> list[Route]:
    """Discovery, JWKS, authorize/login/consent/logout pages, token, userinfo, revoke and introspect per realm."""
    ensure_demo_users(store)  # seeded at first start, so the first login page already lists them

    def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            name = request.path_params["realm"]
            if name not in REALMS:
                return JSONResponse({"error": "not_found", "error_description": f"no realm {name!r}"}, 404)
            body = await read_body(request, MAX_FORM_BYTES) if request.method == "POST" else b""
            if body is None:
                return JSONResponse({"error": "invalid_request", "error_description": "request body too large"}, 413)
            # The store blocks, and password hashing is slow: keep both off the event loop.
            return await run_in_threadpool(handler, Realm(name, store, urls(), clock()), request, body)
        return run

    return [Route(f"/oauth/{{realm}}{path}", endpoint(handler), methods=methods)
            for path, handler, methods in _ENDPOINTS]

"""The app's own HTTP routes, beside Streamlit's: one list, so app.py and the tests serve exactly the same.

The sign-in and consent routes are declared by path up front and loaded on their first request: their modules
bring SQLAlchemy and the broker, which `streamlit run` would otherwise import before it answers its health check.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import anyio
import anyio.to_thread
from starlette.routing import BaseRoute, Match, Mount, Route
from starlette.types import Receive, Scope, Send

from identity.broker.paths import CONSENT_PATHS
from identity.signin.paths import SIGNIN_PATHS
from ui.runtime import (
    app_url,
    consent_user,
    current_broker,
    local_cloud_url,
    login_sessions,
    provider_logout_url,
    secure_cookies,
)
from web.local_proxy import LOCALCLOUD_MOUNT, LocalCloudProxy

__all__ = ["http_routes"]


class DeferredRoutes:
    """One ASGI app for a group of routes known by path: builds them on the first request (in a worker thread, off
    the event loop) and hands each request to the route with its path, which checks the method itself."""

    def __init__(self, build: Callable[[], Sequence[Route]]) -> None:
        self._build = build
        self._routes: Sequence[Route] | None = None
        self._lock = anyio.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._routes is None:
            async with self._lock:
                if self._routes is None:
                    self._routes = await anyio.to_thread.run_sync(self._build)
        # Matched as Starlette matches (a root path, path parameters): only a declared path reaches this app.
        route = next(route for route in self._routes if route.matches(scope)[0] is not Match.NONE)
        await route.handle(scope, receive, send)


def _deferred(paths: Sequence[str], build: Callable[[], Sequence[Route]]) -> list[BaseRoute]:
    app = DeferredRoutes(build)
    return [Route(path, app) for path in paths]


def _signin_routes() -> list[Route]:
    from identity.signin import signin_routes
    from ui.sign_out import run_sign_out_hooks  # not ui.signin: see ui/sign_out.py

    return signin_routes(login_sessions, secure=secure_cookies, on_sign_out=run_sign_out_hooks,
                         end_session=provider_logout_url)


def _consent_routes() -> list[Route]:
    from identity.broker.routes import consent_routes

    return consent_routes(consent_user, current_broker, app_url, secure_cookies)


def http_routes() -> list[BaseRoute]:
    """`/lc/…` (localcloud's browser pages on the app's origin), the sign-in routes (`/auth/begin`,
    `/auth/session`, `/auth/logout`, `/oauth2callback`) and the consent routes (`/consent/authorize`, `/callback`)."""
    return [Mount(LOCALCLOUD_MOUNT, app=LocalCloudProxy(local_cloud_url)),
            *_deferred(SIGNIN_PATHS, _signin_routes), *_deferred(CONSENT_PATHS, _consent_routes)]

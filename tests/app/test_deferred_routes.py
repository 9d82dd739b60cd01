"""The app's sign-in and consent routes are declared by path and built on their first request (web/routes.py):
served over real HTTP, each answers as the route itself does, methods and a mount's root path included."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from tests.support import served
from web.routes import DeferredRoutes


def _deferred_app(built: list[int]) -> Starlette:
    async def hello(_request: object) -> PlainTextResponse:
        return PlainTextResponse("hello")

    def build() -> list[Route]:
        built.append(1)
        return [Route("/auth/begin", hello, methods=["GET"]), Route("/callback", hello, methods=["GET"])]

    group = DeferredRoutes(build)
    routes = [Route("/auth/begin", group), Route("/callback", group)]
    return Starlette(routes=[*routes, Mount("/base", routes=routes)])


def test_deferred_routes_are_built_once_on_first_use_and_keep_their_methods_and_paths():
    built: list[int] = []
    with served(_deferred_app(built)) as port:
        base = f"http://127.0.0.1:{port}"
        assert built == []  # nothing loaded before a request needs it
        assert httpx.get(f"{base}/auth/begin", trust_env=False, timeout=10).text == "hello"
        assert httpx.get(f"{base}/base/callback", trust_env=False, timeout=10).text == "hello"  # under a root path
        assert httpx.post(f"{base}/callback", trust_env=False, timeout=10).status_code == 405
        assert httpx.get(f"{base}/auth/other", trust_env=False, timeout=10).status_code == 404
    assert built == [1]

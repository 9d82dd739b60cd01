"""The localcloud ASGI app: the RPC front on `POST /`, plus its own control routes."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from localcloud.dashscope import dashscope_routes
from localcloud.gateway import ai_gateway, gateway_routes
from localcloud.hosts import LoopbackHostOnly
from localcloud.oidc import oidc_routes
from localcloud.orders import order_routes
from localcloud.oss import oss_routes
from localcloud.request_log import RequestLog
from localcloud.resources import ResourceCenter, resource_routes
from localcloud.rpc.front import RpcFront
from localcloud.services import all_services, role_policy_documents
from localcloud.services.agentidentitydata import consent_routes
from localcloud.store import Store
from localcloud.urls import LocalUrls

__all__ = ["CONTROL_TOKEN_HEADER", "build_app"]

CONTROL_TOKEN_HEADER = "x-localcloud-control-token"


def build_app(store: Store, clock: Callable[[], float], region: str, urls: Callable[[], LocalUrls]) -> Starlette:
    """The whole emulator as one Starlette app."""
    log = RequestLog()
    resource_center = ResourceCenter(store, clock, urls)
    gateway = ai_gateway(store, clock, region, urls, log)
    front = RpcFront(all_services(), store, clock, region, role_policy_documents, urls, log)

    def authorized(request: Request) -> bool:
        # Control routes take the control token from the data directory, not just loopback access.
        # Bytes: a header may hold any Latin-1 text, and compare_digest raises on str that is not ASCII.
        token = request.headers.get(CONTROL_TOKEN_HEADER, "").encode("latin-1")
        return hmac.compare_digest(token, (store.meta("control_token") or "").encode())

    def refused() -> JSONResponse:
        return JSONResponse({"error": f"send the data directory's control token in {CONTROL_TOKEN_HEADER}"},
                            status_code=403)

    async def requests_seen(request: Request) -> JSONResponse:
        return JSONResponse({"counts": log.counts()}) if authorized(request) else refused()

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "service": "localcloud", "account_id": store.meta("account_id"),
                             "data_dir": str(store.path.parent), "region": region})

    async def reset(request: Request) -> JSONResponse:
        if not authorized(request):
            return refused()
        store.reset()
        log.clear()
        gateway.reset()
        return JSONResponse({"status": "reset"})

    routes = [
        Route("/", front.handle, methods=["POST"]),
        Route("/_localcloud/health", health, methods=["GET"]),
        Route("/_localcloud/reset", reset, methods=["POST"]),
        Route("/_localcloud/requests", requests_seen, methods=["GET"]),
        *oidc_routes(store, clock, urls),
        *consent_routes(store, clock, urls),
        *resource_routes(store, clock, urls, resource_center),
        *gateway_routes(gateway, authorized, refused),
        *dashscope_routes(store, clock),
        *order_routes(store, clock, urls),  # before OSS: `/order-service/orders` would look like a bucket and key
        *oss_routes(store, clock),  # last: `/{bucket}/{key}` would otherwise look like any two-segment path
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with resource_center.lifespan(app), gateway.lifespan(app):
            yield

    # The mounted MCP apps' own lifespans never run: their first request builds them, in localcloud's task groups.
    # Outermost: a request for a foreign Host name (DNS rebinding) reaches no route at all.
    return Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(LoopbackHostOnly)])

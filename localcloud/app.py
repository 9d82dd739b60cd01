"""The localcloud ASGI app: the RPC front on `POST /`, plus its own control routes."""

from __future__ import annotations

import hmac
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from localcloud.oidc import oidc_routes
from localcloud.rpc.front import RpcFront
from localcloud.services import all_services, role_policy_documents
from localcloud.services.agentidentitydata import consent_routes
from localcloud.store import Store
from localcloud.urls import LocalUrls

__all__ = ["CONTROL_TOKEN_HEADER", "build_app"]

CONTROL_TOKEN_HEADER = "x-localcloud-control-token"


def build_app(store: Store, clock: Callable[[], float], region: str, urls: Callable[[], LocalUrls]) -> Starlette:
    """The whole emulator as one Starlette app."""
    front = RpcFront(all_services(), store, clock, region, role_policy_documents, urls)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "service": "localcloud", "account_id": store.meta("account_id"),
                             "data_dir": str(store.path.parent), "region": region})

    async def reset(request: Request) -> JSONResponse:
        # Destructive, so it takes the control token from the data directory, not just loopback access.
        token = request.headers.get(CONTROL_TOKEN_HEADER, "")
        if not hmac.compare_digest(token, store.meta("control_token") or ""):
            return JSONResponse({"error": f"send the data directory's control token in {CONTROL_TOKEN_HEADER}"},
                                status_code=403)
        store.reset()
        return JSONResponse({"status": "reset"})

    routes = [
        Route("/", front.handle, methods=["POST"]),
        Route("/_localcloud/health", health, methods=["GET"]),
        Route("/_localcloud/reset", reset, methods=["POST"]),
        *oidc_routes(store, clock, urls),
        *consent_routes(store, clock, urls),
    ]
    return Starlette(routes=routes)

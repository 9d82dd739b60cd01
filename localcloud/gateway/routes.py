"""The gateway's routes: its MCP servers, and localcloud's control routes to read its decisions and try a request.

| route | what |
|---|---|
| `POST /mcp-servers/<name>` | an MCP server of the gateway (streamable HTTP, stateless), behind the plugin |
| `GET /_localcloud/gateway` | the gateway: id, ARN, its servers (URL, tools and their Cedar actions, plugin rule) |
| `GET /_localcloud/gateway/decisions?limit=&user=&tool=&decision=` | the newest decisions first |
| `POST /_localcloud/gateway/evaluate` | "Try a request" (below) |

"Try a request" takes `{"user_id", "tool", "arguments", "workload_identity", "issuer"}` and answers the decision and
its deciding policies; nothing is recorded and nothing is called.

The control routes need the data directory's control token, as `/_localcloud/requests` does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from localcloud.cedar import tool_action
from localcloud.gateway.config import GATEWAY_ID, MCP_SERVERS_PATH, server_path
from localcloud.gateway.decisions import MAX_LIMIT
from localcloud.gateway.errors import BadRequest, GatewayError, PayloadTooLarge
from localcloud.gateway.hosting import AIGateway
from web.bodies import read_body

__all__ = ["DECISIONS_PATH", "EVALUATE_PATH", "GATEWAY_PATH", "gateway_routes"]

GATEWAY_PATH = "/_localcloud/gateway"
DECISIONS_PATH = f"{GATEWAY_PATH}/decisions"
EVALUATE_PATH = f"{GATEWAY_PATH}/evaluate"
_MAX_EVALUATE_BODY = 64 * 1024
_DECISIONS = ("ALLOW", "DENY")


def _limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return 100
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadRequest(f"limit must be a whole number from 1 to {MAX_LIMIT}.", code="InvalidParameter.Limit")
    return int(raw)


def _decision(raw: str | None) -> str | None:
    if raw and raw.upper() not in _DECISIONS:
        raise BadRequest("decision must be ALLOW or DENY.", code="InvalidParameter.Decision")
    return raw.upper() if raw else None


def _text(body: dict[str, Any], name: str, *, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None or value == "":
        if required:
            raise BadRequest(f"{name} is required.", code=f"MissingParameter.{name}")
        return None
    if not isinstance(value, str) or len(value) > 1024:
        raise BadRequest(f"{name} must be a string of at most 1024 characters.", code=f"InvalidParameter.{name}")
    return value


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await read_body(request, _MAX_EVALUATE_BODY)
    if raw is None:
        raise PayloadTooLarge(f"The request body is larger than {_MAX_EVALUATE_BODY} bytes.")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise BadRequest("The body is not JSON.") from None
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.")
    if not isinstance(body.get("arguments"), dict | None):
        raise BadRequest("arguments must be a JSON object.", code="InvalidParameter.arguments")
    return body


def gateway_routes(gateway: AIGateway, authorized: Callable[[Request], bool],
                   refused: Callable[[], Response]) -> list[BaseRoute]:
    """The MCP servers' mount and the control routes (`authorized` checks the control token)."""
    plugin = gateway.plugin

    def guarded(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def run(request: Request) -> Response:
            if not authorized(request):
                return refused()
            try:
                return JSONResponse(await handler(request), headers={"Cache-Control": "no-store"})
            except GatewayError as error:
                return error.response()
        return run

    def describe() -> dict[str, Any]:
        base = gateway.urls().internal
        servers = [{"name": name, "url": f"{base}{server_path(name)}", "plugin": hosted.spec.plugin,
                    "tools": [{"name": tool, "action": tool_action(name, tool)} for tool in hosted.tools]}
                   for name, hosted in plugin.servers().items()]
        return {"gateway_id": GATEWAY_ID, "gateway_arn": plugin.gateway_arn(), "servers": servers}

    async def info(request: Request) -> dict[str, Any]:
        return await run_in_threadpool(describe)  # the store is SQLite behind a lock: off the event loop

    async def decisions(request: Request) -> dict[str, Any]:
        query = request.query_params
        limit, decision = _limit(query.get("limit")), _decision(query.get("decision"))
        found = await run_in_threadpool(lambda: plugin.decisions.query(
            plugin.account(), limit=limit, user=query.get("user") or None, tool=query.get("tool") or None,
            decision=decision))
        return {"decisions": found}

    async def evaluate(request: Request) -> dict[str, Any]:
        body = await _json_object(request)
        user_id, tool = _text(body, "user_id", required=True), _text(body, "tool", required=True)
        assert user_id is not None and tool is not None
        return await run_in_threadpool(lambda: plugin.try_request(
            user_id=user_id, tool=tool, arguments=body.get("arguments"), workload=_text(body, "workload_identity"),
            issuer=_text(body, "issuer")))

    return [
        Mount(MCP_SERVERS_PATH, app=gateway),
        Route(GATEWAY_PATH, guarded(info), methods=["GET"]),
        Route(DECISIONS_PATH, guarded(decisions), methods=["GET"]),
        Route(EVALUATE_PATH, guarded(evaluate), methods=["POST"]),
    ]

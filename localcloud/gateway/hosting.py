"""The gateway as an ASGI app mounted at `/mcp-servers`: the plugin in front, the MCP server it builds on its first
request behind.

Like the resource center's, the MCP server is built off the event loop on the first request (the MCP SDK is imported
then, not when localcloud starts), stateless, with its session manager running in the gateway's own task group
while localcloud serves.

Every request: an unknown server 404, anything but POST 405, a body over `MAX_BODY_BYTES` 413, then the plugin
(`GatewayPlugin.admit`: 401, 403, 500, or a -32042 JSON-RPC answer); what passes goes to the MCP server with the
body replayed, `Authorization` replaced by the injected header (or removed), and the plugin's `Admission` in the
ASGI scope.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Message, Receive, Scope, Send

from localcloud.gateway.config import MCP_SERVERS_PATH
from localcloud.gateway.errors import GatewayError, MethodNotAllowed, PayloadTooLarge, UnknownServer
from localcloud.gateway.plugin import ADMISSION_KEY, Admission, GatewayPlugin
from localcloud.gateway.tools import SERVER_NAMES, hosted_servers, upstream_base
from localcloud.mcp_hosting import LazyMcpServers
from localcloud.request_log import RequestLog
from localcloud.store import Store
from localcloud.urls import LocalUrls
from web.bodies import read_body

if TYPE_CHECKING:
    from mcp.server.lowlevel import Server

__all__ = ["MAX_BODY_BYTES", "AIGateway", "ai_gateway"]

MAX_BODY_BYTES = 1024 * 1024
_UNAVAILABLE = {"code": "ServiceUnavailable", "message": "the AI Gateway runs while localcloud serves"}


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands out the already-read body once, then waits on the client (for its disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _forwarded_scope(scope: Scope, admission: Admission) -> Scope:
    """The scope the MCP server sees: no caller credential, the injected header if any, the admission."""
    headers = [(name, value) for name, value in scope["headers"] if name.lower() != b"authorization"]
    if admission.injected is not None:
        name, value = admission.injected
        headers = [(n, v) for n, v in headers if n.lower() != name.lower().encode("latin-1")]
        headers.append((name.lower().encode("latin-1"), value.encode("latin-1")))
    return {**scope, "headers": headers, ADMISSION_KEY: admission}


class AIGateway:
    """localcloud's AI Gateway: `/mcp-servers/<name>` for each MCP server it hosts."""

    def __init__(self, plugin: GatewayPlugin, urls: Callable[[], LocalUrls]) -> None:
        self.plugin, self.urls = plugin, urls
        self._servers = LazyMcpServers(self._build, lambda name: f"/{name}")
        self.lifespan = self._servers.lifespan

    def _build(self) -> dict[str, Server[Any]]:
        from localcloud.gateway.mcp_app import build_gateway_server

        return {name: build_gateway_server(name, hosted.routes, lambda: upstream_base(self.urls()),
                                           self.plugin.forget_token)
                for name, hosted in self.plugin.servers().items()}

    def reset(self) -> None:
        """Forget what the gateway holds in memory (its downstream tokens), as localcloud's reset forgets the rest."""
        self.plugin.tokens.clear()

    def _server_of(self, scope: Scope) -> str:
        name = scope["path"].rstrip("/").removeprefix(MCP_SERVERS_PATH + "/")
        if name not in SERVER_NAMES:
            raise UnknownServer(f"The gateway hosts no MCP server at {scope['path'][:200]}.")
        return name

    async def _admit(self, scope: Scope, receive: Receive) -> tuple[Admission, bytes]:
        server = self._server_of(scope)
        if scope["method"] != "POST":
            raise MethodNotAllowed("This MCP server is stateless and offers no SSE stream: POST JSON-RPC messages.")
        request = Request(scope, receive)
        body = await read_body(request, MAX_BODY_BYTES)
        if body is None:
            raise PayloadTooLarge(f"The request body is larger than {MAX_BODY_BYTES} bytes.")
        admission = await anyio.to_thread.run_sync(self.plugin.admit, server, request.headers.get("authorization"),
                                                   body)
        return admission, body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        try:
            admission, body = await self._admit(scope, receive)
        except GatewayError as error:
            await error.response()(scope, receive, send)
            return
        if admission.reply is not None:
            await JSONResponse(admission.reply, headers={"Cache-Control": "no-store"})(scope, receive, send)
            return
        app = await self._servers.app(admission.server)
        if app is None:
            await JSONResponse(_UNAVAILABLE, status_code=503)(scope, receive, send)
            return
        await app(_forwarded_scope(scope, admission), _replay(body, receive), send)


def ai_gateway(store: Store, clock: Callable[[], float], region: str, urls: Callable[[], LocalUrls],
               log: RequestLog | None = None) -> AIGateway:
    """localcloud's gateway with its servers and plugin (nothing imported or built before its first request)."""
    return AIGateway(GatewayPlugin(store, clock, region, urls, hosted_servers, log), urls)

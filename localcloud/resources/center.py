"""Where the "resourcecenter" MCP server is mounted, and `ResourceCenter`, which builds it on its first request.

The MCP SDK's server side costs about a second to import, and most visits never call it (sign-in, Setup, the
other tools): so localcloud starts without it, and the first MCP request builds the server (off the event loop)
and starts its session manager in localcloud's own task group, where it runs until localcloud stops.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from localcloud.mcp_hosting import LazyMcpServers
from localcloud.store import Store
from localcloud.urls import LocalUrls

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

__all__ = ["MCP_ENDPOINT_PATH", "MCP_METADATA_PATH", "MCP_MOUNT", "ResourceCenter"]

MCP_MOUNT = "/mcp/resourcecenter"
MCP_ENDPOINT_PATH = f"{MCP_MOUNT}/mcp"
MCP_METADATA_PATH = f"/.well-known/oauth-protected-resource{MCP_ENDPOINT_PATH}"

_NAME = "resourcecenter"
_UNAVAILABLE = {"error": "temporarily_unavailable", "error_description": "the MCP server runs while localcloud serves"}
# A stateless server has no session to push messages on, yet the SDK would hold a GET's SSE stream open forever: a
# hang for the client and a task per request here. The streamable HTTP spec's answer for "no SSE stream" is 405.
_NO_SSE_STREAM = JSONResponse(
    {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Method Not Allowed: this server is "
                                             "stateless and offers no SSE stream; POST JSON-RPC messages instead"}},
    status_code=405, headers={"Allow": "POST"})


class ResourceCenter:
    """The MCP server as an ASGI app mounted in localcloud, built on the first request that needs it."""

    def __init__(self, store: Store, clock: Callable[[], float], urls: Callable[[], LocalUrls]) -> None:
        self._store, self._clock, self._urls = store, clock, urls
        self._servers = LazyMcpServers(lambda: {_NAME: self._build()}, lambda name: "/mcp")
        self.lifespan = self._servers.lifespan

    def _build(self) -> MCPServer:
        from localcloud.resources.mcp_server import build_resource_center

        return build_resource_center(self._store, self._clock, self._urls)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = await self._servers.app(_NAME)
        if app is None:
            await JSONResponse(_UNAVAILABLE, status_code=503)(scope, receive, send)
            return
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].rstrip("/") == MCP_ENDPOINT_PATH:
            await _NO_SSE_STREAM(scope, receive, send)
            return
        await app(scope, receive, send)

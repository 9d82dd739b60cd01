"""Where the "resourcecenter" MCP server is mounted, and `ResourceCenter`, which builds it on its first request.

The MCP SDK's server side costs about a second to import, and most visits never call it (sign-in, Setup, the
other tools): so localcloud starts without it, and the first MCP request builds the server (off the event loop)
and starts its session manager in localcloud's own task group, where it runs until localcloud stops.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from anyio.abc import TaskGroup, TaskStatus
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from localcloud.store import Store
from localcloud.urls import LocalUrls

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

__all__ = ["MCP_ENDPOINT_PATH", "MCP_METADATA_PATH", "MCP_MOUNT", "ResourceCenter"]

MCP_MOUNT = "/mcp/resourcecenter"
MCP_ENDPOINT_PATH = f"{MCP_MOUNT}/mcp"
MCP_METADATA_PATH = f"/.well-known/oauth-protected-resource{MCP_ENDPOINT_PATH}"

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
        self._app: ASGIApp | None = None
        self._group: TaskGroup | None = None
        self._lock: anyio.Lock | None = None

    @asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        """While localcloud serves: a task group for the session manager, once the server is built."""
        self._lock = anyio.Lock()
        async with anyio.create_task_group() as group:
            self._group = group
            try:
                yield
            finally:
                self._group, self._app = None, None
                group.cancel_scope.cancel()

    async def _built(self) -> ASGIApp | None:
        if self._app is not None or self._group is None or self._lock is None:
            return self._app
        async with self._lock:
            if self._app is None and self._group is not None:
                server = await anyio.to_thread.run_sync(self._build)
                # Stateless: every request stands alone, as the sample's HttpStatelessClient expects; no sessions
                # linger. host=127.0.0.1 keeps DNS-rebinding protection (127.0.0.1:*, localhost:*).
                app = server.streamable_http_app(streamable_http_path="/mcp", stateless_http=True, host="127.0.0.1")
                await self._group.start(_run_sessions, server)
                self._app = app
        return self._app

    def _build(self) -> MCPServer:
        from localcloud.resources.mcp_server import build_resource_center

        return build_resource_center(self._store, self._clock, self._urls)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = await self._built()
        if app is None:
            await JSONResponse(_UNAVAILABLE, status_code=503)(scope, receive, send)
            return
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].rstrip("/") == MCP_ENDPOINT_PATH:
            await _NO_SSE_STREAM(scope, receive, send)
            return
        await app(scope, receive, send)


async def _run_sessions(server: MCPServer, *, task_status: TaskStatus[Any] = anyio.TASK_STATUS_IGNORED) -> None:
    async with server.session_manager.run():
        task_status.started()
        await anyio.sleep_forever()

"""MCP servers hosted in localcloud (the resource center, the AI Gateway's), built on the first request for them.

The MCP SDK's server side costs about a second to import, and most visits never call one (sign-in, Setup, the
other tools): so localcloud starts without them, the first request builds them (off the event loop), and their
session managers run in localcloud's own task group until localcloud stops. Stateless: every POST stands alone, as
the sample's clients expect; host=127.0.0.1 keeps the SDK's DNS-rebinding protection (127.0.0.1:*, localhost:*).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.to_thread
from anyio.abc import TaskGroup, TaskStatus
from starlette.applications import Starlette
from starlette.types import ASGIApp

__all__ = ["LazyMcpServers"]


class LazyMcpServers:
    """Named MCP servers as ASGI apps: `build()` makes the SDK servers, `path(name)` each one's route in its app."""

    def __init__(self, build: Callable[[], Mapping[str, Any]], path: Callable[[str], str]) -> None:
        self._build, self._path = build, path
        self._apps: dict[str, ASGIApp] | None = None
        self._group: TaskGroup | None = None
        self._lock: anyio.Lock | None = None

    @asynccontextmanager
    async def lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        """While localcloud serves: a task group for the session managers, once the servers are built."""
        self._lock = anyio.Lock()
        async with anyio.create_task_group() as group:
            self._group = group
            try:
                yield
            finally:
                self._group, self._apps = None, None
                group.cancel_scope.cancel()

    async def app(self, name: str) -> ASGIApp | None:
        """The server `name` as an ASGI app, built on first use; None outside localcloud's lifespan."""
        if self._apps is None and self._group is not None and self._lock is not None:
            async with self._lock:
                if self._apps is None and self._group is not None:
                    self._apps = await self._started(self._group)
        return (self._apps or {}).get(name)

    async def _started(self, group: TaskGroup) -> dict[str, ASGIApp]:
        servers = await anyio.to_thread.run_sync(self._build)
        apps: dict[str, ASGIApp] = {}
        for name, server in servers.items():
            apps[name] = server.streamable_http_app(streamable_http_path=self._path(name), stateless_http=True,
                                                    host="127.0.0.1")
            await group.start(_run_sessions, server)
        return apps


async def _run_sessions(server: Any, *, task_status: TaskStatus[Any] = anyio.TASK_STATUS_IGNORED) -> None:
    async with server.session_manager.run():
        task_status.started()
        await anyio.sleep_forever()

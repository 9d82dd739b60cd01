"""The Alibaba Cloud MCP server's own tools, offered to the agent (OAuth2 bearer over streamable HTTP).

The server is asked for its tools with the user's consented token; each becomes a Tool whose call
goes back to the server. Every session is bounded by a timeout, so an unreachable server fails fast
instead of hanging the turn (the sample hangs here).

The server's tools take arguments the model chose, and the real server turns them into OpenAPI requests made
with the user's token: each is checked before the call (only the arguments the tool declares; region and
instance ids by Alibaba Cloud's grammar, any other text capped and free of control characters).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

import anyio
import httpx2
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from tools.arguments import check_argument, mcp_grammar, strings_in
from tools.base import ArgumentCheck, CredentialSpec, Tool, ToolContext, ToolError
from tools.errors import InvalidArgument, ServiceFailed
from tools.services import MCP_SCOPES

__all__ = ["MCP_CREDENTIAL", "discover_mcp_tools"]

T = TypeVar("T")
MCP_CREDENTIAL = CredentialSpec("oauth2", "mcp_oauth_provider_name", MCP_SCOPES)
SESSION_TIMEOUT_SECONDS = 20.0


def _in_session(url: str, token: str, use: Callable[[ClientSession], Awaitable[T]], timeout: float) -> T:
    """Run `use` in an MCP session, in a thread of its own (callers may already run an event loop)."""

    async def run() -> T:
        client = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, trust_env=False, timeout=timeout)
        with anyio.fail_after(timeout):
            async with client, streamable_http_client(url, http_client=client) as (read, write), \
                    ClientSession(read, write) as session:
                await session.initialize()
                return await use(session)

    # Not `with`: leaving that block waits for the thread, which would defeat the safety-net timeout below.
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(anyio.run, run)
    try:
        return future.result(timeout=timeout + 5)
    except FutureTimeout:
        raise ServiceFailed(f"the MCP server at {url} did not answer within {timeout:.0f} s") from None
    except ToolError:
        raise
    except BaseException as exc:
        raise ServiceFailed(f"the MCP server at {url} failed: {_reason(exc)}") from None
    finally:
        pool.shutdown(wait=False)


def _reason(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{exc.__class__.__name__}: {str(exc)[:160]}"


def _text(result: Any) -> str:
    parts = [getattr(block, "text", "") for block in getattr(result, "content", []) or []]
    text = "\n".join(p for p in parts if p) or json.dumps(getattr(result, "structured_content", None))
    if getattr(result, "is_error", False) or getattr(result, "isError", False):
        raise ServiceFailed(text)
    return text


def _argument_check(tool_name: str, schema: Mapping[str, Any]) -> ArgumentCheck:
    """Checks a server tool's arguments: declared by its schema (when it lists any), every string by its grammar."""
    declared = sorted(schema.get("properties") or {})

    def check(arguments: Mapping[str, Any]) -> None:
        for name, value in arguments.items():
            if declared and name not in declared:
                raise InvalidArgument(f"{tool_name} takes no argument {name[:40]!r}; it takes {', '.join(declared)}. "
                                "Nothing was sent.")
            for text in strings_in(value):
                check_argument(name, text, mcp_grammar(name))

    return check


def _as_tool(url: str, listed: Any) -> Tool:
    name = listed.name
    schema = getattr(listed, "input_schema", None) or getattr(listed, "inputSchema", None) or {"type": "object"}
    check = _argument_check(name, schema)

    def call(context: ToolContext, **arguments: Any) -> str:
        check(arguments)  # again here, for callers that do not go through the runner
        result = _in_session(url, context.credential.value, lambda s: s.call_tool(name, arguments), context.timeout)
        return _text(result)

    description = (listed.description or name).splitlines()[0]
    return Tool(name, f"[Alibaba Cloud MCP] {description}", dict(schema), MCP_CREDENTIAL, call, check)


def discover_mcp_tools(url: str, token: str, timeout: float = SESSION_TIMEOUT_SECONDS) -> list[Tool]:
    """The MCP server's tools as agent tools; ToolError if the server cannot be reached or refuses."""

    async def names(session: ClientSession) -> Any:
        return await session.list_tools()

    listed = _in_session(url, token, names, timeout)
    return [_as_tool(url, tool) for tool in listed.tools]

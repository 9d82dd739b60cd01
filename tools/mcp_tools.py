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
from mcp.shared.exceptions import MCPError

from identity.tls import verified_tls
from tools.arguments import Grammar, check_argument, mcp_grammar, strings_in
from tools.base import ArgumentCheck, CredentialSpec, Tool, ToolContext, ToolError
from tools.errors import ElicitationRequired, InvalidArgument, ServiceFailed
from tools.services import MCP_SCOPES

__all__ = ["MCP_CREDENTIAL", "SESSION_TIMEOUT_SECONDS", "discover_mcp_tools", "result_text", "run_session",
           "server_argument_check"]

T = TypeVar("T")
MCP_CREDENTIAL = CredentialSpec("oauth2", "mcp_oauth_provider_name", MCP_SCOPES)
SESSION_TIMEOUT_SECONDS = 20.0
_SURFACED = (ToolError, ElicitationRequired)  # what a session's user raises on purpose: it comes out as itself


def run_session(url: str, token: str, use: Callable[[ClientSession], Awaitable[T]], timeout: float, *,
                hooks: Mapping[str, list[Any]] | None = None,
                refused: Callable[[MCPError], BaseException] | None = None) -> T:
    """Run `use` in an MCP session, in a thread of its own (callers may already run an event loop).

    `hooks` are the HTTP client's event hooks (to read an answer the MCP client drops, such as a gateway's 403 body).
    With `refused`, an MCP error in the session (initialize included) becomes what `refused` makes of it; a ToolError
    (or an ElicitationRequired) raised by `use` comes out as itself, never inside the client's exception group.
    """

    async def run() -> T:
        client = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, trust_env=False, timeout=timeout,
                                    verify=verified_tls(),
                                    event_hooks=dict(hooks or {}))
        caught: list[BaseException] = []
        with anyio.fail_after(timeout):
            async with client, streamable_http_client(url, http_client=client) as (read, write), \
                    ClientSession(read, write) as session:
                try:
                    await session.initialize()
                    return await use(session)
                except _SURFACED as error:
                    caught.append(error)
                except MCPError as error:
                    if refused is None:
                        raise
                    caught.append(refused(error))
        raise caught[0]

    # Not `with`: leaving that block waits for the thread, which would defeat the safety-net timeout below.
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(anyio.run, run)
    try:
        return future.result(timeout=timeout + 5)
    except FutureTimeout:
        raise ServiceFailed(f"the MCP server at {url} did not answer within {timeout:.0f} s") from None
    except _SURFACED:
        raise
    except BaseException as exc:
        raise ServiceFailed(f"the MCP server at {url} failed: {_reason(exc)}") from None
    finally:
        pool.shutdown(wait=False)


def _reason(exc: BaseException) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{exc.__class__.__name__}: {str(exc)[:160]}"


def result_text(result: Any) -> str:
    """A tool result's text (its structured content when it has none); ServiceFailed for an `isError` result."""
    parts = [getattr(block, "text", "") for block in getattr(result, "content", []) or []]
    text = "\n".join(p for p in parts if p) or json.dumps(getattr(result, "structured_content", None))
    if getattr(result, "is_error", False) or getattr(result, "isError", False):
        raise ServiceFailed(text)
    return text


def server_argument_check(tool_name: str, schema: Mapping[str, Any],
                          grammar: Callable[[str], Grammar] = mcp_grammar) -> ArgumentCheck:
    """Checks a server tool's arguments: declared by its schema (when it lists any), every string by its grammar."""
    declared = sorted(schema.get("properties") or {})

    def check(arguments: Mapping[str, Any]) -> None:
        for name, value in arguments.items():
            if declared and name not in declared:
                raise InvalidArgument(f"{tool_name} takes no argument {name[:40]!r}; it takes {', '.join(declared)}. "
                                "Nothing was sent.")
            for text in strings_in(value):
                check_argument(name, text, grammar(name))

    return check


def _as_tool(url: str, listed: Any) -> Tool:
    name = listed.name
    schema = getattr(listed, "input_schema", None) or getattr(listed, "inputSchema", None) or {"type": "object"}
    check = server_argument_check(name, schema)

    def call(context: ToolContext, **arguments: Any) -> str:
        check(arguments)  # again here, for callers that do not go through the runner
        result = run_session(url, context.credential.value, lambda s: s.call_tool(name, arguments), context.timeout)
        return result_text(result)

    description = (listed.description or name).splitlines()[0]
    return Tool(name, f"[Alibaba Cloud MCP] {description}", dict(schema), MCP_CREDENTIAL, call, check)


def discover_mcp_tools(url: str, token: str, timeout: float = SESSION_TIMEOUT_SECONDS) -> list[Tool]:
    """The MCP server's tools as agent tools; ToolError if the server cannot be reached or refuses."""

    async def names(session: ClientSession) -> Any:
        return await session.list_tools()

    listed = run_session(url, token, names, timeout)
    return [_as_tool(url, tool) for tool in listed.tools]

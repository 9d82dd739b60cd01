"""The MCP server the gateway hosts (the MCP SDK's low-level server, stateless streamable HTTP), behind the plugin.

Imported only when the gateway builds it, on its first request: the SDK's server side is slow to import.

It lists the tools the plugin worked out for the caller, and answers a `tools/call` by one REST call upstream with
the header the plugin injected (the sample's `passthroughAuthHeader: true`). It only runs the one call the plugin
authorized: a request whose parsed call differs from the plugin's reading of the same body gets an error.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import mcp_types as types
from mcp.server.context import ServerRequestContext
from mcp.server.lowlevel import Server
from mcp.shared.exceptions import MCPError

from localcloud.gateway.plugin import ADMISSION_KEY, Admission
from localcloud.gateway.upstream import ToolRoute, UpstreamAnswer, call_upstream

__all__ = ["build_gateway_server"]


def _admission(ctx: ServerRequestContext[Any, Any]) -> Admission:
    admission = ctx.request.scope.get(ADMISSION_KEY) if ctx.request is not None else None
    if not isinstance(admission, Admission):
        raise MCPError(types.INVALID_REQUEST, "This request did not pass the gateway.")
    return admission


def _result(answer: UpstreamAnswer) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text=answer.text)],
                                structured_content=answer.structured, is_error=answer.is_error)


def build_gateway_server(name: str, tools: Sequence[ToolRoute], upstream: Callable[[], str],
                         refused: Callable[[Admission], None]) -> Server[Any]:
    """The server `name` with `tools`, calling `upstream()` (a base URL); `refused` hears of an upstream 401."""
    by_name = {tool.name: tool for tool in tools}

    async def list_tools(ctx: ServerRequestContext[Any, Any],
                         params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        shown = set(_admission(ctx).listed)
        return types.ListToolsResult(tools=[
            types.Tool(name=tool.name, description=tool.description, input_schema=tool.input_schema)
            for tool in tools if tool.name in shown])

    async def call_tool(ctx: ServerRequestContext[Any, Any],
                        params: types.CallToolRequestParams) -> types.CallToolResult:
        admission = _admission(ctx)
        route = by_name.get(params.name)
        if route is None:
            return _result(UpstreamAnswer(f"Unknown tool: {params.name}", is_error=True))
        if admission.call != (params.name, params.arguments or {}):
            raise MCPError(types.INVALID_REQUEST, "The gateway did not authorize this call.")
        answer = await call_upstream(upstream(), route, params.arguments, admission.injected)
        if answer.status == 401:
            refused(admission)
        return _result(answer)

    return Server(name, version="1.0.0", instructions=f"{name}: the order service's tools, behind the AI Gateway.",
                  on_list_tools=list_tools, on_call_tool=call_tool)

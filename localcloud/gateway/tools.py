"""The gateway's MCP servers and their tools: `test-order-agent-identity`, the order service's four tools.

The tools come from the order service's own description (`localcloud.orders.ORDER_TOOLS`: name, description, input
schema, and the REST call each one makes for given arguments). The upstream is the order service on localcloud's
loopback address, `{localcloud}/order-service` (`ORDER_SERVICE_URL`).
"""

from __future__ import annotations

from localcloud.gateway.config import ORDER_SERVER, McpServerSpec, plugin_rule
from localcloud.gateway.plugin import HostedServer
from localcloud.gateway.upstream import ToolRoute
from localcloud.orders import ORDER_TOOLS, OrderTool, service_url
from localcloud.urls import LocalUrls

__all__ = ["ORDER_ROUTES", "SERVER_NAMES", "hosted_servers", "tool_route", "upstream_base"]

SERVER_NAMES = (ORDER_SERVER,)


def tool_route(tool: OrderTool) -> ToolRoute:
    """An order tool as the gateway's route: its listing, and its own mapping of arguments to the REST call."""
    return ToolRoute(tool.name, tool.description, tool.input_schema, tool.rest_call, tool.path_args)


ORDER_ROUTES = tuple(tool_route(tool) for tool in ORDER_TOOLS)


def upstream_base(urls: LocalUrls) -> str:
    """The order service's base URL, server to server."""
    return service_url(urls)


def hosted_servers(region: str, account: str) -> dict[str, HostedServer]:
    """The gateway's MCP servers by name, with the plugin rule of this account."""
    return {ORDER_SERVER: HostedServer(McpServerSpec(ORDER_SERVER, plugin_rule(region, account)), ORDER_ROUTES)}

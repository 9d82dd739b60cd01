"""The order service's MCP tools, as the sample's AI Gateway serves them (DEPLOY_GUIDE §4.5's tool YAML).

Data for the gateway: each tool's name, description and JSON input schema (what `tools/list` shows), and the REST
call it maps to (method, path template relative to the service's base, and where each argument goes). The
descriptions are the sample's, in English. `OrderTool.rest_call(arguments)` builds the call as the gateway's
HTTP-to-MCP conversion does: path arguments substituted (percent-encoded), query arguments as the query, body
arguments as a JSON object; arguments the tool does not declare are dropped.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

__all__ = ["MCP_SERVER_NAME", "ORDER_TOOLS", "OrderTool", "RestCall", "order_tool"]

MCP_SERVER_NAME = "test-order-agent-identity"  # the YAML's `server.name`: Cedar actions read mcp-servers.<it>.<tool>


@dataclass(frozen=True)
class RestCall:
    """One call to the order service: method, path (below its base), query and JSON body (None: no body)."""

    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class OrderTool:
    name: str
    description: str
    input_schema: dict[str, Any] = field(hash=False)  # JSON Schema of the arguments (MCP `inputSchema`); read-only
    method: str
    path: str  # e.g. /orders/{order_id}
    path_args: tuple[str, ...] = ()
    query_args: tuple[str, ...] = ()
    body_args: tuple[str, ...] = ()

    def rest_call(self, arguments: dict[str, Any]) -> RestCall:
        """The REST call for these arguments (the caller validates them against `input_schema` first)."""
        path = self.path
        for name in self.path_args:
            path = path.replace(f"{{{name}}}", quote(str(arguments.get(name, "")), safe=""))
        query = {name: str(arguments[name]) for name in self.query_args if arguments.get(name) is not None}
        body = {name: arguments[name] for name in self.body_args if name in arguments} if self.body_args else None
        return RestCall(self.method, path, query, body)


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return copy.deepcopy({"type": "object", "properties": properties, "required": required})  # nothing shared


_ORDER_ID = {"order_id": {"type": "string", "description": "Order ID"}}
_ITEM = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "description": "Product name"},
        "quantity": {"type": "integer", "description": "Quantity (greater than 0)"},
        "unit_price": {"type": "number", "description": "Unit price (greater than 0)"},
    },
    "required": ["name", "quantity", "unit_price"],
}

ORDER_TOOLS: tuple[OrderTool, ...] = (
    OrderTool(
        "createOrder", "Create order - create a new order",
        _schema({"customer_name": {"type": "string", "description": "Customer name"},
                 "items": {"type": "array", "description": "Order items (at least one)", "items": _ITEM}},
                ["customer_name", "items"]),
        "POST", "/orders", body_args=("customer_name", "items")),
    OrderTool(
        "deleteOrder", "Delete order - delete an order by its ID", _schema(_ORDER_ID, ["order_id"]),
        "DELETE", "/orders/{order_id}", path_args=("order_id",)),
    OrderTool(
        "getOrder", "Get order - look up one order's details by its ID", _schema(_ORDER_ID, ["order_id"]),
        "GET", "/orders/{order_id}", path_args=("order_id",)),
    OrderTool(
        "listOrders", "List orders - list orders, optionally filtered by customer name and status",
        _schema({"customer_name": {"type": "string", "description": "Filter by customer name"},
                 "status": {"type": "string", "description": "Filter by order status",
                            "enum": ["pending", "paid", "cancelled"]}}, []),
        "GET", "/orders", query_args=("customer_name", "status")),
)


def order_tool(name: str) -> OrderTool | None:
    """The tool with this name, or None."""
    return next((tool for tool in ORDER_TOOLS if tool.name == name), None)

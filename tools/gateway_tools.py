"""The order tools behind the AI Gateway: listed and called with the user's workload access token, never holding the
order service's token (the gateway's `agent-identity-oauth` plugin injects it; WIRE §10).

Every request to the gateway's MCP server carries `Authorization: Bearer <workload access token>`. The gateway
verifies it, lets its Cedar policy set decide each `tools/call`, and replaces the header with the user's token for
the order service (provider `mcp-order-oauth2`) before the call goes on. What comes back:

* a tool result: the tool's answer;
* HTTP 403 with a JSON body naming the decision and its deciding policies: `PolicyDenied` (the MCP client only
  reports "Server returned an error response", so an HTTP event hook keeps the body);
* JSON-RPC error -32042 with a URL elicitation: `ElicitationRequired`, which the runner turns into the broker's
  consent (`tools.elicitations`);
* anything else (401, 500, no answer in time): `ServiceFailed`, with the gateway's code and message.

Discovery asks `tools/list` with the user's token: the gateway lists the tools its policies could permit this user.
The sample's other order tools (`ORDER_CATALOGUE`, the tool YAML of its order server) are offered too, marked as not
listed for the user: when the user asks for one anyway, the model calls it and the gateway's policy, not the app,
answers (a 403, shown as "Denied by policy"). The gateway is where the rule is enforced; its listing is a courtesy.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx2
from mcp import ClientSession
from mcp.shared.exceptions import MCPError, UrlElicitationRequiredError
from mcp_types import URL_ELICITATION_REQUIRED

from tools.arguments import order_grammar
from tools.base import CredentialSpec, Tool, ToolContext
from tools.errors import ElicitationRequired, PolicyDenied, ServiceFailed
from tools.mcp_tools import SESSION_TIMEOUT_SECONDS, result_text, run_session, server_argument_check

__all__ = ["GATEWAY", "GATEWAY_CREDENTIAL", "ORDER_CATALOGUE", "ORDER_SCOPES", "CatalogueTool",
           "discover_gateway_tools", "gateway_tool"]

GATEWAY = "AI Gateway"
# The plugin rule's `oauthScopes` (the sample's order service: read and write): the consent the gateway asks for,
# which the app completes for the user. They must match the plugin's, or the completed consent vaults another token.
ORDER_SCOPES = ("orders:read", "orders:write")
GATEWAY_CREDENTIAL = CredentialSpec("oauth2", "gateway.order_provider_name", ORDER_SCOPES, injected_by=GATEWAY)
NOT_LISTED = " (the AI Gateway did not list this tool for you: its policy may deny the call)"
_MAX_REASON = 300


@dataclass(frozen=True)
class CatalogueTool:
    """A tool of the sample's order server, as its YAML declares it (what `tools/list` shows when it is listed)."""

    name: str
    description: str
    schema: dict[str, Any] = field(hash=False)


def _object(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": required}


_ORDER_ID = {"order_id": {"type": "string", "description": "Order ID"}}
_ITEM = _object({"name": {"type": "string", "description": "Product name"},
                 "quantity": {"type": "integer", "description": "Quantity (greater than 0)"},
                 "unit_price": {"type": "number", "description": "Unit price (greater than 0)"}},
                ["name", "quantity", "unit_price"])
ORDER_CATALOGUE: tuple[CatalogueTool, ...] = (
    CatalogueTool("createOrder", "Create order - create a new order", _object(
        {"customer_name": {"type": "string", "description": "Customer name"},
         "items": {"type": "array", "description": "Order items (at least one)", "items": _ITEM}},
        ["customer_name", "items"])),
    CatalogueTool("deleteOrder", "Delete order - delete an order by its ID", _object(_ORDER_ID, ["order_id"])),
    CatalogueTool("getOrder", "Get order - look up one order's details by its ID", _object(_ORDER_ID, ["order_id"])),
    CatalogueTool("listOrders", "List orders - list orders, optionally filtered by customer name and status", _object(
        {"customer_name": {"type": "string", "description": "Filter by customer name"},
         "status": {"type": "string", "description": "Filter by order status",
                    "enum": ["pending", "paid", "cancelled"]}}, [])),
)


# -- the gateway's answers ----------------------------------------------------------------------------------------
@dataclass
class _Refusals:
    """The gateway's error answers (status and JSON body) seen on this session's requests, newest last."""

    seen: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    async def keep(self, response: httpx2.Response) -> None:
        """An HTTP response hook: read and keep the body of a 4xx/5xx answer (the MCP client drops it)."""
        if response.status_code < 400:
            return
        await response.aread()
        try:
            body = json.loads(response.content)
        except ValueError:
            body = {"message": response.text[:_MAX_REASON]}
        self.seen.append((response.status_code, body if isinstance(body, dict) else {}))

    def hooks(self) -> dict[str, list[Any]]:
        return {"response": [self.keep]}

    def error_for(self, error: MCPError) -> BaseException:
        """What an MCP error in the session means: a consent to give, a policy's denial, or a failure."""
        if error.code == URL_ELICITATION_REQUIRED:
            return _elicitation(error)
        if not self.seen:
            return ServiceFailed(f"the AI Gateway's MCP server refused: {error.message[:_MAX_REASON]}")
        status, body = self.seen[-1]
        if status == 403:
            return _denial(body)
        code, message = str(body.get("code") or ""), str(body.get("message") or "")[:_MAX_REASON]
        return ServiceFailed(f"the AI Gateway answered HTTP {status} {code}: {message}".rstrip(": "))


def _denial(body: Mapping[str, Any]) -> PolicyDenied:
    reasons = body.get("reasons")
    policies = tuple(str(name) for name in reasons) if isinstance(reasons, list) else ()
    message = str(body.get("message") or "the gateway's policy set does not allow this call.")[:_MAX_REASON]
    return PolicyDenied(message, policies, str(body.get("policySet") or ""), str(body.get("mode") or ""))


def _elicitation(error: MCPError) -> BaseException:
    try:
        elicitations = UrlElicitationRequiredError.from_error(error.error).elicitations
    except ValueError:
        elicitations = []
    if not elicitations:
        return ServiceFailed("the AI Gateway asked for consent but sent no link to give it")
    first = elicitations[0]
    return ElicitationRequired(str(first.url), str(first.elicitation_id), first.message)


def _result_text(result: Any) -> str:
    """A tool result's text; a -32042 carried in an `isError` result (the plugin may answer either way) is a consent
    to give, not a failure."""
    try:
        return result_text(result)
    except ServiceFailed as failed:
        error = _embedded_error(str(failed))
        if error is not None and error.get("code") == URL_ELICITATION_REQUIRED:
            raise _elicitation(MCPError(URL_ELICITATION_REQUIRED, str(error.get("message", "")),
                                        error.get("data"))) from None
        raise


def _embedded_error(text: str) -> dict[str, Any] | None:
    try:
        found = json.loads(text)
    except ValueError:
        return None
    found = found.get("error", found) if isinstance(found, dict) else None
    return found if isinstance(found, dict) else None


def _gateway_session(url: str, wat: str, use: Callable[[ClientSession], Any], timeout: float) -> Any:
    refusals = _Refusals()
    return run_session(url, wat, use, timeout, hooks=refusals.hooks(), refused=refusals.error_for)


# -- the tools ----------------------------------------------------------------------------------------------------
def gateway_tool(url: str, name: str, description: str, schema: Mapping[str, Any], *, listed: bool = True) -> Tool:
    """A tool of the gateway's MCP server: its call goes to the gateway with the user's workload access token."""
    check = server_argument_check(name, schema, order_grammar)

    def call(context: ToolContext, **arguments: Any) -> str:
        check(arguments)  # again here, for callers that do not go through the runner
        return _result_text(_gateway_session(url, context.credential.value,
                                             lambda session: session.call_tool(name, arguments), context.timeout))

    first_line = (description or name).splitlines()[0]
    text = f"[{GATEWAY}] {first_line}{'' if listed else NOT_LISTED}"
    return Tool(name, text, dict(schema), GATEWAY_CREDENTIAL, call, check)


def discover_gateway_tools(url: str, wat: str, timeout: float = SESSION_TIMEOUT_SECONDS) -> list[Tool]:
    """The tools the gateway lists for this user's workload access token, then the order tools it did not list;
    ToolError if the gateway cannot be reached or refuses the token."""

    async def names(session: ClientSession) -> Any:
        return await session.list_tools()

    listed = _gateway_session(url, wat, names, timeout)
    tools = [gateway_tool(url, tool.name, tool.description or tool.name,
                          getattr(tool, "input_schema", None) or {"type": "object"}) for tool in listed.tools]
    shown = {tool.name for tool in tools}
    tools += [gateway_tool(url, item.name, item.description, item.schema, listed=False)
              for item in ORDER_CATALOGUE if item.name not in shown]
    return tools


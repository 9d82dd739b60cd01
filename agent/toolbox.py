"""The tools one turn offers: the fixed tools, the order tools behind the AI Gateway, plus the Alibaba Cloud MCP
server's, or a connector to it.

When the target has an AI Gateway, its order tools are listed with the user's workload access token (the gateway
lists what its policies could permit; `tools.gateway_tools` adds the order tools it did not list, marked so) and
offered; their calls go to the gateway, which injects the order service's token. A gateway that cannot be reached
is reported once (McpUnavailable naming it) and the turn goes on without its tools.

At the start of a turn the MCP token is looked up without waiting for anyone: if Agent Identity already
holds it (cached or vaulted), the server's tools are discovered (bounded) and offered. Otherwise the model
gets one connector tool whose credential is the MCP token, so asking for it runs the usual consent flow and,
once approved, the server's tools join the next round. An unreachable server never stalls the turn: it is
reported once (an McpUnavailable event), and the connector answers with the reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from agent.events import Event, McpConnected, McpUnavailable
from identity.broker import CredentialBroker
from identity.errors import IdentityError
from identity.users import SignedInUser
from tools import MCP_CREDENTIAL, Tool, ToolContext, ToolError, discover_gateway_tools, discover_mcp_tools
from tools.errors import ServiceFailed

__all__ = ["CONNECTOR_NAME", "GATEWAY_TOOLS", "MCP_DISCOVERY_SECONDS", "Toolbox", "open_toolbox"]

CONNECTOR_NAME = "connect_alibaba_cloud_mcp"
CONNECTOR_DESCRIPTION = "Connect to the Alibaba Cloud MCP server (ECS instances, resource search)"
MCP_DISCOVERY_SECONDS = 10.0
GATEWAY_TOOLS = "AI Gateway's order tools"  # how a notice names them

Discover = Callable[[str, str, float], list[Tool]]


@dataclass
class Toolbox:
    """The turn's tools by name, and what happened to MCP since the loop last asked."""

    tools: dict[str, Tool] = field(default_factory=dict)
    notices: list[Event] = field(default_factory=list)

    def add(self, tools: Iterable[Tool]) -> None:
        for tool in tools:
            self.tools.setdefault(tool.name, tool)  # a server tool never shadows one of ours

    def remove(self, name: str) -> None:
        self.tools.pop(name, None)

    def get(self, name: str) -> Tool | None:
        return self.tools.get(name)

    def schemas(self) -> list[dict[str, Any]]:
        return [tool.schema() for tool in self.tools.values()]

    def take_notices(self) -> list[Event]:
        taken, self.notices = self.notices, []
        return taken


def _connector(box: Toolbox, url: str, known_failure: str, discover: Discover, timeout: float) -> Tool:
    """The tool that connects the MCP server mid-turn; its credential makes the broker ask for consent."""

    def connect(context: ToolContext, **_ignored: Any) -> str:  # it takes no arguments; extra ones are harmless
        if known_failure:  # found unreachable at the start of this turn: do not wait for it twice
            raise ServiceFailed(f"the Alibaba Cloud MCP server is unavailable: {known_failure}")
        try:
            found = discover(url, context.credential.value, timeout)
        except ToolError as error:
            box.notices.append(McpUnavailable(str(error)))
            raise
        box.remove(CONNECTOR_NAME)
        box.add(found)
        names = tuple(tool.name for tool in found)
        box.notices.append(McpConnected(names, via="consent"))
        return f"Connected to the Alibaba Cloud MCP server. Its tools are now available: {', '.join(names)}."

    schema = {"type": "object", "properties": {}, "required": []}
    return Tool(CONNECTOR_NAME, CONNECTOR_DESCRIPTION, schema, MCP_CREDENTIAL, connect)


def _held_token(connector: Tool, user: SignedInUser, broker: CredentialBroker) -> str | None:
    """The MCP token if Agent Identity hands it out without asking the user; never waits, never records a
    pending consent the user did not ask for."""
    spec = connector.credential
    try:
        token = broker.held_oauth2_token(user, spec.provider(broker.settings), spec.scopes)
    except IdentityError:  # not provisioned, or the service refused: use the connector
        return None
    return token.value if token is not None else None


def _gateway_tools(box: Toolbox, user: SignedInUser, broker: CredentialBroker, url: str, discover: Discover,
                   timeout: float) -> None:
    """The gateway's tools for this user, listed with their workload access token."""
    try:
        wat = broker.workload_token(user)
    except IdentityError:  # not provisioned, or the sign-in expired: the fixed tools say so when they are called
        return
    try:
        found = discover(url, wat.value, timeout)
    except ToolError as error:
        box.notices.append(McpUnavailable(str(error), server=GATEWAY_TOOLS))
        return
    box.add(found)


def open_toolbox(fixed: Iterable[Tool], user: SignedInUser, broker: CredentialBroker, url: str | None,
                 discover: Discover = discover_mcp_tools, timeout: float = MCP_DISCOVERY_SECONDS, *,
                 gateway: str | None = None, discover_gateway: Discover = discover_gateway_tools) -> Toolbox:
    """The turn's tools; MCP news (connected, or why not) waits in `notices` for the loop to report."""
    box = Toolbox()
    box.add(fixed)
    if gateway:
        _gateway_tools(box, user, broker, gateway, discover_gateway, timeout)
    if not url:  # no MCP server configured in this mode: nothing to connect to (the prompt still reads fine)
        return box
    token = _held_token(_connector(box, url, "", discover, timeout), user, broker)
    if token is None:
        box.add([_connector(box, url, "", discover, timeout)])
        return box
    try:
        found = discover(url, token, timeout)
    except ToolError as error:
        box.notices.append(McpUnavailable(str(error)))
        box.add([_connector(box, url, str(error), discover, timeout)])
        return box
    box.add(found)
    box.notices.append(McpConnected(tuple(tool.name for tool in found)))
    return box

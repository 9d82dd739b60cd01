"""The agent's tools: typed functions, each declaring the credential the broker must get for it.

`TOOLS` are the fixed tools; the Alibaba Cloud MCP server's tools are discovered at run time
(`discover_mcp_tools`) with the user's consented token, and the order tools behind the AI Gateway
(`discover_gateway_tools`) with the user's workload access token.
"""

from __future__ import annotations

from identity.broker.kinds import ToolKind
from identity.broker.needs import CredentialNeed
from identity.settings import Settings
from tools.base import CredentialSpec, Tool, ToolContext, ToolError, tool
from tools.documents import list_oss_objects, read_dingtalk_document, read_oss_object, write_dingtalk_document
from tools.gateway_tools import GATEWAY_CREDENTIAL, discover_gateway_tools
from tools.mcp_tools import MCP_CREDENTIAL, discover_mcp_tools
from tools.runner import ToolOutcome, call_tool, resolve_credential
from tools.services import get_current_time, get_schedule, weather_search

__all__ = ["GATEWAY_CREDENTIAL", "MCP_CREDENTIAL", "TOOLS", "CredentialSpec", "Tool", "ToolContext", "ToolError",
           "ToolOutcome", "call_tool", "credential_needs", "discover_gateway_tools", "discover_mcp_tools",
           "resolve_credential", "tool"]

TOOLS: tuple[Tool, ...] = (weather_search, get_schedule, get_current_time, write_dingtalk_document,
                           read_dingtalk_document, list_oss_objects, read_oss_object)


def credential_needs(settings: Settings) -> list[CredentialNeed]:
    """One row per distinct credential, with the tools that use it (MCP's tools share the MCP token)."""
    groups: dict[tuple[ToolKind, str, tuple[str, ...], str], list[str]] = {}
    for spec, name in [*((t.credential, t.name) for t in TOOLS), (MCP_CREDENTIAL, "Alibaba Cloud MCP tools")]:
        groups.setdefault((spec.kind, spec.provider(settings), spec.scopes, spec.flow), []).append(name)
    return [CredentialNeed(kind, provider, scopes, flow, tuple(names))
            for (kind, provider, scopes, flow), names in groups.items()]

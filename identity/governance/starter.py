"""The starter policy set Provision writes: a story in four tools. Pure.

Everyone may list and read orders; alice may also create and delete them; bob may create an order only in his own
name (`context.input.customer_name`). Every permit asks for `principal has actor`: the call comes through a
workload identity (the agent), never a user's own token. Anything else is denied by default.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["ORDER_SERVER", "ORDER_TOOLS", "StarterPolicy", "action", "starter_policies"]

ORDER_SERVER = "test-order-agent-identity"  # the sample's MCP server name on the gateway
ORDER_TOOLS = ("listOrders", "getOrder", "createOrder", "deleteOrder")


@dataclass(frozen=True)
class StarterPolicy:
    name: str
    description: str
    statement: str


def action(tool: str, server: str = ORDER_SERVER) -> str:
    """The Cedar action of a tool on the gateway (WIRE §10.2)."""
    return f'AIGateway::Action::{json.dumps(f"mcp-servers.{server}.{tool}")}'


def _principal(user_id: str) -> str:
    return f"AgentIdentity::OAuthUser::{json.dumps(user_id)}"


def _permit(principal: str, tools: tuple[str, ...], gateway_arn: str, condition: str = "") -> str:
    actions = ", ".join(action(tool) for tool in tools)
    when = "principal has actor" + (f" && {condition}" if condition else "")
    return (f"permit (\n  {principal},\n  action in [{actions}],\n"
            f"  resource == AIGateway::Gateway::{json.dumps(gateway_arn)}\n)\nwhen {{ {when} }};")


def starter_policies(gateway_arn: str, users: Mapping[str, tuple[str, str]]) -> list[StarterPolicy]:
    """The set for a gateway; `users` maps a login name to (display name, subject) where the cloud says (the local
    cloud's demo users). Without alice and bob, only the policy everyone shares."""
    policies = [StarterPolicy("everyone-reads-orders", "Everyone may list and read orders (through the agent).",
                              _permit("principal", ("listOrders", "getOrder"), gateway_arn))]
    if "alice" in users:
        policies.append(StarterPolicy(
            "alice-manages-orders", "alice may also create and delete orders.",
            _permit(f"principal == {_principal(users['alice'][1])}", ("createOrder", "deleteOrder"), gateway_arn)))
    if "bob" in users:
        name = users["bob"][0]
        policies.append(StarterPolicy(
            "bob-orders-for-himself", f"bob may create an order only in his own name ({name}).",
            _permit(f"principal == {_principal(users['bob'][1])}", ("createOrder",), gateway_arn,
                    f"context.input has customer_name && context.input.customer_name == {json.dumps(name)}")))
    return policies

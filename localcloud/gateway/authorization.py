"""What the gateway's policy set says about a tool call or a tool listing: pure, over `localcloud.cedar`.

* A call is the WIRE §10.2 Cedar request: principal `AgentIdentity::OAuthUser::"<user id>"` with `Issuer` and
  `actor` (the workload identity's full ARN), action `mcp-servers.<server>.<tool>`, resource the gateway's ARN,
  `context.input` the call's arguments. Default deny, forbid overrides permit.
* A gateway with no policy set attached denies every call and lists no tool, as an empty set does: the gateway
  fails closed until someone attaches a set (assumed; Alibaba's documentation only says an empty set denies all).
* ENFORCE answers a denied call 403; LOG_ONLY records the decision and lets every call through, and lists every
  tool (it never blocks).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from localcloud.cedar import evaluate, permitted_tools, tool_action
from localcloud.services.agentidentity.policy_records import GatewayPolicy

__all__ = ["ENFORCE", "LOG_ONLY", "CedarPrincipal", "GatewayDecision", "decide", "listed_tools"]

ENFORCE, LOG_ONLY = "ENFORCE", "LOG_ONLY"
NO_POLICY_SET = "no policy set is attached to the gateway: every call is denied."


@dataclass(frozen=True)
class CedarPrincipal:
    """The principal of the Cedar request: the user, the user token's issuer, the workload acting."""

    user_id: str
    issuer: str | None
    actor_arn: str | None


@dataclass(frozen=True)
class GatewayDecision:
    """The policy set's answer for one call, and whether the call goes through (always, in LOG_ONLY)."""

    allowed: bool
    mode: str
    policy_set: str | None
    deciding_policies: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()

    @property
    def decision(self) -> str:
        return "ALLOW" if self.allowed else "DENY"

    @property
    def forwarded(self) -> bool:
        return self.allowed or self.mode == LOG_ONLY


def decide(policy: GatewayPolicy | None, principal: CedarPrincipal, *, server: str, tool: str, gateway_arn: str,
           arguments: Mapping[str, Any] | None) -> GatewayDecision:
    """The decision for a `tools/call` of `tool` on `server` with `arguments`."""
    if policy is None:
        return GatewayDecision(False, ENFORCE, None, errors=(NO_POLICY_SET,))
    answer = evaluate(policy.policies, principal_user_id=principal.user_id, issuer=principal.issuer,
                      actor_arn=principal.actor_arn, tool_action=tool_action(server, tool), gateway_arn=gateway_arn,
                      arguments=arguments)
    return GatewayDecision(answer.allowed, policy.enforcement_mode, policy.policy_set_name, answer.deciding_policies,
                           answer.errors)


def listed_tools(policy: GatewayPolicy | None, principal: CedarPrincipal, *, server: str, tools: Sequence[str],
                 gateway_arn: str) -> tuple[str, ...]:
    """The tools `tools/list` shows this principal: those some input could make the policy set permit."""
    if policy is None:
        return ()
    if policy.enforcement_mode == LOG_ONLY:
        return tuple(tools)
    actions = {tool_action(server, tool): tool for tool in tools}
    listing = permitted_tools(policy.policies, principal_user_id=principal.user_id, issuer=principal.issuer,
                              actor_arn=principal.actor_arn, gateway_arn=gateway_arn, tool_actions=list(actions))
    return tuple(actions[action] for action in listing.permitted)

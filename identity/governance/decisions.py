"""What the AI Gateway decides: its recorded decisions, and "Try a request", the decision it would make.

* The decision log: in local mode, the built-in localcloud's gateway keeps one (read through its handle with the
  control token); Alibaba Cloud's gateway writes its decisions to its logs (Simple Log Service), which the app
  does not read.
* "Try a request" runs the same Cedar engine (`localcloud.cedar`) on the policies just read from the control plane,
  with the entities the gateway builds for a tool call (WIRE §10.2): principal `AgentIdentity::OAuthUser::"<user
  id>"` (the ID token's `sub`) with `Issuer` (the sign-in issuer) and `actor` (the workload identity's ARN), action
  `mcp-servers.<server>.<tool>`, resource the gateway's ARN, `context.input` the arguments. Nothing is called.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from identity.errors import IdentityError
from identity.governance.policies import LOG_ONLY
from identity.governance.starter import ORDER_SERVER
from localcloud.cedar import evaluate, tool_action

__all__ = ["DecisionLog", "DecisionLogUnavailable", "DecisionRecord", "TrialAnswer", "TrialContext", "TrialRequest",
           "recent_decisions", "try_request"]

ALLOW, DENY = "ALLOW", "DENY"


class DecisionLogUnavailable(IdentityError):
    """The gateway's decision log could not be read."""


class DecisionLog(Protocol):
    """Where recorded decisions come from: the built-in localcloud's handle (`LocalCloud.gateway_decisions`)."""

    def gateway_decisions(self, *, limit: int = 100, user: str | None = None, tool: str | None = None,
                          decision: str | None = None) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class DecisionRecord:
    """One recorded decision: when, who, which tool, the answer and the policies that decided it, the mode."""

    time: str
    timestamp: float
    user: str
    tool: str
    decision: str
    deciding_policies: tuple[str, ...]
    mode: str
    policy_set: str | None = None
    forwarded: bool = False

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> DecisionRecord:
        return cls(time=str(doc.get("time", "")), timestamp=float(doc.get("timestamp") or 0.0),
                   user=str(doc.get("user", "")), tool=str(doc.get("tool", "")),
                   decision=str(doc.get("decision", "")).upper(),
                   deciding_policies=tuple(str(name) for name in doc.get("deciding_policies") or ()),
                   mode=str(doc.get("mode", "")), policy_set=doc.get("policy_set"),
                   forwarded=bool(doc.get("forwarded")))


def recent_decisions(log: DecisionLog, *, limit: int = 200, user: str | None = None, tool: str | None = None,
                     decision: str | None = None) -> list[DecisionRecord]:
    """The newest decisions first, filtered by user id, tool and ALLOW/DENY (None: any)."""
    try:
        found = log.gateway_decisions(limit=limit, user=user, tool=tool, decision=decision)
    except (httpx.HTTPError, ValueError, KeyError) as error:  # unreachable, refused, or not the log's answer
        raise DecisionLogUnavailable(f"The gateway's decision log could not be read: {error}") from None
    return [DecisionRecord.of(doc) for doc in found]


# -- Try a request -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrialRequest:
    """A tool call to try: who (the user id the gateway sees), which tool, with which arguments."""

    user_id: str
    tool: str
    arguments: Mapping[str, Any]


@dataclass(frozen=True)
class TrialContext:
    """What the gateway adds to every call: its ARN, the sign-in issuer, the workload acting, the MCP server."""

    gateway_arn: str
    issuer: str | None
    actor_arn: str | None
    server: str = ORDER_SERVER


@dataclass(frozen=True)
class TrialAnswer:
    """The policy set's answer for a tried call, and what the gateway would do with it in `mode`."""

    request: TrialRequest
    context: TrialContext
    allowed: bool
    deciding_policies: tuple[str, ...]
    errors: tuple[str, ...]
    action: str
    mode: str

    @property
    def decision(self) -> str:
        return ALLOW if self.allowed else DENY

    @property
    def forwarded(self) -> bool:
        """Whether the gateway would let the call through: always in LOG_ONLY."""
        return self.allowed or self.mode == LOG_ONLY


def try_request(policies: Mapping[str, str], request: TrialRequest, context: TrialContext,
                mode: str) -> TrialAnswer:
    """The decision the gateway would make for `request` under `policies` (name → Cedar statement)."""
    action = tool_action(context.server, request.tool)
    decision = evaluate(policies, principal_user_id=request.user_id, issuer=context.issuer,
                        actor_arn=context.actor_arn, tool_action=action, gateway_arn=context.gateway_arn,
                        arguments=request.arguments)
    return TrialAnswer(request, context, decision.allowed, decision.deciding_policies, decision.errors, action, mode)

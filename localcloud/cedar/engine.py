"""Authorization of AI Gateway tool calls by a set of named Cedar policies: pure, no I/O.

`evaluate` answers one `tools/call`: default deny, any matching `forbid` overrides every `permit`, an empty set
denies all (WIRE §10.2); the deciding policies are the user's policy names. `permitted_tools` answers `tools/list`:
which tools some policy could permit for this principal, whatever the call's input turns out to be. It uses the
engine's partial evaluation with the context unknown: a tool is listed when the answer is Allow, or when it is
undecided because a policy depends on the input (a tool allowed only for some input is listed, and a call with
other input is denied by `evaluate`). Partial results only ever decide what is listed, never whether a call runs.

Both fail closed: a statement or input the engine cannot take denies, and the reason is in `errors`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from localcloud.cedar.errors import CedarError
from localcloud.cedar.policies import compile_policies, engine
from localcloud.cedar.request import CedarRequest, build_request, uid_literal

if TYPE_CHECKING:
    from cedarpy import PolicySet

__all__ = ["Decision", "ToolListing", "evaluate", "permitted_tools"]


@dataclass(frozen=True)
class Decision:
    """The answer for one tool call: the deciding policies are the permits that allowed it, or the forbids that
    denied it (none for a default deny)."""

    allowed: bool
    deciding_policies: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class ToolListing:
    """The tools (Cedar action ids) some policy could permit, in the order asked."""

    permitted: tuple[str, ...] = ()
    errors: tuple[str, ...] = ()


def _in_order(policies: Mapping[str, str], names: Iterable[str]) -> tuple[str, ...]:
    chosen = set(names)
    return tuple(name for name in policies if name in chosen)


def evaluate(policies: Mapping[str, str], *, principal_user_id: str, issuer: str | None, actor_arn: str | None,
             tool_action: str, gateway_arn: str, arguments: Mapping[str, Any] | None,
             source_ip: str | None = None) -> Decision:
    """Whether `policies` (name → Cedar statement) allow this principal to call `tool_action` with `arguments`."""
    if not policies:
        return Decision(allowed=False)
    try:
        request = build_request(principal_user_id=principal_user_id, issuer=issuer, actor_arn=actor_arn,
                                tool_action=tool_action, gateway_arn=gateway_arn, arguments=arguments,
                                source_ip=source_ip)
        policy_set = compile_policies(tuple(policies.items()))
    except CedarError as error:
        return Decision(allowed=False, errors=(str(error),))
    result = engine().is_authorized(request.as_json(), policy_set, list(request.entities))
    return Decision(allowed=result.allowed, deciding_policies=_in_order(policies, result.diagnostics.reasons),
                    errors=tuple(result.diagnostics.errors))


def _may_permit(policy_set: PolicySet, request: CedarRequest) -> tuple[bool, list[str]]:
    """Whether some input could make the engine allow `request` (its context unknown), and the engine's errors."""
    cedar = engine()
    # Partial evaluation takes the uids in policy syntax only.
    uids = {"principal": uid_literal(request.principal), "action": uid_literal(request.action),
            "resource": uid_literal(request.resource)}
    result = cedar.is_authorized_partial(uids, policy_set, list(request.entities))
    # Undecided with no residual policy means the request itself failed: that lists nothing.
    undecided = result.decision == cedar.Decision.NoDecision and bool(result.diagnostics.nontrivial_residuals)
    return result.allowed or undecided, list(result.diagnostics.errors)


def permitted_tools(policies: Mapping[str, str], *, principal_user_id: str, issuer: str | None,
                    actor_arn: str | None, gateway_arn: str, tool_actions: Iterable[str]) -> ToolListing:
    """The tools of `tool_actions` that `policies` could permit this principal to call, for some input."""
    if not policies:
        return ToolListing()
    try:
        policy_set = compile_policies(tuple(policies.items()))
    except CedarError as error:
        return ToolListing(errors=(str(error),))
    permitted: list[str] = []
    errors: dict[str, None] = {}  # an ordered set: the same error comes back for every tool
    for action in tool_actions:
        request = build_request(principal_user_id=principal_user_id, issuer=issuer, actor_arn=actor_arn,
                                tool_action=action, gateway_arn=gateway_arn, arguments=None, known_context=False)
        try:
            may, found = _may_permit(policy_set, request)
        except CedarError as error:
            may, found = False, [str(error)]
        errors.update(dict.fromkeys(found))
        if may:
            permitted.append(action)
    return ToolListing(permitted=tuple(permitted), errors=tuple(errors))

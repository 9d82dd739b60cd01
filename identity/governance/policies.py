"""The policy set bound to the AI Gateway, read and changed through the official control-plane client.

Reading is for every signed-in user: the gateway's binding (`GetGatewayPolicyConfig`: the set's ARN and the
enforcement mode), the set's name (`.config.json`'s `policy_set_name` when its ARN matches, else found among the
account's sets by ARN), and every policy of it (`ListPolicies`, page by page; `GetPolicy` for one the list shows
without its statement).

Changing is for an administrator only (`APP_ADMINS`): the one way to get a `PolicyChanges` is `admin_changes`, which
checks the user at that moment, so a page that asks for it inside each action cannot be talked past by a crafted
websocket message. The service validates a statement itself (localcloud refuses one the Cedar engine does not parse
with `InvalidParameter.Definition` and the engine's message); nothing here second-guesses it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from alibabacloud_agentidentity20250901 import models as ai

from identity.errors import CloudError, IdentityError
from identity.provision.owner import login_name
from identity.users import SignedInUser

__all__ = [
    "ENFORCE", "ENFORCEMENT_MODES", "GATEWAY_TYPE", "LOG_ONLY", "BoundPolicySet", "NoPolicySet", "Policy",
    "PolicyAccess", "PolicyChangeNotAllowed", "PolicyChanges", "PolicyDraft", "admin_changes", "bound_policy_set",
    "policy_access", "read_policies", "workload_identity_arn",
]

GATEWAY_TYPE = "AIGateway"
ENFORCE, LOG_ONLY = "ENFORCE", "LOG_ONLY"
ENFORCEMENT_MODES = (ENFORCE, LOG_ONLY)
_PAGE_SIZE = 100
_MAX_PAGES = 100  # a service that hands out NextTokens forever must not keep the page waiting forever


class NoPolicySet(IdentityError):
    """There is no gateway, or no policy set is bound to it: Setup's Provision binds the starter set."""


class PolicyChangeNotAllowed(IdentityError):
    """This user may not change the policies; the message says who may."""


@dataclass(frozen=True)
class PolicyAccess:
    """Whether the signed-in user may change the policies, and if not, why (shown above the read-only page)."""

    allowed: bool
    reason: str = ""


@dataclass(frozen=True)
class Policy:
    """One policy of the set: its name, description and Cedar statement."""

    name: str
    description: str
    statement: str
    update_time: str = ""


@dataclass(frozen=True)
class PolicyDraft:
    """What a form sends: a policy's name, description and statement, as typed."""

    name: str
    description: str
    statement: str


@dataclass(frozen=True)
class BoundPolicySet:
    """The set bound to a gateway, its mode and its policies (in the service's order)."""

    gateway_arn: str
    name: str
    arn: str
    enforcement_mode: str
    policies: tuple[Policy, ...] = ()

    def statements(self) -> dict[str, str]:
        """Policy name → Cedar statement, as the gateway evaluates them."""
        return {policy.name: policy.statement for policy in self.policies}

    def policy(self, name: str) -> Policy | None:
        return next((policy for policy in self.policies if policy.name == name), None)


# -- who may change ------------------------------------------------------------------------------------------
def policy_access(user: SignedInUser | None, admins: Sequence[str]) -> PolicyAccess:
    """Only a signed-in user named in APP_ADMINS may change the policies and the mode."""
    name = login_name(user)
    if name and name in admins:
        return PolicyAccess(True)
    who = ", ".join(admins) or "nobody: APP_ADMINS is empty"
    return PolicyAccess(False, f"Only an administrator may change the policies or the mode (APP_ADMINS: {who}). "
                               "You can read them and try requests.")


# -- reading ---------------------------------------------------------------------------------------------------
def _pages(fetch: Callable[[str | None], Any]) -> Iterator[Any]:
    """Each page's body, following NextToken."""
    token: str | None = None
    for _ in range(_MAX_PAGES):
        body = fetch(token)
        yield body
        token = body.next_token
        if not token:
            return
    raise CloudError("TooManyPages", f"the listing did not end after {_MAX_PAGES} pages.")


def _binding(control: Any, gateway_arn: str) -> tuple[str, str]:
    """(policy set ARN, enforcement mode) of the gateway; NoPolicySet when nothing is bound."""
    try:
        config = control.get_gateway_policy_config(ai.GetGatewayPolicyConfigRequest(
            gateway_arn=gateway_arn, gateway_type=GATEWAY_TYPE)).body.gateway_policy_config
    except CloudError as error:
        if error.is_not_found:
            raise NoPolicySet("No policy set is bound to the AI Gateway yet.") from None
        raise
    if config is None or not config.policy_set_arn:
        raise NoPolicySet("No policy set is bound to the AI Gateway yet.")
    return str(config.policy_set_arn), str(config.enforcement_mode or ENFORCE)


def _recorded_set_matches(control: Any, name: str, arn: str) -> bool:
    try:
        found = control.get_policy_set(ai.GetPolicySetRequest(policy_set_name=name)).body.policy_set
    except CloudError as error:
        if error.is_not_found:
            return False
        raise
    return found is not None and found.policy_set_arn == arn


def _set_name(control: Any, arn: str, recorded: str | None) -> str:
    """The name of the set with this ARN: the recorded one if it matches, else found among the account's sets."""
    if recorded and _recorded_set_matches(control, recorded, arn):
        return recorded
    fetch = lambda token: control.list_policy_sets(  # noqa: E731
        ai.ListPolicySetsRequest(max_results=_PAGE_SIZE, next_token=token)).body
    for body in _pages(fetch):
        for found in body.policy_sets or []:
            if found.policy_set_arn == arn:
                return str(found.policy_set_name)
    raise NoPolicySet(f"The AI Gateway is bound to the policy set {arn}, which this account does not list.")


def _statement(definition: Any) -> str | None:
    cedar = getattr(definition, "cedar", None)
    statement = getattr(cedar, "statement", None)
    return statement if isinstance(statement, str) else None


def _policy(control: Any, set_name: str, listed: Any) -> Policy:
    statement = _statement(listed.definition)
    if statement is None:  # a listing that leaves definitions out: the policy itself carries it
        got = control.get_policy(ai.GetPolicyRequest(policy_set_name=set_name, policy_name=listed.policy_name))
        listed = got.body.policy
        statement = _statement(listed.definition) or ""
    return Policy(str(listed.policy_name), str(listed.description or ""), statement, str(listed.update_time or ""))


def read_policies(control: Any, set_name: str) -> tuple[Policy, ...]:
    """Every policy of the set, following the pages."""
    fetch = lambda token: control.list_policies(ai.ListPoliciesRequest(  # noqa: E731
        policy_set_name=set_name, max_results=_PAGE_SIZE, next_token=token)).body
    return tuple(_policy(control, set_name, listed) for body in _pages(fetch) for listed in body.policies or [])


def bound_policy_set(control: Any, gateway_arn: str | None, recorded_name: str | None) -> BoundPolicySet:
    """The set bound to the gateway, with its policies; NoPolicySet when there is no gateway or no binding."""
    if not gateway_arn:
        raise NoPolicySet("No AI Gateway is configured (AI_GATEWAY_ARN).")
    set_arn, mode = _binding(control, gateway_arn)
    name = _set_name(control, set_arn, recorded_name)
    return BoundPolicySet(gateway_arn, name, set_arn, mode, read_policies(control, name))


def workload_identity_arn(control: Any, name: str) -> str:
    """The workload identity's ARN (the Cedar principal's `actor` when the agent calls through the gateway)."""
    got = control.get_workload_identity(ai.GetWorkloadIdentityRequest(workload_identity_name=name))
    return str(got.body.workload_identity.workload_identity_arn)


# -- changing --------------------------------------------------------------------------------------------------
def _definition(statement: str) -> ai.Definition:
    return ai.Definition(cedar=ai.DefinitionCedar(statement=statement))


@dataclass(frozen=True)
class PolicyChanges:
    """Changes to the bound set, for an administrator checked by `admin_changes` at the moment of the action."""

    control: Any
    policy_set: str
    gateway_arn: str

    def create(self, draft: PolicyDraft) -> None:
        self.control.create_policy(ai.CreatePolicyRequest(
            policy_set_name=self.policy_set, policy_name=draft.name.strip(), description=draft.description,
            definition=_definition(draft.statement)))

    def update(self, draft: PolicyDraft) -> None:
        self.control.update_policy(ai.UpdatePolicyRequest(
            policy_set_name=self.policy_set, policy_name=draft.name, description=draft.description,
            definition=_definition(draft.statement)))

    def delete(self, name: str) -> None:
        self.control.delete_policy(ai.DeletePolicyRequest(policy_set_name=self.policy_set, policy_name=name))

    def set_mode(self, mode: str) -> None:
        if mode not in ENFORCEMENT_MODES:
            raise CloudError("InvalidParameter.EnforcementMode", f"{mode!r} is neither ENFORCE nor LOG_ONLY.")
        self.control.update_gateway_policy_config(ai.UpdateGatewayPolicyConfigRequest(
            gateway_arn=self.gateway_arn, gateway_type=GATEWAY_TYPE, enforcement_mode=mode))


def admin_changes(control: Any, policy_set: str, gateway_arn: str, user: SignedInUser | None,
                  admins: Sequence[str]) -> PolicyChanges:
    """Changes to the set for `user`; PolicyChangeNotAllowed unless they are an administrator right now."""
    access = policy_access(user, admins)
    if not access.allowed:
        raise PolicyChangeNotAllowed(access.reason)
    return PolicyChanges(control, policy_set, gateway_arn)

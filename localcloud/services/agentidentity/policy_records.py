"""Policy sets, their Cedar policies and the gateways they are attached to: kinds, field rules, storage.

* A policy set is stored like the other resources, by name.
* A policy is stored under `<policy set>/<policy>` (names are unique within their set; the name rule has no '/').
  Its `Definition` is `{"Cedar": {"Statement": ...}}`, the statement verbatim, accepted only when the Cedar engine
  parses it as exactly one static policy.
* A gateway's binding (the answer of GetGatewayPolicyConfig) is stored under `<GatewayType> <GatewayArn>`: one
  policy set per gateway.

`gateway_policy` is the read the AI Gateway makes: the attached set's policies and the enforcement mode.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from localcloud import arns
from localcloud.cedar import InvalidStatement, validate_statement
from localcloud.cedar.policies import STATEMENT_MAX
from localcloud.rpc.errors import EntityAlreadyExists, EntityNotExist, InvalidParameter
from localcloud.rpc.params import Params
from localcloud.rpc.service import Call
from localcloud.services.agentidentity.records import Kind, new_name
from localcloud.store import Store

__all__ = [
    "DEFAULT_ENFORCEMENT_MODE",
    "DEFAULT_GATEWAY_TYPE",
    "ENFORCEMENT_MODES",
    "GATEWAY_BINDING",
    "GATEWAY_TYPES",
    "POLICY",
    "POLICY_SET",
    "STATEMENT_MAX",
    "GatewayPolicy",
    "bindings_of",
    "definition",
    "enforcement_mode",
    "fetch_binding",
    "fetch_policy",
    "gateway_arn",
    "gateway_key",
    "gateway_policy",
    "gateway_type",
    "insert_policy",
    "new_policy_name",
    "policies_of",
    "policy_key",
    "resource_arn",
]

POLICY_SET = Kind("agentidentity.policy_set", "PolicySet", "PolicySetName")
POLICY = Kind("agentidentity.policy", "Policy", "PolicyName")
GATEWAY_BINDING = Kind("agentidentity.gateway_policy_config", "GatewayPolicyConfig", "GatewayArn")

GATEWAY_TYPES = ("AIGateway", "AgentRunMCP")
DEFAULT_GATEWAY_TYPE = "AIGateway"
ENFORCEMENT_MODES = ("ENFORCE", "LOG_ONLY")
# Assumed (the sample's prepare.py defaults to it): a gateway attached without a mode enforces.
DEFAULT_ENFORCEMENT_MODE = "ENFORCE"
# Any service's ARN: the real one is the APIG gateway's (acs:apig:<region>:<account>:gateway/<id>).
_GATEWAY_ARN = re.compile(r"acs:[a-z0-9-]+:[a-z0-9-]*:[0-9]*:\S+")


# -- input rules ---------------------------------------------------------------------------------
def new_policy_name(params: Params) -> str:
    """`PolicyName` of a new policy, checked against the name rule."""
    return new_name(params, POLICY)


def definition(params: Params, *, required: bool) -> dict[str, Any] | None:
    """`Definition` (`{"Cedar": {"Statement": ...}}`, sent as a JSON string), its statement parsed by Cedar."""
    sent = params.json("Definition", dict, required=required)
    if sent is None:
        return None
    cedar = sent.get("Cedar")
    statement = cedar.get("Statement") if isinstance(cedar, dict) else None
    if not isinstance(statement, str) or not statement.strip():
        raise InvalidParameter("Definition", 'must be {"Cedar": {"Statement": "<Cedar policy>"}}.')
    if len(statement) > STATEMENT_MAX:
        raise InvalidParameter("Definition", f"the Cedar statement is longer than {STATEMENT_MAX} characters.")
    try:
        validate_statement(statement)
    except InvalidStatement as error:
        raise InvalidParameter("Definition", f"the Cedar engine refused the statement: {error}") from None
    return {"Cedar": {"Statement": statement}}


def gateway_arn(params: Params) -> str:
    """`GatewayArn`, which must look like an ARN."""
    value = params.required("GatewayArn", max_len=512)
    if not _GATEWAY_ARN.fullmatch(value):
        raise InvalidParameter("GatewayArn", f"'{value}' is not an ARN (acs:apig:<region>:<account>:gateway/<id>).")
    return value


def gateway_type(params: Params) -> str:
    """`GatewayType`, `AIGateway` when not sent."""
    value = params.str("GatewayType", default=DEFAULT_GATEWAY_TYPE, choices=GATEWAY_TYPES)
    assert value is not None
    return value


def enforcement_mode(params: Params, *, default: str | None) -> str:
    """`EnforcementMode`: ENFORCE or LOG_ONLY; required when there is no default."""
    value = params.str("EnforcementMode", required=default is None, default=default, choices=ENFORCEMENT_MODES)
    assert value is not None
    return value


# -- storage ---------------------------------------------------------------------------------------
def policy_key(policy_set: str, name: str) -> str:
    return f"{policy_set}/{name}"


def gateway_key(kind: str, arn: str) -> str:
    return f"{kind} {arn}"


def policies_of(store: Store, account: str, policy_set: str) -> list[dict[str, Any]]:
    """The set's policies in creation order."""
    return [doc for doc in store.list(POLICY.store_kind, account) if doc["PolicySetName"] == policy_set]


def bindings_of(store: Store, account: str, policy_set: str) -> list[dict[str, Any]]:
    """The gateways the set is attached to, in attachment order."""
    return [doc for doc in store.list(GATEWAY_BINDING.store_kind, account)
            if doc["AttachedPolicySetName"] == policy_set]


def insert_policy(call: Call, doc: dict[str, Any]) -> None:
    """Store a new policy of its set."""
    if not call.store.insert(POLICY.store_kind, call.account, policy_key(doc["PolicySetName"], doc["PolicyName"]),
                             doc):
        raise EntityAlreadyExists(POLICY.entity, doc["PolicyName"])


def fetch_policy(call: Call, policy_set: str) -> dict[str, Any]:
    """The policy the request's `PolicyName` names in `policy_set`."""
    name = call.params.required(POLICY.name_param)
    doc = call.store.get(POLICY.store_kind, call.account, policy_key(policy_set, name))
    if doc is None:
        raise EntityNotExist(POLICY.entity, name)
    return doc


def fetch_binding(call: Call, arn: str, kind: str) -> dict[str, Any]:
    """The policy set binding of a gateway."""
    doc = call.store.get(GATEWAY_BINDING.store_kind, call.account, gateway_key(kind, arn))
    if doc is None:
        raise EntityNotExist(GATEWAY_BINDING.entity, arn)
    return doc


@dataclass(frozen=True)
class GatewayPolicy:
    """What a gateway enforces: its policy set's policies (name → Cedar statement, creation order) and mode."""

    policy_set_name: str
    policy_set_arn: str
    enforcement_mode: str
    policies: dict[str, str] = field(default_factory=dict)


def gateway_policy(store: Store, account: str, arn: str, kind: str = DEFAULT_GATEWAY_TYPE) -> GatewayPolicy | None:
    """The policy set attached to a gateway, or None when it has none."""
    with store.locked():
        binding = store.get(GATEWAY_BINDING.store_kind, account, gateway_key(kind, arn))
        if binding is None:
            return None
        docs = policies_of(store, account, binding["AttachedPolicySetName"])
    return GatewayPolicy(binding["AttachedPolicySetName"], binding["PolicySetArn"], binding["EnforcementMode"],
                         {doc["PolicyName"]: doc["Definition"]["Cedar"]["Statement"] for doc in docs})


# -- RAM -------------------------------------------------------------------------------------------
_ON_POLICY = frozenset({"CreatePolicy", "GetPolicy", "ListPolicies", "UpdatePolicy", "DeletePolicy"})
_ON_GATEWAY = frozenset({"GetGatewayPolicyConfig", "UpdateGatewayPolicyConfig"})


def resource_arn(call: Call) -> str:
    """The ARN a policy action touches: the policy, else the policy set (lists: `*` for the name); the gateway
    config actions name no Agent Identity resource before the binding is read, so they touch `*`."""
    if call.action in _ON_GATEWAY:
        return "*"
    raw = call.params.raw()
    policy_set = raw.get(POLICY_SET.name_param) or "*"
    if call.action in _ON_POLICY:
        return arns.policy_arn(call.region, call.account, policy_set, raw.get(POLICY.name_param) or "*")
    return arns.policy_set_arn(call.region, call.account, policy_set)

"""Gateways and policy sets: attach, detach, list a set's gateways, and each gateway's enforcement mode.

A gateway is named by `GatewayType` (default `AIGateway`) and `GatewayArn`, and has one policy set at most.
"""

from __future__ import annotations

from typing import Any

from localcloud.rpc.errors import InvalidParameter
from localcloud.rpc.paging import page
from localcloud.rpc.service import Call
from localcloud.services.agentidentity.errors import GatewayAlreadyAttached
from localcloud.services.agentidentity.policy_records import (
    DEFAULT_ENFORCEMENT_MODE,
    GATEWAY_BINDING,
    GATEWAY_TYPES,
    POLICY_SET,
    bindings_of,
    enforcement_mode,
    fetch_binding,
    gateway_arn,
    gateway_key,
    gateway_type,
)
from localcloud.services.agentidentity.records import fetch
from localcloud.times import iso_utc

__all__ = [
    "attach_policy_set_to_gateway",
    "detach_policy_set_from_gateway",
    "get_gateway_policy_config",
    "list_policy_set_attached_gateways",
    "update_gateway_policy_config",
]

_ATTACHED_FIELDS = ("GatewayArn", "GatewayType", "AttachedPolicySetName", "EnforcementMode", "AttachedTime")


def _config(binding: dict[str, Any]) -> dict[str, Any]:
    return {"GatewayPolicyConfig": {"PolicySetArn": binding["PolicySetArn"],
                                    "EnforcementMode": binding["EnforcementMode"]}}


def attach_policy_set_to_gateway(call: Call) -> dict[str, Any]:
    """AttachPolicySetToGateway; GatewayAlreadyAttached when the gateway has a policy set (this one or another)."""
    arn, kind = gateway_arn(call.params), gateway_type(call.params)
    mode = enforcement_mode(call.params, default=DEFAULT_ENFORCEMENT_MODE)
    with call.store.locked():
        policy_set = fetch(call, POLICY_SET)
        binding = {"GatewayArn": arn, "GatewayType": kind, "AttachedPolicySetName": policy_set["PolicySetName"],
                   "PolicySetArn": policy_set["PolicySetArn"], "EnforcementMode": mode,
                   "AttachedTime": iso_utc(call.now)}
        if not call.store.insert(GATEWAY_BINDING.store_kind, call.account, gateway_key(kind, arn), binding):
            current = fetch_binding(call, arn, kind)["AttachedPolicySetName"]
            raise GatewayAlreadyAttached(f"The {kind} gateway '{arn}' already has the policy set '{current}' "
                                         "attached: detach it first.")
    return {}


def detach_policy_set_from_gateway(call: Call) -> dict[str, Any]:
    """DetachPolicySetFromGateway: the named set must be the one attached."""
    arn, kind = gateway_arn(call.params), gateway_type(call.params)
    with call.store.locked():
        name = fetch(call, POLICY_SET)["PolicySetName"]
        current = fetch_binding(call, arn, kind)["AttachedPolicySetName"]
        if current != name:
            raise InvalidParameter("PolicySetName", f"the {kind} gateway '{arn}' has the policy set '{current}' "
                                   f"attached, not '{name}'.")
        call.store.delete(GATEWAY_BINDING.store_kind, call.account, gateway_key(kind, arn))
    return {}


def list_policy_set_attached_gateways(call: Call) -> dict[str, Any]:
    """ListPolicySetAttachedGateways, of every gateway type unless `GatewayType` is sent."""
    name = fetch(call, POLICY_SET)["PolicySetName"]
    kind = call.params.str("GatewayType", choices=GATEWAY_TYPES)
    docs = [doc for doc in bindings_of(call.store, call.account, name) if kind in (None, doc["GatewayType"])]
    chosen, fields = page(docs, call.params)
    return {"AttachedGateways": [{key: doc[key] for key in _ATTACHED_FIELDS} for doc in chosen], **fields}


def get_gateway_policy_config(call: Call) -> dict[str, Any]:
    """GetGatewayPolicyConfig: the attached set's ARN and the enforcement mode."""
    return _config(fetch_binding(call, gateway_arn(call.params), gateway_type(call.params)))


def update_gateway_policy_config(call: Call) -> dict[str, Any]:
    """UpdateGatewayPolicyConfig: a new enforcement mode for the gateway's policy set."""
    arn, kind = gateway_arn(call.params), gateway_type(call.params)
    mode = enforcement_mode(call.params, default=None)
    with call.store.locked():
        binding = {**fetch_binding(call, arn, kind), "EnforcementMode": mode}
        call.store.replace(GATEWAY_BINDING.store_kind, call.account, gateway_key(kind, arn), binding)
    return _config(binding)

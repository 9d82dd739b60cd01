"""Policies: one Cedar statement each, in a policy set. A statement the Cedar engine refuses is never stored."""

from __future__ import annotations

from typing import Any

from localcloud import arns
from localcloud.rpc.paging import page
from localcloud.rpc.service import Call
from localcloud.services.agentidentity.policy_records import (
    POLICY,
    POLICY_SET,
    definition,
    fetch_policy,
    insert_policy,
    new_policy_name,
    policies_of,
    policy_key,
)
from localcloud.services.agentidentity.records import changed, description, fetch, without_none
from localcloud.times import iso_utc

__all__ = ["create_policy", "delete_policy", "get_policy", "list_policies", "update_policy"]


def _view(doc: dict[str, Any]) -> dict[str, Any]:
    return without_none(doc)


def create_policy(call: Call) -> dict[str, Any]:
    """CreatePolicy."""
    name = new_policy_name(call.params)
    rules = definition(call.params, required=True)
    now = iso_utc(call.now)
    with call.store.locked():
        policy_set = fetch(call, POLICY_SET)["PolicySetName"]
        doc = without_none({
            "PolicyName": name,
            "PolicySetName": policy_set,
            "PolicyArn": arns.policy_arn(call.region, call.account, policy_set, name),
            "Description": description(call.params),
            "Definition": rules,
            "CreateTime": now,
            "UpdateTime": now,
        })
        insert_policy(call, doc)
    return {"Policy": _view(doc)}


def get_policy(call: Call) -> dict[str, Any]:
    """GetPolicy."""
    policy_set = fetch(call, POLICY_SET)["PolicySetName"]
    return {"Policy": _view(fetch_policy(call, policy_set))}


def list_policies(call: Call) -> dict[str, Any]:
    """ListPolicies of one policy set, in creation order."""
    policy_set = fetch(call, POLICY_SET)["PolicySetName"]
    chosen, fields = page(policies_of(call.store, call.account, policy_set), call.params)
    return {"Policies": [_view(doc) for doc in chosen], **fields}


def update_policy(call: Call) -> dict[str, Any]:
    """UpdatePolicy: a new definition and/or description; the SDK's response carries no policy."""
    rules = definition(call.params, required=False)
    with call.store.locked():
        policy_set = fetch(call, POLICY_SET)["PolicySetName"]
        doc = fetch_policy(call, policy_set)
        new = changed(doc, {"Definition": rules, "Description": description(call.params)}, call.now)
        call.store.replace(POLICY.store_kind, call.account, policy_key(policy_set, doc["PolicyName"]), new)
    return {}


def delete_policy(call: Call) -> dict[str, Any]:
    """DeletePolicy."""
    with call.store.locked():
        policy_set = fetch(call, POLICY_SET)["PolicySetName"]
        name = fetch_policy(call, policy_set)["PolicyName"]
        call.store.delete(POLICY.store_kind, call.account, policy_key(policy_set, name))
    return {}

"""Policy sets: the named groups of Cedar policies a gateway enforces (one set per gateway)."""

from __future__ import annotations

from typing import Any

from localcloud import arns
from localcloud.rpc.errors import DeleteConflict
from localcloud.rpc.service import Call
from localcloud.services.agentidentity.policy_records import POLICY_SET, bindings_of, policies_of
from localcloud.services.agentidentity.records import (
    changed,
    create,
    description,
    fetch,
    listing,
    new_name,
    remove,
    save,
    without_none,
)

__all__ = [
    "create_policy_set",
    "delete_policy_set",
    "get_policy_set",
    "list_policy_sets",
    "update_policy_set",
]


def _view(doc: dict[str, Any]) -> dict[str, Any]:
    return without_none(doc)


def create_policy_set(call: Call) -> dict[str, Any]:
    """CreatePolicySet."""
    name = new_name(call.params, POLICY_SET)
    doc = create(call, POLICY_SET, {
        "PolicySetName": name,
        "PolicySetArn": arns.policy_set_arn(call.region, call.account, name),
        "SourcePlatform": call.params.str("SourcePlatform", max_len=64),
        "Description": description(call.params),
    })
    return {"PolicySet": _view(doc)}


def get_policy_set(call: Call) -> dict[str, Any]:
    """GetPolicySet."""
    return {"PolicySet": _view(fetch(call, POLICY_SET))}


def list_policy_sets(call: Call) -> dict[str, Any]:
    """ListPolicySets."""
    return listing(call, POLICY_SET, "PolicySets", _view)


def update_policy_set(call: Call) -> dict[str, Any]:
    """UpdatePolicySet: only the description changes; the SDK's response carries no set."""
    doc = fetch(call, POLICY_SET)
    save(call, POLICY_SET, changed(doc, {"Description": description(call.params)}, call.now))
    return {}


def delete_policy_set(call: Call) -> dict[str, Any]:
    """DeletePolicySet, refused while the set is attached to a gateway or still holds policies."""
    with call.store.locked():
        name = fetch(call, POLICY_SET)["PolicySetName"]
        # As RAM refuses to delete a policy still attached or with versions: nothing is deleted as a side effect,
        # and the sample's cleanup detaches the set and deletes its policy before it deletes the set.
        gateways = [doc["GatewayArn"] for doc in bindings_of(call.store, call.account, name)]
        if gateways:
            raise DeleteConflict("PolicySet.Gateway", f"The PolicySet '{name}' is attached to the gateways "
                                 f"{', '.join(gateways)}: detach it first.")
        policies = [doc["PolicyName"] for doc in policies_of(call.store, call.account, name)]
        if policies:
            raise DeleteConflict("PolicySet.Policy", f"The PolicySet '{name}' still holds the policies "
                                 f"{', '.join(policies)}: delete them first.")
        remove(call, POLICY_SET)
    return {}

"""RAM policy actions: create, read and delete custom policies; attach them to roles."""

from __future__ import annotations

from typing import Any

from localcloud.rpc.errors import DeleteConflict, EntityAlreadyExists, EntityNotExist
from localcloud.rpc.service import Call
from localcloud.services.ram.catalog import system_policy
from localcloud.services.ram.records import (
    POLICY,
    ROLE,
    checked_document,
    find_policy,
    find_role,
    role_key,
    valid_name,
)
from localcloud.times import iso_utc

__all__ = ["attach_policy_to_role", "create_policy", "delete_policy", "detach_policy_from_role", "get_policy",
           "list_policies_for_role"]

_POLICY_NAME = r"A-Za-z0-9\-"
_TYPES = ("System", "Custom")


def _attachments(call: Call, name: str) -> list[dict[str, Any]]:
    """The roles a custom policy is attached to."""
    return [role for role in call.store.list(ROLE, call.account)
            if any(a["PolicyName"] == name and a["PolicyType"] == "Custom" for a in role["AttachedPolicies"])]


def create_policy(call: Call) -> dict[str, Any]:
    """Create a custom permission policy (version v1, the default)."""
    p = call.params
    name = valid_name(p.required("PolicyName"), "PolicyName", _POLICY_NAME, 128)
    record = {"PolicyName": name, "PolicyType": "Custom", "Description": p.str("Description", default=""),
              "DefaultVersion": "v1", "CreateDate": iso_utc(call.now), "UpdateDate": iso_utc(call.now),
              "PolicyDocument": checked_document(p.required("PolicyDocument", max_len=6144), trust=False)}
    if system_policy(name) is not None or not call.store.insert(POLICY, call.account, name, record):
        raise EntityAlreadyExists("Policy", name)
    return {"Policy": {k: record[k] for k in ("PolicyName", "PolicyType", "Description", "DefaultVersion",
                                              "CreateDate")}}


def get_policy(call: Call) -> dict[str, Any]:
    """A policy with its default version's document."""
    p = call.params
    found = find_policy(call.store, call.account, p.required("PolicyName"),
                        p.required("PolicyType", choices=_TYPES))
    count = len(_attachments(call, found["PolicyName"])) if found["PolicyType"] == "Custom" else 0
    version = {"VersionId": "v1", "IsDefaultVersion": True, "PolicyDocument": found["PolicyDocument"],
               "CreateDate": found["CreateDate"]}
    return {"Policy": {**found, "AttachmentCount": count}, "DefaultPolicyVersion": version}


def delete_policy(call: Call) -> dict[str, Any]:
    """Delete a custom policy; attached ones only with CascadingDelete."""
    p = call.params
    found = find_policy(call.store, call.account, p.required("PolicyName"), "Custom")
    roles = _attachments(call, found["PolicyName"])
    if roles and not p.bool("CascadingDelete"):
        names = ", ".join(r["RoleName"] for r in roles)
        raise DeleteConflict("Policy.Role", f"The policy '{found['PolicyName']}' is attached to {names}: detach it "
                             "first or pass CascadingDelete=true.")
    for role in roles:
        role["AttachedPolicies"] = [a for a in role["AttachedPolicies"] if a["PolicyName"] != found["PolicyName"]]
        call.store.replace(ROLE, call.account, role_key(role["RoleName"]), role)
    call.store.delete(POLICY, call.account, found["PolicyName"])
    return {}


def _target(call: Call) -> tuple[dict[str, Any], dict[str, Any]]:
    p = call.params
    found = find_policy(call.store, call.account, p.required("PolicyName"), p.required("PolicyType", choices=_TYPES))
    return find_role(call.store, call.account, p.required("RoleName")), found


def attach_policy_to_role(call: Call) -> dict[str, Any]:
    """Grant a role a policy."""
    role, found = _target(call)
    if any(a["PolicyName"] == found["PolicyName"] for a in role["AttachedPolicies"]):
        raise EntityAlreadyExists("Role.Policy", f"{found['PolicyName']} on {role['RoleName']}")
    role["AttachedPolicies"].append({"PolicyName": found["PolicyName"], "PolicyType": found["PolicyType"],
                                     "AttachDate": iso_utc(call.now)})
    call.store.replace(ROLE, call.account, role_key(role["RoleName"]), role)
    return {}


def detach_policy_from_role(call: Call) -> dict[str, Any]:
    """Take a policy away from a role."""
    role, found = _target(call)
    kept = [a for a in role["AttachedPolicies"] if a["PolicyName"] != found["PolicyName"]]
    if len(kept) == len(role["AttachedPolicies"]):
        raise EntityNotExist("Role.Policy", f"{found['PolicyName']} on {role['RoleName']}")
    role["AttachedPolicies"] = kept
    call.store.replace(ROLE, call.account, role_key(role["RoleName"]), role)
    return {}


def list_policies_for_role(call: Call) -> dict[str, Any]:
    """The policies attached to a role."""
    role = find_role(call.store, call.account, call.params.required("RoleName"))
    listed = []
    for attachment in role["AttachedPolicies"]:
        found = find_policy(call.store, call.account, attachment["PolicyName"], attachment["PolicyType"])
        listed.append({**attachment, "Description": found["Description"], "DefaultVersion": found["DefaultVersion"]})
    return {"Policies": {"Policy": listed}}

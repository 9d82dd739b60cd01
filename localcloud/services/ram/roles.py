"""RAM role actions: CreateRole, GetRole, DeleteRole."""

from __future__ import annotations

import secrets
from typing import Any

from localcloud import arns
from localcloud.rpc.errors import DeleteConflict, EntityAlreadyExists
from localcloud.rpc.service import Call
from localcloud.services.ram.records import ROLE, checked_document, find_role, role_key, valid_name
from localcloud.times import iso_utc

__all__ = ["create_role", "delete_role", "get_role"]

_ROLE_NAME = r"A-Za-z0-9.\-"


def _public(role: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in role.items() if k != "AttachedPolicies"}


def create_role(call: Call) -> dict[str, Any]:
    """Create a role with its trust policy."""
    p = call.params
    name = valid_name(p.required("RoleName"), "RoleName", _ROLE_NAME, 64)
    role: dict[str, Any] = {
        "RoleName": name, "RoleId": str(3 * 10**17 + secrets.randbelow(10**17)),
        "Arn": arns.role_arn(call.account, name),
        "AssumeRolePolicyDocument": checked_document(p.required("AssumeRolePolicyDocument", max_len=4096), trust=True),
        "Description": p.str("Description", default=""), "CreateDate": iso_utc(call.now),
        "UpdateDate": iso_utc(call.now), "IsServiceLinkedRole": False,
        "MaxSessionDuration": p.int("MaxSessionDuration", default=3600, low=3600, high=43200),
        "AttachedPolicies": [],
    }
    if not call.store.insert(ROLE, call.account, role_key(name), role):
        raise EntityAlreadyExists("Role", name)
    return {"Role": {k: role[k] for k in ("RoleName", "RoleId", "Arn", "AssumeRolePolicyDocument", "Description",
                                          "CreateDate", "MaxSessionDuration")}}


def get_role(call: Call) -> dict[str, Any]:
    """A role and its trust policy."""
    return {"Role": _public(find_role(call.store, call.account, call.params.required("RoleName")))}


def delete_role(call: Call) -> dict[str, Any]:
    """Delete a role that has no policies attached."""
    role = find_role(call.store, call.account, call.params.required("RoleName"))
    if role["AttachedPolicies"]:
        names = ", ".join(a["PolicyName"] for a in role["AttachedPolicies"])
        raise DeleteConflict("Role.Policy", f"The role '{role['RoleName']}' still has policies attached ({names}): "
                             "detach them first.")
    call.store.delete(ROLE, call.account, role_key(role["RoleName"]))
    return {}

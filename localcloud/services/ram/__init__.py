"""RAM 2015-05-01 (`alibabacloud_ram20150501`): roles, policies and their attachments."""

from __future__ import annotations

import json
from typing import Any

from localcloud.rpc.service import Principal, Service
from localcloud.services.ram import policies, roles
from localcloud.services.ram.model import ROLE, find_policy, role_key
from localcloud.store import Store

__all__ = ["SERVICE", "policies_of_role", "role_policy_documents"]


def policies_of_role(store: Store, account: str, role_name: str) -> list[dict[str, Any]]:
    """The parsed permission policies attached to a role (none if the role is gone)."""
    role = store.get(ROLE, account, role_key(role_name))
    if role is None:
        return []
    documents = []
    for attachment in role["AttachedPolicies"]:
        found = find_policy(store, account, attachment["PolicyName"], attachment["PolicyType"])
        documents.append(json.loads(found["PolicyDocument"]))
    return documents


def role_policy_documents(store: Store, principal: Principal) -> list[dict[str, Any]]:
    """The policies of the role an STS caller assumed; a deleted role allows nothing."""
    return policies_of_role(store, principal.account_id, principal.role_name or "")


SERVICE = Service(product="Ram", code="ram", version="2015-05-01", host="ram.aliyuncs.com", actions={
    "CreateRole": roles.create_role,
    "GetRole": roles.get_role,
    "DeleteRole": roles.delete_role,
    "CreatePolicy": policies.create_policy,
    "GetPolicy": policies.get_policy,
    "DeletePolicy": policies.delete_policy,
    "AttachPolicyToRole": policies.attach_policy_to_role,
    "DetachPolicyFromRole": policies.detach_policy_from_role,
    "ListPoliciesForRole": policies.list_policies_for_role,
})

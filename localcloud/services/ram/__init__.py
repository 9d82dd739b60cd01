"""RAM 2015-05-01 (`alibabacloud_ram20150501`): roles, policies and their attachments."""

from __future__ import annotations

import json
from typing import Any

from localcloud.rpc.service import Principal, Service
from localcloud.services.ram import policies, roles
from localcloud.services.ram.model import ROLE, find_policy, role_key
from localcloud.store import Store

__all__ = ["SERVICE", "role_policy_documents"]


def role_policy_documents(store: Store, principal: Principal) -> list[dict[str, Any]]:
    """The parsed permission policies attached to the role an STS caller assumed."""
    role = store.get(ROLE, principal.account_id, role_key(principal.role_name or ""))
    if role is None:  # the role was deleted after the credentials were issued: nothing is allowed
        return []
    documents = []
    for attachment in role["AttachedPolicies"]:
        found = find_policy(store, principal.account_id, attachment["PolicyName"], attachment["PolicyType"])
        documents.append(json.loads(found["PolicyDocument"]))
    return documents


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

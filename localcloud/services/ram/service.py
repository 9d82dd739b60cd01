"""RAM's `SERVICE`: every action's handler (the RAM resource of each is "*")."""

from __future__ import annotations

from localcloud.rpc.service import Service
from localcloud.services.ram import policies, roles

__all__ = ["SERVICE"]

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

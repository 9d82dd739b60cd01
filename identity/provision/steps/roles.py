"""The account id, and the RAM role the workload identity acts as, with its permission policy."""

from __future__ import annotations

import json

from alibabacloud_ram20150501 import models as ram

from identity.provision.deployment import Deployment
from identity.provision.documents import permission_policy, trust_policy
from identity.provision.steps.base import Found, Step, absent_on_not_found

__all__ = ["ATTACHMENT", "CALLER", "POLICY", "ROLE"]


def _read_caller(deployment: Deployment) -> Found:
    body = deployment.clients.sts().get_caller_identity().body
    deployment.record(account_id=body.account_id)
    return {"AccountId": body.account_id, "Arn": body.arn}


def _trust(d: Deployment) -> str:
    return trust_policy(d.target.region, d.account, d.workload)


def _permissions(d: Deployment) -> str:
    return permission_policy(d.target.region, d.account, d.workload, d.settings.oss_bucket)


def _same_json(a: str, b: str) -> bool:
    return json.loads(a) == json.loads(b)


def _find_role(d: Deployment) -> Found | None:
    got = absent_on_not_found(lambda: d.clients.ram().get_role(ram.GetRoleRequest(role_name=d.role_name)))
    return got.body.role.to_map() if got else None


def _create_role(d: Deployment) -> str:
    role = d.clients.ram().create_role(ram.CreateRoleRequest(
        role_name=d.role_name, assume_role_policy_document=_trust(d),
        description=f"Assumed by Agent Identity for workload identity {d.workload}")).body.role
    d.record(role_arn=role.arn, role_name=role.role_name)
    return role.role_name


def _delete_role(d: Deployment) -> None:
    d.clients.ram().delete_role(ram.DeleteRoleRequest(role_name=d.role_name))
    d.forget("role", "role_arn", "role_name")


def _find_policy(d: Deployment) -> Found | None:
    got = absent_on_not_found(lambda: d.clients.ram().get_policy(ram.GetPolicyRequest(
        policy_name=d.policy_name, policy_type="Custom")))
    return {"PolicyDocument": got.body.default_policy_version.policy_document} if got else None


def _create_policy(d: Deployment) -> str:
    d.clients.ram().create_policy(ram.CreatePolicyRequest(
        policy_name=d.policy_name, policy_document=_permissions(d),
        description=f"What workload identity {d.workload} may do"))
    d.record(policy_name=d.policy_name)
    return d.policy_name


def _delete_policy(d: Deployment) -> None:
    d.clients.ram().delete_policy(ram.DeletePolicyRequest(policy_name=d.policy_name))
    d.forget("policy", "policy_name")


def _find_attachment(d: Deployment) -> Found | None:
    listed = absent_on_not_found(lambda: d.clients.ram().list_policies_for_role(
        ram.ListPoliciesForRoleRequest(role_name=d.role_name)))
    names = [p.policy_name for p in (listed.body.policies.policy or [])] if listed else []
    return {"PolicyName": d.policy_name} if d.policy_name in names else None


def _attach(d: Deployment) -> str:
    d.clients.ram().attach_policy_to_role(ram.AttachPolicyToRoleRequest(
        policy_type="Custom", policy_name=d.policy_name, role_name=d.role_name))
    return f"{d.policy_name} → {d.role_name}"


def _detach(d: Deployment) -> None:
    d.clients.ram().detach_policy_from_role(ram.DetachPolicyFromRoleRequest(
        policy_type="Custom", policy_name=d.policy_name, role_name=d.role_name))
    d.forget("attachment")


CALLER = Step(key="caller_identity", title="Caller identity (account id)", label=lambda d: d.account or "(account)",
              find=_read_caller, create=lambda d: _read_caller(d)["AccountId"], delete=lambda d: None)

ROLE = Step(
    key="role", title="RAM role the workload identity acts as", label=lambda d: d.role_name,
    find=_find_role, create=_create_role, delete=_delete_role,
    drift=lambda d, f: None if _same_json(f["AssumeRolePolicyDocument"], _trust(d)) else
    "its trust policy differs (clear and provision again to fix)",
    adopt=lambda d, f: d.record(role_arn=f["Arn"], role_name=f["RoleName"]),
)

POLICY = Step(
    key="policy", title="Permission policy (data-plane actions, demo OSS bucket)", label=lambda d: d.policy_name,
    find=_find_policy, create=_create_policy, delete=_delete_policy,
    drift=lambda d, f: None if _same_json(f["PolicyDocument"], _permissions(d)) else
    "its document differs (clear and provision again to fix)",
    adopt=lambda d, f: d.record(policy_name=d.policy_name),
)

ATTACHMENT = Step(key="attachment", title="Policy attached to the role",
                  label=lambda d: f"{d.policy_name} → {d.role_name}",
                  find=_find_attachment, create=_attach, delete=_detach)

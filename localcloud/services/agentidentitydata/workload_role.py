"""The RAM role behind a workload identity: what it may do, and whether it trusts the workload."""

from __future__ import annotations

import re
from typing import Any

from localcloud import policy
from localcloud.rpc.errors import EntityNotExist, NoPermission
from localcloud.rpc.service import Call
from localcloud.services.ram import policies_of_role
from localcloud.services.ram.records import find_role

__all__ = ["WORKLOAD_SERVICE_PRINCIPAL", "require_permission", "role_of", "trusts_workload"]

WORKLOAD_SERVICE_PRINCIPAL = "workload.agentidentity.aliyuncs.com"
# The trust-policy condition key the sample's CLI writes (SAMPLE.md §1).
WORKLOAD_ARN_CONDITION = "sts:RequestContext/agentidentity:WorkloadIdentityArn"
_ROLE_ARN = re.compile(r"acs:ram::(\d+):role/(.+)")


def role_of(call: Call, workload: dict[str, Any], account: str) -> dict[str, Any]:
    """The RAM role a workload identity names, from its RoleArn."""
    match = _ROLE_ARN.fullmatch(workload.get("RoleArn") or "")
    if match is None or match.group(1) != account:
        raise NoPermission(f"The workload identity {workload['WorkloadIdentityName']} has no RAM role of this "
                           "account: set its RoleArn.")
    try:
        return find_role(call.store, account, match.group(2))
    except EntityNotExist:
        raise NoPermission(f"The RAM role {workload['RoleArn']} of workload identity "
                           f"{workload['WorkloadIdentityName']} does not exist.") from None


def require_permission(call: Call, workload: dict[str, Any], account: str, action: str, resource: str) -> None:
    """Refuse unless the workload's role policies allow `action` on `resource`."""
    role = role_of(call, workload, account)
    decision = policy.evaluate(policies_of_role(call.store, account, role["RoleName"]), action, resource)
    if not decision.allowed:
        raise NoPermission(
            f"The role {role['Arn']} of workload identity {workload['WorkloadIdentityName']} may not do {action} "
            f"on {resource}.",
            detail={"AuthAction": action, "AuthPrincipalType": "WorkloadIdentity",
                    "AuthPrincipalDisplayName": workload["WorkloadIdentityArn"], "NoPermissionType": decision.reason,
                    "PolicyType": "AccountLevelIdentityBasedPolicy"})


def trusts_workload(role: dict[str, Any], workload_arn: str) -> bool:
    """Whether the role's trust policy lets Agent Identity assume it for this workload identity."""
    document = policy.parse_policy(role["AssumeRolePolicyDocument"], trust=True)
    trusted = policy.trusted_principals(document, "Service", context={WORKLOAD_ARN_CONDITION: workload_arn})
    return WORKLOAD_SERVICE_PRINCIPAL in trusted

"""System policies every account has, by name (the ones the sample and its docs mention)."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["SYSTEM_POLICIES", "system_policy"]


def _allow(actions: list[str], description: str) -> dict[str, Any]:
    document = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]}
    return {"Description": description, "PolicyDocument": json.dumps(document)}


SYSTEM_POLICIES: dict[str, dict[str, Any]] = {
    "AdministratorAccess": _allow(["*"], "Full access to all Alibaba Cloud services"),
    "AliyunOSSReadOnlyAccess": _allow(["oss:Get*", "oss:List*"], "Read-only access to OSS"),
    "AliyunOSSFullAccess": _allow(["oss:*"], "Full access to OSS"),
    "AliyunAgentIdentityDataFullAccess": _allow(["agentidentitydata:*"], "Full access to Agent Identity data APIs"),
    "AliyunAgentIdentityFullAccess": _allow(["agentidentity:*"], "Full access to Agent Identity"),
    "AliyunSTSAssumeRoleAccess": _allow(["sts:AssumeRole"], "Permission to assume roles"),
    "AliyunECSReadOnlyAccess": _allow(["ecs:Describe*", "ecs:List*"], "Read-only access to ECS"),
}


def system_policy(name: str) -> dict[str, Any] | None:
    """A system policy's record in the shape custom policies are stored in."""
    entry = SYSTEM_POLICIES.get(name)
    if entry is None:
        return None
    return {"PolicyName": name, "PolicyType": "System", "DefaultVersion": "v1", "CreateDate": "2015-04-28T16:00:00Z",
            "UpdateDate": "2015-04-28T16:00:00Z", **entry}

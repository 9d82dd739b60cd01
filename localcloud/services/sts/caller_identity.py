"""GetCallerIdentity: the account and principal behind the signing key."""

from __future__ import annotations

from typing import Any

from localcloud.rpc.service import Call

__all__ = ["get_caller_identity"]


def get_caller_identity(call: Call) -> dict[str, Any]:
    """The account and principal behind the signing key."""
    caller = call.caller
    if caller.kind == "root":
        return {"AccountId": caller.account_id, "UserId": caller.account_id, "PrincipalId": caller.account_id,
                "Arn": caller.arn, "IdentityType": "Account"}
    principal_id = f"{caller.role_id}:{caller.session_name}"
    return {"AccountId": caller.account_id, "Arn": caller.arn, "IdentityType": "AssumedRoleUser",
            "PrincipalId": principal_id, "RoleId": principal_id}

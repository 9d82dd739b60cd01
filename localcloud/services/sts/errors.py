"""STS's own error code, beyond the shared RPC families (`localcloud.rpc.errors`).

Besides `NoPermission.RoleTrust`, STS answers `InvalidParameter.RoleArn` / `.RoleSessionName` / `.Policy`
and `EntityNotExist.Role`.
"""

from __future__ import annotations

from localcloud.rpc.errors import NoPermission

__all__ = ["RoleTrustRefused"]


class RoleTrustRefused(NoPermission):
    """403: the role's trust policy does not let this principal assume it (AssumeRole, and Agent Identity's
    AssumeRoleForWorkloadIdentity)."""

    code = "NoPermission.RoleTrust"

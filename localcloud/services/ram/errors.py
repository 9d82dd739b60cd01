"""RAM's own error codes, beyond the shared RPC families (`localcloud.rpc.errors`).

Besides `MalformedPolicyDocument`, RAM answers `EntityNotExist.Role` / `.Policy` / `.Role.Policy`,
`EntityAlreadyExists.Role` / `.Policy` / `.Role.Policy`, `DeleteConflict.Role.Policy` / `.Policy.Role` and
`InvalidParameter.<Name>`.
"""

from __future__ import annotations

from localcloud.rpc.errors import ServiceError

__all__ = ["MalformedPolicyDocument"]


class MalformedPolicyDocument(ServiceError):
    """A policy document RAM cannot parse, or one that breaks its grammar."""

    code = "MalformedPolicyDocument"
    status = 400

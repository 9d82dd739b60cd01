"""STS's records: the access keys of a role session, kept in the store's access-key table until they expire.

`issue_role_credentials` mints them (for AssumeRole, and for Agent Identity's AssumeRoleForWorkloadIdentity);
`role_credentials_view` is how an AssumeRole-style answer shows them.
"""

from __future__ import annotations

import string
from typing import Any

from localcloud.store import AccessKey, Store, random_token
from localcloud.times import iso_utc

__all__ = ["issue_role_credentials", "role_credentials_view"]


def issue_role_credentials(store: Store, role: dict[str, Any], account: str, session_name: str, duration: int,
                           session_policy: str | None, now: float,
                           context: dict[str, Any] | None = None) -> AccessKey:
    """Mint STS credentials for a role session; the RPC front then authorizes them by the role's policies.

    `context` travels with the keys (e.g. the workload identity and user they were issued for), so the
    services that accept them can tell on whose behalf a request comes.
    """
    arn = f"acs:ram::{account}:assumed-role/{role['RoleName'].lower()}/{session_name}"
    key = AccessKey(
        id="STS." + random_token(28), secret=random_token(44), account_id=account, kind="sts",
        # Real tokens are long opaque base64 strings; ours are random and mean nothing outside the store.
        security_token="CAIS" + random_token(120, string.ascii_letters + string.digits + "+/"),
        expires_at=now + duration,
        principal={"arn": arn, "role_name": role["RoleName"], "role_id": role["RoleId"],
                   "session_name": session_name, "session_policy": session_policy, "context": context or {}},
    )
    store.add_access_key(key)
    return key


def role_credentials_view(key: AccessKey, role: dict[str, Any]) -> dict[str, Any]:
    """The `Credentials` and `AssumedRoleUser` of an AssumeRole-style answer."""
    return {"Credentials": {"AccessKeyId": key.id, "AccessKeySecret": key.secret, "SecurityToken": key.security_token,
                            "Expiration": iso_utc(key.expires_at or 0)},
            "AssumedRoleUser": {"Arn": key.principal["arn"],
                                "AssumedRoleId": f"{role['RoleId']}:{key.principal['session_name']}"}}

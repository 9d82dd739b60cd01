"""STS 2015-04-01 (`alibabacloud_sts20150401`): who am I, and temporary credentials for a role."""

from __future__ import annotations

import re
import string
from typing import Any

from localcloud import policy
from localcloud.rpc.errors import EntityNotExist, InvalidParameter, NoPermission
from localcloud.rpc.service import Call, Service
from localcloud.services.ram.model import find_role
from localcloud.store import AccessKey, Store, random_token
from localcloud.times import iso_utc

__all__ = ["SERVICE", "issue_role_credentials", "role_credentials_view"]

_ROLE_ARN = re.compile(r"acs:ram::(\d+):role/([A-Za-z0-9.\-]{1,64})")
_SESSION_NAME = re.compile(r"[\w.@\-]{2,64}")


def get_caller_identity(call: Call) -> dict[str, Any]:
    """The account and principal behind the signing key."""
    caller = call.caller
    if caller.kind == "root":
        return {"AccountId": caller.account_id, "UserId": caller.account_id, "PrincipalId": caller.account_id,
                "Arn": caller.arn, "IdentityType": "Account"}
    principal_id = f"{caller.role_id}:{caller.session_name}"
    return {"AccountId": caller.account_id, "Arn": caller.arn, "IdentityType": "AssumedRoleUser",
            "PrincipalId": principal_id, "RoleId": principal_id}


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


def _requested_role(call: Call) -> dict[str, Any]:
    arn = call.params.required("RoleArn")
    match = _ROLE_ARN.fullmatch(arn)
    if match is None:
        raise InvalidParameter("RoleArn", f"'{arn}' is not a role ARN like acs:ram::<account-id>:role/<name>.")
    account, name = match.groups()
    if account != call.account:
        raise EntityNotExist("Role", arn)  # localcloud has one account: other accounts' roles do not exist
    return find_role(call.store, account, name)


def _check_trust(call: Call, role: dict[str, Any]) -> None:
    document = policy.parse_policy(role["AssumeRolePolicyDocument"], trust=True)
    trusted = policy.trusted_principals(document, "RAM")
    if not {f"acs:ram::{call.account}:root", call.account, call.caller.arn} & set(trusted):
        raise NoPermission(f"The role {role['Arn']} does not trust {call.caller.arn}: its trust policy must list "
                           f"acs:ram::{call.account}:root under Principal.RAM.", code="NoPermission.RoleTrust")


def assume_role(call: Call) -> dict[str, Any]:
    """Temporary credentials for a role whose trust policy allows the caller."""
    p = call.params
    role = _requested_role(call)
    _check_trust(call, role)
    session = p.required("RoleSessionName")
    if not _SESSION_NAME.fullmatch(session):
        raise InvalidParameter("RoleSessionName", "use 2 to 64 letters, digits, '.', '@', '-' or '_'.")
    duration = p.int("DurationSeconds", default=3600, low=900, high=role["MaxSessionDuration"])
    session_policy = p.str("Policy", max_len=2048)
    if session_policy is not None:
        try:
            policy.parse_policy(session_policy)
        except policy.PolicyError as exc:
            raise InvalidParameter("Policy", f"{exc}.") from None
    key = issue_role_credentials(call.store, role, call.account, session, duration or 3600, session_policy, call.now)
    return role_credentials_view(key, role)


def _resource(call: Call) -> str:
    return (call.params.str("RoleArn") or "*") if call.action == "AssumeRole" else "*"


SERVICE = Service(product="Sts", code="sts", version="2015-04-01", host="sts.aliyuncs.com",
                  actions={"GetCallerIdentity": get_caller_identity, "AssumeRole": assume_role}, resource=_resource,
                  # Like the real STS, anyone holding valid keys may ask who they are.
                  unrestricted=frozenset({"GetCallerIdentity"}))

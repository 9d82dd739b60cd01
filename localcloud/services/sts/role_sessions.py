"""AssumeRole: temporary credentials for a session of a role whose trust policy allows the caller."""

from __future__ import annotations

import re
from typing import Any

from localcloud import policy
from localcloud.rpc.errors import EntityNotExist, InvalidParameter
from localcloud.rpc.service import Call
from localcloud.services.ram.records import find_role
from localcloud.services.sts.errors import RoleTrustRefused
from localcloud.services.sts.records import issue_role_credentials, role_credentials_view

__all__ = ["assume_role"]

_ROLE_ARN = re.compile(r"acs:ram::(\d+):role/([A-Za-z0-9.\-]{1,64})")
_SESSION_NAME = re.compile(r"[\w.@\-]{2,64}")


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
        raise RoleTrustRefused(f"The role {role['Arn']} does not trust {call.caller.arn}: its trust policy must list "
                               f"acs:ram::{call.account}:root under Principal.RAM.")


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

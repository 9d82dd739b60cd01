"""RAM's records: roles (with their attached policies) and custom policies, and the policies a role has.

System policies are not stored: every account has them (`catalog.py`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from localcloud import policy
from localcloud.rpc.errors import EntityNotExist, InvalidParameter
from localcloud.rpc.service import Principal
from localcloud.services.ram.catalog import system_policy
from localcloud.services.ram.errors import MalformedPolicyDocument
from localcloud.store import Store

__all__ = [
    "POLICY",
    "ROLE",
    "checked_document",
    "find_policy",
    "find_role",
    "policies_of_role",
    "role_key",
    "role_policy_documents",
    "valid_name",
]

ROLE = "ram.role"
POLICY = "ram.policy"


def role_key(name: str) -> str:
    # Role names are case-insensitive in RAM (the ARN lower-cases them).
    return name.lower()


def valid_name(value: str, name: str, characters: str, limit: int) -> str:
    """Check a RAM entity name: 1 to `limit` characters from the `characters` class."""
    if not re.fullmatch(f"[{characters}]{{1,{limit}}}", value):
        shown = characters.replace("\\", "")
        raise InvalidParameter(name, f"'{value}' must be 1 to {limit} characters of {shown}.")
    return value


def checked_document(text: str, *, trust: bool) -> str:
    """A policy document validated as RAM does on create; raises MalformedPolicyDocument."""
    try:
        policy.parse_policy(text, trust=trust)
    except policy.PolicyError as exc:
        raise MalformedPolicyDocument(f"The policy document is malformed: {exc}.") from None
    return text


def find_role(store: Store, account: str, name: str) -> dict[str, Any]:
    role = store.get(ROLE, account, role_key(name))
    if role is None:
        raise EntityNotExist("Role", name)
    return role


def find_policy(store: Store, account: str, name: str, policy_type: str) -> dict[str, Any]:
    found = system_policy(name) if policy_type == "System" else store.get(POLICY, account, name)
    if found is None:
        raise EntityNotExist("Policy", name)
    return found


def policies_of_role(store: Store, account: str, role_name: str) -> list[dict[str, Any]]:
    """The parsed permission policies attached to a role (none if the role is gone)."""
    role = store.get(ROLE, account, role_key(role_name))
    if role is None:
        return []
    documents = []
    for attachment in role["AttachedPolicies"]:
        found = find_policy(store, account, attachment["PolicyName"], attachment["PolicyType"])
        documents.append(json.loads(found["PolicyDocument"]))
    return documents


def role_policy_documents(store: Store, principal: Principal) -> list[dict[str, Any]]:
    """The policies of the role an STS caller assumed; a deleted role allows nothing."""
    return policies_of_role(store, principal.account_id, principal.role_name or "")

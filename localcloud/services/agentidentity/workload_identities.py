"""Workload identities: an agent's identity, the RAM role it assumes and where its OAuth flows may return."""

from __future__ import annotations

import re
from typing import Any

from localcloud import arns
from localcloud.rpc.errors import InvalidParameter
from localcloud.rpc.params import Params
from localcloud.rpc.service import Call
from localcloud.services.agentidentity.records import (
    IDENTITY_PROVIDER,
    WORKLOAD_IDENTITY,
    changed,
    create,
    description,
    fetch,
    forget_held_tokens,
    listing,
    new_name,
    remove,
    save,
    url_list,
    without_none,
)

__all__ = [
    "create_workload_identity",
    "delete_workload_identity",
    "get_workload_identity",
    "list_workload_identities",
    "update_workload_identity",
]

# RAM role names: 1 to 64 letters, digits, '.', '-' or '_'.
_ROLE_ARN = re.compile(r"acs:ram::[0-9]+:role/[A-Za-z0-9._-]{1,64}")


def _view(doc: dict[str, Any]) -> dict[str, Any]:
    return without_none(doc)


def _role_arn(params: Params) -> str | None:
    value = params.str("RoleArn", max_len=256)
    if value is not None and not _ROLE_ARN.fullmatch(value):
        raise InvalidParameter("RoleArn", f"'{value}' is not a RAM role ARN (acs:ram::<account-id>:role/<name>).")
    return value


def _identity_provider(call: Call) -> str | None:
    """`IdentityProviderName`, which must name an existing provider of the account."""
    name = call.params.str("IdentityProviderName", max_len=64)
    if name is not None:
        fetch(call, IDENTITY_PROVIDER, name)
    return name


def _created_role_arn(call: Call, name: str) -> str | None:
    # CreateRAMRole names the role after the workload identity; creating the role itself is RAM's
    # business and is not emulated here. A RoleArn sent alongside wins (the real precedence is unknown).
    return arns.role_arn(call.account, name) if call.params.bool("CreateRAMRole") else None


def create_workload_identity(call: Call) -> dict[str, Any]:
    """CreateWorkloadIdentity."""
    name = new_name(call.params, WORKLOAD_IDENTITY)
    doc = create(call, WORKLOAD_IDENTITY, {
        "WorkloadIdentityName": name,
        "WorkloadIdentityArn": arns.workload_identity_arn(call.region, call.account, name),
        "RoleArn": _role_arn(call.params) or _created_role_arn(call, name),
        "IdentityProviderName": _identity_provider(call),
        "AllowedResourceOAuth2ReturnURLs": url_list(call.params, "AllowedResourceOAuth2ReturnURLs") or [],
        "AllowedConsentCallbackURLs": url_list(call.params, "AllowedConsentCallbackURLs") or [],
        "SessionBindingEnabled": call.params.bool("SessionBindingEnabled"),
        "SourceAgentArn": call.params.str("SourceAgentArn", max_len=512),
        "SourcePlatform": call.params.str("SourcePlatform", max_len=64),
        "Description": description(call.params),
    })
    return {"WorkloadIdentity": _view(doc)}


def get_workload_identity(call: Call) -> dict[str, Any]:
    """GetWorkloadIdentity."""
    return {"WorkloadIdentity": _view(fetch(call, WORKLOAD_IDENTITY))}


def list_workload_identities(call: Call) -> dict[str, Any]:
    """ListWorkloadIdentities."""
    return listing(call, WORKLOAD_IDENTITY, "WorkloadIdentities", _view)


def update_workload_identity(call: Call) -> dict[str, Any]:
    """UpdateWorkloadIdentity: only the fields sent change; the SDK's response carries no identity."""
    doc = fetch(call, WORKLOAD_IDENTITY)
    binding = call.params.bool("SessionBindingEnabled") if "SessionBindingEnabled" in call.params else None
    changes = {
        "RoleArn": _role_arn(call.params),
        "IdentityProviderName": _identity_provider(call),
        "AllowedResourceOAuth2ReturnURLs": url_list(call.params, "AllowedResourceOAuth2ReturnURLs"),
        "AllowedConsentCallbackURLs": url_list(call.params, "AllowedConsentCallbackURLs"),
        "SessionBindingEnabled": binding,
        "Description": description(call.params),
    }
    save(call, WORKLOAD_IDENTITY, changed(doc, changes, call.now))
    return {}


def delete_workload_identity(call: Call) -> dict[str, Any]:
    """DeleteWorkloadIdentity; the tokens held for it (vaulted, or awaiting completion) go with it."""
    remove(call, WORKLOAD_IDENTITY)
    forget_held_tokens(call, workload=call.params.required(WORKLOAD_IDENTITY.name_param))
    return {}

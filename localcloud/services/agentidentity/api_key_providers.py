"""API key credential providers: a third-party API key kept in the token vault, never shown again."""

from __future__ import annotations

from typing import Any

from localcloud import arns
from localcloud.rpc.service import Call
from localcloud.services.agentidentity.records import (
    API_KEY_PROVIDER,
    changed,
    create,
    description,
    fetch,
    listing,
    new_name,
    remove,
    save,
    token_vault,
    without_none,
)

__all__ = [
    "create_api_key_credential_provider",
    "delete_api_key_credential_provider",
    "get_api_key_credential_provider",
    "list_api_key_credential_providers",
    "update_api_key_credential_provider",
]

_SECRET = "APIKey"
_API_KEY_MAX = 4096


def _view(doc: dict[str, Any]) -> dict[str, Any]:
    return without_none(doc, hidden=[_SECRET])


def create_api_key_credential_provider(call: Call) -> dict[str, Any]:
    """CreateAPIKeyCredentialProvider."""
    name = new_name(call.params, API_KEY_PROVIDER)
    doc = create(call, API_KEY_PROVIDER, {
        "APIKeyCredentialProviderName": name,
        "CredentialProviderArn": arns.api_key_provider_arn(call.region, call.account, name),
        _SECRET: call.params.required(_SECRET, max_len=_API_KEY_MAX),
        "TokenVaultName": token_vault(call.params),
        "Description": description(call.params),
    })
    return {"APIKeyCredentialProvider": _view(doc)}


def get_api_key_credential_provider(call: Call) -> dict[str, Any]:
    """GetAPIKeyCredentialProvider."""
    token_vault(call.params)
    return {"APIKeyCredentialProvider": _view(fetch(call, API_KEY_PROVIDER))}


def list_api_key_credential_providers(call: Call) -> dict[str, Any]:
    """ListAPIKeyCredentialProviders (of the one token vault)."""
    token_vault(call.params)
    return listing(call, API_KEY_PROVIDER, "APIKeyCredentialProviders", _view)


def update_api_key_credential_provider(call: Call) -> dict[str, Any]:
    """UpdateAPIKeyCredentialProvider: a new key and/or description; the SDK's response carries no provider."""
    token_vault(call.params)
    doc = fetch(call, API_KEY_PROVIDER)
    changes = {_SECRET: call.params.str(_SECRET, max_len=_API_KEY_MAX), "Description": description(call.params)}
    save(call, API_KEY_PROVIDER, changed(doc, changes, call.now))
    return {}


def delete_api_key_credential_provider(call: Call) -> dict[str, Any]:
    """DeleteAPIKeyCredentialProvider."""
    token_vault(call.params)
    remove(call, API_KEY_PROVIDER)
    return {}

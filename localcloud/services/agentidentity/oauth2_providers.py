"""OAuth2 credential providers: the third-party OAuth clients whose tokens the token vault holds.

The stored `OAuth2ProviderConfig` keeps the client secret (the data plane needs it to redeem codes);
every answer leaves it out.
"""

from __future__ import annotations

import uuid
from typing import Any

from localcloud import arns
from localcloud.rpc.errors import InvalidParameter
from localcloud.rpc.service import Call
from localcloud.services.agentidentity.records import (
    OAUTH2_PROVIDER,
    changed,
    create,
    description,
    fetch,
    forget_held_tokens,
    is_http_url,
    listing,
    new_name,
    remove,
    save,
    token_vault,
    url,
    without_none,
)

__all__ = [
    "VENDORS",
    "create_oauth2_credential_provider",
    "delete_oauth2_credential_provider",
    "get_oauth2_credential_provider",
    "list_oauth2_credential_providers",
    "oauth2_client",
    "update_oauth2_credential_provider",
]

VENDORS = ("AliyunOAuth2", "AlibabaCloudOAuth2", "DingTalkOAuth2", "FeiShuOAuth2", "CustomOAuth2")
_CUSTOM_VENDOR = "CustomOAuth2"
_INCLUDED = "IncludedOAuth2ProviderConfig"
_CUSTOM = "CustomOAuth2ProviderConfig"
_PARAM = "OAuth2ProviderConfig"
_SECRET = "ClientSecret"


# -- OAuth2ProviderConfig: the SDK's IncludedOAuth2ProviderConfig / CustomOAuth2ProviderConfig models ----
def _path(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _field(block: dict[str, Any], key: str, where: str, *, required: bool = False, is_url: bool = False) -> Any:
    value = block.get(key)
    if value is None or value == "":
        if required:
            raise InvalidParameter(_PARAM, f"{_path(where, key)} is required.")
        return None
    if not isinstance(value, str) or (is_url and not is_http_url(value)):
        raise InvalidParameter(_PARAM, f"{_path(where, key)} must be {'an http(s) URL' if is_url else 'a string'}.")
    return value


def _object(parent: dict[str, Any], key: str, where: str, *, required: bool = False) -> dict[str, Any] | None:
    value = parent.get(key)
    if value is None and required:
        raise InvalidParameter(_PARAM, f"{_path(where, key)} is required.")
    if value is not None and not isinstance(value, dict):
        raise InvalidParameter(_PARAM, f"{_path(where, key)} must be a JSON object.")
    return value


def _endpoint(metadata: dict[str, Any], key: str, where: str) -> dict[str, Any] | None:
    block = _object(metadata, key, where)
    return None if block is None else without_none({"Endpoint": _field(block, "Endpoint", _path(where, key),
                                                                        is_url=True)})


def _pkce(metadata: dict[str, Any], where: str) -> dict[str, Any] | None:
    block = _object(metadata, "PKCE", where)
    if block is None:
        return None
    if not isinstance(block.get("Enabled", False), bool):
        raise InvalidParameter(_PARAM, f"{where}.PKCE.Enabled must be true or false.")
    return {"Enabled": block.get("Enabled", False)}


def _server_metadata(discovery: dict[str, Any], where: str) -> dict[str, Any] | None:
    metadata = _object(discovery, "AuthorizationServerMetadata", where)
    if metadata is None:
        return None
    where = f"{where}.AuthorizationServerMetadata"
    return without_none({
        "Issuer": _field(metadata, "Issuer", where),
        "AuthorizationRequest": _endpoint(metadata, "AuthorizationRequest", where),
        "TokenRequest": _endpoint(metadata, "TokenRequest", where),
        "PKCE": _pkce(metadata, where),
    })


def _discovery(block: dict[str, Any]) -> dict[str, Any]:
    where = f"{_CUSTOM}.OAuth2Discovery"
    discovery = _object(block, "OAuth2Discovery", _CUSTOM, required=True)
    assert discovery is not None
    found = without_none({"DiscoveryURL": _field(discovery, "DiscoveryURL", where, is_url=True),
                          "AuthorizationServerMetadata": _server_metadata(discovery, where)})
    if not found:
        raise InvalidParameter(_PARAM, f"{where} needs a DiscoveryURL or AuthorizationServerMetadata.")
    return found


def _client(block: dict[str, Any], where: str) -> dict[str, Any]:
    return {"ClientId": _field(block, "ClientId", where, required=True), _SECRET: _field(block, _SECRET, where)}


def _normalised(config: dict[str, Any], vendor: str) -> dict[str, Any]:
    """The config's block for `vendor`, reduced to the SDK's known fields."""
    if vendor == _CUSTOM_VENDOR:
        block = _object(config, _CUSTOM, "", required=True)
        assert block is not None
        return {_CUSTOM: without_none({**_client(block, _CUSTOM), "OAuth2Discovery": _discovery(block)})}
    block = _object(config, _INCLUDED, "", required=True)
    assert block is not None
    return {_INCLUDED: without_none({
        **_client(block, _INCLUDED),
        "AuthorizationEndpoint": _field(block, "AuthorizationEndpoint", _INCLUDED, is_url=True),
        "TokenEndpoint": _field(block, "TokenEndpoint", _INCLUDED, is_url=True),
    })}


def _keep_secret(new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """A new config without a secret keeps the stored one for the same client: no answer ever showed it."""
    [(name, block)] = new.items()
    previous = old.get(name) or {}
    if _SECRET not in block and previous.get("ClientId") == block["ClientId"] and _SECRET in previous:
        block = {**block, _SECRET: previous[_SECRET]}
    return {name: block}


def oauth2_client(doc: dict[str, Any]) -> dict[str, Any]:
    """A stored provider's client block, ClientSecret included (for the data plane, never for answers)."""
    config = doc["OAuth2ProviderConfig"]
    return config.get(_CUSTOM) or config.get(_INCLUDED) or {}


def _public(config: dict[str, Any]) -> dict[str, Any]:
    return {name: without_none(block, hidden=[_SECRET]) for name, block in config.items()}


def _view(doc: dict[str, Any]) -> dict[str, Any]:
    return without_none({**doc, "OAuth2ProviderConfig": _public(doc["OAuth2ProviderConfig"])})


# -- handlers ----------------------------------------------------------------------------------------
def create_oauth2_credential_provider(call: Call) -> dict[str, Any]:
    """CreateOAuth2CredentialProvider."""
    name = new_name(call.params, OAUTH2_PROVIDER)
    vendor = call.params.required("CredentialProviderVendor", choices=VENDORS)
    config = _normalised(call.params.json(_PARAM, dict, required=True), vendor)
    # Stands in for Agent Identity's own https://agentidentitydata.<region>.aliyuncs.com/oauth2/callback/<uuid>.
    callback = url(call.params, "CallbackURL") or f"{call.urls.data_plane_callback_prefix()}{uuid.uuid4()}"
    doc = create(call, OAUTH2_PROVIDER, {
        "OAuth2CredentialProviderName": name,
        "CredentialProviderArn": arns.oauth2_provider_arn(call.region, call.account, name),
        "CredentialProviderVendor": vendor,
        "OAuth2ProviderConfig": config,
        "CallbackURL": callback,
        "OAuthType": call.params.str("OAuthType", max_len=64),
        "TokenVaultName": token_vault(call.params),
        "Description": description(call.params),
    })
    return {"OAuth2CredentialProvider": _view(doc)}


def get_oauth2_credential_provider(call: Call) -> dict[str, Any]:
    """GetOAuth2CredentialProvider."""
    token_vault(call.params)
    return {"OAuth2CredentialProvider": _view(fetch(call, OAUTH2_PROVIDER))}


def list_oauth2_credential_providers(call: Call) -> dict[str, Any]:
    """ListOAuth2CredentialProviders (of the one token vault)."""
    token_vault(call.params)
    return listing(call, OAUTH2_PROVIDER, "OAuth2CredentialProviders", _view)


def update_oauth2_credential_provider(call: Call) -> dict[str, Any]:
    """UpdateOAuth2CredentialProvider: only the fields sent change; the vendor and config must still agree."""
    token_vault(call.params)
    doc = fetch(call, OAUTH2_PROVIDER)
    vendor = call.params.str("CredentialProviderVendor", choices=VENDORS) or doc["CredentialProviderVendor"]
    sent = call.params.json(_PARAM, dict)
    config = _normalised(sent if sent is not None else doc["OAuth2ProviderConfig"], vendor)
    changes = {
        "CredentialProviderVendor": vendor,
        "OAuth2ProviderConfig": _keep_secret(config, doc["OAuth2ProviderConfig"]),
        "CallbackURL": url(call.params, "CallbackURL"),
        "Description": description(call.params),
    }
    save(call, OAUTH2_PROVIDER, changed(doc, changes, call.now))
    return {}


def delete_oauth2_credential_provider(call: Call) -> dict[str, Any]:
    """DeleteOAuth2CredentialProvider; the tokens held for it (vaulted, or awaiting completion) go with it."""
    token_vault(call.params)
    remove(call, OAUTH2_PROVIDER)
    forget_held_tokens(call, provider=call.params.required(OAUTH2_PROVIDER.name_param))
    return {}

"""Agent Identity resources: identity provider, workload identity and the credential providers."""

from __future__ import annotations

import secrets

from alibabacloud_agentidentity20250901 import models as ai

from identity.provision.deployment import Deployment
from identity.provision.steps.base import Found, Step, absent_on_not_found

__all__ = ["API_KEY_PROVIDER", "DINGTALK_PROVIDER", "IDENTITY_PROVIDER", "MCP_PROVIDER", "WORKLOAD_IDENTITY"]


# -- identity provider ------------------------------------------------------------------------------
def _idp_name(d: Deployment) -> str:
    return d.settings.identity_provider_name


def _find_idp(d: Deployment) -> Found | None:
    got = absent_on_not_found(lambda: d.clients.control().get_identity_provider(
        ai.GetIdentityProviderRequest(identity_provider_name=_idp_name(d))))
    return got.body.identity_provider.to_map() if got else None


def _create_idp(d: Deployment) -> str:
    d.clients.control().create_identity_provider(ai.CreateIdentityProviderRequest(
        identity_provider_name=_idp_name(d), discovery_url=d.target.oauth_discovery_url,
        allowed_audience=[d.config["inbound_app_id"]], description="Sign-in of the Agent Identity Dashboard"))
    d.record(identity_provider_name=_idp_name(d))
    return _idp_name(d)


def _idp_drift(d: Deployment, found: Found) -> str | None:
    if d.config.get("inbound_app_id") not in (found.get("AllowedAudience") or []):
        return "its allowed audience lacks the inbound app"
    if found.get("DiscoveryURL") != d.target.oauth_discovery_url:
        return f"its discovery URL is {found.get('DiscoveryURL')}"
    return None


def _update_idp(d: Deployment, found: Found) -> None:
    audience = sorted({*(found.get("AllowedAudience") or []), d.config["inbound_app_id"]})
    d.clients.control().update_identity_provider(ai.UpdateIdentityProviderRequest(
        identity_provider_name=_idp_name(d), allowed_audience=audience, discovery_url=d.target.oauth_discovery_url))


def _delete_idp(d: Deployment) -> None:
    d.clients.control().delete_identity_provider(ai.DeleteIdentityProviderRequest(identity_provider_name=_idp_name(d)))
    d.forget("identity_provider", "identity_provider_name")


# -- workload identity ------------------------------------------------------------------------------
def _find_workload(d: Deployment) -> Found | None:
    got = absent_on_not_found(lambda: d.clients.control().get_workload_identity(
        ai.GetWorkloadIdentityRequest(workload_identity_name=d.workload)))
    return got.body.workload_identity.to_map() if got else None


def _create_workload(d: Deployment) -> str:
    d.clients.control().create_workload_identity(ai.CreateWorkloadIdentityRequest(
        workload_identity_name=d.workload, role_arn=d.config["role_arn"], identity_provider_name=_idp_name(d),
        allowed_resource_oauth2_return_urls=[d.settings.consent_return_url],
        description=f"Workload identity for {d.workload}"))
    d.record(workload_identity_name=d.workload)
    return d.workload


def _workload_drift(d: Deployment, found: Found) -> str | None:
    if found.get("RoleArn") != d.config.get("role_arn"):
        return "its RoleArn differs"
    if found.get("IdentityProviderName") != _idp_name(d):
        return "its identity provider differs"
    if d.settings.consent_return_url not in (found.get("AllowedResourceOAuth2ReturnURLs") or []):
        return f"its allowed return URLs lack {d.settings.consent_return_url}"
    return None


def _update_workload(d: Deployment, found: Found) -> None:
    urls = sorted({*(found.get("AllowedResourceOAuth2ReturnURLs") or []), d.settings.consent_return_url})
    d.clients.control().update_workload_identity(ai.UpdateWorkloadIdentityRequest(
        workload_identity_name=d.workload, role_arn=d.config["role_arn"], identity_provider_name=_idp_name(d),
        allowed_resource_oauth2_return_urls=urls))


def _delete_workload(d: Deployment) -> None:
    d.clients.control().delete_workload_identity(ai.DeleteWorkloadIdentityRequest(workload_identity_name=d.workload))
    d.forget("workload_identity", "workload_identity_name")


# -- OAuth2 credential providers --------------------------------------------------------------------
def _find_oauth(d: Deployment, name: str) -> Found | None:
    got = absent_on_not_found(lambda: d.clients.control().get_oauth2_credential_provider(
        ai.GetOAuth2CredentialProviderRequest(oauth2_credential_provider_name=name)))
    return got.body.oauth2_credential_provider.to_map() if got else None


def _create_oauth(d: Deployment, name: str, vendor: str, client: ai.IncludedOAuth2ProviderConfig,
                  callback: str) -> str:
    d.clients.control().create_oauth2_credential_provider(ai.CreateOAuth2CredentialProviderRequest(
        oauth2_credential_provider_name=name, credential_provider_vendor=vendor, callback_url=callback,
        oauth2_provider_config=ai.OAuth2ProviderConfig(included_oauth2_provider_config=client)))
    return name


def _delete_oauth(d: Deployment, name: str, key: str, *fields: str) -> None:
    d.clients.control().delete_oauth2_credential_provider(ai.DeleteOAuth2CredentialProviderRequest(
        oauth2_credential_provider_name=name))
    d.forget(key, *fields)


def _client_drift(found: Found, client_id: str | None) -> str | None:
    included = (found.get("OAuth2ProviderConfig") or {}).get("IncludedOAuth2ProviderConfig") or {}
    return None if included.get("ClientId") == client_id else "its client id differs"


def _create_mcp_provider(d: Deployment) -> str:
    name = d.settings.mcp_oauth_provider_name
    _create_oauth(d, name, "AliyunOAuth2", ai.IncludedOAuth2ProviderConfig(client_id=d.config["mcp_app_id"]),
                  d.callback_url("mcp"))
    d.record(oauth_credential_provider_name=name)
    return name


def _dingtalk_client(d: Deployment) -> tuple[str | None, str | None]:
    t, i = d.target, d.inputs
    return (i.dingtalk_client_id or t.dingtalk_client_id), (i.dingtalk_client_secret or t.dingtalk_client_secret)


def _create_dingtalk_provider(d: Deployment) -> str:
    name, (client_id, secret) = d.settings.dingtalk_oauth_provider_name, _dingtalk_client(d)
    _create_oauth(d, name, "DingTalkOAuth2", ai.IncludedOAuth2ProviderConfig(client_id=client_id,
                                                                             client_secret=secret),
                  d.callback_url("dingtalk"))
    d.record(dingtalk_oauth_provider_name=name)
    return name


# -- API key provider -------------------------------------------------------------------------------
def _api_key(d: Deployment) -> str | None:
    # Local mode makes one up: the local weather service accepts whatever key the provider holds.
    return d.inputs.api_key or d.settings.api_key_value or (secrets.token_urlsafe(24) if d.target.is_local else None)


def _find_api_key_provider(d: Deployment) -> Found | None:
    got = absent_on_not_found(lambda: d.clients.control().get_apikey_credential_provider(
        ai.GetAPIKeyCredentialProviderRequest(apikey_credential_provider_name=d.settings.api_key_provider_name)))
    return got.body.apikey_credential_provider.to_map() if got else None


def _create_api_key_provider(d: Deployment) -> str:
    name = d.settings.api_key_provider_name
    d.clients.control().create_apikey_credential_provider(ai.CreateAPIKeyCredentialProviderRequest(
        apikey_credential_provider_name=name, apikey=_api_key(d)))
    d.record(api_key_provider_name=name)
    return name


def _delete_api_key_provider(d: Deployment) -> None:
    d.clients.control().delete_apikey_credential_provider(ai.DeleteAPIKeyCredentialProviderRequest(
        apikey_credential_provider_name=d.settings.api_key_provider_name))
    d.forget("api_key_provider", "api_key_provider_name")


IDENTITY_PROVIDER = Step(
    key="identity_provider", title="Identity provider (checks users' ID tokens)", label=_idp_name,
    find=_find_idp, create=_create_idp, delete=_delete_idp, drift=_idp_drift, update=_update_idp,
    adopt=lambda d, f: d.record(identity_provider_name=_idp_name(d)))

WORKLOAD_IDENTITY = Step(
    key="workload_identity", title="Workload identity (the agent)", label=lambda d: d.workload,
    find=_find_workload, create=_create_workload, delete=_delete_workload, drift=_workload_drift,
    update=_update_workload, adopt=lambda d, f: d.record(workload_identity_name=d.workload))

MCP_PROVIDER = Step(
    key="mcp_oauth_provider", title="OAuth2 provider for the MCP server (AliyunOAuth2)",
    label=lambda d: d.settings.mcp_oauth_provider_name,
    find=lambda d: _find_oauth(d, d.settings.mcp_oauth_provider_name), create=_create_mcp_provider,
    delete=lambda d: _delete_oauth(d, d.settings.mcp_oauth_provider_name, "mcp_oauth_provider",
                                   "oauth_credential_provider_name"),
    drift=lambda d, f: _client_drift(f, d.config.get("mcp_app_id")),
    adopt=lambda d, f: d.record(oauth_credential_provider_name=d.settings.mcp_oauth_provider_name))

DINGTALK_PROVIDER = Step(
    key="dingtalk_oauth_provider", title="OAuth2 provider for DingTalk (DingTalkOAuth2)",
    label=lambda d: d.settings.dingtalk_oauth_provider_name,
    find=lambda d: _find_oauth(d, d.settings.dingtalk_oauth_provider_name), create=_create_dingtalk_provider,
    delete=lambda d: _delete_oauth(d, d.settings.dingtalk_oauth_provider_name, "dingtalk_oauth_provider",
                                   "dingtalk_oauth_provider_name"),
    drift=lambda d, f: _client_drift(f, _dingtalk_client(d)[0]),
    needs=lambda d: None if all(_dingtalk_client(d)) else "a DingTalk app's client id and secret "
    "(DINGTALK_CLIENT_ID / DINGTALK_CLIENT_SECRET, or the fields on this page)",
    adopt=lambda d, f: d.record(dingtalk_oauth_provider_name=d.settings.dingtalk_oauth_provider_name))

API_KEY_PROVIDER = Step(
    key="api_key_provider", title="API key provider (weather service key)",
    label=lambda d: d.settings.api_key_provider_name,
    find=_find_api_key_provider, create=_create_api_key_provider, delete=_delete_api_key_provider,
    needs=lambda d: None if _api_key(d) else "the weather service's API key (WEATHER_API_KEY, or the field on "
    "this page)",
    adopt=lambda d, f: d.record(api_key_provider_name=d.settings.api_key_provider_name))

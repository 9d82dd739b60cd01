"""The Agent Identity control plane (2025-09-01) through the official SDK client, over real HTTP."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from alibabacloud_agentidentity20250901 import models as ai
from alibabacloud_agentidentity20250901.client import Client
from alibabacloud_tea_openapi import utils_models as open_api_util_models
from alibabacloud_tea_openapi.exceptions import ClientException
from darabonba.runtime import RuntimeOptions

import localcloud
from localcloud.rpc.params import Params
from localcloud.rpc.service import Call, Principal
from localcloud.services.agentidentity import SERVICE
from localcloud.services.agentidentity.oauth2_providers import oauth2_client
from localcloud.services.agentidentity.records import API_KEY_PROVIDER, OAUTH2_PROVIDER
from localcloud.store import open_store
from tests.conftest import tea_config

DISCOVERY = "https://oauth.aliyun.com/.well-known/openid-configuration"
RETURN_URL = "http://localhost:8090/callback"
SECRET = "client-secret-never-shown"
API_KEY = "sk-api-key-never-shown"


@pytest.fixture
def client(config: Any) -> Client:
    return Client(config)


# -- helpers -------------------------------------------------------------------------------------
def _error(action: Callable[[], object]) -> ClientException:
    with pytest.raises(ClientException) as caught:
        action()
    return caught.value


def _raw(client: Client, action: str, body: dict[str, str]) -> dict[str, Any]:
    """Call an action with hand-written form fields; the parsed JSON body, before the SDK's models."""
    params = open_api_util_models.Params(action=action, version="2025-09-01", protocol="HTTPS", pathname="/",
                                         method="POST", auth_type="AK", style="RPC", req_body_type="formData",
                                         body_type="json")
    return client.call_api(params, open_api_util_models.OpenApiRequest(body=body), RuntimeOptions())["body"]


def _stored(cloud: localcloud.LocalCloud, kind: str, name: str) -> dict[str, Any]:
    """What localcloud keeps for a resource, secrets included, read from its data directory."""
    store = open_store(Path(cloud.data_dir), time.time)
    try:
        doc = store.get(kind, cloud.account_id, name)
    finally:
        store.close()
    assert doc is not None
    return doc


def _idp(client: Client, name: str = "test-provider", **fields: Any) -> ai.CreateIdentityProviderResponseBody:
    values = {"allowed_audience": ["app-1"], "discovery_url": DISCOVERY, "description": "inbound", **fields}
    request = ai.CreateIdentityProviderRequest(identity_provider_name=name, **values)
    return client.create_identity_provider(request).body


def _wi(client: Client, name: str = "workload-1", **fields: Any) -> ai.CreateWorkloadIdentityResponseBody:
    values = {"allowed_resource_oauth2_return_urls": [RETURN_URL], **fields}
    request = ai.CreateWorkloadIdentityRequest(workload_identity_name=name, **values)
    return client.create_workload_identity(request).body


def _included(client_id: str = "mcp-app", secret: str | None = SECRET) -> ai.OAuth2ProviderConfig:
    return ai.OAuth2ProviderConfig(included_oauth2_provider_config=ai.IncludedOAuth2ProviderConfig(
        client_id=client_id, client_secret=secret))


def _oauth2(client: Client, name: str = "test-provider-for-mcp-oauth", **fields: Any) -> Any:
    values = {"credential_provider_vendor": "AliyunOAuth2", "oauth2_provider_config": _included(), **fields}
    request = ai.CreateOAuth2CredentialProviderRequest(oauth2_credential_provider_name=name, **values)
    return client.create_oauth2_credential_provider(request).body


def _api_key(client: Client, name: str = "test-provider-api-key", **fields: Any) -> Any:
    values = {"apikey": API_KEY, **fields}
    request = ai.CreateAPIKeyCredentialProviderRequest(apikey_credential_provider_name=name, **values)
    return client.create_apikey_credential_provider(request).body


def _role(cloud: localcloud.LocalCloud, name: str = "AgentIdentityRole-w") -> str:
    return f"acs:ram::{cloud.account_id}:role/{name}"


# -- identity providers --------------------------------------------------------------------------
def test_identity_provider_round_trip(client: Client, fresh_cloud: localcloud.LocalCloud) -> None:
    created = _idp(client).identity_provider
    assert created.identity_provider_arn == f"acs:agentidentity:{fresh_cloud.region}:{fresh_cloud.account_id}:" \
                                            "identityprovider/test-provider"
    got = client.get_identity_provider(ai.GetIdentityProviderRequest(identity_provider_name="test-provider"))
    assert got.body.identity_provider.to_map() == created.to_map()
    listed = client.list_identity_providers(ai.ListIdentityProvidersRequest()).body
    assert [p.identity_provider_name for p in listed.identity_providers] == ["test-provider"]
    client.update_identity_provider(ai.UpdateIdentityProviderRequest(
        identity_provider_name="test-provider", allowed_audience=["app-2", "app-3"]))
    updated = client.get_identity_provider(ai.GetIdentityProviderRequest(identity_provider_name="test-provider"))
    assert updated.body.identity_provider.allowed_audience == ["app-2", "app-3"]
    assert updated.body.identity_provider.discovery_url == DISCOVERY
    assert updated.body.identity_provider.description == "inbound"
    client.delete_identity_provider(ai.DeleteIdentityProviderRequest(identity_provider_name="test-provider"))
    gone = _error(lambda: client.get_identity_provider(
        ai.GetIdentityProviderRequest(identity_provider_name="test-provider")))
    assert (gone.code, gone.status_code) == ("EntityNotExist.IdentityProvider", 404)
    assert gone.request_id


def test_duplicate_identity_provider_is_rejected(client: Client) -> None:
    _idp(client)
    error = _error(lambda: _idp(client))
    assert (error.code, error.status_code) == ("EntityAlreadyExists.IdentityProvider", 409)


def test_identity_provider_needs_a_name_and_a_discovery_url(client: Client) -> None:
    assert _error(lambda: _idp(client, name=None)).code == "MissingParameter.IdentityProviderName"
    assert _error(lambda: _idp(client, discovery_url=None)).code == "MissingParameter.DiscoveryURL"


@pytest.mark.parametrize("name", ["-leading-hyphen", "has space", "dot.ted", "x" * 65])
def test_identity_provider_name_must_follow_the_name_rule(client: Client, name: str) -> None:
    error = _error(lambda: _idp(client, name=name))
    assert (error.code, error.status_code) == ("InvalidParameter.IdentityProviderName", 400)


def test_identity_provider_discovery_url_must_be_an_http_url(client: Client) -> None:
    assert _error(lambda: _idp(client, discovery_url="oauth.aliyun.com")).code == "InvalidParameter.DiscoveryURL"


@pytest.mark.parametrize("audience", ["[not json", '"app-1"', '[""]', "[1]"])
def test_identity_provider_audience_must_be_a_json_list_of_strings(client: Client, audience: str) -> None:
    body = {"IdentityProviderName": "p", "DiscoveryURL": DISCOVERY, "AllowedAudience": audience}
    assert _error(lambda: _raw(client, "CreateIdentityProvider", body)).code == "InvalidParameter.AllowedAudience"


def test_identity_provider_in_use_cannot_be_deleted(client: Client) -> None:
    _idp(client)
    _wi(client, identity_provider_name="test-provider")
    error = _error(lambda: client.delete_identity_provider(
        ai.DeleteIdentityProviderRequest(identity_provider_name="test-provider")))
    assert (error.code, error.status_code) == ("DeleteConflict.IdentityProvider", 409)


def test_missing_identity_provider_cannot_be_updated_or_deleted(client: Client) -> None:
    update = _error(lambda: client.update_identity_provider(
        ai.UpdateIdentityProviderRequest(identity_provider_name="ghost", description="d")))
    delete = _error(lambda: client.delete_identity_provider(
        ai.DeleteIdentityProviderRequest(identity_provider_name="ghost")))
    assert {update.code, delete.code} == {"EntityNotExist.IdentityProvider"}
    assert {update.status_code, delete.status_code} == {404}


# -- workload identities -------------------------------------------------------------------------
def test_workload_identity_round_trip(client: Client, fresh_cloud: localcloud.LocalCloud) -> None:
    _idp(client)
    created = _wi(client, role_arn=_role(fresh_cloud), identity_provider_name="test-provider",
                  description="for the agent").workload_identity
    assert created.workload_identity_arn == (f"acs:agentidentity:{fresh_cloud.region}:{fresh_cloud.account_id}:"
                                             "workloadidentitydirectory/default/workloadidentity/workload-1")
    assert (created.allowed_resource_oauth2_return_urls, created.session_binding_enabled) == ([RETURN_URL], False)
    got = client.get_workload_identity(ai.GetWorkloadIdentityRequest(workload_identity_name="workload-1")).body
    assert got.workload_identity.to_map() == created.to_map()
    listed = client.list_workload_identities(ai.ListWorkloadIdentitiesRequest()).body
    assert [w.workload_identity_name for w in listed.workload_identities] == ["workload-1"]
    client.update_workload_identity(ai.UpdateWorkloadIdentityRequest(
        workload_identity_name="workload-1", session_binding_enabled="true",
        allowed_resource_oauth2_return_urls=[RETURN_URL, "https://app.example.com/callback"]))
    updated = client.get_workload_identity(ai.GetWorkloadIdentityRequest(workload_identity_name="workload-1"))
    wi = updated.body.workload_identity
    assert wi.session_binding_enabled is True
    assert wi.allowed_resource_oauth2_return_urls == [RETURN_URL, "https://app.example.com/callback"]
    assert (wi.role_arn, wi.identity_provider_name, wi.description) == (
        _role(fresh_cloud), "test-provider", "for the agent")


def test_deleted_workload_identity_is_gone(client: Client) -> None:
    _wi(client)
    client.delete_workload_identity(ai.DeleteWorkloadIdentityRequest(workload_identity_name="workload-1"))
    error = _error(lambda: client.get_workload_identity(
        ai.GetWorkloadIdentityRequest(workload_identity_name="workload-1")))
    assert (error.code, error.status_code) == ("EntityNotExist.WorkloadIdentity", 404)
    again = _error(lambda: client.delete_workload_identity(
        ai.DeleteWorkloadIdentityRequest(workload_identity_name="workload-1")))
    assert again.code == "EntityNotExist.WorkloadIdentity"


def test_duplicate_workload_identity_is_rejected(client: Client) -> None:
    _wi(client)
    error = _error(lambda: _wi(client))
    assert (error.code, error.status_code) == ("EntityAlreadyExists.WorkloadIdentity", 409)


def test_workload_identity_needs_a_name(client: Client) -> None:
    error = _error(lambda: _wi(client, name=None))
    assert (error.code, error.status_code) == ("MissingParameter.WorkloadIdentityName", 400)


def test_workload_identity_with_unknown_identity_provider_is_refused(client: Client) -> None:
    error = _error(lambda: _wi(client, identity_provider_name="no-such-provider"))
    assert (error.code, error.status_code) == ("EntityNotExist.IdentityProvider", 404)
    _wi(client)
    update = _error(lambda: client.update_workload_identity(ai.UpdateWorkloadIdentityRequest(
        workload_identity_name="workload-1", identity_provider_name="no-such-provider")))
    assert update.code == "EntityNotExist.IdentityProvider"


@pytest.mark.parametrize("role_arn", ["AgentIdentityRole-w", "acs:ram::abc:role/r", "acs:ram::123:user/u",
                                      "acs:ram:cn-beijing:123:role/r", "acs:ram::123:role/"])
def test_workload_identity_role_arn_must_be_a_ram_role_arn(client: Client, role_arn: str) -> None:
    error = _error(lambda: _wi(client, role_arn=role_arn))
    assert (error.code, error.status_code) == ("InvalidParameter.RoleArn", 400)


@pytest.mark.parametrize("urls", [["/callback"], ["ftp://host/callback"], ["javascript:alert(1)"], ["http://"]])
def test_workload_identity_return_urls_must_be_absolute_http_urls(client: Client, urls: list[str]) -> None:
    error = _error(lambda: _wi(client, allowed_resource_oauth2_return_urls=urls))
    assert error.code == "InvalidParameter.AllowedResourceOAuth2ReturnURLs"


def test_workload_identity_return_urls_must_be_json(client: Client) -> None:
    body = {"WorkloadIdentityName": "w", "AllowedResourceOAuth2ReturnURLs": RETURN_URL}
    error = _error(lambda: _raw(client, "CreateWorkloadIdentity", body))
    assert error.code == "InvalidParameter.AllowedResourceOAuth2ReturnURLs"


def test_workload_identity_session_binding_must_be_a_boolean(client: Client) -> None:
    body = {"WorkloadIdentityName": "w", "SessionBindingEnabled": "maybe"}
    error = _error(lambda: _raw(client, "CreateWorkloadIdentity", body))
    assert error.code == "InvalidParameter.SessionBindingEnabled"


def test_create_ram_role_names_the_role_after_the_workload_identity(
        client: Client, fresh_cloud: localcloud.LocalCloud) -> None:
    created = _wi(client, name="Workload-2", create_ramrole=True).workload_identity
    assert created.role_arn == f"acs:ram::{fresh_cloud.account_id}:role/workload-2"


# -- OAuth2 credential providers -----------------------------------------------------------------
def test_oauth2_credential_provider_round_trip(client: Client, fresh_cloud: localcloud.LocalCloud) -> None:
    name = "test-provider-for-mcp-oauth"
    created = _oauth2(client, description="aliyun mcp").oauth2_credential_provider
    assert created.credential_provider_arn == (f"acs:agentidentity:{fresh_cloud.region}:{fresh_cloud.account_id}:"
                                               f"tokenvault/default/oauth2credentialprovider/{name}")
    assert (created.credential_provider_vendor, created.token_vault_name) == ("AliyunOAuth2", "default")
    got = client.get_oauth2_credential_provider(ai.GetOAuth2CredentialProviderRequest(
        oauth2_credential_provider_name=name)).body.oauth2_credential_provider
    assert got.to_map() == created.to_map()
    listed = client.list_oauth2_credential_providers(ai.ListOAuth2CredentialProvidersRequest()).body
    assert [p.oauth2_credential_provider_name for p in listed.oauth2_credential_providers] == [name]
    client.update_oauth2_credential_provider(ai.UpdateOAuth2CredentialProviderRequest(
        oauth2_credential_provider_name=name, credential_provider_vendor="DingTalkOAuth2",
        oauth2_provider_config=_included("dingtalk-app", "dingtalk-secret")))
    updated = client.get_oauth2_credential_provider(ai.GetOAuth2CredentialProviderRequest(
        oauth2_credential_provider_name=name)).body.oauth2_credential_provider
    assert updated.credential_provider_vendor == "DingTalkOAuth2"
    assert updated.oauth2_provider_config.included_oauth2_provider_config.client_id == "dingtalk-app"
    assert (updated.callback_url, updated.description) == (created.callback_url, "aliyun mcp")
    client.delete_oauth2_credential_provider(ai.DeleteOAuth2CredentialProviderRequest(
        oauth2_credential_provider_name=name))
    gone = _error(lambda: client.get_oauth2_credential_provider(ai.GetOAuth2CredentialProviderRequest(
        oauth2_credential_provider_name=name)))
    assert (gone.code, gone.status_code) == ("EntityNotExist.OAuth2CredentialProvider", 404)


def test_duplicate_oauth2_credential_provider_is_rejected(client: Client) -> None:
    _oauth2(client)
    error = _error(lambda: _oauth2(client))
    assert (error.code, error.status_code) == ("EntityAlreadyExists.OAuth2CredentialProvider", 409)


def test_custom_oauth2_provider_keeps_its_discovery_settings(client: Client) -> None:
    metadata = ai.AuthorizationServerMetadata(
        issuer="https://idp.example.com", pkce=ai.PKCE(enabled=True),
        authorization_request=ai.AuthorizationRequest(endpoint="https://idp.example.com/authorize"),
        token_request=ai.TokenReqeust(endpoint="https://idp.example.com/token"))
    config = ai.OAuth2ProviderConfig(custom_oauth2_provider_config=ai.CustomOAuth2ProviderConfig(
        client_id="github-app", client_secret=SECRET,
        oauth2_discovery=ai.OAuth2Discovery(authorization_server_metadata=metadata)))
    created = _oauth2(client, name="github", credential_provider_vendor="CustomOAuth2", oauth2_provider_config=config)
    custom = created.oauth2_credential_provider.oauth2_provider_config.custom_oauth2_provider_config
    assert custom.client_secret is None
    assert custom.oauth2_discovery.authorization_server_metadata.to_map() == metadata.to_map()


def test_oauth2_provider_config_must_match_its_vendor(client: Client) -> None:
    error = _error(lambda: _oauth2(client, credential_provider_vendor="CustomOAuth2"))
    assert (error.code, error.status_code) == ("InvalidParameter.OAuth2ProviderConfig", 400)
    no_client = ai.OAuth2ProviderConfig(included_oauth2_provider_config=ai.IncludedOAuth2ProviderConfig())
    assert _error(lambda: _oauth2(client, oauth2_provider_config=no_client)).code == \
        "InvalidParameter.OAuth2ProviderConfig"


def test_oauth2_provider_config_is_required(client: Client) -> None:
    error = _error(lambda: _oauth2(client, oauth2_provider_config=None))
    assert (error.code, error.status_code) == ("MissingParameter.OAuth2ProviderConfig", 400)


@pytest.mark.parametrize("provider_config", ["{not json", "[]", '{"IncludedOAuth2ProviderConfig": "c"}',
                                    '{"IncludedOAuth2ProviderConfig": {"ClientId": "c", "TokenEndpoint": "x"}}'])
def test_oauth2_provider_config_must_be_well_formed_json(client: Client, provider_config: str) -> None:
    body = {"OAuth2CredentialProviderName": "p", "CredentialProviderVendor": "AliyunOAuth2",
            "OAuth2ProviderConfig": provider_config}
    error = _error(lambda: _raw(client, "CreateOAuth2CredentialProvider", body))
    assert error.code == "InvalidParameter.OAuth2ProviderConfig"


def test_unknown_credential_provider_vendor_is_refused(client: Client) -> None:
    error = _error(lambda: _oauth2(client, credential_provider_vendor="GitHubOAuth2"))
    assert (error.code, error.status_code) == ("InvalidParameter.CredentialProviderVendor", 400)


def test_callback_url_is_generated_unless_given(client: Client, fresh_cloud: localcloud.LocalCloud) -> None:
    generated = _oauth2(client, name="a").oauth2_credential_provider.callback_url
    assert re.fullmatch(re.escape(fresh_cloud.url) + r"/oauth2/callback/[0-9a-f-]{36}", generated)
    other = _oauth2(client, name="b").oauth2_credential_provider.callback_url
    assert other != generated
    given = "https://agentidentitydata.cn-beijing.aliyuncs.com/oauth2/callback/fixed"
    assert _oauth2(client, name="c", callback_url=given).oauth2_credential_provider.callback_url == given


def test_client_secret_is_stored_but_never_answered(client: Client, fresh_cloud: localcloud.LocalCloud) -> None:
    name = "test-provider-for-mcp-oauth"
    config = {"IncludedOAuth2ProviderConfig": {"ClientId": "c", "ClientSecret": SECRET}}
    bodies = [_raw(client, "CreateOAuth2CredentialProvider", {
        "OAuth2CredentialProviderName": name, "CredentialProviderVendor": "AliyunOAuth2",
        "OAuth2ProviderConfig": json.dumps(config)})]
    bodies.append(_raw(client, "GetOAuth2CredentialProvider", {"OAuth2CredentialProviderName": name}))
    bodies.append(_raw(client, "ListOAuth2CredentialProviders", {}))
    dumped = [json.dumps(body) for body in bodies]
    assert not [leak for text in dumped for leak in (SECRET, '"ClientSecret"') if leak in text]
    assert oauth2_client(_stored(fresh_cloud, OAUTH2_PROVIDER.store_kind, name))["ClientSecret"] == SECRET


def test_updating_config_without_secret_keeps_the_secret_of_the_same_client(
        client: Client, fresh_cloud: localcloud.LocalCloud) -> None:
    _oauth2(client, name="p")
    client.update_oauth2_credential_provider(ai.UpdateOAuth2CredentialProviderRequest(
        oauth2_credential_provider_name="p", oauth2_provider_config=_included(secret=None)))
    assert oauth2_client(_stored(fresh_cloud, OAUTH2_PROVIDER.store_kind, "p"))["ClientSecret"] == SECRET
    client.update_oauth2_credential_provider(ai.UpdateOAuth2CredentialProviderRequest(
        oauth2_credential_provider_name="p", oauth2_provider_config=_included("new-app", secret=None)))
    assert "ClientSecret" not in oauth2_client(_stored(fresh_cloud, OAUTH2_PROVIDER.store_kind, "p"))


def test_only_the_default_token_vault_exists(client: Client) -> None:
    error = _error(lambda: _oauth2(client, token_vault_name="vault-2"))
    assert (error.code, error.status_code) == ("EntityNotExist.TokenVault", 404)
    listing = _error(lambda: client.list_apikey_credential_providers(
        ai.ListAPIKeyCredentialProvidersRequest(token_vault_name="vault-2")))
    assert listing.code == "EntityNotExist.TokenVault"


# -- API key credential providers ----------------------------------------------------------------
def test_api_key_credential_provider_round_trip(client: Client, fresh_cloud: localcloud.LocalCloud) -> None:
    name = "test-provider-api-key"
    created = _api_key(client, description="weather").apikey_credential_provider
    assert created.credential_provider_arn == (f"acs:agentidentity:{fresh_cloud.region}:{fresh_cloud.account_id}:"
                                               f"tokenvault/default/apikeycredentialprovider/{name}")
    get = ai.GetAPIKeyCredentialProviderRequest(apikey_credential_provider_name=name)
    got = client.get_apikey_credential_provider(get).body.apikey_credential_provider.to_map()
    assert got.items() >= created.to_map().items()  # the SDK's Create model has no UpdateTime
    listed = client.list_apikey_credential_providers(ai.ListAPIKeyCredentialProvidersRequest()).body
    assert [p.apikey_credential_provider_name for p in listed.apikey_credential_providers] == [name]
    client.update_apikey_credential_provider(ai.UpdateAPIKeyCredentialProviderRequest(
        apikey_credential_provider_name=name, description="weather v2"))
    updated = client.get_apikey_credential_provider(get).body.apikey_credential_provider
    assert (updated.description, updated.create_time) == ("weather v2", created.create_time)
    assert _stored(fresh_cloud, API_KEY_PROVIDER.store_kind, name)["APIKey"] == API_KEY
    client.delete_apikey_credential_provider(ai.DeleteAPIKeyCredentialProviderRequest(
        apikey_credential_provider_name=name))
    gone = _error(lambda: client.get_apikey_credential_provider(get))
    assert (gone.code, gone.status_code) == ("EntityNotExist.APIKeyCredentialProvider", 404)


def test_duplicate_api_key_credential_provider_is_rejected(client: Client) -> None:
    _api_key(client)
    error = _error(lambda: _api_key(client))
    assert (error.code, error.status_code) == ("EntityAlreadyExists.APIKeyCredentialProvider", 409)


def test_api_key_is_required(client: Client) -> None:
    error = _error(lambda: _api_key(client, apikey=None))
    assert (error.code, error.status_code) == ("MissingParameter.APIKey", 400)


def test_api_key_is_stored_but_never_answered(client: Client, fresh_cloud: localcloud.LocalCloud) -> None:
    name = {"APIKeyCredentialProviderName": "k"}
    bodies = [_raw(client, "CreateAPIKeyCredentialProvider", {**name, "APIKey": API_KEY}),
              _raw(client, "UpdateAPIKeyCredentialProvider", {**name, "APIKey": "sk-rotated"}),
              _raw(client, "GetAPIKeyCredentialProvider", name),
              _raw(client, "ListAPIKeyCredentialProviders", {})]
    dumped = [json.dumps(body) for body in bodies]
    assert not [leak for text in dumped for leak in (API_KEY, "sk-rotated", '"APIKey"') if leak in text]
    assert _stored(fresh_cloud, API_KEY_PROVIDER.store_kind, "k")["APIKey"] == "sk-rotated"


# -- lists ---------------------------------------------------------------------------------------
LISTS: dict[str, tuple[Callable[[Client, str], object], Callable[[Client, str | None], Any], str]] = {
    "identity providers": (lambda c, n: _idp(c, n),
                           lambda c, t: c.list_identity_providers(
                               ai.ListIdentityProvidersRequest(max_results=10, next_token=t)).body,
                           "identity_providers"),
    "workload identities": (lambda c, n: _wi(c, n),
                            lambda c, t: c.list_workload_identities(
                                ai.ListWorkloadIdentitiesRequest(max_results=10, next_token=t)).body,
                            "workload_identities"),
    "oauth2 providers": (lambda c, n: _oauth2(c, n),
                         lambda c, t: c.list_oauth2_credential_providers(
                             ai.ListOAuth2CredentialProvidersRequest(max_results=10, next_token=t)).body,
                         "oauth2_credential_providers"),
    "api key providers": (lambda c, n: _api_key(c, n),
                          lambda c, t: c.list_apikey_credential_providers(
                              ai.ListAPIKeyCredentialProvidersRequest(max_results=10, next_token=t)).body,
                          "apikey_credential_providers"),
}


def _names(items: list[Any]) -> list[str]:
    return [next(v for k, v in item.to_map().items() if k.endswith("Name") and k != "TokenVaultName")
            for item in items]


@pytest.mark.parametrize("kind", list(LISTS))
def test_paging_25_resources_by_10_visits_each_exactly_once(client: Client, kind: str) -> None:
    create, list_page, field = LISTS[kind]
    names = [f"item-{i:02d}" for i in range(25)]
    for name in names:
        create(client, name)
    seen: list[str] = []
    sizes: list[int] = []
    token: str | None = None
    for _ in range(5):  # bounded: 3 pages expected
        body = list_page(client, token)
        items = getattr(body, field)
        seen += _names(items)
        sizes.append(len(items))
        assert (body.total_count, body.max_results) == (25, 10)
        token = body.next_token
        if token is None:
            break
    assert (seen, sizes) == (names, [10, 10, 5])


@pytest.mark.parametrize("token", ["garbage!", "Zm9vOmJhcg==", "b2Zmc2V0Oi0x"])
def test_invalid_next_token_is_refused(client: Client, token: str) -> None:
    error = _error(lambda: client.list_workload_identities(ai.ListWorkloadIdentitiesRequest(next_token=token)))
    assert (error.code, error.status_code) == ("InvalidParameter.NextToken", 400)


@pytest.mark.parametrize("max_results", [0, 101])
def test_max_results_out_of_range_is_refused(client: Client, max_results: int) -> None:
    error = _error(lambda: client.list_identity_providers(ai.ListIdentityProvidersRequest(max_results=max_results)))
    assert error.code == "InvalidParameter.MaxResults"


# -- times, with localcloud's clock under the test's control -------------------------------------
class _Clock:
    """Real time plus an offset the test advances (kept small: signatures must stay within 15 minutes)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture(scope="module")
def clocked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Client, _Clock]]:
    clock = _Clock()
    cloud = localcloud.start(port=0, data_dir=tmp_path_factory.mktemp("clocked"), clock=clock)
    yield Client(tea_config(cloud)), clock


def _parse(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S%z")


def test_update_bumps_update_time_and_keeps_create_time(clocked: tuple[Client, _Clock]) -> None:
    client, clock = clocked
    created = _wi(client, name="timed").workload_identity
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", created.create_time)
    assert created.update_time == created.create_time
    clock.offset += 120
    client.update_workload_identity(ai.UpdateWorkloadIdentityRequest(workload_identity_name="timed",
                                                                      description="later"))
    got = client.get_workload_identity(ai.GetWorkloadIdentityRequest(workload_identity_name="timed")).body
    assert got.workload_identity.create_time == created.create_time
    elapsed = _parse(got.workload_identity.update_time) - _parse(created.create_time)
    assert 119 <= elapsed.total_seconds() <= 125


# -- RAM resources the actions touch ---------------------------------------------------------------
def _call(action: str, raw: dict[str, str]) -> Call:
    caller = Principal(account_id="1234", kind="root", arn="acs:ram::1234:root")
    return Call(action, Params(raw), caller, None, 0.0, "cn-beijing", "r", "http://127.0.0.1")  # type: ignore[arg-type]


def test_actions_touch_the_named_resource_arn() -> None:
    assert SERVICE.resource(_call("GetWorkloadIdentity", {"WorkloadIdentityName": "w"})) == \
        "acs:agentidentity:cn-beijing:1234:workloadidentitydirectory/default/workloadidentity/w"
    assert SERVICE.resource(_call("ListAPIKeyCredentialProviders", {})) == \
        "acs:agentidentity:cn-beijing:1234:tokenvault/default/apikeycredentialprovider/*"

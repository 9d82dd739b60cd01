"""The sample's `python -m prepare` (SAMPLE.md §1) done through the official clients, for data-plane tests."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from alibabacloud_agentidentity20250901 import models as ai
from alibabacloud_agentidentity20250901.client import Client as ControlClient
from alibabacloud_agentidentitydata20251127.client import Client as DataClient
from alibabacloud_ims20190815 import models as ims
from alibabacloud_ims20190815.client import Client as ImsClient
from alibabacloud_ram20150501 import models as ram
from alibabacloud_ram20150501.client import Client as RamClient

import localcloud
from tests.conftest import tea_config

RETURN_URL = "http://localhost:8501/callback"
INBOUND_REDIRECT = "http://localhost:8501/oauth2callback"
API_KEY = "12345678"  # the sample's dummy key


@dataclass(frozen=True)
class SampleSetup:
    inbound_app_id: str
    mcp_app_id: str
    workload: str
    workload_arn: str
    role_name: str
    oauth_provider: str = "test-provider-for-mcp-oauth"
    api_key_provider: str = "test-provider-api-key"
    identity_provider: str = "test-provider"


def trust_policy(account: str, region: str, workload: str) -> str:
    arn = f"acs:agentidentity:{region}:{account}:workloadidentitydirectory/default/workloadidentity/{workload}"
    return json.dumps({"Version": "1", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": ["workload.agentidentity.aliyuncs.com"]},
        "Action": ["sts:AssumeRole", "sts:SetContext"],
        "Condition": {"StringEquals": {"sts:RequestContext/agentidentity:WorkloadIdentityArn": arn}}}]})


def permission_policy(account: str, region: str, workload_arn: str) -> str:
    vault = f"acs:agentidentity:{region}:{account}:tokenvault/default"
    return json.dumps({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "agentidentitydata:GetResourceOAuth2Token",
         "Resource": [workload_arn, f"{vault}/oauth2credentialprovider/*"]},
        {"Effect": "Allow", "Action": "agentidentitydata:GetResourceAPIKey",
         "Resource": [workload_arn, f"{vault}/apikeycredentialprovider/*"]}]})


def _apps(cloud: localcloud.LocalCloud, callback: str) -> tuple[str, str]:
    client = ImsClient(tea_config(cloud))
    inbound = client.create_application(ims.CreateApplicationRequest(
        app_name=f"aliyun-inbound-{uuid.uuid4()}"[:60], display_name="Agent Identity Demo", app_type="WebApp",
        predefined_scopes="aliuid;profile;openid", required_scopes="aliuid;profile;openid",
        redirect_uris=INBOUND_REDIRECT, protocol_version="2.1")).body.application.app_id
    mcp = client.create_application(ims.CreateApplicationRequest(
        app_name=f"aliyun-mcp-{uuid.uuid4()}"[:60], display_name="Agent Identity MCP", app_type="NativeApp",
        predefined_scopes="aliuid;profile;openid;/acs/mcp-server",
        required_scopes="aliuid;profile;openid;/acs/mcp-server", redirect_uris=callback,
        protocol_version="2.1")).body.application.app_id
    return inbound, mcp


def _role(cloud: localcloud.LocalCloud, workload: str, workload_arn: str) -> str:
    client, name = RamClient(tea_config(cloud)), f"AgentIdentityRole-{workload}"[:64]
    client.create_role(ram.CreateRoleRequest(role_name=name, assume_role_policy_document=trust_policy(
        cloud.account_id, cloud.region, workload)))
    client.create_policy(ram.CreatePolicyRequest(policy_name=f"AgentIdentityPolicy-{workload}"[:128],
                                                 policy_document=permission_policy(cloud.account_id, cloud.region,
                                                                                   workload_arn)))
    client.attach_policy_to_role(ram.AttachPolicyToRoleRequest(
        policy_type="Custom", policy_name=f"AgentIdentityPolicy-{workload}"[:128], role_name=name))
    return name


def prepare(cloud: localcloud.LocalCloud) -> SampleSetup:
    """Everything the sample's prepare creates, in its order."""
    callback = f"{cloud.urls.data_plane_callback_prefix()}{uuid.uuid4()}"
    inbound, mcp = _apps(cloud, callback)
    control = ControlClient(tea_config(cloud))
    control.create_identity_provider(ai.CreateIdentityProviderRequest(
        identity_provider_name="test-provider", allowed_audience=[inbound],
        discovery_url=cloud.urls.discovery("aliyun")))
    workload = f"workload-{uuid.uuid4().hex[:12]}"
    workload_arn = (f"acs:agentidentity:{cloud.region}:{cloud.account_id}:workloadidentitydirectory/default/"
                    f"workloadidentity/{workload}")
    role = _role(cloud, workload, workload_arn)
    control.create_workload_identity(ai.CreateWorkloadIdentityRequest(
        workload_identity_name=workload, role_arn=f"acs:ram::{cloud.account_id}:role/{role.lower()}",
        identity_provider_name="test-provider", allowed_resource_oauth2_return_urls=[RETURN_URL]))
    control.create_oauth2_credential_provider(ai.CreateOAuth2CredentialProviderRequest(
        oauth2_credential_provider_name="test-provider-for-mcp-oauth", credential_provider_vendor="AliyunOAuth2",
        oauth2_provider_config=ai.OAuth2ProviderConfig(
            included_oauth2_provider_config=ai.IncludedOAuth2ProviderConfig(client_id=mcp)),
        callback_url=callback))
    control.create_apikey_credential_provider(ai.CreateAPIKeyCredentialProviderRequest(
        apikey_credential_provider_name="test-provider-api-key", apikey=API_KEY))
    return SampleSetup(inbound, mcp, workload, workload_arn, role)


def data_client(cloud: localcloud.LocalCloud, **overrides: object) -> DataClient:
    return DataClient(tea_config(cloud, **overrides))

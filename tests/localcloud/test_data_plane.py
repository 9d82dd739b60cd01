"""The Agent Identity data plane through the official `alibabacloud_agentidentitydata20251127` client."""

from __future__ import annotations

import json
import time

import pytest
from alibabacloud_agentidentity20250901 import models as ai
from alibabacloud_agentidentity20250901.client import Client as ControlClient
from alibabacloud_agentidentitydata20251127 import models as data
from alibabacloud_ram20150501 import models as ram
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.exceptions import ClientException

import localcloud
from tests.conftest import tea_config
from tests.localcloud.sample_setup import API_KEY, RETURN_URL, SampleSetup, data_client, prepare, trust_policy


@pytest.fixture
def sample(fresh_cloud: localcloud.LocalCloud) -> SampleSetup:
    return prepare(fresh_cloud)


def _wat(cloud: localcloud.LocalCloud, sample: SampleSetup, user_id: str | None = "alice-id") -> str:
    client = data_client(cloud)
    if user_id is None:
        return client.get_workload_access_token(data.GetWorkloadAccessTokenRequest(
            workload_identity_name=sample.workload)).body.workload_access_token
    return client.get_workload_access_token_for_user_id(data.GetWorkloadAccessTokenForUserIdRequest(
        workload_identity_name=sample.workload, user_id=user_id)).body.workload_access_token


def _assume(cloud: localcloud.LocalCloud, wat: str, **extra: object) -> data.AssumeRoleForWorkloadIdentityResponseBody:
    # Anonymous: the SDK sends this one unsigned, so even a client without keys works.
    client = data_client(cloud, access_key_id=None, access_key_secret=None)
    return client.assume_role_for_workload_identity(data.AssumeRoleForWorkloadIdentityRequest(
        workload_access_token=wat, role_session_name="AgentIdentitySessionRole-1", **extra)).body


def _api_key(client, wat: str, provider: str = "test-provider-api-key") -> str:
    return client.get_resource_apikey(data.GetResourceAPIKeyRequest(
        resource_credential_provider_name=provider, workload_access_token=wat)).body.apikey


def test_workload_access_token_for_a_user_carries_the_user(fresh_cloud, sample):
    body = data_client(fresh_cloud).get_workload_access_token_for_user_id(
        data.GetWorkloadAccessTokenForUserIdRequest(workload_identity_name=sample.workload, user_id="u-42")).body
    assert body.workload_identity_arn == sample.workload_arn
    assert body.user_context.user_id == "u-42"
    assert body.workload_access_token.count(".") == 2


def test_workload_access_token_for_an_unknown_workload_is_refused(fresh_cloud, sample):
    with pytest.raises(ClientException) as caught:
        data_client(fresh_cloud).get_workload_access_token(data.GetWorkloadAccessTokenRequest(
            workload_identity_name="nobody"))
    assert (caught.value.code, caught.value.status_code) == ("EntityNotExist.WorkloadIdentity", 404)


def test_api_key_for_an_allowed_workload(fresh_cloud, sample):
    assert _api_key(data_client(fresh_cloud), _wat(fresh_cloud, sample)) == API_KEY


def test_sts_credentials_for_the_workload_sign_the_next_calls_like_the_sdk(fresh_cloud, sample):
    wat = _wat(fresh_cloud, sample)
    body = _assume(fresh_cloud, wat, duration_seconds=900)
    creds = body.credentials
    assert creds.access_key_id.startswith("STS.") and creds.security_token
    assert body.workload_context_info.workload_identity_arn == sample.workload_arn
    assert body.workload_context_info.user_context.user_id == "alice-id"
    assert body.assumed_role_user.arn.startswith(f"acs:ram::{fresh_cloud.account_id}:assumed-role/")
    as_role = data_client(fresh_cloud, access_key_id=creds.access_key_id, access_key_secret=creds.access_key_secret,
                          security_token=creds.security_token)
    assert _api_key(as_role, wat) == API_KEY
    ram_as_role = RamClient(tea_config(fresh_cloud, access_key_id=creds.access_key_id,
                                       access_key_secret=creds.access_key_secret,
                                       security_token=creds.security_token))
    with pytest.raises(ClientException) as caught:  # the role may read API keys, not manage RAM
        ram_as_role.delete_role(ram.DeleteRoleRequest(role_name=sample.role_name))
    assert caught.value.code == "NoPermission"


@pytest.mark.parametrize("seconds", [899, 3601])
def test_sts_duration_outside_the_documented_range_is_refused(fresh_cloud, sample, seconds):
    with pytest.raises(ClientException) as caught:
        _assume(fresh_cloud, _wat(fresh_cloud, sample), duration_seconds=seconds)
    assert caught.value.code == "InvalidParameter.DurationSeconds"


def test_session_policy_narrows_the_workload_credentials(fresh_cloud, sample):
    wat = _wat(fresh_cloud, sample)
    only_oauth = json.dumps({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "agentidentitydata:GetResourceOAuth2Token", "Resource": "*"}]})
    creds = _assume(fresh_cloud, wat, policy=only_oauth).credentials
    narrowed = data_client(fresh_cloud, access_key_id=creds.access_key_id, access_key_secret=creds.access_key_secret,
                           security_token=creds.security_token)
    with pytest.raises(ClientException) as caught:
        _api_key(narrowed, wat)
    assert caught.value.code == "NoPermission"


def test_role_whose_trust_policy_names_another_workload_cannot_be_assumed(fresh_cloud, sample):
    RamClient(tea_config(fresh_cloud)).create_role(ram.CreateRoleRequest(
        role_name="other-trust", assume_role_policy_document=trust_policy(fresh_cloud.account_id, fresh_cloud.region,
                                                                          "some-other-workload")))
    ControlClient(tea_config(fresh_cloud)).update_workload_identity(ai.UpdateWorkloadIdentityRequest(
        workload_identity_name=sample.workload, role_arn=f"acs:ram::{fresh_cloud.account_id}:role/other-trust"))
    with pytest.raises(ClientException) as caught:
        _assume(fresh_cloud, _wat(fresh_cloud, sample))
    assert (caught.value.code, caught.value.status_code) == ("NoPermission.RoleTrust", 403)


def test_workload_without_permission_gets_no_api_key(fresh_cloud, sample):
    RamClient(tea_config(fresh_cloud)).detach_policy_from_role(ram.DetachPolicyFromRoleRequest(
        policy_type="Custom", policy_name=f"AgentIdentityPolicy-{sample.workload}", role_name=sample.role_name))
    with pytest.raises(ClientException) as caught:
        _api_key(data_client(fresh_cloud), _wat(fresh_cloud, sample))
    assert (caught.value.code, caught.value.status_code) == ("NoPermission", 403)
    assert caught.value.access_denied_detail["AuthAction"] == "agentidentitydata:GetResourceAPIKey"


def test_forged_workload_access_token_is_refused(fresh_cloud, sample):
    header, payload, signature = _wat(fresh_cloud, sample).split(".")
    forged = f"{header}.{payload}.{signature[:-6]}AAAAAA"
    with pytest.raises(ClientException) as caught:
        _api_key(data_client(fresh_cloud), forged)
    assert caught.value.code == "InvalidWorkloadAccessToken"
    with pytest.raises(ClientException) as garbage:
        _assume(fresh_cloud, "not-a-token")
    assert garbage.value.code == "InvalidWorkloadAccessToken"


def test_token_of_a_deleted_workload_is_refused(fresh_cloud, sample):
    wat = _wat(fresh_cloud, sample)
    ControlClient(tea_config(fresh_cloud)).delete_workload_identity(ai.DeleteWorkloadIdentityRequest(
        workload_identity_name=sample.workload))
    with pytest.raises(ClientException) as caught:
        _api_key(data_client(fresh_cloud), wat)
    assert caught.value.code == "InvalidWorkloadAccessToken"


def test_user_federation_needs_a_token_issued_for_a_user(fresh_cloud, sample):
    with pytest.raises(ClientException) as caught:
        data_client(fresh_cloud).get_resource_oauth2_token(data.GetResourceOAuth2TokenRequest(
            resource_credential_provider_name=sample.oauth_provider, scopes=["openid"],
            oauth2_flow="USER_FEDERATION", workload_access_token=_wat(fresh_cloud, sample, user_id=None),
            resource_oauth2_return_url=RETURN_URL))
    assert caught.value.code == "InvalidParameter.WorkloadAccessToken"


def test_return_url_must_be_allowed_exactly(fresh_cloud, sample):
    with pytest.raises(ClientException) as caught:
        data_client(fresh_cloud).get_resource_oauth2_token(data.GetResourceOAuth2TokenRequest(
            resource_credential_provider_name=sample.oauth_provider, scopes=["openid"],
            oauth2_flow="USER_FEDERATION", workload_access_token=_wat(fresh_cloud, sample),
            resource_oauth2_return_url=RETURN_URL + "/evil"))
    assert caught.value.code == "InvalidParameter.ResourceOAuth2ReturnURL"


def test_expired_tokens_and_sts_keys_are_refused(tmp_path):
    skew = [0.0]
    cloud = localcloud.start(port=0, data_dir=tmp_path / "clocked", clock=lambda: time.time() + skew[0])
    sample = prepare(cloud)
    wat = _wat(cloud, sample)
    creds = _assume(cloud, wat, duration_seconds=900).credentials
    as_role = StsClient(tea_config(cloud, access_key_id=creds.access_key_id, access_key_secret=creds.access_key_secret,
                                   security_token=creds.security_token))
    assert as_role.get_caller_identity().body.identity_type == "AssumedRoleUser"
    skew[0] = 901
    with pytest.raises(ClientException) as sts_expired:
        as_role.get_caller_identity()
    assert sts_expired.value.code == "InvalidSecurityToken.Expired"
    skew[0] = 3601
    with pytest.raises(ClientException) as wat_expired:
        _assume(cloud, wat)
    assert wat_expired.value.code == "InvalidWorkloadAccessToken.Expired"

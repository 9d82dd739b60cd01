"""Provisioning against localcloud through the official clients: plan, apply, resume, destroy."""

from __future__ import annotations

import dataclasses
import json
import stat

import pytest
from alibabacloud_agentidentity20250901 import models as ai
from alibabacloud_agentidentitydata20251127 import models as data
from alibabacloud_ram20150501 import models as ram

from identity import provision
from identity.clients import Clients
from identity.cloud import connect
from identity.errors import CloudError, ProvisioningError
from identity.provision import engine
from identity.provision.steps import STEPS

CREATABLE = [s.key for s in STEPS if s.key != "caller_identity"]


def _statuses(reports: list[provision.StepReport]) -> dict[str, str]:
    return {r.key: r.status for r in reports}


def _leftovers(clients: Clients) -> dict[str, list]:
    control = clients.control()
    request = ai.ListWorkloadIdentitiesRequest(max_results=100)
    return {
        "applications": clients.ims().list_applications().body.applications.application or [],
        "identity_providers": control.list_identity_providers(
            ai.ListIdentityProvidersRequest()).body.identity_providers or [],
        "workload_identities": control.list_workload_identities(request).body.workload_identities or [],
        "oauth2_providers": control.list_oauth2_credential_providers(
            ai.ListOAuth2CredentialProvidersRequest()).body.oauth2_credential_providers or [],
        "api_key_providers": control.list_apikey_credential_providers(
            ai.ListAPIKeyCredentialProvidersRequest()).body.apikey_credential_providers or [],
    }


def _role_gone(clients: Clients, config: dict) -> bool:
    with pytest.raises(CloudError) as caught:
        clients.ram().get_role(ram.GetRoleRequest(role_name=config["role_name"]))
    with pytest.raises(CloudError) as policy:
        clients.ram().get_policy(ram.GetPolicyRequest(policy_name=config["policy_name"], policy_type="Custom"))
    return caught.value.is_not_found and policy.value.is_not_found


def test_apply_then_plan_has_nothing_to_do(clients, settings):
    assert set(_statuses(provision.plan(clients, settings)).values()) == {"create", "keep"}
    assert not settings.config_json.exists()  # plan changes nothing, not even the record
    applied = _statuses(provision.apply(clients, settings))
    assert applied == {**dict.fromkeys(CREATABLE, "created"), "caller_identity": "kept"}
    assert set(_statuses(provision.plan(clients, settings)).values()) == {"keep"}


def test_apply_twice_changes_nothing(clients, settings):
    provision.apply(clients, settings)
    before = _leftovers(clients)
    assert set(_statuses(provision.apply(clients, settings)).values()) == {"kept"}
    assert {k: len(v) for k, v in _leftovers(clients).items()} == {k: len(v) for k, v in before.items()}


def test_config_json_has_the_sample_keys_no_secret_and_mode_0600(clients, settings, fresh_cloud):
    provision.apply(clients, settings)
    config = provision.read_config(settings.config_json)
    assert set(provision.SAMPLE_KEYS) <= set(config)
    assert config["role_arn"].startswith(f"acs:ram::{fresh_cloud.account_id}:role/agentidentityrole-")
    assert stat.S_IMODE(settings.config_json.stat().st_mode) == 0o600
    text = settings.config_json.read_text()
    for secret in (fresh_cloud.access_key_secret, fresh_cloud.dingtalk_client_secret):
        assert secret not in text


def test_provisioned_resources_carry_the_credential_flow(clients, settings):
    provision.apply(clients, settings)
    config = provision.read_config(settings.config_json)
    data_client = clients.data()
    wat = data_client.get_workload_access_token_for_user_id(data.GetWorkloadAccessTokenForUserIdRequest(
        workload_identity_name=config["workload_identity_name"], user_id="u1")).body.workload_access_token
    key = data_client.get_resource_apikey(data.GetResourceAPIKeyRequest(
        resource_credential_provider_name=config["api_key_provider_name"], workload_access_token=wat)).body.apikey
    assert key and key not in settings.config_json.read_text()
    sts = data_client.assume_role_for_workload_identity(data.AssumeRoleForWorkloadIdentityRequest(
        workload_access_token=wat, role_session_name="s1")).body
    assert sts.credentials.security_token


def _failing_at(key: str, after_create: bool = False) -> tuple:
    def explode(step):
        def create(deployment):
            if after_create:
                step.create(deployment)  # the resource exists, but the run dies before recording it
            raise CloudError("Throttling.User", "Request was denied due to user flow control.")
        return dataclasses.replace(step, create=create)
    return tuple(explode(s) if s.key == key else s for s in STEPS)


@pytest.mark.parametrize("key", CREATABLE)
@pytest.mark.parametrize("after_create", [False, True], ids=["before-create", "after-create"])
def test_failure_at_any_step_resumes_and_clears_fully(clients, settings, monkeypatch, key, after_create):
    with monkeypatch.context() as patched:
        patched.setattr(engine, "STEPS", _failing_at(key, after_create))
        with pytest.raises(ProvisioningError) as caught:
            provision.apply(clients, settings)
    assert caught.value.cause.code == "Throttling.User"
    resumed = _statuses(provision.apply(clients, settings))
    assert resumed[key] == ("kept" if after_create else "created")
    assert set(_statuses(provision.plan(clients, settings)).values()) == {"keep"}
    config = provision.read_config(settings.config_json)
    provision.destroy(clients, settings)
    assert all(not items for items in _leftovers(clients).values())
    assert _role_gone(clients, config)


def test_destroy_removes_everything_and_the_record(clients, settings):
    provision.apply(clients, settings)
    config = provision.read_config(settings.config_json)
    reports = _statuses(provision.destroy(clients, settings))
    assert {reports[k] for k in CREATABLE} == {"deleted"}
    assert all(not items for items in _leftovers(clients).values())
    assert _role_gone(clients, config)
    assert not settings.config_json.exists()
    assert {r.status for r in provision.destroy(clients, settings)} <= {"kept", "absent"}


def test_destroy_tolerates_what_is_already_gone(clients, settings):
    provision.apply(clients, settings)
    config = provision.read_config(settings.config_json)
    clients.control().delete_apikey_credential_provider(ai.DeleteAPIKeyCredentialProviderRequest(
        apikey_credential_provider_name=config["api_key_provider_name"]))
    reports = _statuses(provision.destroy(clients, settings))
    assert reports["api_key_provider"] == "absent" and reports["role"] == "deleted"


def test_an_identity_provider_that_existed_before_is_reused_and_kept(clients, settings):
    clients.control().create_identity_provider(ai.CreateIdentityProviderRequest(
        identity_provider_name=settings.identity_provider_name, allowed_audience=["someone-else"],
        discovery_url=clients.target.oauth_discovery_url))
    assert _statuses(provision.plan(clients, settings))["identity_provider"] == "drift"
    assert _statuses(provision.apply(clients, settings))["identity_provider"] == "updated"
    audience = clients.control().get_identity_provider(ai.GetIdentityProviderRequest(
        identity_provider_name=settings.identity_provider_name)).body.identity_provider.allowed_audience
    assert "someone-else" in audience and provision.read_config(settings.config_json)["inbound_app_id"] in audience
    assert _statuses(provision.destroy(clients, settings))["identity_provider"] == "kept"


def test_workload_drift_is_repaired(clients, settings):
    provision.apply(clients, settings)
    name = provision.read_config(settings.config_json)["workload_identity_name"]
    clients.control().update_workload_identity(ai.UpdateWorkloadIdentityRequest(
        workload_identity_name=name, allowed_resource_oauth2_return_urls=["http://elsewhere.example/callback"]))
    assert _statuses(provision.plan(clients, settings))["workload_identity"] == "drift"
    assert _statuses(provision.apply(clients, settings))["workload_identity"] == "updated"
    assert set(_statuses(provision.plan(clients, settings)).values()) == {"keep"}


def test_missing_cloud_inputs_are_asked_for_not_failed(settings):
    target = dataclasses.replace(connect(settings), dingtalk_client_id=None, dingtalk_client_secret=None)
    clients = Clients(target)
    assert _statuses(provision.plan(clients, settings))["dingtalk_oauth_provider"] == "needs input"
    assert _statuses(provision.apply(clients, settings))["dingtalk_oauth_provider"] == "skipped"
    given = provision.ProvisionInputs(dingtalk_client_id="ding-app", dingtalk_client_secret="ding-secret")
    assert _statuses(provision.apply(clients, settings, given))["dingtalk_oauth_provider"] == "created"
    assert "ding-secret" not in json.dumps(provision.read_config(settings.config_json))

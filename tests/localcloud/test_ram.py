"""RAM roles and policies through the official `alibabacloud_ram20150501` client."""

from __future__ import annotations

import json

import pytest
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_tea_openapi.exceptions import ClientException

TRUST = json.dumps({"Version": "1", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": ["workload.agentidentity.aliyuncs.com"]},
    "Action": ["sts:AssumeRole", "sts:SetContext"],
    "Condition": {"StringEquals": {"sts:RequestContext/agentidentity:WorkloadIdentityArn": "acs:agentidentity:x"}},
}]})
PERMISSIONS = json.dumps({"Version": "1", "Statement": [
    {"Effect": "Allow", "Action": "agentidentitydata:GetResourceAPIKey", "Resource": ["*"]},
]})


@pytest.fixture
def ram(config) -> RamClient:
    return RamClient(config)


def _role(ram: RamClient, name: str = "AgentIdentityRole-w1") -> ram_models.CreateRoleResponseBodyRole:
    request = ram_models.CreateRoleRequest(role_name=name, assume_role_policy_document=TRUST, description="demo")
    return ram.create_role(request).body.role


def _policy(ram: RamClient, name: str = "AgentIdentityPolicy-w1") -> None:
    ram.create_policy(ram_models.CreatePolicyRequest(policy_name=name, policy_document=PERMISSIONS))


def _attach(ram: RamClient, role: str, policy: str, policy_type: str = "Custom") -> None:
    ram.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(
        policy_type=policy_type, policy_name=policy, role_name=role))


def test_created_role_has_arn_of_the_account_and_keeps_its_trust_policy(ram, fresh_cloud):
    created = _role(ram)
    assert created.arn == f"acs:ram::{fresh_cloud.account_id}:role/agentidentityrole-w1"
    assert created.role_id.isdigit()
    fetched = ram.get_role(ram_models.GetRoleRequest(role_name="AgentIdentityRole-w1")).body.role
    assert json.loads(fetched.assume_role_policy_document) == json.loads(TRUST)
    assert (fetched.description, fetched.max_session_duration) == ("demo", 3600)


def test_duplicate_role_is_refused(ram):
    _role(ram)
    with pytest.raises(ClientException) as caught:
        _role(ram)
    assert (caught.value.code, caught.value.status_code) == ("EntityAlreadyExists.Role", 409)


@pytest.mark.parametrize("document", ["not json", json.dumps({"Version": "1", "Statement": []}),
                                      json.dumps({"Version": "1", "Statement": [{"Effect": "Maybe", "Action": "x",
                                                                                "Principal": {"RAM": "x"}}]})])
def test_malformed_trust_policy_is_refused(ram, document):
    with pytest.raises(ClientException) as caught:
        ram.create_role(ram_models.CreateRoleRequest(role_name="r1", assume_role_policy_document=document))
    assert (caught.value.code, caught.value.status_code) == ("MalformedPolicyDocument", 400)


def test_policy_round_trip_with_attachment_count(ram):
    _role(ram)
    _policy(ram)
    _attach(ram, "AgentIdentityRole-w1", "AgentIdentityPolicy-w1")
    body = ram.get_policy(ram_models.GetPolicyRequest(policy_name="AgentIdentityPolicy-w1", policy_type="Custom")).body
    assert (body.policy.policy_type, body.policy.attachment_count, body.policy.default_version) == ("Custom", 1, "v1")
    assert json.loads(body.default_policy_version.policy_document) == json.loads(PERMISSIONS)


def test_list_policies_for_role_shows_custom_and_system_attachments(ram):
    _role(ram)
    _policy(ram)
    _attach(ram, "AgentIdentityRole-w1", "AgentIdentityPolicy-w1")
    _attach(ram, "AgentIdentityRole-w1", "AliyunOSSReadOnlyAccess", "System")
    listed = ram.list_policies_for_role(ram_models.ListPoliciesForRoleRequest(role_name="AgentIdentityRole-w1"))
    pairs = {(p.policy_name, p.policy_type) for p in listed.body.policies.policy}
    assert pairs == {("AgentIdentityPolicy-w1", "Custom"), ("AliyunOSSReadOnlyAccess", "System")}


def test_attaching_twice_and_detaching_unattached_are_refused(ram):
    _role(ram)
    _policy(ram)
    _attach(ram, "AgentIdentityRole-w1", "AgentIdentityPolicy-w1")
    with pytest.raises(ClientException) as twice:
        _attach(ram, "AgentIdentityRole-w1", "AgentIdentityPolicy-w1")
    assert twice.value.code == "EntityAlreadyExists.Role.Policy"
    detach = ram_models.DetachPolicyFromRoleRequest(policy_type="Custom", policy_name="AgentIdentityPolicy-w1",
                                                    role_name="AgentIdentityRole-w1")
    ram.detach_policy_from_role(detach)
    with pytest.raises(ClientException) as again:
        ram.detach_policy_from_role(detach)
    assert (again.value.code, again.value.status_code) == ("EntityNotExist.Role.Policy", 404)


def test_role_with_policies_cannot_be_deleted_until_detached(ram):
    _role(ram)
    _policy(ram)
    _attach(ram, "AgentIdentityRole-w1", "AgentIdentityPolicy-w1")
    with pytest.raises(ClientException) as caught:
        ram.delete_role(ram_models.DeleteRoleRequest(role_name="AgentIdentityRole-w1"))
    assert (caught.value.code, caught.value.status_code) == ("DeleteConflict.Role.Policy", 409)
    ram.detach_policy_from_role(ram_models.DetachPolicyFromRoleRequest(
        policy_type="Custom", policy_name="AgentIdentityPolicy-w1", role_name="AgentIdentityRole-w1"))
    ram.delete_role(ram_models.DeleteRoleRequest(role_name="AgentIdentityRole-w1"))
    with pytest.raises(ClientException) as gone:
        ram.get_role(ram_models.GetRoleRequest(role_name="AgentIdentityRole-w1"))
    assert (gone.value.code, gone.value.status_code) == ("EntityNotExist.Role", 404)


def test_attached_policy_needs_cascading_delete(ram):
    _role(ram)
    _policy(ram)
    _attach(ram, "AgentIdentityRole-w1", "AgentIdentityPolicy-w1")
    with pytest.raises(ClientException) as caught:
        ram.delete_policy(ram_models.DeletePolicyRequest(policy_name="AgentIdentityPolicy-w1"))
    assert caught.value.code == "DeleteConflict.Policy.Role"
    ram.delete_policy(ram_models.DeletePolicyRequest(policy_name="AgentIdentityPolicy-w1", cascading_delete=True))
    listed = ram.list_policies_for_role(ram_models.ListPoliciesForRoleRequest(role_name="AgentIdentityRole-w1"))
    assert listed.body.policies.policy == []


def test_missing_and_invalid_parameters_name_the_parameter(ram):
    with pytest.raises(ClientException) as missing:
        ram.create_role(ram_models.CreateRoleRequest(assume_role_policy_document=TRUST))
    assert (missing.value.code, missing.value.status_code) == ("MissingParameter.RoleName", 400)
    with pytest.raises(ClientException) as invalid:
        ram.create_role(ram_models.CreateRoleRequest(role_name="bad name!", assume_role_policy_document=TRUST))
    assert invalid.value.code == "InvalidParameter.RoleName"
    with pytest.raises(ClientException) as bad_type:
        ram.get_policy(ram_models.GetPolicyRequest(policy_name="x", policy_type="Managed"))
    assert bad_type.value.code == "InvalidParameter.PolicyType"


def test_system_policy_names_are_reserved_and_readable(ram):
    with pytest.raises(ClientException) as caught:
        _policy(ram, "AdministratorAccess")
    assert caught.value.code == "EntityAlreadyExists.Policy"
    body = ram.get_policy(ram_models.GetPolicyRequest(policy_name="AliyunOSSReadOnlyAccess", policy_type="System"))
    assert body.body.policy.policy_type == "System"

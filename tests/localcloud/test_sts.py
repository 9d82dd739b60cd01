"""STS through the official `alibabacloud_sts20150401` client, and STS keys used against other services."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401 import models as sts_models
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.exceptions import ClientException

import localcloud
from tests.conftest import tea_config


def _trust(principal: str) -> str:
    return json.dumps({"Version": "1", "Statement": [
        {"Effect": "Allow", "Principal": {"RAM": [principal]}, "Action": "sts:AssumeRole"}]})


def _reader_role(ram: RamClient, account: str, name: str = "reader") -> str:
    """A role the account may assume that can only read roles."""
    role = ram.create_role(ram_models.CreateRoleRequest(
        role_name=name, assume_role_policy_document=_trust(f"acs:ram::{account}:root"))).body.role
    ram.create_policy(ram_models.CreatePolicyRequest(policy_name=f"{name}-policy", policy_document=json.dumps(
        {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:GetRole", "Resource": "*"}]})))
    ram.attach_policy_to_role(ram_models.AttachPolicyToRoleRequest(
        policy_type="Custom", policy_name=f"{name}-policy", role_name=name))
    return role.arn


def _assume(sts: StsClient, arn: str, **extra: object) -> sts_models.AssumeRoleResponseBody:
    return sts.assume_role(sts_models.AssumeRoleRequest(role_arn=arn, role_session_name="s1", **extra)).body


def _as_sts(cloud: localcloud.LocalCloud, creds: sts_models.AssumeRoleResponseBodyCredentials, **extra: object):
    return tea_config(cloud, access_key_id=creds.access_key_id, access_key_secret=creds.access_key_secret,
                      security_token=creds.security_token, **extra)


def test_caller_identity_of_the_root_key_is_the_account(config, fresh_cloud):
    body = StsClient(config).get_caller_identity().body
    assert (body.account_id, body.identity_type) == (fresh_cloud.account_id, "Account")
    assert body.arn == f"acs:ram::{fresh_cloud.account_id}:root"


def test_assumed_role_credentials_identify_the_role_session(config, fresh_cloud):
    arn = _reader_role(RamClient(config), fresh_cloud.account_id)
    body = _assume(StsClient(config), arn, duration_seconds=900)
    assert body.credentials.access_key_id.startswith("STS.")
    assert body.assumed_role_user.arn == f"acs:ram::{fresh_cloud.account_id}:assumed-role/reader/s1"
    me = StsClient(_as_sts(fresh_cloud, body.credentials)).get_caller_identity().body
    assert (me.identity_type, me.arn) == ("AssumedRoleUser", body.assumed_role_user.arn)


def test_role_credentials_are_limited_to_the_role_policy(config, fresh_cloud):
    arn = _reader_role(RamClient(config), fresh_cloud.account_id)
    role_ram = RamClient(_as_sts(fresh_cloud, _assume(StsClient(config), arn).credentials))
    assert role_ram.get_role(ram_models.GetRoleRequest(role_name="reader")).body.role.role_name == "reader"
    with pytest.raises(ClientException) as caught:
        role_ram.delete_role(ram_models.DeleteRoleRequest(role_name="reader"))
    assert (caught.value.code, caught.value.status_code) == ("NoPermission", 403)
    assert caught.value.access_denied_detail["AuthAction"] == "ram:DeleteRole"


def test_session_policy_narrows_the_role(config, fresh_cloud):
    arn = _reader_role(RamClient(config), fresh_cloud.account_id)
    deny_all = json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:GetObject",
                                                          "Resource": "*"}]})
    role_ram = RamClient(_as_sts(fresh_cloud, _assume(StsClient(config), arn, policy=deny_all).credentials))
    with pytest.raises(ClientException) as caught:
        role_ram.get_role(ram_models.GetRoleRequest(role_name="reader"))
    assert caught.value.code == "NoPermission"


def test_role_that_does_not_trust_the_account_cannot_be_assumed(config, fresh_cloud):
    ram = RamClient(config)
    role = ram.create_role(ram_models.CreateRoleRequest(
        role_name="service-only", assume_role_policy_document=json.dumps({"Version": "1", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": ["ecs.aliyuncs.com"]}, "Action": "sts:AssumeRole"}]})))
    with pytest.raises(ClientException) as caught:
        _assume(StsClient(config), role.body.role.arn)
    assert (caught.value.code, caught.value.status_code) == ("NoPermission.RoleTrust", 403)


@pytest.mark.parametrize(("arn", "code"), [("arn:aws:iam::1:role/x", "InvalidParameter.RoleArn"),
                                           ("acs:ram::{account}:role/missing", "EntityNotExist.Role")])
def test_assume_role_with_bad_arn_names_the_problem(config, fresh_cloud, arn, code):
    with pytest.raises(ClientException) as caught:
        _assume(StsClient(config), arn.format(account=fresh_cloud.account_id))
    assert caught.value.code == code


def test_security_token_must_match_and_not_expire(config, fresh_cloud, tmp_path):
    arn = _reader_role(RamClient(config), fresh_cloud.account_id)
    creds = _assume(StsClient(config), arn).credentials
    forged = tea_config(fresh_cloud, access_key_id=creds.access_key_id, access_key_secret=creds.access_key_secret,
                        security_token=creds.security_token[:-4] + "AAAA")
    with pytest.raises(ClientException) as caught:
        StsClient(forged).get_caller_identity()
    assert caught.value.code == "InvalidSecurityToken.MismatchWithAccessKey"
    no_token = tea_config(fresh_cloud, access_key_id=creds.access_key_id, access_key_secret=creds.access_key_secret)
    with pytest.raises(ClientException) as missing:
        StsClient(no_token).get_caller_identity()
    assert missing.value.code == "InvalidSecurityToken.MissingToken"


def test_expired_sts_credentials_are_refused(tmp_path):
    skew = [0.0]  # the server's clock runs ahead by this much; the SDK signs with the real time
    cloud = localcloud.start(port=0, data_dir=tmp_path / "clocked", clock=lambda: time.time() + skew[0])
    config = tea_config(cloud)
    arn = _reader_role(RamClient(config), cloud.account_id)
    before = time.time()
    creds = _assume(StsClient(config), arn, duration_seconds=900).credentials
    expires = datetime.strptime(creds.expiration, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    assert before + 899 <= expires <= time.time() + 900
    skew[0] = 901
    with pytest.raises(ClientException) as caught:
        StsClient(_as_sts(cloud, creds)).get_caller_identity()
    assert caught.value.code == "InvalidSecurityToken.Expired"

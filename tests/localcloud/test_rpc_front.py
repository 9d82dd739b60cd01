"""The RPC front on the wire: signatures checked, replays and stale requests refused, errors in Alibaba's shape."""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import requests
from alibabacloud_agentidentity20250901 import models as ai_models
from alibabacloud_agentidentity20250901.client import Client as AgentIdentityClient
from alibabacloud_ram20150501 import models as ram_models
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi import utils as openapi_utils
from alibabacloud_tea_openapi.client import Client as OpenApiClient
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.utils_models import OpenApiRequest, Params
from darabonba.runtime import RuntimeOptions

import localcloud
from localcloud.rpc.signing import sign_acs3
from tests.conftest import tea_config

ERROR_KEYS = {"RequestId", "Code", "Message", "HostId", "Recommend"}


def _acs_date(offset: timedelta = timedelta(0)) -> str:
    return (datetime.now(UTC) + offset).strftime("%Y-%m-%dT%H:%M:%SZ")


def _signed(cloud: localcloud.LocalCloud, action: str, version: str, body: bytes = b"", *,
            secret: str | None = None, date: str | None = None, nonce: str | None = None) -> dict[str, str]:
    """Headers of an ACS3-signed form POST to `/`, as the Tea SDK builds them."""
    headers = {
        "host": cloud.endpoint, "x-acs-action": action, "x-acs-version": version,
        "x-acs-date": date or _acs_date(), "x-acs-signature-nonce": nonce or uuid.uuid4().hex,
        "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
        "content-type": "application/x-www-form-urlencoded", "accept": "application/json",
    }
    headers["authorization"] = sign_acs3(cloud.access_key_id, secret or cloud.access_key_secret, "POST", "/", [],
                                         headers, body)
    return headers


def _post(cloud: localcloud.LocalCloud, headers: dict[str, str], body: bytes = b"", query: str = "") -> httpx.Response:
    return httpx.post(f"{cloud.url}/{query}", headers=headers, content=body, timeout=10, trust_env=False)


def _error(response: httpx.Response) -> dict:
    body = response.json()
    assert set(body) >= ERROR_KEYS
    assert response.headers["x-acs-request-id"] == body["RequestId"]
    return body


# -- through the official SDK --------------------------------------------------------------------

def test_wrong_secret_is_signature_does_not_match(fresh_cloud):
    with pytest.raises(ClientException) as caught:
        StsClient(tea_config(fresh_cloud, access_key_secret="wrong-secret")).get_caller_identity()
    assert (caught.value.code, caught.value.status_code) == ("SignatureDoesNotMatch", 400)
    assert caught.value.request_id


def test_unknown_access_key_is_not_found(fresh_cloud):
    with pytest.raises(ClientException) as caught:
        StsClient(tea_config(fresh_cloud, access_key_id="LCAKnobody")).get_caller_identity()
    assert (caught.value.code, caught.value.status_code) == ("InvalidAccessKeyId.NotFound", 404)


def test_v2_hmac_sha1_signatures_are_verified(fresh_cloud):
    body = StsClient(tea_config(fresh_cloud, signature_algorithm="v2")).get_caller_identity().body
    assert body.account_id == fresh_cloud.account_id
    with pytest.raises(ClientException) as caught:
        StsClient(tea_config(fresh_cloud, signature_algorithm="v2", access_key_secret="x")).get_caller_identity()
    assert caught.value.code == "SignatureDoesNotMatch"


def test_sdk_request_replayed_with_the_same_nonce_is_refused(fresh_cloud, monkeypatch):
    client = StsClient(tea_config(fresh_cloud))
    monkeypatch.setattr(openapi_utils.Utils, "get_nonce", staticmethod(lambda: "fixed-nonce-" + fresh_cloud.url))
    client.get_caller_identity()
    with pytest.raises(ClientException) as caught:
        client.get_caller_identity()
    assert (caught.value.code, caught.value.status_code) == ("SignatureNonceUsed", 400)


def test_sdk_request_with_a_stale_clock_is_refused(fresh_cloud, monkeypatch):
    stale = _acs_date(timedelta(minutes=-20))
    monkeypatch.setattr(openapi_utils.Utils, "get_timestamp", staticmethod(lambda: stale))
    with pytest.raises(ClientException) as caught:
        StsClient(tea_config(fresh_cloud)).get_caller_identity()
    assert (caught.value.code, caught.value.status_code) == ("InvalidTimeStamp.Expired", 400)


def test_sdk_request_whose_body_is_changed_in_flight_is_refused(config, monkeypatch):
    original = requests.Session.send

    def tamper(session: requests.Session, prepared: requests.PreparedRequest, **kwargs: object):
        prepared.body = prepared.body.replace(b"reader", b"writer")  # same length: only the signature can tell
        return original(session, prepared, **kwargs)

    monkeypatch.setattr(requests.Session, "send", tamper)
    with pytest.raises(ClientException) as caught:  # Agent Identity sends its parameters in the form body
        AgentIdentityClient(config).get_workload_identity(
            ai_models.GetWorkloadIdentityRequest(workload_identity_name="reader"))
    assert (caught.value.code, caught.value.status_code) == ("SignatureDoesNotMatch", 400)


def test_unknown_action_gets_the_not_found_error(fresh_cloud):
    client = OpenApiClient(tea_config(fresh_cloud))
    params = Params(action="CreateTimeMachine", version="2015-05-01", protocol="HTTP", pathname="/", method="POST",
                    auth_type="AK", style="RPC", req_body_type="formData", body_type="json")
    with pytest.raises(ClientException) as caught:
        client.call_api(params, OpenApiRequest(), RuntimeOptions())
    assert (caught.value.code, caught.value.status_code) == ("InvalidAction.NotFound", 404)
    assert caught.value.data["HostId"] == "ram.aliyuncs.com"


def test_query_parameters_are_signed_and_read(config):
    # RAM sends its parameters in the query string; a role name with spaces and symbols must survive.
    ram = RamClient(config)
    request = ram_models.CreateRoleRequest(role_name="r.1-x", description="a b+c/d~é&=?",
                                           assume_role_policy_document='{"Version":"1","Statement":[{"Effect":'
                                           '"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["x"]}}]}')
    ram.create_role(request)
    assert ram.get_role(ram_models.GetRoleRequest(role_name="r.1-x")).body.role.description == "a b+c/d~é&=?"


# -- raw HTTP: exact status codes and the error document ------------------------------------------

def test_raw_signed_request_succeeds(fresh_cloud):
    response = _post(fresh_cloud, _signed(fresh_cloud, "GetCallerIdentity", "2015-04-01"))
    assert response.status_code == 200
    assert response.json()["AccountId"] == fresh_cloud.account_id


def test_body_changed_after_signing_is_refused(fresh_cloud):
    headers = _signed(fresh_cloud, "GetRole", "2015-05-01", b"RoleName=a")
    response = _post(fresh_cloud, headers, b"RoleName=b")
    assert (response.status_code, _error(response)["Code"]) == (400, "SignatureDoesNotMatch")
    headers["x-acs-content-sha256"] = hashlib.sha256(b"RoleName=b").hexdigest()
    response = _post(fresh_cloud, headers, b"RoleName=b")
    assert (response.status_code, _error(response)["Code"]) == (400, "SignatureDoesNotMatch")


def test_query_added_after_signing_is_refused(fresh_cloud):
    response = _post(fresh_cloud, _signed(fresh_cloud, "GetCallerIdentity", "2015-04-01"), query="?RoleName=x")
    assert _error(response)["Code"] == "SignatureDoesNotMatch"


@pytest.mark.parametrize("offset", [timedelta(minutes=-16), timedelta(minutes=16)])
def test_request_time_more_than_15_minutes_off_is_refused(fresh_cloud, offset):
    response = _post(fresh_cloud, _signed(fresh_cloud, "GetCallerIdentity", "2015-04-01", date=_acs_date(offset)))
    assert (response.status_code, _error(response)["Code"]) == (400, "InvalidTimeStamp.Expired")


def test_malformed_request_time_is_refused(fresh_cloud):
    response = _post(fresh_cloud, _signed(fresh_cloud, "GetCallerIdentity", "2015-04-01", date="yesterday"))
    assert _error(response)["Code"] == "InvalidTimeStamp.Format"


def test_replayed_request_is_refused(fresh_cloud):
    headers = _signed(fresh_cloud, "GetCallerIdentity", "2015-04-01")
    assert _post(fresh_cloud, headers).status_code == 200
    response = _post(fresh_cloud, headers)
    assert (response.status_code, _error(response)["Code"]) == (400, "SignatureNonceUsed")


def test_unsigned_request_is_refused(fresh_cloud):
    response = _post(fresh_cloud, {"x-acs-action": "GetCallerIdentity", "x-acs-version": "2015-04-01"})
    assert (response.status_code, _error(response)["Code"]) == (400, "IncompleteSignature")


def test_signature_that_leaves_out_the_nonce_is_refused(fresh_cloud):
    headers = _signed(fresh_cloud, "GetCallerIdentity", "2015-04-01")
    headers["authorization"] = headers["authorization"].replace("x-acs-signature-nonce;", "")
    response = _post(fresh_cloud, headers)
    assert (response.status_code, _error(response)["Code"]) == (400, "IncompleteSignature")


def test_unknown_version_and_missing_action(fresh_cloud):
    unknown = _post(fresh_cloud, {"x-acs-action": "GetCallerIdentity", "x-acs-version": "1999-01-01"})
    assert (unknown.status_code, _error(unknown)["Code"]) == (400, "InvalidVersion")
    missing = _post(fresh_cloud, {"x-acs-version": "2015-04-01"})
    assert (missing.status_code, _error(missing)["Code"]) == (400, "MissingParameter.Action")


@pytest.mark.parametrize("headers", [
    {"authorization": "ACS3-HMAC-SHA256"},
    {"authorization": "ACS3-HMAC-SHA256 Credential=,SignedHeaders=,Signature="},
    {"authorization": "Bearer abc"},
    # A loopback Host other than the one signed: any other name is refused before the front (421, hosts.py).
    {"authorization": "ACS3-HMAC-SHA256 Credential=a,SignedHeaders=host,Signature=b", "host": "localhost"},
    {"content-type": "application/x-www-form-urlencoded"},
])
def test_garbage_authorization_never_becomes_a_server_error(fresh_cloud, headers):
    response = _post(fresh_cloud, {"x-acs-action": "GetRole", "x-acs-version": "2015-05-01", **headers},
                     body=b"\xff\xfe=\x00")
    assert 400 <= response.status_code < 500
    assert _error(response)["Code"]


def test_v2_query_garbage_never_becomes_a_server_error(fresh_cloud):
    query = "?Action=GetRole&Version=2015-05-01&Signature=x&AccessKeyId=&SignatureMethod=MD5"
    response = _post(fresh_cloud, {}, query=query)
    assert (response.status_code, _error(response)["Code"]) == (400, "IncompleteSignature")


def test_health_route_answers_without_secrets(fresh_cloud):
    body = httpx.get(f"{fresh_cloud.url}/_localcloud/health", timeout=5, trust_env=False).json()
    assert body["status"] == "ok" and body["account_id"] == fresh_cloud.account_id
    assert fresh_cloud.access_key_secret not in str(body)


def test_reset_needs_the_control_token(fresh_cloud):
    refused = httpx.post(f"{fresh_cloud.url}/_localcloud/reset", timeout=5, trust_env=False)
    assert refused.status_code == 403


def test_reset_forgets_resources_but_keeps_the_root_key(fresh_cloud):
    ram = RamClient(tea_config(fresh_cloud))
    ram.create_policy(ram_models.CreatePolicyRequest(policy_name="p1", policy_document='{"Version":"1","Statement":'
                                                     '[{"Effect":"Allow","Action":"*","Resource":"*"}]}'))
    fresh_cloud.reset()
    with pytest.raises(ClientException) as caught:
        ram.get_policy(ram_models.GetPolicyRequest(policy_name="p1", policy_type="Custom"))
    assert caught.value.code == "EntityNotExist.Policy"
    started = time.time()
    assert StsClient(tea_config(fresh_cloud)).get_caller_identity().body.account_id == fresh_cloud.account_id
    assert time.time() - started < 30

"""Bad input the fuzz suite (tests/security/test_fuzz_*.py) once turned into a server error or a hang.

One focused test per bug, over real HTTP: each answer is now a 4xx in the service's own error shape.
"""

from __future__ import annotations

import hashlib
import json
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import urlencode

import httpx
import oss2
import pytest
from alibabacloud_agentidentity20250901 import models as ai
from alibabacloud_agentidentity20250901.client import Client as ControlClient
from alibabacloud_agentidentitydata20251127 import models as data
from alibabacloud_ram20150501 import models as ram
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401 import models as sts
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.exceptions import ClientException

import localcloud
from localcloud.app import CONTROL_TOKEN_HEADER
from localcloud.oss.seed import DEFAULT_DEMO_BUCKET
from localcloud.rpc.signing import sign_acs3
from tests.conftest import tea_config
from tests.localcloud.sample_setup import RETURN_URL, data_client, prepare
from tests.support import served_local_proxy

ERROR_KEYS = {"RequestId", "Code", "Message", "HostId", "Recommend"}
NON_ASCII = "é" * 64  # a header or query value Starlette hands over as a non-ASCII str


def _acs_date() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _signed_call(cloud: localcloud.LocalCloud, action: str, version: str, body: bytes = b"", *,
                 key_id: str | None = None, secret: str | None = None,
                 after_signing: dict[str, str] | None = None) -> httpx.Response:
    """An ACS3-signed form POST; `after_signing` then overwrites headers, as a tampering client would."""
    headers = {"host": cloud.endpoint, "x-acs-action": action, "x-acs-version": version, "x-acs-date": _acs_date(),
               "x-acs-signature-nonce": uuid.uuid4().hex, "x-acs-content-sha256": hashlib.sha256(body).hexdigest(),
               "content-type": "application/x-www-form-urlencoded"}
    headers["authorization"] = sign_acs3(key_id or cloud.access_key_id, secret or cloud.access_key_secret, "POST",
                                         "/", [], headers, body)
    headers.update(after_signing or {})
    encoded = {name: value.encode() for name, value in headers.items()}  # UTF-8 bytes: what a client may send
    return httpx.post(f"{cloud.url}/", content=body, headers=encoded, timeout=10, trust_env=False)


def _alibaba_error(response: httpx.Response, status: int, code: str) -> None:
    assert (response.status_code, response.json()["Code"]) == (status, code), response.text
    assert set(response.json()) >= ERROR_KEYS


# -- the RPC front: signature parts compared with hmac.compare_digest, which refuses non-ASCII str -----------------
@pytest.mark.parametrize("header", ["x-acs-content-sha256", "authorization"])
def test_non_ascii_signature_parts_are_signature_does_not_match_not_500(fresh_cloud, header):
    # Was: 500 InternalError (TypeError in compare_digest). Fix: localcloud/rpc/auth.py compares bytes.
    tampered = (f"ACS3-HMAC-SHA256 Credential={fresh_cloud.access_key_id},SignedHeaders=content-type;host;"
                f"x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"
                f"Signature={NON_ASCII}") if header == "authorization" else NON_ASCII
    response = _signed_call(fresh_cloud, "GetCallerIdentity", "2015-04-01", after_signing={header: tampered})
    _alibaba_error(response, 400, "SignatureDoesNotMatch")


def test_non_ascii_v2_signature_is_signature_does_not_match_not_500(fresh_cloud):
    # Was: 500 (compare_digest of the expected signature with the non-ASCII query value). Fix: rpc/auth.py.
    query = {"Action": "GetCallerIdentity", "Version": "2015-04-01", "AccessKeyId": fresh_cloud.access_key_id,
             "SignatureMethod": "HMAC-SHA1", "SignatureVersion": "1.0", "SignatureNonce": uuid.uuid4().hex,
             "Timestamp": _acs_date(), "Signature": NON_ASCII}
    response = httpx.post(f"{fresh_cloud.url}/", params=query, timeout=10, trust_env=False)
    _alibaba_error(response, 400, "SignatureDoesNotMatch")


def test_non_ascii_security_token_is_a_token_mismatch_not_500(fresh_cloud):
    # Was: 500 (compare_digest of the STS key's token with the non-ASCII header). Fix: rpc/auth.py.
    role = f"fuzz-regression-{uuid.uuid4().hex[:8]}"
    trust = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"RAM": [f"acs:ram::{fresh_cloud.account_id}:root"]}}]}
    RamClient(tea_config(fresh_cloud)).create_role(ram.CreateRoleRequest(
        role_name=role, assume_role_policy_document=json.dumps(trust)))
    creds = StsClient(tea_config(fresh_cloud)).assume_role(sts.AssumeRoleRequest(
        role_arn=f"acs:ram::{fresh_cloud.account_id}:role/{role}", role_session_name="fuzz-session")).body.credentials
    response = _signed_call(fresh_cloud, "GetCallerIdentity", "2015-04-01", key_id=creds.access_key_id,
                            secret=creds.access_key_secret, after_signing={"x-acs-security-token": NON_ASCII})
    _alibaba_error(response, 400, "InvalidSecurityToken.MismatchWithAccessKey")


# -- localcloud's control routes ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("method", "path"), [("POST", "/_localcloud/reset"), ("GET", "/_localcloud/requests")])
def test_non_ascii_control_token_is_refused_not_500(cloud, method, path):
    # Was: 500 Internal Server Error (compare_digest of two str, one non-ASCII). Fix: localcloud/app.py:authorized.
    response = httpx.request(method, f"{cloud.url}{path}", headers={CONTROL_TOKEN_HEADER: NON_ASCII.encode()},
                             timeout=10, trust_env=False)
    assert response.status_code == 403 and CONTROL_TOKEN_HEADER in response.json()["error"]


# -- RAM policies: a condition value that is not a string ----------------------------------------------------------
def _trusting_root(account: str, condition_value: object) -> str:
    """A trust policy for the account's root, under a condition whose value is `condition_value`."""
    return json.dumps({"Version": "1", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"RAM": [f"acs:ram::{account}:root"]},
        "Condition": {"StringEquals": {"acs:SourceIp": condition_value}}}]})


@pytest.mark.parametrize("value", [{"a": "b"}, [["nested"]], None, []])
def test_policy_condition_values_must_be_values(fresh_cloud, value):
    # Was: CreateRole stored any of these, and an AssumeRole evaluating a number there was a 500 (list(7)).
    # Fix: localcloud/policy.py (_check_statement refuses what is not a value or array of values:
    # MalformedPolicyDocument; _as_list takes a number or boolean as one value).
    body = urlencode({"RoleName": "fuzz-condition",
                      "AssumeRolePolicyDocument": _trusting_root(fresh_cloud.account_id, value)}).encode()
    response = _signed_call(fresh_cloud, "CreateRole", "2015-05-01", body)
    assert response.status_code == 400 and response.json()["Code"].startswith("MalformedPolicyDocument"), response.text


@pytest.mark.parametrize("value", [7, True, [7, "10.0.0.1"]])
def test_numeric_condition_values_compare_as_text(fresh_cloud, value):
    RamClient(tea_config(fresh_cloud)).create_role(ram.CreateRoleRequest(
        role_name="numeric-condition", assume_role_policy_document=_trusting_root(fresh_cloud.account_id, value)))
    with pytest.raises(ClientException) as refused:  # the condition does not hold: no trust, a 403 and no crash
        StsClient(tea_config(fresh_cloud)).assume_role(sts.AssumeRoleRequest(
            role_arn=f"acs:ram::{fresh_cloud.account_id}:role/numeric-condition", role_session_name="fuzz-session"))
    assert refused.value.status_code == 403, refused.value


# -- the data plane: a provider that refuses the request ----------------------------------------------------------
def test_provider_refusing_a_machine_token_is_a_client_error_not_503(fresh_cloud):
    # Was: 503 ServiceUnavailable.Provider for the provider's "unauthorized_client" (the sample's MCP app is a public
    # client, so client_credentials is refused). Fix: provider_http.token_request raises ProviderRefused (400).
    sample = prepare(fresh_cloud)
    client = data_client(fresh_cloud)
    wat = client.get_workload_access_token(data.GetWorkloadAccessTokenRequest(
        workload_identity_name=sample.workload)).body.workload_access_token
    with pytest.raises(ClientException) as refused:
        client.get_resource_oauth2_token(data.GetResourceOAuth2TokenRequest(
            resource_credential_provider_name=sample.oauth_provider, scopes=["/acs/mcp-server"], oauth2_flow="M2M",
            workload_access_token=wat))
    assert (refused.value.status_code, refused.value.code) == (400, "OperationDenied.Provider")
    assert "unauthorized_client" in str(refused.value)


# -- OSS: GetObject's response-* overrides echoed as headers ------------------------------------------------------
@pytest.mark.parametrize("value", ["  text/plain  ", " attachment", "no-cache "])
def test_response_override_with_surrounding_spaces_is_answered(fresh_cloud, value):
    # Was: no answer at all (h11 refused the header on the way out and uvicorn dropped the connection).
    # Fix: localcloud/oss/handlers.py:_header_value strips the spaces HTTP does not allow around a value.
    bucket = oss2.Bucket(oss2.Auth(fresh_cloud.access_key_id, fresh_cloud.access_key_secret), fresh_cloud.url,
                         DEFAULT_DEMO_BUCKET)
    answer = bucket.get_object("docs/welcome.md", params={"response-cache-control": value})
    assert answer.status == 200 and answer.headers["cache-control"] == value.strip()


# -- the MCP server: a GET for the server-to-client SSE stream ------------------------------------------------------
@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_get_on_the_stateless_mcp_endpoint_is_405_not_a_stream_that_never_ends(cloud, token):
    # Was: the SDK opened a standalone SSE stream no message could ever go to (stateless: no session), so the
    # client waited until its own timeout. Fix: localcloud/resources/mcp_server.py:ResourceCenter answers 405.
    headers = {"accept": "text/event-stream", **({"authorization": f"Bearer {token}"} if token else {})}
    response = httpx.get(cloud.env()["MCP_SERVER"], headers=headers, timeout=10, trust_env=False)
    assert response.status_code == 405 and response.headers["allow"] == "POST"
    assert response.json()["error"]["code"] == -32600


# -- DashScope: tool_calls that are not a list -------------------------------------------------------------------
@pytest.mark.parametrize("tool_calls", [7, True, 1.5])
def test_tool_calls_that_are_not_a_list_are_invalid_parameter(cloud, tool_calls):
    # Was: 500 (iterating an int while reading the turn's calls). Fix: localcloud/dashscope/wire.py:_messages.
    body = {"model": "qwen-plus", "parameters": {"result_format": "message"}, "input": {"messages": [
        {"role": "user", "content": "weather in Paris"}, {"role": "assistant", "content": "", "tool_calls": tool_calls},
        {"role": "tool", "content": "sunny", "tool_call_id": "call_1"}]}}
    response = httpx.post(f"{cloud.env()['DASHSCOPE_HTTP_BASE_URL']}/services/aigc/text-generation/generation",
                          json=body, headers={"authorization": f"Bearer {cloud.dashscope_api_key}"}, timeout=10,
                          trust_env=False)
    assert response.status_code == 400 and response.json()["code"] == "InvalidParameter", response.text
    assert "tool_calls" in response.json()["message"]


# -- the data plane's consent link, for a provider localcloud cannot stand in for ---------------------------------
def test_consent_link_of_a_provider_localcloud_does_not_emulate_is_a_page_not_500(fresh_cloud):
    # Was: 500 Internal Server Error (resolve_provider's InvalidParameter escaped the browser route, which caught only
    # ProviderUnavailable). Fix: localcloud/services/agentidentitydata/routes.py answers any provider error as a page.
    sample = prepare(fresh_cloud)
    client = data_client(fresh_cloud)
    wat = client.get_workload_access_token_for_user_id(data.GetWorkloadAccessTokenForUserIdRequest(
        workload_identity_name=sample.workload, user_id="alice-id")).body.workload_access_token
    link = client.get_resource_oauth2_token(data.GetResourceOAuth2TokenRequest(
        resource_credential_provider_name=sample.oauth_provider, scopes=["/acs/mcp-server"],
        oauth2_flow="USER_FEDERATION", workload_access_token=wat,
        resource_oauth2_return_url=RETURN_URL)).body.authorization_url
    ControlClient(tea_config(fresh_cloud)).update_oauth2_credential_provider(ai.UpdateOAuth2CredentialProviderRequest(
        oauth2_credential_provider_name=sample.oauth_provider, credential_provider_vendor="FeiShuOAuth2"))
    page = httpx.get(link, timeout=10, trust_env=False)
    assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
    assert "FeiShuOAuth2" in page.text and "not emulated" in page.text


# -- the app's /lc proxy (web/local_proxy.py) in front of localcloud --------------------------------------------------
@pytest.fixture(scope="module")
def proxy_port(cloud: localcloud.LocalCloud) -> Iterator[int]:
    """The app's `/lc` proxy served by uvicorn on 127.0.0.1, forwarding to the session's localcloud."""
    with served_local_proxy(lambda: cloud.url) as port:
        yield port


def _raw_get(port: int, target: bytes) -> bytes:
    """The status line of a GET sent byte for byte (httpx would encode what this test needs raw)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


def test_proxy_answers_a_query_it_cannot_forward_with_a_page_not_500(proxy_port):
    # Was: 500 Internal Server Error (httpx.InvalidURL building the upstream URL from a raw '#' in the query).
    # Fix: web/local_proxy.py:LocalCloudProxy._forward answers 400 with a page.
    answer = _raw_get(proxy_port, b"/lc/oauth/aliyun/authorize?#fragment")
    assert answer.startswith(b"HTTP/1.1 400 ") and b"<h1>Bad request</h1>" in answer


@pytest.mark.parametrize("header", ["user-agent", "accept", "authorization", "cookie"])
def test_proxy_forwards_non_ascii_headers_instead_of_failing(proxy_port, header):
    # Was: 500 (httpx encodes str header values as ASCII: UnicodeEncodeError on a Latin-1 User-Agent or lc_ cookie).
    # Fix: web/local_proxy.py:LocalCloudProxy._forward forwards the headers as the bytes the browser sent.
    value = b"lc_oauth_browser=\xe9t\xe9" if header == "cookie" else b"\xe9t\xe9"
    response = httpx.get(f"http://127.0.0.1:{proxy_port}/lc/oauth/aliyun/authorize", headers={header: value},
                         timeout=10, trust_env=False)
    assert response.status_code == 400 and "text/html" in response.headers["content-type"]  # localcloud's own page

"""The pure signature functions agree with the official SDK's own signing code."""

from __future__ import annotations

import hashlib
import time

import pytest
from alibabacloud_tea_openapi.utils import Utils as OpenApiUtils
from darabonba.request import DaraRequest

from localcloud.rpc import signing
from localcloud.rpc.errors import IncompleteSignature, TimestampExpired


def _sdk_request(query: dict[str, str]) -> DaraRequest:
    request = DaraRequest()
    request.method, request.pathname, request.query = "POST", "/", query
    request.headers = {"host": "127.0.0.1:1", "x-acs-action": "GetRole", "x-acs-version": "2015-05-01",
                       "x-acs-date": "2026-11-28T21:59:50Z", "x-acs-signature-nonce": "n1",
                       "x-acs-content-sha256": hashlib.sha256(b"A=1").hexdigest(), "accept": "application/json"}
    return request


@pytest.mark.parametrize("query", [{}, {"RoleName": "a b+c/é", "Description": "~x*y"}])
def test_acs3_signature_matches_the_sdk(query):
    request = _sdk_request(query)
    payload = request.headers["x-acs-content-sha256"]
    header = OpenApiUtils.get_authorization(request, "ACS3-HMAC-SHA256", payload, "AK1", "secret")
    parsed = signing.parse_acs3_authorization(header)
    sts = signing.acs3_string_to_sign("POST", "/", query.items(), request.headers, parsed.signed_headers, payload)
    assert signing.acs3_signature("secret", sts) == parsed.signature
    assert signing.acs3_signature("other", sts) != parsed.signature


def test_v2_signature_matches_the_sdk():
    params = {"Action": "AssumeRole", "RoleArn": "acs:ram::1:role/r", "Policy": '{"a": "b c"}', "X": "~*"}
    assert signing.rpc_v2_signature(params, "POST", "s3cret") == OpenApiUtils.get_rpcsignature(params, "POST", "s3cret")


@pytest.mark.parametrize("header", ["", "ACS3-HMAC-SHA256", "HMAC-SHA1 Credential=a,SignedHeaders=b,Signature=c",
                                    "ACS3-HMAC-SHA256 Credential=a,Signature=c"])
def test_incomplete_authorization_headers_are_refused(header):
    with pytest.raises(IncompleteSignature):
        signing.parse_acs3_authorization(header)


def test_request_time_window_is_fifteen_minutes():
    now = time.mktime(time.strptime("2026-11-28T12:00:00", "%Y-%m-%dT%H:%M:%S")) - time.timezone
    signing.check_request_time("2026-11-28T12:14:59Z", now)
    signing.check_request_time("2026-11-28T11:45:01Z", now)
    with pytest.raises(TimestampExpired):
        signing.check_request_time("2026-11-28T12:15:01Z", now)

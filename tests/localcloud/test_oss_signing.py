"""localcloud's OSS signing, CRC and listing as pure functions, checked against oss2's own signer and CRC."""

from __future__ import annotations

import time

import oss2
import pytest
from oss2 import http as oss_http

from localcloud.oss import signing
from localcloud.oss.checksums import content_md5, crc64_ecma, etag
from localcloud.oss.errors import AccessDenied, InvalidArgument
from localcloud.oss.listing import ListParams, decode_token, encode_token, list_page, list_params
from localcloud.oss.models import StoredObject

AK, SK, TOKEN = "LCAKexample", "secret-of-the-key", "CAIS+token/with=odd+chars"


def _request(method: str, bucket: str, key: str, params: dict[str, str] | None = None,
             headers: dict[str, str] | None = None) -> oss_http.Request:
    url = f"http://127.0.0.1:9/{bucket}/{oss2.compat.urlquote(key, '')}"
    return oss_http.Request(method, url, params=params, headers=headers, region="cn-hangzhou", product="oss")


def _headers(req: oss_http.Request) -> dict[str, str]:
    return {name.lower(): value for name, value in req.headers.items() if value is not None}


_CASES = [
    ("GET", "demo-bucket", "docs/hello world ü.txt", {}, {}),
    ("PUT", "demo-bucket", "a+b&c=d.txt", {}, {"Content-Type": "text/plain", "x-oss-meta-Owner": "alice",
                                               "Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="}),
    ("GET", "demo-bucket", "", {"list-type": "2", "prefix": "docs/", "delimiter": "/", "continuation-token": "",
                                "start-after": "", "fetch-owner": "false", "max-keys": "100",
                                "encoding-type": "url"}, {}),
    ("GET", "demo-bucket", "", {"list-type": "2", "continuation-token": "ZG9jcy9h", "max-keys": "2"}, {}),
    ("GET", "demo-bucket", "report.txt", {"response-content-type": "text/csv", "acl": ""}, {}),
    ("HEAD", "demo-bucket", "k", {"objectMeta": ""}, {}),
]


@pytest.mark.parametrize(("method", "bucket", "key", "params", "headers"), _CASES)
@pytest.mark.parametrize("auth", [oss2.Auth(AK, SK), oss2.StsAuth(AK, SK, TOKEN)], ids=["root", "sts"])
def test_v1_signature_matches_oss2(auth, method, bucket, key, params, headers):
    req = _request(method, bucket, key, dict(params), dict(headers))
    auth._sign_request(req, bucket, key)
    parsed = signing.parse_authorization(req.headers["authorization"])
    sts = signing.v1_string_to_sign(method, _headers(req), bucket, key, list(req.params.items()))
    assert (parsed.version, parsed.access_key_id) == ("v1", AK)
    assert signing.v1_signature(SK, sts) == parsed.signature


@pytest.mark.parametrize(("method", "bucket", "key", "params", "headers"), _CASES)
@pytest.mark.parametrize("auth", [oss2.AuthV4(AK, SK), oss2.StsAuth(AK, SK, TOKEN, auth_version="v4")],
                         ids=["root", "sts"])
def test_v4_signature_matches_oss2(auth, method, bucket, key, params, headers):
    req = _request(method, bucket, key, dict(params), dict(headers))
    auth._sign_request(req, bucket, key)
    parsed = signing.parse_authorization(req.headers["authorization"])
    sent = _headers(req)
    canonical = signing.v4_canonical_request(method, bucket, key, list(req.params.items()), sent,
                                             parsed.additional_headers)
    sts = signing.v4_string_to_sign(parsed, sent["x-oss-date"], canonical)
    assert (parsed.access_key_id, parsed.region, parsed.product) == (AK, "cn-hangzhou", "oss")
    assert signing.v4_signature(SK, parsed, sts) == parsed.signature


def test_v4_additional_headers_are_signed_like_oss2():
    req = _request("GET", "demo-bucket", "k", headers={"Host": "127.0.0.1:9", "Range": "bytes=0-1"})
    oss2.AuthV4(AK, SK)._sign_request(req, "demo-bucket", "k", in_additional_headers=["host", "range"])
    parsed = signing.parse_authorization(req.headers["authorization"])
    sent = _headers(req)
    canonical = signing.v4_canonical_request("GET", "demo-bucket", "k", [], sent, parsed.additional_headers)
    assert set(parsed.additional_headers) == {"host", "range"}
    assert signing.v4_signature(SK, parsed, signing.v4_string_to_sign(parsed, sent["x-oss-date"], canonical)) \
        == parsed.signature
    sent["range"] = "bytes=0-100"  # an additional header is covered: changing it breaks the signature
    altered = signing.v4_canonical_request("GET", "demo-bucket", "k", [], sent, parsed.additional_headers)
    assert altered != canonical


def test_v1_signature_changes_with_any_signed_part():
    headers = {"date": "Sat, 28 Nov 2026 22:02:12 GMT", "x-oss-security-token": TOKEN}
    base = signing.v1_string_to_sign("GET", headers, "b-1", "k", [("continuation-token", "x")])
    variants = [signing.v1_string_to_sign("PUT", headers, "b-1", "k", [("continuation-token", "x")]),
                signing.v1_string_to_sign("GET", headers, "b-1", "k2", [("continuation-token", "x")]),
                signing.v1_string_to_sign("GET", {**headers, "x-oss-security-token": "other"}, "b-1", "k",
                                          [("continuation-token", "x")]),
                signing.v1_string_to_sign("GET", headers, "b-1", "k", [("continuation-token", "y")])]
    assert all(variant != base for variant in variants)
    # list-type and prefix are not subresources: v1 does not sign them (as OSS documents).
    assert signing.v1_string_to_sign("GET", headers, "b-1", "k", [("continuation-token", "x"), ("prefix", "p")]) \
        == base


@pytest.mark.parametrize("header", ["AWS4-HMAC-SHA256 Credential=x", "OSS nocolon", "OSS :sig",
                                    "OSS4-HMAC-SHA256 Credential=ak/20260101/cn/oss, Signature=ab",
                                    "OSS4-HMAC-SHA256 Credential=ak/20260101/cn/oss/aliyun_v4_request", ""])
def test_malformed_authorization_headers_are_invalid_arguments(header):
    with pytest.raises(InvalidArgument):
        signing.parse_authorization(header)


def test_request_time_reads_date_for_v1_and_x_oss_date_for_v4():
    assert signing.request_time({"date": "Sat, 28 Nov 2026 22:02:12 GMT"}, "v1") == 1795903332
    assert signing.request_time({"x-oss-date": "20261128T220212Z"}, "v4") == 1795903332
    assert signing.request_time({"date": oss2.utils.http_date()}, "v1") == pytest.approx(time.time(), abs=5)
    for headers, version in [({}, "v1"), ({"date": "yesterday"}, "v1"), ({"x-oss-date": "2026-11-28"}, "v4")]:
        with pytest.raises(AccessDenied):
            signing.request_time(headers, version)


@pytest.mark.parametrize("data", [b"", b"123456789", bytes(range(256)) * 41, "日本語 text".encode()])
def test_crc64_agrees_with_oss2(data):
    reference = oss2.utils.Crc64()
    reference.update(data)
    assert crc64_ecma(data) == reference.crc
    assert crc64_ecma(data[7:], crc64_ecma(data[:7])) == reference.crc  # continues like oss2's adapter


def test_etag_and_content_md5_are_the_md5_digest():
    assert etag(b"hello") == "5D41402ABC4B2A76B9719D911017C592"
    assert content_md5(b"") == "1B2M2Y8AsgTpgAmY7PhCfg=="


def _objects(*keys: str) -> list[StoredObject]:
    return [StoredObject("b", key, 1, "E", 0, "text/plain", 0) for key in sorted(keys)]


def _walk(objects: list[StoredObject], **kwargs: object) -> list[list[str]]:
    pages, marker = [], ""
    while True:
        page = list_page(objects, ListParams(version=1, marker=marker, **kwargs))
        pages.append([o.key for o in page.objects] + page.prefixes)
        if not page.truncated:
            return pages
        marker = page.next_marker


def test_list_pages_never_repeat_or_lose_a_common_prefix():
    objects = _objects("a.txt", "docs/1", "docs/2", "docs/3", "docs0", "img/x", "img/y", "z")
    pages = _walk(objects, delimiter="/", max_keys=2)
    assert pages == [["a.txt", "docs/"], ["docs0", "img/"], ["z"]]
    assert _walk(objects, prefix="docs/", max_keys=2) == [["docs/1", "docs/2"], ["docs/3"]]


def test_list_params_validate_what_oss2_sends():
    params = list_params({"list-type": "2", "prefix": "docs/", "delimiter": "/", "continuation-token": "",
                          "start-after": "", "fetch-owner": "false", "max-keys": "100", "encoding-type": "url"})
    assert (params.version, params.prefix, params.max_keys, params.url_encoded) == (2, "docs/", 100, True)
    assert list_params({"list-type": "2", "continuation-token": encode_token("docs/ü")}).after == "docs/ü"
    assert decode_token(encode_token("a b/ü")) == "a b/ü"
    for bad in [{"max-keys": "0"}, {"max-keys": "1001"}, {"max-keys": "x"}, {"list-type": "3"},
                {"encoding-type": "base64"}, {"list-type": "2", "continuation-token": "%%%"}]:
        with pytest.raises(InvalidArgument):
            list_params(bad)

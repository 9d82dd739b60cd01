"""localcloud's OSS through the official `oss2` client over real HTTP (path-style, since the endpoint is an IP)."""

from __future__ import annotations

import base64
import hashlib
import re
import time
from datetime import UTC, datetime
from xml.etree import ElementTree

import httpx
import oss2
import pytest

import localcloud
from localcloud.oss import signing
from localcloud.oss.models import MAX_OBJECT_BYTES
from localcloud.oss.seed import DEFAULT_DEMO_BUCKET
from tests.localcloud.oss_setup import root_bucket as bucket

DEMO_FILES = ["docs/agent-identity.md", "docs/welcome.md", "images/logo.png", "reports/q3-summary.txt"]
AUTH_VERSIONS = ["v1", "v4"]


def _keys(result: oss2.models.ListObjectsResult | oss2.models.ListObjectsV2Result) -> list[str]:
    return [o.key for o in result.object_list]


@pytest.mark.parametrize("version", AUTH_VERSIONS)
def test_put_get_head_round_trip_with_spaces_and_unicode(fresh_cloud, version):
    demo = bucket(fresh_cloud, version)
    key = f"notes/{version} hello wörld 日本 & <x>.txt"
    put = demo.put_object(key, b"hello OSS", headers={"Content-Type": "text/plain", "x-oss-meta-author": "alice"})
    assert put.etag == oss2.utils.md5_string(b"hello OSS").upper()
    got = demo.get_object(key)
    assert got.read() == b"hello OSS"
    assert got.client_crc == got.server_crc == put.crc  # oss2's CRC check (enable_crc is on by default)
    assert (got.content_type, got.etag, got.headers["x-oss-meta-author"]) == ("text/plain", put.etag, "alice")
    head = demo.head_object(key)
    assert (head.content_length, head.etag, head.object_type) == (9, put.etag, "Normal")
    assert abs(head.last_modified - time.time()) < 60
    assert demo.object_exists(key) and not demo.object_exists(key + ".missing")
    assert demo.get_object_meta(key).content_length == 9


def test_put_answers_the_md5_etag_and_the_crc_oss2_computes(fresh_cloud):
    data = bytes(range(256)) * 300
    put = bucket(fresh_cloud).put_object("blobs/bytes.bin", data)  # raises InconsistentError on a wrong CRC
    crc = oss2.utils.Crc64()
    crc.update(data)
    assert put.crc == crc.crc and put.etag == oss2.utils.md5_string(data).upper()


def test_get_object_to_file_passes_oss2s_crc_check(fresh_cloud, tmp_path):
    target = tmp_path / "welcome.md"
    bucket(fresh_cloud).get_object_to_file("docs/welcome.md", str(target))  # checks client vs server CRC
    assert target.read_text().startswith("# Welcome")


@pytest.mark.parametrize("version", AUTH_VERSIONS)
def test_seeded_demo_bucket_lists_its_files(fresh_cloud, version):
    demo = bucket(fresh_cloud, version)
    assert _keys(demo.list_objects()) == DEMO_FILES
    assert _keys(demo.list_objects_v2()) == DEMO_FILES
    assert demo.get_object("images/logo.png").read().startswith(b"\x89PNG\r\n\x1a\n")
    assert demo.head_object("images/logo.png").content_type == "image/png"


@pytest.mark.parametrize("version", AUTH_VERSIONS)
def test_list_v1_and_v2_with_prefix_and_delimiter(fresh_cloud, version):
    demo = bucket(fresh_cloud, version)
    demo.put_object("docs/sub dir/ü.md", b"x")
    for result in (demo.list_objects(delimiter="/"), demo.list_objects_v2(delimiter="/")):
        assert (_keys(result), result.prefix_list) == ([], ["docs/", "images/", "reports/"])
    for result in (demo.list_objects(prefix="docs/", delimiter="/"),
                   demo.list_objects_v2(prefix="docs/", delimiter="/")):
        assert (_keys(result), result.prefix_list) == (["docs/agent-identity.md", "docs/welcome.md"],
                                                       ["docs/sub dir/"])
    assert _keys(demo.list_objects_v2(prefix="docs/sub dir/")) == ["docs/sub dir/ü.md"]


@pytest.mark.parametrize("version", AUTH_VERSIONS)
def test_list_v2_pages_with_continuation_tokens(fresh_cloud, version):
    demo = bucket(fresh_cloud, version)
    keys = sorted(f"paged/{i:02d} é.txt" for i in range(7))
    for key in keys:
        demo.put_object(key, b"p")
    first = demo.list_objects_v2(prefix="paged/", max_keys=3)
    assert (_keys(first), first.is_truncated) == (keys[:3], True)
    second = demo.list_objects_v2(prefix="paged/", max_keys=3, continuation_token=first.next_continuation_token)
    assert _keys(second) == keys[3:6]
    assert [o.key for o in oss2.ObjectIteratorV2(demo, prefix="paged/", max_keys=2)] == keys
    assert [o.key for o in oss2.ObjectIterator(demo, prefix="paged/", max_keys=2)] == keys
    assert _keys(demo.list_objects_v2(prefix="paged/", start_after=keys[4])) == keys[5:]


def test_list_v2_without_url_encoding_escapes_keys_in_xml(fresh_cloud):
    demo = bucket(fresh_cloud)
    demo.put_object("odd/a&b <c> \"d\".txt", b"o")
    assert _keys(demo.list_objects_v2(prefix="odd/", encoding_type="")) == ["odd/a&b <c> \"d\".txt"]


def test_list_wire_format_has_the_fields_oss2_requires(fresh_cloud):
    demo = bucket(fresh_cloud)
    url = f"{fresh_cloud.url}/{DEFAULT_DEMO_BUCKET}/"
    req = oss2.http.Request("GET", url, params={"list-type": "2", "prefix": "docs/", "max-keys": "1"})
    demo.auth._sign_request(req, DEFAULT_DEMO_BUCKET, "")
    headers = {name: value for name, value in req.headers.items() if value is not None}
    response = httpx.get(url, params=req.params, headers=headers, trust_env=False)
    assert response.headers["content-type"].startswith("application/xml") and response.headers["x-oss-request-id"]
    root = ElementTree.fromstring(response.content)
    contents = root.find("Contents")
    assert [child.tag for child in contents] == ["Key", "LastModified", "ETag", "Type", "Size", "StorageClass"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z", contents.findtext("LastModified"))
    assert (root.findtext("KeyCount"), root.findtext("IsTruncated")) == ("1", "true")
    assert root.findtext("NextContinuationToken")


def _put_with_payload_hash(cloud: localcloud.LocalCloud, signed_body: bytes, sent_body: bytes) -> httpx.Response:
    """A v4 PUT whose x-oss-content-sha256 is the real hash of `signed_body` (oss2 always sends UNSIGNED-PAYLOAD)."""
    now = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = {"content-type": "text/plain", "x-oss-date": now,
               "x-oss-content-sha256": hashlib.sha256(signed_body).hexdigest()}
    auth = signing.OssAuthorization("v4", cloud.access_key_id, "", now[:8], cloud.region, "oss")
    canonical = signing.v4_canonical_request("PUT", DEFAULT_DEMO_BUCKET, "hashed.txt", [], headers, [])
    signature = signing.v4_signature(cloud.access_key_secret, auth, signing.v4_string_to_sign(auth, now, canonical))
    headers["authorization"] = (f"OSS4-HMAC-SHA256 Credential={cloud.access_key_id}/{now[:8]}/{cloud.region}/oss/"
                                f"aliyun_v4_request, Signature={signature}")
    return httpx.put(f"{cloud.url}/{DEFAULT_DEMO_BUCKET}/hashed.txt", content=sent_body, headers=headers,
                     trust_env=False)


def test_v4_signed_payload_hash_must_match_the_body(fresh_cloud):
    assert _put_with_payload_hash(fresh_cloud, b"signed body", b"signed body").status_code == 200
    tampered = _put_with_payload_hash(fresh_cloud, b"signed body", b"other body")
    assert tampered.status_code == 403 and b"<Code>SignatureDoesNotMatch</Code>" in tampered.content
    assert bucket(fresh_cloud).get_object("hashed.txt").read() == b"signed body"


def test_demo_bucket_is_seeded_again_after_a_reset(fresh_cloud):
    demo = bucket(fresh_cloud)
    demo.put_object("docs/welcome.md", b"changed")
    fresh_cloud.reset()
    assert demo.get_object("docs/welcome.md").read().startswith(b"# Welcome")


@pytest.mark.parametrize("version", AUTH_VERSIONS)
def test_wrong_secret_is_signature_does_not_match(cloud, version):
    with pytest.raises(oss2.exceptions.SignatureDoesNotMatch) as caught:
        bucket(cloud, version, secret="not-the-secret").get_object("docs/welcome.md")
    assert (caught.value.status, caught.value.ec) == (403, "0002-00000040") and caught.value.request_id
    assert cloud.access_key_secret not in str(caught.value.details)


@pytest.mark.parametrize("version", AUTH_VERSIONS)
def test_unknown_access_key_is_invalid_access_key_id(cloud, version):
    with pytest.raises(oss2.exceptions.ServerError) as caught:
        bucket(cloud, version, key_id="LCAKnobodyhasthiskey").list_objects()
    assert (caught.value.status, caught.value.code) == (403, "InvalidAccessKeyId")


def test_unknown_key_on_head_is_reported_through_the_err_header(cloud):
    with pytest.raises(oss2.exceptions.ServerError) as caught:
        bucket(cloud, key_id="LCAKnobodyhasthiskey").head_object("docs/welcome.md")
    assert (caught.value.status, caught.value.code) == (403, "InvalidAccessKeyId")


def test_anonymous_requests_are_denied(cloud):
    anonymous = oss2.Bucket(oss2.AnonymousAuth(), cloud.url, DEFAULT_DEMO_BUCKET)
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.get_object("docs/welcome.md")
    with pytest.raises(oss2.exceptions.AccessDenied):
        anonymous.list_objects_v2()


def test_unknown_bucket_and_key_are_not_found(cloud):
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        bucket(cloud, name="no-such-bucket-here").list_objects_v2()
    with pytest.raises(oss2.exceptions.NoSuchKey) as missing:
        bucket(cloud).get_object("docs/missing.md")
    assert (missing.value.ec, missing.value.details["Key"]) == ("0026-00000001", "docs/missing.md")
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket(cloud, "v4").head_object("docs/missing.md")


def test_bad_input_gets_oss_errors_not_server_errors(fresh_cloud):
    demo = bucket(fresh_cloud)
    with pytest.raises(oss2.exceptions.InvalidDigest):
        demo.put_object("bad/md5.txt", b"data", headers={"Content-MD5": base64.b64encode(b"0" * 16).decode()})
    with pytest.raises(oss2.exceptions.InvalidArgument) as caught:
        demo.list_objects_v2(max_keys=5000)
    assert caught.value.name == "max-keys"
    with pytest.raises(oss2.exceptions.NotImplemented):
        demo.get_object_acl("docs/welcome.md")


def test_objects_over_the_size_cap_are_entity_too_large(fresh_cloud):
    with pytest.raises(oss2.exceptions.ServerError) as caught:
        bucket(fresh_cloud).put_object("big/blob.bin", b"\0" * (MAX_OBJECT_BYTES + 1))
    assert (caught.value.status, caught.value.code) == (400, "EntityTooLarge")


def _raw(cloud: localcloud.LocalCloud, path: str, method: str = "GET") -> httpx.Response:
    return httpx.request(method, f"{cloud.url}{path}", trust_env=False)


def test_oss_routes_do_not_shadow_other_localcloud_routes(cloud):
    assert _raw(cloud, "/_localcloud/health").json()["service"] == "localcloud"
    assert _raw(cloud, "/_localcloud/reset").status_code == 405  # POST only: not taken for a bucket "_localcloud"
    for path in ("/oauth/aliyun/token", "/oauth2/callback/x", "/mcp/anything", "/svc/weather"):
        assert "x-oss-request-id" not in _raw(cloud, path, "PUT").headers, path
    for path in ("/Not_A_Bucket/key", "/ab/key"):  # not valid bucket names: not OSS requests at all
        assert "x-oss-request-id" not in _raw(cloud, path).headers, path
    assert _raw(cloud, f"/{DEFAULT_DEMO_BUCKET}/docs/welcome.md").headers["x-oss-request-id"]  # anonymous: 403

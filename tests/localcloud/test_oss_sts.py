"""OSS with the STS keys the sample's workload gets from the data plane, authorized by the role's RAM policies."""

from __future__ import annotations

import json
import time

import oss2
import pytest

import localcloud
from localcloud.oss.seed import DEFAULT_DEMO_BUCKET
from tests.localcloud.oss_setup import BUCKET_ARN, allow_oss, root_bucket, sts_bucket, sts_credentials
from tests.localcloud.sample_setup import SampleSetup, prepare


@pytest.fixture
def sample(fresh_cloud: localcloud.LocalCloud) -> SampleSetup:
    return prepare(fresh_cloud)


def _denied(call: object, *args: object) -> oss2.exceptions.AccessDenied:
    with pytest.raises(oss2.exceptions.AccessDenied) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_workload_keys_read_and_list_the_demo_bucket(fresh_cloud, sample, version):
    allow_oss(fresh_cloud, sample, [BUCKET_ARN, f"{BUCKET_ARN}/*"])
    demo = sts_bucket(fresh_cloud, sts_credentials(fresh_cloud, sample), version)
    assert demo.get_object("docs/welcome.md").read().startswith(b"# Welcome")
    assert demo.head_object("reports/q3-summary.txt").content_type == "text/plain"  # HEAD needs oss:GetObject
    assert [o.key for o in demo.list_objects_v2(prefix="docs/").object_list] == ["docs/agent-identity.md",
                                                                                "docs/welcome.md"]


def test_workload_keys_cannot_write_with_a_read_policy(fresh_cloud, sample):
    allow_oss(fresh_cloud, sample, [BUCKET_ARN, f"{BUCKET_ARN}/*"])
    denied = _denied(sts_bucket(fresh_cloud, sts_credentials(fresh_cloud, sample)).put_object, "docs/x.md", b"x")
    assert (denied.status, denied.details["AuthAction"]) == (403, "oss:PutObject")
    assert not root_bucket(fresh_cloud).object_exists("docs/x.md")


def test_role_without_an_oss_policy_is_denied(fresh_cloud, sample):
    demo = sts_bucket(fresh_cloud, sts_credentials(fresh_cloud, sample))
    _denied(demo.get_object, "docs/welcome.md")
    _denied(demo.list_objects)


def test_policy_scoped_to_a_folder_denies_keys_outside_it(fresh_cloud, sample):
    allow_oss(fresh_cloud, sample, [f"{BUCKET_ARN}/docs/*"])
    demo = sts_bucket(fresh_cloud, sts_credentials(fresh_cloud, sample), "v4")
    assert demo.get_object("docs/agent-identity.md").read()
    denied = _denied(demo.get_object, "reports/q3-summary.txt")
    assert f":{fresh_cloud.account_id}:{DEFAULT_DEMO_BUCKET}/reports/q3-summary.txt" in denied.message
    _denied(demo.list_objects_v2)  # listing needs the bucket itself as a resource


def test_session_policy_narrows_the_role_further(fresh_cloud, sample):
    allow_oss(fresh_cloud, sample, [BUCKET_ARN, f"{BUCKET_ARN}/*"])
    only_docs = json.dumps({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "oss:GetObject", "Resource": f"{BUCKET_ARN}/docs/*"}]})
    demo = sts_bucket(fresh_cloud, sts_credentials(fresh_cloud, sample, session_policy=only_docs))
    assert demo.get_object("docs/welcome.md").read()
    _denied(demo.get_object, "reports/q3-summary.txt")
    _denied(demo.list_objects_v2)


@pytest.mark.parametrize("version", ["v1", "v4"])
def test_tampered_or_missing_security_token_is_rejected(fresh_cloud, sample, version):
    allow_oss(fresh_cloud, sample, [BUCKET_ARN, f"{BUCKET_ARN}/*"])
    creds = sts_credentials(fresh_cloud, sample)
    tampered = sts_bucket(fresh_cloud, creds, version, token=creds.security_token[:-4] + "AAAA")
    with pytest.raises(oss2.exceptions.ServerError) as caught:
        tampered.get_object("docs/welcome.md")
    assert (caught.value.status, caught.value.code) == (403, "InvalidSecurityToken")
    assert creds.security_token[:-4] not in caught.value.message
    without = oss2.Bucket(oss2.Auth(creds.access_key_id, creds.access_key_secret), fresh_cloud.url,
                          DEFAULT_DEMO_BUCKET)
    with pytest.raises(oss2.exceptions.ServerError) as missing:
        without.get_object("docs/welcome.md")
    assert missing.value.code == "InvalidSecurityToken"


def test_expired_sts_keys_and_skewed_clocks_are_rejected(tmp_path):
    skew = [0.0]
    cloud = localcloud.start(port=0, data_dir=tmp_path / "clocked", clock=lambda: time.time() + skew[0])
    sample = prepare(cloud)
    allow_oss(cloud, sample, [BUCKET_ARN, f"{BUCKET_ARN}/*"])
    demo = sts_bucket(cloud, sts_credentials(cloud, sample))
    assert demo.get_object("docs/welcome.md").read()
    skew[0] = 600  # within the 15-minute window and the key's 900 s life
    assert demo.list_objects_v2().object_list and root_bucket(cloud).list_objects_v2().object_list
    # 901 s: the key has expired, and oss2's date is also 15 min off; expiry is checked first, so it is the error.
    skew[0] = 901
    with pytest.raises(oss2.exceptions.ServerError) as expired:
        demo.get_object("docs/welcome.md")
    assert (expired.value.status, expired.value.code, expired.value.ec) == (403, "SecurityTokenExpired",
                                                                            "0002-00000007")
    for version in ("v1", "v4"):  # root keys never expire: for them the clock is the problem
        with pytest.raises(oss2.exceptions.ServerError) as skewed:
            root_bucket(cloud, version).get_object("docs/welcome.md")
        assert (skewed.value.status, skewed.value.code) == (403, "RequestTimeTooSkewed")

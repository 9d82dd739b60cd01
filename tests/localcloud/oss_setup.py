"""oss2 clients for localcloud's OSS: the root key's, and the sample workload's STS keys with an OSS policy."""

from __future__ import annotations

import json
import uuid

import oss2
from alibabacloud_agentidentitydata20251127 import models as data
from alibabacloud_ram20150501 import models as ram
from alibabacloud_ram20150501.client import Client as RamClient

import localcloud
from localcloud.oss.seed import DEFAULT_DEMO_BUCKET
from tests.conftest import tea_config
from tests.localcloud.sample_setup import SampleSetup, data_client

BUCKET_ARN = f"acs:oss:*:*:{DEFAULT_DEMO_BUCKET}"
READ = ("oss:GetObject", "oss:ListObjects")


def allow_oss(cloud: localcloud.LocalCloud, sample: SampleSetup, resources: list[str],
              actions: tuple[str, ...] = READ) -> None:
    """Attach one more permission policy to the workload's role (like the sample's provisioning does)."""
    client, name = RamClient(tea_config(cloud)), f"OssPolicy-{uuid.uuid4().hex[:8]}"
    document = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resources}]}
    client.create_policy(ram.CreatePolicyRequest(policy_name=name, policy_document=json.dumps(document)))
    client.attach_policy_to_role(ram.AttachPolicyToRoleRequest(policy_type="Custom", policy_name=name,
                                                               role_name=sample.role_name))


def sts_credentials(cloud: localcloud.LocalCloud, sample: SampleSetup,
                    session_policy: str | None = None) -> data.AssumeRoleForWorkloadIdentityResponseBodyCredentials:
    """The workload's STS keys for a user, through the data plane (the assume call is unsigned, like the SDK's)."""
    wat = data_client(cloud).get_workload_access_token_for_user_id(data.GetWorkloadAccessTokenForUserIdRequest(
        workload_identity_name=sample.workload, user_id="alice-id")).body.workload_access_token
    anonymous = data_client(cloud, access_key_id=None, access_key_secret=None)
    return anonymous.assume_role_for_workload_identity(data.AssumeRoleForWorkloadIdentityRequest(
        workload_access_token=wat, role_session_name="AgentIdentitySessionRole-1", duration_seconds=900,
        policy=session_policy)).body.credentials


def sts_bucket(cloud: localcloud.LocalCloud, creds: data.AssumeRoleForWorkloadIdentityResponseBodyCredentials,
               version: str = "v1", token: str | None = None) -> oss2.Bucket:
    """The demo bucket signed with STS keys (v1 or v4), optionally with another security token."""
    auth = oss2.StsAuth(creds.access_key_id, creds.access_key_secret, token or creds.security_token,
                        auth_version=version)
    return oss2.Bucket(auth, cloud.url, DEFAULT_DEMO_BUCKET, region=cloud.region)


def root_bucket(cloud: localcloud.LocalCloud, version: str = "v1", secret: str | None = None,
                key_id: str | None = None, name: str = DEFAULT_DEMO_BUCKET) -> oss2.Bucket:
    """A Bucket signed with the root key (or a variation of it), v1 or v4."""
    key_id, secret = key_id or cloud.access_key_id, secret or cloud.access_key_secret
    if version == "v4":
        return oss2.Bucket(oss2.AuthV4(key_id, secret), cloud.url, name, region=cloud.region)
    return oss2.Bucket(oss2.Auth(key_id, secret), cloud.url, name)

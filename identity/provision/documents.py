"""The RAM documents provisioning writes, as pure functions (the sample's, plus OSS read for the OSS tool)."""

from __future__ import annotations

import json

__all__ = ["WORKLOAD_SERVICE", "permission_policy", "trust_policy", "workload_identity_arn"]

WORKLOAD_SERVICE = "workload.agentidentity.aliyuncs.com"


def workload_identity_arn(region: str, account: str, workload: str) -> str:
    return f"acs:agentidentity:{region}:{account}:workloadidentitydirectory/default/workloadidentity/{workload}"


def trust_policy(region: str, account: str, workload: str) -> str:
    """Lets Agent Identity assume the role for this one workload identity (SAMPLE.md §1)."""
    return json.dumps({"Version": "1", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": [WORKLOAD_SERVICE]},
        "Action": ["sts:AssumeRole", "sts:SetContext"],
        "Condition": {"StringEquals": {
            "sts:RequestContext/agentidentity:WorkloadIdentityArn": workload_identity_arn(region, account, workload)}},
    }]}, sort_keys=True)


def permission_policy(region: str, account: str, workload: str, bucket: str) -> str:
    """The sample's two data-plane actions, plus reading the demo OSS bucket."""
    vault = f"acs:agentidentity:{region}:{account}:tokenvault/default"
    workload_arn = workload_identity_arn(region, account, workload)
    return json.dumps({"Version": "1", "Statement": [
        {"Effect": "Allow", "Action": "agentidentitydata:GetResourceOAuth2Token",
         "Resource": [workload_arn, f"{vault}/oauth2credentialprovider/*"]},
        {"Effect": "Allow", "Action": "agentidentitydata:GetResourceAPIKey",
         "Resource": [workload_arn, f"{vault}/apikeycredentialprovider/*"]},
        {"Effect": "Allow", "Action": ["oss:GetObject", "oss:ListObjects"],
         "Resource": [f"acs:oss:*:*:{bucket}", f"acs:oss:*:*:{bucket}/*"]},
    ]}, sort_keys=True)

"""Resource names (ARNs) in the formats the real services use."""

from __future__ import annotations

__all__ = [
    "api_key_provider_arn",
    "identity_provider_arn",
    "oauth2_provider_arn",
    "policy_arn",
    "policy_set_arn",
    "role_arn",
    "workload_identity_arn",
]


def workload_identity_arn(region: str, account: str, name: str) -> str:
    return f"acs:agentidentity:{region}:{account}:workloadidentitydirectory/default/workloadidentity/{name}"


def oauth2_provider_arn(region: str, account: str, name: str) -> str:
    return f"acs:agentidentity:{region}:{account}:tokenvault/default/oauth2credentialprovider/{name}"


def api_key_provider_arn(region: str, account: str, name: str) -> str:
    return f"acs:agentidentity:{region}:{account}:tokenvault/default/apikeycredentialprovider/{name}"


def identity_provider_arn(region: str, account: str, name: str) -> str:
    # Not shown by the sample or SDK; follows the pattern of the other Agent Identity ARNs.
    return f"acs:agentidentity:{region}:{account}:identityprovider/{name}"


def policy_set_arn(region: str, account: str, name: str) -> str:
    # The SDK's examples: acs:agentidentity:cn-beijing:123456:policyset/default-policy-set
    return f"acs:agentidentity:{region}:{account}:policyset/{name}"


def policy_arn(region: str, account: str, policy_set: str, name: str) -> str:
    # The SDK's examples: ...:policyset/default-policy-set/policy/rate-limit-policy
    return f"{policy_set_arn(region, account, policy_set)}/policy/{name}"


def role_arn(account: str, role_name: str) -> str:
    # RAM lower-cases the role name in its ARN.
    return f"acs:ram::{account}:role/{role_name.lower()}"

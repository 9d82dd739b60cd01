"""The Agent Identity control plane's `SERVICE`: every action's handler, and the RAM resource it touches."""

from __future__ import annotations

from collections.abc import Callable

from localcloud import arns
from localcloud.rpc.service import Call, Handler, Service
from localcloud.services.agentidentity import (
    api_key_providers,
    gateways,
    identity_providers,
    oauth2_providers,
    policies,
    policy_records,
    policy_sets,
    workload_identities,
)
from localcloud.services.agentidentity.records import (
    API_KEY_PROVIDER,
    IDENTITY_PROVIDER,
    OAUTH2_PROVIDER,
    WORKLOAD_IDENTITY,
    Kind,
)

__all__ = ["SERVICE"]

_TABLE: tuple[tuple[str, Kind, Handler], ...] = (
    ("CreateIdentityProvider", IDENTITY_PROVIDER, identity_providers.create_identity_provider),
    ("GetIdentityProvider", IDENTITY_PROVIDER, identity_providers.get_identity_provider),
    ("ListIdentityProviders", IDENTITY_PROVIDER, identity_providers.list_identity_providers),
    ("UpdateIdentityProvider", IDENTITY_PROVIDER, identity_providers.update_identity_provider),
    ("DeleteIdentityProvider", IDENTITY_PROVIDER, identity_providers.delete_identity_provider),
    ("CreateWorkloadIdentity", WORKLOAD_IDENTITY, workload_identities.create_workload_identity),
    ("GetWorkloadIdentity", WORKLOAD_IDENTITY, workload_identities.get_workload_identity),
    ("ListWorkloadIdentities", WORKLOAD_IDENTITY, workload_identities.list_workload_identities),
    ("UpdateWorkloadIdentity", WORKLOAD_IDENTITY, workload_identities.update_workload_identity),
    ("DeleteWorkloadIdentity", WORKLOAD_IDENTITY, workload_identities.delete_workload_identity),
    ("CreateOAuth2CredentialProvider", OAUTH2_PROVIDER, oauth2_providers.create_oauth2_credential_provider),
    ("GetOAuth2CredentialProvider", OAUTH2_PROVIDER, oauth2_providers.get_oauth2_credential_provider),
    ("ListOAuth2CredentialProviders", OAUTH2_PROVIDER, oauth2_providers.list_oauth2_credential_providers),
    ("UpdateOAuth2CredentialProvider", OAUTH2_PROVIDER, oauth2_providers.update_oauth2_credential_provider),
    ("DeleteOAuth2CredentialProvider", OAUTH2_PROVIDER, oauth2_providers.delete_oauth2_credential_provider),
    ("CreateAPIKeyCredentialProvider", API_KEY_PROVIDER, api_key_providers.create_api_key_credential_provider),
    ("GetAPIKeyCredentialProvider", API_KEY_PROVIDER, api_key_providers.get_api_key_credential_provider),
    ("ListAPIKeyCredentialProviders", API_KEY_PROVIDER, api_key_providers.list_api_key_credential_providers),
    ("UpdateAPIKeyCredentialProvider", API_KEY_PROVIDER, api_key_providers.update_api_key_credential_provider),
    ("DeleteAPIKeyCredentialProvider", API_KEY_PROVIDER, api_key_providers.delete_api_key_credential_provider),
)
# Policy sets, their Cedar policies and gateways: the RAM resource comes from `policy_records.resource_arn`.
_POLICY_TABLE: tuple[tuple[str, Handler], ...] = (
    ("CreatePolicySet", policy_sets.create_policy_set),
    ("GetPolicySet", policy_sets.get_policy_set),
    ("ListPolicySets", policy_sets.list_policy_sets),
    ("UpdatePolicySet", policy_sets.update_policy_set),
    ("DeletePolicySet", policy_sets.delete_policy_set),
    ("CreatePolicy", policies.create_policy),
    ("GetPolicy", policies.get_policy),
    ("ListPolicies", policies.list_policies),
    ("UpdatePolicy", policies.update_policy),
    ("DeletePolicy", policies.delete_policy),
    ("AttachPolicySetToGateway", gateways.attach_policy_set_to_gateway),
    ("DetachPolicySetFromGateway", gateways.detach_policy_set_from_gateway),
    ("ListPolicySetAttachedGateways", gateways.list_policy_set_attached_gateways),
    ("GetGatewayPolicyConfig", gateways.get_gateway_policy_config),
    ("UpdateGatewayPolicyConfig", gateways.update_gateway_policy_config),
)
_POLICY_ACTIONS = frozenset(action for action, _ in _POLICY_TABLE)
_KIND_OF = {action: kind for action, kind, _ in _TABLE}
_ARN_OF: dict[Kind, Callable[[str, str, str], str]] = {
    IDENTITY_PROVIDER: arns.identity_provider_arn,
    WORKLOAD_IDENTITY: arns.workload_identity_arn,
    OAUTH2_PROVIDER: arns.oauth2_provider_arn,
    API_KEY_PROVIDER: arns.api_key_provider_arn,
}


def _resource(call: Call) -> str:
    """The ARN an action touches, for RAM policies; lists (and nameless requests) touch every one."""
    if call.action in _POLICY_ACTIONS:
        return policy_records.resource_arn(call)
    kind = _KIND_OF.get(call.action)
    if kind is None:
        return "*"
    name = call.params.raw().get(kind.name_param) or "*"
    return _ARN_OF[kind](call.region, call.account, name)


SERVICE = Service(product="AgentIdentity", code="agentidentity", version="2025-09-01",
                  host="agentidentity.cn-beijing.aliyuncs.com",
                  actions={**{action: handler for action, _, handler in _TABLE}, **dict(_POLICY_TABLE)},
                  resource=_resource)

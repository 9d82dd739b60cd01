"""The Agent Identity data plane's `SERVICE`: every action's handler, and the RAM resource it touches."""

from __future__ import annotations

from localcloud import arns
from localcloud.rpc.service import Call, Service
from localcloud.services.agentidentitydata import credentials, oauth2_tokens, workload_tokens

__all__ = ["SERVICE"]


def _resource(call: Call) -> str:
    """The RAM resource an action touches, for the policies of an STS caller."""
    name = call.params.str("ResourceCredentialProviderName") or "*"
    if call.action == "GetResourceAPIKey":
        return arns.api_key_provider_arn(call.region, call.account, name)
    if call.action == "GetResourceOAuth2Token":
        return arns.oauth2_provider_arn(call.region, call.account, name)
    if call.action.startswith("GetWorkloadAccessToken"):
        return workload_tokens.workload_arn(call)
    return "*"


SERVICE = Service(
    product="AgentIdentityData", code="agentidentitydata", version="2025-11-27",
    host="agentidentitydata.cn-beijing.aliyuncs.com",
    actions={
        "GetWorkloadAccessToken": workload_tokens.get_workload_access_token,
        "GetWorkloadAccessTokenForUserId": workload_tokens.get_workload_access_token_for_user_id,
        "GetWorkloadAccessTokenForJWT": workload_tokens.get_workload_access_token_for_jwt,
        "AssumeRoleForWorkloadIdentity": credentials.assume_role_for_workload_identity,
        "GetResourceAPIKey": credentials.get_resource_api_key,
        "GetResourceOAuth2Token": oauth2_tokens.get_resource_oauth2_token,
        "CompleteResourceTokenAuth": oauth2_tokens.complete_resource_token_auth,
    },
    # The SDK sends it unsigned: the workload access token in the body is the credential.
    anonymous=frozenset({"AssumeRoleForWorkloadIdentity"}),
    resource=_resource,
)

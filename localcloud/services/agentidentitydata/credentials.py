"""STS credentials and API keys for a workload: AssumeRoleForWorkloadIdentity and GetResourceAPIKey."""

from __future__ import annotations

import re
from typing import Any

from localcloud import arns, policy
from localcloud.rpc.errors import InvalidParameter
from localcloud.rpc.service import Call
from localcloud.services.agentidentity.records import API_KEY_PROVIDER, fetch, token_vault
from localcloud.services.agentidentitydata import workload_tokens
from localcloud.services.agentidentitydata.workload_role import require_permission, role_of, trusts_workload
from localcloud.services.sts import issue_role_credentials, role_credentials_view
from localcloud.services.sts.errors import RoleTrustRefused

__all__ = ["MIN_DURATION_SECONDS", "assume_role_for_workload_identity", "get_resource_api_key"]

# Like STS AssumeRole: at least 15 minutes, at most the role's MaxSessionDuration.
MIN_DURATION_SECONDS = 900
_SESSION_NAME = re.compile(r"[\w.@\-]{2,64}")


def _session_policy(call: Call) -> str | None:
    text = call.params.str("Policy", max_len=2048)
    if text is not None:
        try:
            policy.parse_policy(text)
        except policy.PolicyError as exc:
            raise InvalidParameter("Policy", f"{exc}.") from None
    return text


def _session_name(call: Call, workload: str) -> str:
    name = call.params.str("RoleSessionName") or f"workload-{workload}"[:64]
    if not _SESSION_NAME.fullmatch(name):
        raise InvalidParameter("RoleSessionName", "use 2 to 64 letters, digits, '.', '@', '-' or '_'.")
    return name


def _user_context(token: workload_tokens.WorkloadToken) -> dict[str, Any]:
    context: dict[str, Any] = {"UserId": token.user_id} if token.user_id else {}
    if token.user_claims:
        claims = token.user_claims
        audiences = claims.get("aud") if isinstance(claims.get("aud"), list) else [claims.get("aud")]
        context["JwtClaims"] = {"Issuer": claims.get("iss"), "Subject": claims.get("sub"), "Audiences": audiences,
                                "JTI": claims.get("jti")}
    return context


def assume_role_for_workload_identity(call: Call) -> dict[str, Any]:
    """STS credentials of the workload's role, authenticated by the workload access token alone."""
    token, workload = workload_tokens.resolve(call, call.params.required("WorkloadAccessToken", max_len=16384))
    role = role_of(call, workload, token.account)
    if not trusts_workload(role, token.workload_arn):
        raise RoleTrustRefused(f"The trust policy of {role['Arn']} does not let Agent Identity assume it for "
                               f"{token.workload_arn}.")
    duration = call.params.int("DurationSeconds", default=3600, low=MIN_DURATION_SECONDS,
                               high=role["MaxSessionDuration"]) or 3600
    key = issue_role_credentials(call.store, role, token.account, _session_name(call, token.workload), duration,
                                 _session_policy(call), call.now,
                                 context={"workload_identity": token.workload, "user_id": token.user_id})
    return {**role_credentials_view(key, role),
            "WorkloadContextInfo": {"WorkloadIdentityArn": token.workload_arn, "UserContext": _user_context(token)}}


def get_resource_api_key(call: Call) -> dict[str, Any]:
    """The API key of a provider, to a workload whose role policy allows it."""
    token, workload = workload_tokens.resolve(call, call.params.required("WorkloadAccessToken", max_len=16384))
    token_vault(call.params)
    provider = fetch(call, API_KEY_PROVIDER, call.params.required("ResourceCredentialProviderName"))
    resource = arns.api_key_provider_arn(call.region, token.account, provider["APIKeyCredentialProviderName"])
    require_permission(call, workload, token.account, "agentidentitydata:GetResourceAPIKey", resource)
    return {"APIKey": provider["APIKey"]}

"""The AI Gateway's fixed configuration, as data in one place: its id, the MCP server it hosts, and that server's
`agent-identity-oauth` plugin rule (WIRE §10.3, the sample's YAML).

localcloud runs one gateway per account, `gw-localcloud`, with ARN `acs:apig:<region>:<account>:gateway/gw-localcloud`
(the Cedar resource, and the `GatewayArn` a policy set is attached to). It hosts one HTTP-to-MCP server,
`test-order-agent-identity` (the sample's name), at `/mcp-servers/test-order-agent-identity`: the order service's four
tools, each one REST call upstream. The plugin is pre-installed on that server with credential injection on: the
user's OAuth2 token of the credential provider `mcp-order-oauth2` (USER_FEDERATION), sent upstream as
`Authorization: Bearer <token>` in place of the caller's workload access token.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = [
    "CREDENTIAL_PROVIDER",
    "GATEWAY_ID",
    "MCP_SERVERS_PATH",
    "ORDER_SERVER",
    "PLUGIN_RULE",
    "CredentialInjection",
    "McpServerSpec",
    "gateway_arn",
    "plugin_rule",
    "server_path",
]

GATEWAY_ID = "gw-localcloud"
MCP_SERVERS_PATH = "/mcp-servers"
ORDER_SERVER = "test-order-agent-identity"
CREDENTIAL_PROVIDER = "mcp-order-oauth2"

# The sample's plugin rule (its YAML, keys verbatim), `{region}` and `{account}` filled in per localcloud. v1.0.1's
# `oauthScopes` names the order service's two scopes: the token must both read and write orders. `oauthReturnURL`
# is left out, as the sample leaves it: the consent then returns to the workload identity's first allowed
# return URL, where the app completes it (CompleteResourceTokenAuth).
PLUGIN_RULE: dict[str, Any] = {
    "agentIdentityService": {
        "serviceName": "agentidentitydata.dns",
        "serviceUrl": "https://agentidentitydata-vpc.{region}.aliyuncs.com",
        "resourceId": "acs:apig:{region}:{account}:gateway/" + GATEWAY_ID,
    },
    "credential": {
        "enabled": True,
        "type": "oauth2",
        "arn": "acs:agentidentity:{region}:{account}:tokenvault/default/oauth2credentialprovider/"
               + CREDENTIAL_PROVIDER,
        "oauthForceAuth": False,
        "oauthFlow": "USER_FEDERATION",
        "oauthScopes": ["orders:read", "orders:write"],
        "injectHeaderName": "Authorization",
        "injectHeaderPrefix": "Bearer",
        "injectHeaderPrefixEnabled": True,
    },
}


def gateway_arn(region: str, account: str) -> str:
    """The gateway's ARN: the Cedar resource and the `GatewayArn` of its policy set."""
    return f"acs:apig:{region}:{account}:gateway/{GATEWAY_ID}"


def server_path(server: str) -> str:
    """Where an MCP server of the gateway is served (streamable HTTP)."""
    return f"{MCP_SERVERS_PATH}/{server}"


def _filled(value: Any, region: str, account: str) -> Any:
    if isinstance(value, str):
        return value.format(region=region, account=account)
    if isinstance(value, list):
        return [_filled(item, region, account) for item in value]
    if isinstance(value, dict):
        return {key: _filled(item, region, account) for key, item in value.items()}
    return value


def plugin_rule(region: str, account: str) -> dict[str, Any]:
    """The plugin rule as installed on this localcloud's gateway (the YAML's data, placeholders filled)."""
    filled: dict[str, Any] = _filled(PLUGIN_RULE, region, account)
    return filled


@dataclass(frozen=True)
class CredentialInjection:
    """The plugin's `credential` block, read: which token replaces the caller's, and how it is sent upstream."""

    enabled: bool
    provider_arn: str
    flow: str
    scopes: tuple[str, ...]
    force_auth: bool
    return_url: str | None
    header_name: str
    header_prefix: str | None

    @property
    def provider_name(self) -> str:
        """The credential provider's name, the last segment of its ARN."""
        return self.provider_arn.rsplit("/", 1)[-1]

    def header_value(self, token: str) -> str:
        """What the injected header carries: `{prefix} {token}`, or the token alone without a prefix."""
        return f"{self.header_prefix} {token}" if self.header_prefix else token

    @classmethod
    def of(cls, rule: dict[str, Any]) -> CredentialInjection:
        """The `credential` block of a plugin rule (defaults as the plugin documents them)."""
        block = rule.get("credential") or {}
        prefix = block.get("injectHeaderPrefix", "Bearer") if block.get("injectHeaderPrefixEnabled", True) else None
        return cls(enabled=bool(block.get("enabled", False)), provider_arn=str(block.get("arn", "")),
                   flow=str(block.get("oauthFlow", "USER_FEDERATION")),
                   scopes=tuple(block.get("oauthScopes") or ()), force_auth=bool(block.get("oauthForceAuth", False)),
                   return_url=block.get("oauthReturnURL") or None,
                   header_name=str(block.get("injectHeaderName", "Authorization")), header_prefix=prefix or None)


@dataclass(frozen=True)
class McpServerSpec:
    """One MCP server the gateway hosts: its name (URL segment and Cedar action segment) and plugin rule."""

    name: str
    plugin: dict[str, Any]

    @property
    def credential(self) -> CredentialInjection:
        return CredentialInjection.of(self.plugin)

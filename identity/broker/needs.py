"""Which credentials the sample's tools need: the rows of the Credentials page (tools declare them later)."""

from __future__ import annotations

from dataclasses import dataclass

from identity.settings import Settings

__all__ = ["MCP_SCOPES", "CredentialNeed", "default_needs"]

# The sample's scopes (SAMPLE.md §3).
MCP_SCOPES = ("profile", "openid", "aliuid", "/acs/mcp-server")
DINGTALK_SCOPES = ("openid", "corpid")


@dataclass(frozen=True)
class CredentialNeed:
    kind: str                      # "oauth2", "api_key" or "sts"
    provider: str                  # credential provider name ("" for STS)
    scopes: tuple[str, ...] = ()
    flow: str = "USER_FEDERATION"
    tools: tuple[str, ...] = ()


def default_needs(settings: Settings) -> list[CredentialNeed]:
    """The sample's six tools' credentials, with provider names from settings."""
    return [
        CredentialNeed("oauth2", settings.mcp_oauth_provider_name, MCP_SCOPES,
                       tools=("get_current_time", "Alibaba Cloud MCP")),
        CredentialNeed("oauth2", settings.dingtalk_oauth_provider_name, DINGTALK_SCOPES,
                       tools=("DingTalk documents",)),
        CredentialNeed("api_key", settings.api_key_provider_name, tools=("weather_search",)),
        CredentialNeed("sts", "", tools=("get_schedule", "get_oss_object")),
    ]

"""Where the app's calls go: the real Alibaba Cloud, or localcloud on 127.0.0.1 (started here if needed)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypedDict
from urllib.parse import urlsplit

from identity.errors import SettingsError
from identity.settings import Settings

if TYPE_CHECKING:  # imported by `connect` alone: a cloud-mode app, and the page that needs no cloud yet, skip it
    import localcloud

__all__ = ["PROXY_VARIABLES", "CloudTarget", "GatewayTarget", "connect", "prepare_process_environment"]

ALIYUN_DISCOVERY_URL = "https://oauth.aliyun.com/.well-known/openid-configuration"


# The one list of proxy variables: cleared for every process that talks to localcloud (tests, bench, servers).
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")


def prepare_process_environment() -> None:
    """Settle the environment before any Alibaba SDK is imported and used.

    Its clients ignore NO_PROXY, so a proxy would swallow localcloud's 127.0.0.1 traffic; and the default
    credential chain would otherwise probe the ECS metadata service.
    """
    for name in PROXY_VARIABLES:
        os.environ.pop(name, None)
    os.environ.setdefault("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")


@dataclass(frozen=True)
class GatewayTarget:
    """Where the AI Gateway and the order service behind it are, for this mode (issue #22)."""

    mcp_server: str | None = None       # the gateway's MCP server for the order tools
    arn: str | None = None              # the gateway's ARN: the Cedar resource, and where the policy set binds
    order_discovery_url: str | None = None
    order_client_id: str | None = None
    order_client_secret: str | None = field(default=None, repr=False)

    @property
    def configured(self) -> bool:
        return bool(self.mcp_server and self.arn)


@dataclass(frozen=True)
class CloudTarget:
    """Resolved endpoints and credentials for one mode."""

    mode: str
    region: str
    protocol: str                  # "http" for localcloud, "https" for Alibaba Cloud
    control_endpoint: str
    data_endpoint: str
    ims_endpoint: str
    ram_endpoint: str
    sts_endpoint: str
    oauth_discovery_url: str
    data_callback_prefix: str      # Agent Identity's OAuth callback as browsers reach it
    access_key_id: str | None = None   # None: the default credential chain
    access_key_secret: str | None = field(default=None, repr=False)
    dingtalk_client_id: str | None = None
    dingtalk_client_secret: str | None = field(default=None, repr=False)
    local: localcloud.LocalCloud | None = None
    # Where the tools' services are: mcp_server, services_url, dingtalk_api_base, oss_endpoint.
    services: dict[str, str] = field(default_factory=dict)
    gateway: GatewayTarget = field(default_factory=GatewayTarget)
    dashscope_base_url: str = "https://dashscope.aliyuncs.com/api/v1"
    dashscope_api_key: str | None = field(default=None, repr=False)

    @property
    def uses_local_model(self) -> bool:
        """Whether the agent talks to localcloud's deterministic stand-in instead of Qwen on DashScope."""
        return "dashscope.aliyuncs.com" not in self.dashscope_base_url

    @property
    def is_local(self) -> bool:
        return self.mode == "local"

    def banner(self) -> str:
        """One line that says where calls go."""
        if self.local is not None:
            return f"Running on the built-in local cloud ({self.local.url}, account {self.local.account_id})."
        if self.is_local:
            return f"Running on a local cloud at {self.control_endpoint}."
        return f"Running on Alibaba Cloud, region {self.region}."


def _cloud_target(settings: Settings) -> CloudTarget:
    o, region = settings.endpoint_overrides, settings.region
    data = o.get("AGENT_IDENTITY_DATA_ENDPOINT", f"agentidentitydata.{region}.aliyuncs.com")
    data_host = urlsplit(data).netloc or data
    return CloudTarget(
        mode="cloud", region=region, protocol="https",
        control_endpoint=o.get("AGENT_IDENTITY_CONTROL_ENDPOINT", f"agentidentity.{region}.aliyuncs.com"),
        data_endpoint=data, ims_endpoint=o.get("IMS_ENDPOINT", "ims.aliyuncs.com"),
        ram_endpoint=o.get("RAM_ENDPOINT", "ram.aliyuncs.com"),
        sts_endpoint=o.get("STS_ENDPOINT", f"sts.{region}.aliyuncs.com"),
        oauth_discovery_url=o.get("OAUTH_DISCOVERY_URL", ALIYUN_DISCOVERY_URL),
        data_callback_prefix=f"https://{data_host}/oauth2/callback/",
        access_key_id=settings.access_key_id, access_key_secret=settings.access_key_secret,
        dingtalk_client_id=settings.dingtalk_client_id, dingtalk_client_secret=settings.dingtalk_client_secret,
        services=_services(settings, {"dingtalk_api_base": "https://api.dingtalk.com",
                                      "oss_endpoint": f"https://oss-{region}.aliyuncs.com"}),
        gateway=_configured_gateway(settings), dashscope_api_key=settings.dashscope_api_key)


def _configured_gateway(settings: Settings, defaults: GatewayTarget | None = None) -> GatewayTarget:
    """The gateway settings over the mode's defaults (localcloud's own gateway and order service in local mode)."""
    g, d = settings.gateway, defaults or GatewayTarget()
    return GatewayTarget(mcp_server=g.mcp_server or d.mcp_server, arn=g.arn or d.arn,
                         order_discovery_url=g.order_discovery_url or d.order_discovery_url,
                         order_client_id=g.order_client_id or d.order_client_id,
                         order_client_secret=g.order_client_secret or d.order_client_secret)


def _local_gateway(env: dict[str, str]) -> GatewayTarget:
    """What `python -m localcloud env` says about its gateway and order service."""
    service = env.get("ORDER_SERVICE_URL")
    return GatewayTarget(mcp_server=env.get("AI_GATEWAY_MCP_SERVER"), arn=env.get("AI_GATEWAY_ARN"),
                         order_discovery_url=f"{service}/.well-known/oauth-authorization-server" if service else None,
                         order_client_id=env.get("ORDER_CLIENT_ID"), order_client_secret=env.get("ORDER_CLIENT_SECRET"))


def _services(settings: Settings, defaults: dict[str, str]) -> dict[str, str]:
    """The tools' service URLs: explicit settings win over the mode's defaults."""
    chosen = {**defaults, **{k: v for k, v in settings.service_overrides.items() if v}}
    if settings.mcp_server:
        chosen["mcp_server"] = settings.mcp_server
    return chosen


def _from_env(env: dict[str, str]) -> dict[str, str]:
    return {"mcp_server": env["MCP_SERVER"], "services_url": env["LOCALCLOUD_SERVICES_URL"],
            "dingtalk_api_base": env["DINGTALK_API_BASE"], "oss_endpoint": env["OSS_ENDPOINT"]}


def _local_target(settings: Settings, cloud: localcloud.LocalCloud) -> CloudTarget:
    urls, env = cloud.urls, cloud.env()
    return CloudTarget(
        mode="local", region=cloud.region, protocol="http", control_endpoint=cloud.endpoint,
        data_endpoint=cloud.endpoint, ims_endpoint=cloud.endpoint, ram_endpoint=cloud.endpoint,
        sts_endpoint=cloud.endpoint, oauth_discovery_url=urls.discovery("aliyun"),
        data_callback_prefix=urls.data_plane_callback_prefix(), access_key_id=cloud.access_key_id,
        access_key_secret=cloud.access_key_secret, dingtalk_client_id=cloud.dingtalk_client_id,
        dingtalk_client_secret=cloud.dingtalk_client_secret, local=cloud,
        services=_services(settings, _from_env(env)), gateway=_configured_gateway(settings, _local_gateway(env)),
        **_model(settings, env))


class _ModelFields(TypedDict, total=False):
    """CloudTarget's model fields that _model sets (the base URL only for the local stand-in)."""

    dashscope_base_url: str
    dashscope_api_key: str | None


def _model(settings: Settings, env: dict[str, str]) -> _ModelFields:
    """A real DASHSCOPE_API_KEY means Qwen on DashScope even in local mode; otherwise the local stand-in."""
    if settings.dashscope_api_key or "DASHSCOPE_HTTP_BASE_URL" not in env:
        return {"dashscope_api_key": settings.dashscope_api_key}
    return {"dashscope_base_url": env["DASHSCOPE_HTTP_BASE_URL"], "dashscope_api_key": env.get("DASHSCOPE_API_KEY")}


def _external_local_target(settings: Settings) -> CloudTarget:
    """A localcloud someone else runs, described by `python -m localcloud env` variables."""
    url = settings.localcloud_url or ""
    if not (settings.access_key_id and settings.access_key_secret):
        raise SettingsError(f"LOCALCLOUD_URL={url} is set but its keys are not: run "
                            "`eval \"$(python -m localcloud env)\"` to set all of them, or unset LOCALCLOUD_URL.")
    endpoint = urlsplit(url).netloc
    public = os.environ.get("LOCALCLOUD_PUBLIC_URL") or url
    return CloudTarget(
        mode="local", region=settings.region, protocol="http", control_endpoint=endpoint, data_endpoint=endpoint,
        ims_endpoint=endpoint, ram_endpoint=endpoint, sts_endpoint=endpoint,
        oauth_discovery_url=settings.endpoint_overrides.get(
            "OAUTH_DISCOVERY_URL", f"{url}/oauth/aliyun/.well-known/openid-configuration"),
        data_callback_prefix=f"{public}/oauth2/callback/", access_key_id=settings.access_key_id,
        access_key_secret=settings.access_key_secret, dingtalk_client_id=settings.dingtalk_client_id,
        dingtalk_client_secret=settings.dingtalk_client_secret,
        services=_services(settings, {"services_url": f"{url}/svc", "dingtalk_api_base": url, "oss_endpoint": url,
                                      "mcp_server": f"{url}/mcp/resourcecenter/mcp"}),
        # localcloud's layout; its ARN and the order client come with the rest of `python -m localcloud env`.
        gateway=_configured_gateway(settings, GatewayTarget(
            mcp_server=f"{url}/mcp-servers/test-order-agent-identity",
            order_discovery_url=f"{url}/order-service/.well-known/oauth-authorization-server")),
        # `python -m localcloud env` exports the local model's URL and key with the rest.
        dashscope_base_url=os.environ.get("DASHSCOPE_HTTP_BASE_URL") or f"{url}/api/v1",
        dashscope_api_key=settings.dashscope_api_key)


def connect(settings: Settings) -> CloudTarget:
    """The target for the settings' mode; in local mode localcloud is started (or reused) first."""
    if not settings.is_local:
        return _cloud_target(settings)
    if settings.localcloud_url:
        return _external_local_target(settings)
    import localcloud

    try:
        cloud = localcloud.start(port=settings.localcloud_port, data_dir=settings.localcloud_data_dir,
                                 public_url=settings.localcloud_public_url)
    except (localcloud.LocalCloudError, ValueError) as exc:
        raise SettingsError(f"The built-in local cloud could not start: {exc}") from None
    return _local_target(settings, cloud)

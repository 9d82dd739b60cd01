"""The app's settings: one object, read once, from the environment, then `st.secrets` / `config.yml`,
then defaults. Mode, region, endpoints and every name the sample configures come from here only.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from identity.errors import SettingsError

__all__ = ["MODES", "GatewaySettings", "Settings", "load_settings"]

MODES = ("local", "cloud")
_DEFAULTS: dict[str, str] = {
    "AGENT_IDENTITY_REGION_ID": "cn-beijing",
    "APP_REDIRECT_URI": "http://localhost:8501",
    "DASHSCOPE_MODEL_NAME": "qwen3-max",
    "IDENTITY_PROVIDER_NAME": "test-provider",
    "MCP_OAUTH_PROVIDER_NAME": "test-provider-for-mcp-oauth",
    "DINGTALK_OAUTH_PROVIDER_NAME": "test-provider-for-dingtalk",
    "API_KEY_PROVIDER_NAME": "test-provider-api-key",
    "OSS_BUCKET": "agent-identity-demo",
    "CONFIG_JSON": ".config.json",
    "LOCALCLOUD_PORT": "8790",
    "LOCALCLOUD_DATA_DIR": ".localcloud",
}


@dataclass(frozen=True)
class GatewaySettings:
    """The AI Gateway and the order service behind it (issue #22): in local mode localcloud supplies them all."""

    mcp_server: str | None = None       # AI_GATEWAY_MCP_SERVER: the gateway's MCP server URL (the sample's name)
    arn: str | None = None              # AI_GATEWAY_ARN: the gateway's ARN (Cedar resource; where the policy set binds)
    order_provider_name: str = "mcp-order-oauth2"  # ORDER_OAUTH_PROVIDER_NAME: the plugin's credential provider
    order_discovery_url: str | None = None  # ORDER_OAUTH_DISCOVERY_URL: the order service's OAuth metadata
    order_client_id: str | None = None  # ORDER_CLIENT_ID / ORDER_CLIENT_SECRET: the app registered there
    order_client_secret: str | None = field(default=None, repr=False)
    policy_set_name: str | None = None  # POLICY_SET_NAME; default: one per deployment


@dataclass(frozen=True)
class Settings:
    """Everything configurable, resolved and validated."""

    mode: str
    region: str
    app_url: str                  # APP_REDIRECT_URI: the app's public URL
    inbound_redirect_uri: str     # where the sign-in server sends the browser back (the Login flow)
    localcloud_public_url: str    # where browsers reach localcloud's pages (local mode)
    localcloud_port: int
    localcloud_data_dir: Path
    config_json: Path
    identity_provider_name: str
    mcp_oauth_provider_name: str
    dingtalk_oauth_provider_name: str
    api_key_provider_name: str
    oss_bucket: str
    dashscope_model_name: str
    mcp_server: str | None = None
    demo_mcp_server: str | None = None
    workload_identity_name: str | None = None
    localcloud_url: str | None = None  # an already running localcloud to use (from `python -m localcloud env`)
    endpoint_overrides: dict[str, str] = field(default_factory=dict)
    service_overrides: dict[str, str] = field(default_factory=dict)  # the tools' services (see cloud.py)
    access_key_id: str | None = field(default=None, repr=False)
    access_key_secret: str | None = field(default=None, repr=False)
    dashscope_api_key: str | None = field(default=None, repr=False)
    api_key_value: str | None = field(default=None, repr=False)
    dingtalk_client_id: str | None = None
    dingtalk_client_secret: str | None = field(default=None, repr=False)
    allowed_hosts: tuple[str, ...] = ()   # APP_ALLOWED_HOSTS: more Host names the app answers (behind a proxy)
    admins: tuple[str, ...] = ()          # APP_ADMINS: login names who may change Setup once provisioned
    setup_token: str | None = field(default=None, repr=False)  # APP_SETUP_TOKEN: the first Provision in cloud mode
    database_url: str | None = field(default=None, repr=False)  # APP_DATABASE_URL (may hold a password)
    secret_key: str | None = field(default=None, repr=False)    # APP_SECRET_KEY: seals what the database keeps
    replica_name: str = ""                # APP_REPLICA_NAME: shown in the sidebar, to tell replicas apart
    agent_endpoint: str | None = None     # AGENT_ENDPOINT: the agent service's /process (the Chat page uses it)
    agent_service_host: str = "127.0.0.1"  # AGENT_SERVICE_HOST / _PORT: where `python -m agent.service` listens
    agent_service_port: int = 8080
    agent_bearer_token: str | None = field(default=None, repr=False)  # AGENT_BEARER_TOKEN: the sample backend's
    gateway: GatewaySettings = field(default_factory=GatewaySettings)

    @property
    def consent_return_url(self) -> str:
        """The app's route that consent redirects return to (the sample's `APP_REDIRECT_URI/callback`)."""
        return f"{self.app_url}/callback"

    @property
    def is_local(self) -> bool:
        return self.mode == "local"


class _Sources:
    """Environment, then secrets, then config.yml, then defaults."""

    def __init__(self, environ: Mapping[str, str], secrets: Mapping[str, Any], config: Mapping[str, Any]) -> None:
        self.layers = (environ, secrets, config)

    def get(self, name: str) -> str | None:
        for layer in self.layers:
            value = layer.get(name)
            if value is not None and str(value).strip() != "":
                return str(value).strip()
        return _DEFAULTS.get(name)

    def origin(self, name: str) -> str:
        for label, layer in zip(("environment", "st.secrets", "config.yml"), self.layers, strict=True):
            if layer.get(name) not in (None, ""):
                return label
        return "default"


def _url(sources: _Sources, name: str, default: str | None = None) -> str | None:
    value = sources.get(name) or default
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise SettingsError(f"{name}={value!r} (from {sources.origin(name)}) is not a URL like "
                            "http://localhost:8501: give scheme, host and optional path, no query.")
    return value.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _return_url(sources: _Sources, name: str, default: str | None = None,
                what: str = "sign-in codes and consent returns") -> str | None:
    """A URL that secrets travel to (browsers are sent back to it with sign-in codes and consent returns in its
    query; the agent service is sent ID tokens): https, or http only on this machine (RFC 8252 §7.3), and never
    with a user name before the host, which hides where it really goes."""
    value = _url(sources, name, default)
    if value is None:
        return None
    parts = urlsplit(value)
    try:  # a malformed port raises here, not later in a redirect
        host, _ = parts.hostname or "", parts.port
    except ValueError:
        host = ""
    if not host or "@" in parts.netloc:
        raise SettingsError(f"{name}={value!r} (from {sources.origin(name)}) does not name a plain host: give "
                            "scheme, host, optional port and path, like https://demo.example.com.")
    if parts.scheme == "http" and not _is_loopback(host):
        raise SettingsError(f"{name}={value!r} (from {sources.origin(name)}) is plain http to another machine, so "
                            f"{what} would cross the network unencrypted: use https, or "
                            "http://localhost (127.0.0.1) for a demo on this machine.")
    return value


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}[parts.scheme]


def _inbound_redirect_uri(sources: _Sources, app_url: str) -> str:
    """INBOUND_REDIRECT_URI, on the app's own origin: the Login page reads the sign-in popup's URL, which a
    browser only lets it do on the same origin; anywhere else would hand the authorization code to that site."""
    value = _return_url(sources, "INBOUND_REDIRECT_URI", f"{app_url}/oauth2callback") or app_url
    if _origin(value) != _origin(app_url):
        raise SettingsError(f"INBOUND_REDIRECT_URI={value!r} (from {sources.origin('INBOUND_REDIRECT_URI')}) is not "
                            f"on the app's origin {app_url!r}: use {app_url}/oauth2callback, or unset it.")
    return value


def _port(sources: _Sources, name: str) -> int:
    value = sources.get(name) or "0"
    if not value.isdigit() or int(value) > 65535:
        raise SettingsError(f"{name}={value!r} (from {sources.origin(name)}) is not a port: use 1 to 65535, or 0.")
    return int(value)


def _mode(sources: _Sources) -> str:
    mode = (sources.get("AGENT_IDENTITY_MODE") or "").lower()
    if mode and mode not in MODES:
        raise SettingsError(f"AGENT_IDENTITY_MODE={mode!r} must be 'local' or 'cloud' (or unset to decide by "
                            "whether an Alibaba Cloud access key is configured).")
    if mode:
        return mode
    # Keys exported by `python -m localcloud env` come with LOCALCLOUD_URL: they are local keys.
    has_key = bool(sources.get("ALIBABA_CLOUD_ACCESS_KEY_ID"))
    return "cloud" if has_key and not sources.get("LOCALCLOUD_URL") else "local"


def _read_config(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        loaded = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path} is not valid YAML ({exc.__class__.__name__}): fix or remove it.") from None
    if not isinstance(loaded, dict):
        raise SettingsError(f"{path} must hold `NAME: value` pairs at the top level.")
    return {str(k): v for k, v in loaded.items()}


_ENDPOINT_VARS = ("AGENT_IDENTITY_CONTROL_ENDPOINT", "AGENT_IDENTITY_DATA_ENDPOINT", "IMS_ENDPOINT", "RAM_ENDPOINT",
                  "STS_ENDPOINT", "OAUTH_DISCOVERY_URL")


def load_settings(environ: Mapping[str, str] | None = None, secrets: Mapping[str, Any] | None = None,
                  config_file: str | Path = "config.yml") -> Settings:
    """Resolve every setting; raises SettingsError naming the first bad one."""
    sources = _Sources(os.environ if environ is None else environ, secrets or {}, _read_config(Path(config_file)))
    mode = _mode(sources)
    app_url = _return_url(sources, "APP_REDIRECT_URI") or _DEFAULTS["APP_REDIRECT_URI"]
    if mode == "cloud" and not (sources.get("ALIBABA_CLOUD_ACCESS_KEY_ID") or sources.get("ALIBABA_CLOUD_PROFILE")):
        raise SettingsError("Cloud mode needs an Alibaba Cloud access key: set ALIBABA_CLOUD_ACCESS_KEY_ID and "
                            "ALIBABA_CLOUD_ACCESS_KEY_SECRET, or AGENT_IDENTITY_MODE=local.")
    return Settings(
        mode=mode, region=sources.get("AGENT_IDENTITY_REGION_ID") or "cn-beijing", app_url=app_url,
        inbound_redirect_uri=_inbound_redirect_uri(sources, app_url),
        localcloud_public_url=_url(sources, "LOCALCLOUD_PUBLIC_URL", f"{app_url}/lc") or app_url,
        localcloud_port=_port(sources, "LOCALCLOUD_PORT"),
        localcloud_data_dir=Path(sources.get("LOCALCLOUD_DATA_DIR") or ".localcloud"),
        config_json=Path(sources.get("CONFIG_JSON") or ".config.json"),
        identity_provider_name=sources.get("IDENTITY_PROVIDER_NAME") or "",
        mcp_oauth_provider_name=sources.get("MCP_OAUTH_PROVIDER_NAME") or "",
        dingtalk_oauth_provider_name=sources.get("DINGTALK_OAUTH_PROVIDER_NAME") or "",
        api_key_provider_name=sources.get("API_KEY_PROVIDER_NAME") or "",
        oss_bucket=sources.get("OSS_BUCKET") or "", dashscope_model_name=sources.get("DASHSCOPE_MODEL_NAME") or "",
        mcp_server=_url(sources, "MCP_SERVER"), demo_mcp_server=_url(sources, "DEMO_MCP_SERVER"),
        workload_identity_name=sources.get("AGENT_IDENTITY_WORKLOAD_IDENTITY_NAME"),
        localcloud_url=_url(sources, "LOCALCLOUD_URL"),
        endpoint_overrides={name: value for name in _ENDPOINT_VARS if (value := sources.get(name))},
        service_overrides={"services_url": _url(sources, "SERVICES_URL") or "",
                           "dingtalk_api_base": _url(sources, "DINGTALK_API_BASE") or "",
                           "oss_endpoint": _url(sources, "OSS_ENDPOINT") or ""},
        access_key_id=sources.get("ALIBABA_CLOUD_ACCESS_KEY_ID"),
        access_key_secret=sources.get("ALIBABA_CLOUD_ACCESS_KEY_SECRET"),
        dashscope_api_key=sources.get("DASHSCOPE_API_KEY"), api_key_value=sources.get("WEATHER_API_KEY"),
        dingtalk_client_id=sources.get("DINGTALK_CLIENT_ID"),
        dingtalk_client_secret=sources.get("DINGTALK_CLIENT_SECRET"),
        allowed_hosts=_names(sources, "APP_ALLOWED_HOSTS", ""),
        admins=_names(sources, "APP_ADMINS", "alice" if mode == "local" else ""),
        setup_token=sources.get("APP_SETUP_TOKEN") or None,
        database_url=sources.get("APP_DATABASE_URL") or None, secret_key=sources.get("APP_SECRET_KEY") or None,
        replica_name=(sources.get("APP_REPLICA_NAME") or "")[:40],
        agent_endpoint=_return_url(sources, "AGENT_ENDPOINT", what="the users' ID tokens"),
        agent_service_host=sources.get("AGENT_SERVICE_HOST") or "127.0.0.1",
        agent_service_port=_port(sources, "AGENT_SERVICE_PORT") if sources.get("AGENT_SERVICE_PORT") else 8080,
        agent_bearer_token=sources.get("AGENT_BEARER_TOKEN") or None,
        gateway=_gateway(sources),
    )


def _gateway(sources: _Sources) -> GatewaySettings:
    return GatewaySettings(
        mcp_server=_url(sources, "AI_GATEWAY_MCP_SERVER"), arn=sources.get("AI_GATEWAY_ARN"),
        order_provider_name=sources.get("ORDER_OAUTH_PROVIDER_NAME") or "mcp-order-oauth2",
        order_discovery_url=_url(sources, "ORDER_OAUTH_DISCOVERY_URL"),
        order_client_id=sources.get("ORDER_CLIENT_ID"), order_client_secret=sources.get("ORDER_CLIENT_SECRET"),
        policy_set_name=sources.get("POLICY_SET_NAME"))


def _names(sources: _Sources, name: str, default: str) -> tuple[str, ...]:
    """A comma-separated list setting, trimmed and lower-cased (host and login names compare that way)."""
    value = sources.get(name)
    return tuple(part.strip().lower() for part in (default if value is None else value).split(",") if part.strip())

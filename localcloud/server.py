"""Running localcloud: in the foreground (`python -m localcloud`) or in a daemon thread of this process.

`start()` is idempotent: a second call for the same data directory returns the running instance, and a
localcloud already listening on the requested port (started by another process) is reused.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from localcloud.app import CONTROL_TOKEN_HEADER, build_app
from localcloud.dashscope import API_BASE_PATH, dashscope_key
from localcloud.gateway import DECISIONS_PATH, EVALUATE_PATH, ORDER_SERVER, gateway_arn, server_path
from localcloud.oidc import demo_users, dingtalk_demo_app
from localcloud.orders import ORDER_SERVICE_PATH, order_client
from localcloud.resources import MCP_ENDPOINT_PATH, SERVICES_PATH
from localcloud.settings import LocalCloudSettings
from localcloud.store import Store, open_store
from localcloud.urls import LocalUrls

__all__ = ["LocalCloud", "LocalCloudError", "serve_forever", "start"]

_START_TIMEOUT_SECONDS = 15.0
_HTTP_TIMEOUT_SECONDS = 5.0
_WARM_UP_TIMEOUT_SECONDS = 30.0


class LocalCloudError(RuntimeError):
    """localcloud could not start or be reached; the message says why and what to do."""


@dataclass(frozen=True)
class LocalCloud:
    """A running localcloud and the credentials and endpoints that point clients at it."""

    port: int
    data_dir: Path
    region: str
    account_id: str
    access_key_id: str
    access_key_secret: str
    control_token: str = field(repr=False)
    dingtalk_client_id: str = ""
    dingtalk_client_secret: str = field(default="", repr=False)
    public_url: str | None = None
    reused: bool = False
    dashscope_api_key: str = field(default="", repr=False)
    order_client_id: str = ""
    order_client_secret: str = field(default="", repr=False)
    # The sign-in server's demo users as (user name, display name, subject): the subject is the Cedar principal's id
    # (`AgentIdentity::OAuthUser::"<sub>"`), so a policy can name alice or bob.
    demo_users: tuple[tuple[str, str, str], ...] = ()

    def __repr__(self) -> str:  # never print the secret
        return f"LocalCloud(url={self.url!r}, data_dir={str(self.data_dir)!r}, account_id={self.account_id!r})"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def urls(self) -> LocalUrls:
        return LocalUrls(internal=self.url, public=self.public_url or self.url)

    @property
    def order_service_url(self) -> str:
        """The order service's base (loopback): its REST API, its OAuth issuer and metadata below it."""
        return f"{self.url}{ORDER_SERVICE_PATH}"

    @property
    def endpoint(self) -> str:
        """What a Tea SDK `Config(endpoint=..., protocol="http")` takes."""
        return f"127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """Environment variables that point the official clients at this localcloud."""
        return {
            "ALIBABA_CLOUD_ACCESS_KEY_ID": self.access_key_id,
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET": self.access_key_secret,
            "ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true",
            "AGENT_IDENTITY_REGION_ID": self.region,
            "AGENT_IDENTITY_CONTROL_ENDPOINT": self.url,
            "AGENT_IDENTITY_DATA_ENDPOINT": self.url,
            "IMS_ENDPOINT": self.url,
            "RAM_ENDPOINT": self.url,
            "STS_ENDPOINT": self.url,
            "OSS_ENDPOINT": self.url,
            "OAUTH_DISCOVERY_URL": self.urls.discovery("aliyun"),
            "DINGTALK_DISCOVERY_URL": self.urls.discovery("dingtalk"),
            "DINGTALK_CLIENT_ID": self.dingtalk_client_id,
            "DINGTALK_CLIENT_SECRET": self.dingtalk_client_secret,
            "LOCALCLOUD_URL": self.url,
            "LOCALCLOUD_PUBLIC_URL": self.urls.public,
            "MCP_SERVER": f"{self.url}{MCP_ENDPOINT_PATH}",
            "LOCALCLOUD_SERVICES_URL": f"{self.url}{SERVICES_PATH}",
            "DINGTALK_API_BASE": self.url,
            "DASHSCOPE_HTTP_BASE_URL": f"{self.url}{API_BASE_PATH}",
            "DASHSCOPE_API_KEY": self.dashscope_api_key,
            "ORDER_SERVICE_URL": self.order_service_url,
            "ORDER_CLIENT_ID": self.order_client_id,
            "ORDER_CLIENT_SECRET": self.order_client_secret,
            "AI_GATEWAY_MCP_SERVER": f"{self.url}{server_path(ORDER_SERVER)}",
            "AI_GATEWAY_ARN": self.gateway_arn,
        }

    @property
    def gateway_arn(self) -> str:
        """The AI Gateway's ARN: the Cedar resource, and the `GatewayArn` to attach a policy set to."""
        return gateway_arn(self.region, self.account_id)

    def gateway_decisions(self, *, limit: int = 100, user: str | None = None, tool: str | None = None,
                          decision: str | None = None) -> list[dict[str, Any]]:
        """The AI Gateway's recorded decisions, newest first (`decision`: ALLOW or DENY)."""
        query = {key: value for key, value in (("limit", str(limit)), ("user", user), ("tool", tool),
                                               ("decision", decision)) if value is not None}
        response = httpx.get(f"{self.url}{DECISIONS_PATH}", params=query, timeout=_HTTP_TIMEOUT_SECONDS,
                             headers={CONTROL_TOKEN_HEADER: self.control_token}, trust_env=False)
        response.raise_for_status()
        return list(response.json()["decisions"])

    def gateway_evaluate(self, user_id: str, tool: str, arguments: dict[str, Any] | None = None, *,
                         workload_identity: str | None = None, issuer: str | None = None) -> dict[str, Any]:
        """"Try a request": the AI Gateway's decision for `user_id` calling `tool` (nothing recorded or called)."""
        body = {"user_id": user_id, "tool": tool, "arguments": arguments, "workload_identity": workload_identity,
                "issuer": issuer}
        response = httpx.post(f"{self.url}{EVALUATE_PATH}", json=body, timeout=_HTTP_TIMEOUT_SECONDS,
                              headers={CONTROL_TOKEN_HEADER: self.control_token}, trust_env=False)
        response.raise_for_status()
        return dict(response.json())

    def warm_up(self) -> None:
        """Build what localcloud builds on its first request (the MCP server: a second of imports), so an agent's
        first tool call does not wait for it. Any answer will do; a failure is left to that first call to report."""
        try:
            httpx.get(f"{self.url}{MCP_ENDPOINT_PATH}", timeout=_WARM_UP_TIMEOUT_SECONDS, trust_env=False)
        except httpx.HTTPError:
            return

    def request_counts(self) -> dict[str, int]:
        """How many times each RPC action was answered since start (or the last reset)."""
        response = httpx.get(f"{self.url}/_localcloud/requests", headers={CONTROL_TOKEN_HEADER: self.control_token},
                             timeout=_HTTP_TIMEOUT_SECONDS, trust_env=False)
        response.raise_for_status()
        return dict(response.json()["counts"])

    def reset(self) -> None:
        """Forget every resource (the root account and key stay); for tests."""
        response = httpx.post(f"{self.url}/_localcloud/reset", headers={CONTROL_TOKEN_HEADER: self.control_token},
                              timeout=_HTTP_TIMEOUT_SECONDS, trust_env=False)
        response.raise_for_status()


def describe(store: Store, settings: LocalCloudSettings, port: int, reused: bool = False) -> LocalCloud:
    """The handle for a store's root account, served on `port`."""
    account_id = store.meta("account_id") or ""
    key = store.root_key(account_id)
    if key is None:
        raise LocalCloudError(f"the data directory {settings.data_dir} has no root key: delete it to start fresh.")
    ding_id, ding_secret = dingtalk_demo_app(store)
    order_id, order_secret = order_client(store)
    return LocalCloud(port, settings.data_dir, settings.region, account_id, key.id, key.secret,
                      store.meta("control_token") or "", ding_id, ding_secret, settings.public_url, reused,
                      dashscope_api_key=dashscope_key(store), order_client_id=order_id,
                      order_client_secret=order_secret,
                      demo_users=tuple((user.username, user.name, user.sub) for user in demo_users(store)))


def _bind(settings: LocalCloudSettings) -> socket.socket:
    # IPPROTO_TCP, not the default 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and
    # without it every keep-alive response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((settings.host, settings.port))
    except OSError as exc:
        sock.close()
        raise LocalCloudError(f"cannot listen on {settings.host}:{settings.port} ({exc.strerror}): choose another "
                              "port with --port or LOCALCLOUD_PORT, or 0 for any free port.") from None
    sock.listen(128)
    return sock


def _server(store: Store, settings: LocalCloudSettings, port_holder: list[int],
            clock: Callable[[], float]) -> uvicorn.Server:
    app = build_app(store, clock, settings.region, lambda: settings.urls(port_holder[0]))
    # No access log: v2 requests carry signatures and security tokens in the query string.
    # h11 and asyncio, whatever else is installed: uvicorn would pick httptools/uvloop when present, and they answer
    # malformed requests themselves (plain text) where h11 hands them to the app (an Alibaba-style error).
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on", http="h11", loop="asyncio",
                            ws="none")  # it serves no websocket: nothing to load for one
    return uvicorn.Server(config)


def _probe(port: int) -> dict | None:
    """The health document of a localcloud on `port`, or None if something else (or nothing) is there."""
    try:
        response = httpx.get(f"http://127.0.0.1:{port}/_localcloud/health", timeout=2.0, trust_env=False)
        body = response.json()
    except (httpx.HTTPError, ValueError):
        return None
    return body if isinstance(body, dict) and body.get("service") == "localcloud" else None


_lock = threading.Lock()
_running: dict[Path, LocalCloud] = {}


def start(port: int | None = None, data_dir: str | Path | None = None,
          clock: Callable[[], float] = time.time, public_url: str | None = None) -> LocalCloud:
    """Serve localcloud in a daemon thread (or reuse the one already serving this data directory).

    `public_url` is where browsers reach its pages (e.g. mounted under the app's origin); it wins over
    `LOCALCLOUD_PUBLIC_URL`.
    """
    settings = LocalCloudSettings.resolve(port, data_dir, public_url)
    with _lock:
        running = _running.get(settings.data_dir)
        if running is not None and settings.port in (0, running.port):
            return running
        if running is not None:
            raise LocalCloudError(f"{settings.data_dir} is already served on port {running.port} in this process.")
        handle = _reuse(settings) or _start_thread(settings, clock)
        _running[settings.data_dir] = handle
        return handle


def _reuse(settings: LocalCloudSettings) -> LocalCloud | None:
    if settings.port == 0:
        return None
    health = _probe(settings.port)
    if health is None:
        return None
    if Path(health.get("data_dir", "")) != settings.data_dir:
        raise LocalCloudError(f"a localcloud with data directory {health.get('data_dir')} already listens on "
                              f"port {settings.port}: use the same --data-dir, or another port.")
    store = open_store(settings.data_dir, time.time)
    try:
        return describe(store, settings, settings.port, reused=True)
    finally:
        store.close()


def _start_thread(settings: LocalCloudSettings, clock: Callable[[], float]) -> LocalCloud:
    store = open_store(settings.data_dir, clock)
    port_holder = [settings.port]
    server = _server(store, settings, port_holder, clock)
    sock = _bind(settings)
    port = port_holder[0] = sock.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name=f"localcloud-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + _START_TIMEOUT_SECONDS
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise LocalCloudError(f"localcloud did not start on port {port} within {_START_TIMEOUT_SECONDS:.0f} s.")
        time.sleep(0.01)
    return describe(store, settings, port)


def serve_forever(settings: LocalCloudSettings, on_ready: Callable[[LocalCloud], None]) -> None:
    """Serve in the foreground until interrupted."""
    store = open_store(settings.data_dir, time.time)
    port_holder = [settings.port]
    server = _server(store, settings, port_holder, time.time)
    sock = _bind(settings)
    port = port_holder[0] = sock.getsockname()[1]
    on_ready(describe(store, settings, port))
    server.run(sockets=[sock])

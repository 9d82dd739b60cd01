"""Helpers for the sign-in server hardening tests: a localcloud behind the app's `/lc` proxy with a movable clock,
its route table, a spy on password hashing, and raw HTTP for what httpx will not send."""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from starlette.routing import Mount, Route

import localcloud
from localcloud.app import build_app
from localcloud.oidc import users
from localcloud.store import open_store
from localcloud.urls import LocalUrls
from tests.localcloud.oidc.oidc_client import Apps, create_apps
from tests.support import served_local_proxy

__all__ = ["EXTRA_USERS", "HashCounter", "ProxiedCloud", "SteppedClock", "every_route", "proxied_cloud",
           "raw_status_line", "set_cookie"]

# One user per throttling test: a name's failures outlive the test that made them (in the store, on purpose).
EXTRA_USERS = ("carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "oscar", "peggy")
_FILLERS = {"realm": "aliyun", "bucket": "agent-identity-demo", "key": "docs/welcome.md"}
_PARAM = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")


@dataclass
class SteppedClock:
    """localcloud's time: it stands still unless a test moves it, so waits it computes come out exact."""

    start: float = field(default_factory=time.time)
    offset: float = 0.0

    def __call__(self) -> float:
        return self.start + self.offset


@dataclass(frozen=True)
class ProxiedCloud:
    """A localcloud whose pages browsers reach through the app's `/lc` proxy, as in local mode."""

    cloud: localcloud.LocalCloud
    clock: SteppedClock
    proxy_port: int
    apps: Apps

    @property
    def public(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}/lc"


@contextmanager
def proxied_cloud(data_dir: Path) -> Iterator[ProxiedCloud]:
    """The proxy first (its port is the public URL), then localcloud on a movable clock with the extra users."""
    upstream: list[str] = []
    clock = SteppedClock()
    with served_local_proxy(lambda: upstream[0]) as port, pytest.MonkeyPatch.context() as env:
        env.setenv("LOCALCLOUD_DEMO_USERS", ",".join(EXTRA_USERS))  # read once, when the data dir is seeded
        cloud = localcloud.start(port=0, data_dir=data_dir, clock=clock,
                                 public_url=f"http://127.0.0.1:{port}/lc")
        env.delenv("LOCALCLOUD_DEMO_USERS")
        upstream.append(cloud.url)
        yield ProxiedCloud(cloud, clock, port, create_apps(cloud))


def every_route(cloud: localcloud.LocalCloud) -> list[tuple[str, str]]:
    """`(method, path)` for every route of localcloud's own route table, its parameters filled in."""
    store = open_store(cloud.data_dir, time.time)
    try:
        app = build_app(store, time.time, cloud.region, lambda: LocalUrls(cloud.url, cloud.url))
    finally:
        store.close()
    found = []
    for route in app.routes:
        if isinstance(route, Route):
            path = _PARAM.sub(lambda match: _FILLERS.get(match.group(1), "x"), route.path)
            found += [(method, path) for method in sorted(route.methods or {"GET"})]
        elif isinstance(route, Mount):  # the MCP server: its one endpoint below the mount
            found.append(("POST", f"{route.path}/mcp"))
    return found


class HashCounter:
    """Counts the password hashes the sign-in server computes (it runs in this process, in a thread)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        real = users._hash_password

        def counted(password: str, salt: bytes) -> str:
            self.calls += 1
            return real(password, salt)

        monkeypatch.setattr(users, "_hash_password", counted)

    @contextmanager
    def counting(self) -> Iterator[HashCounter]:
        """Counts from zero for the block."""
        self.calls = 0
        yield self


def raw_status_line(port: int, head: bytes) -> bytes:
    """The status line answering a request sent byte for byte (httpx always sends one well-formed Host)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head)
        answer = b""
        while b"\r\n" not in answer and (chunk := conn.recv(4096)):
            answer += chunk
    return answer.split(b"\r\n", 1)[0]


def set_cookie(headers: list[str], name: str) -> str:
    """The one Set-Cookie header for `name`."""
    [found] = [header for header in headers if header.startswith(f"{name}=")]
    return found

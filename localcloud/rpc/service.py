"""What an emulated Tea-style service is: a product, an API version and a table of action handlers."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from localcloud.rpc.params import Params
from localcloud.store import Store
from localcloud.urls import LocalUrls

__all__ = ["Call", "Handler", "Principal", "Service"]


@dataclass(frozen=True)
class Principal:
    """Who signed a request: the account's root key, an assumed role's STS key, or nobody."""

    account_id: str
    kind: str  # "root", "assumed-role" or "anonymous"
    arn: str
    access_key_id: str | None = None
    role_name: str | None = None
    role_id: str | None = None
    session_name: str | None = None
    session_policy: str | None = None


@dataclass
class Call:
    """One action invocation as a handler sees it."""

    action: str
    params: Params
    caller: Principal
    store: Store
    now: float
    region: str
    request_id: str
    urls: LocalUrls

    @property
    def account(self) -> str:
        return self.caller.account_id


Handler = Callable[[Call], dict[str, Any]]


def _any_resource(call: Call) -> str:
    return "*"


@dataclass(frozen=True)
class Service:
    """An emulated service: dispatch is by `version` then by action name."""

    product: str          # as Alibaba names it, e.g. "AgentIdentity"
    code: str             # the RAM action prefix, e.g. "agentidentity"
    version: str          # the API version the SDK sends, e.g. "2025-09-01"
    host: str             # the real endpoint host, reported as HostId
    actions: Mapping[str, Handler]
    anonymous: frozenset[str] = frozenset()  # actions the SDK sends unsigned
    unrestricted: frozenset[str] = frozenset()  # actions any signed caller may do, whatever its policies
    resource: Callable[[Call], str] = field(default=_any_resource)  # the RAM resource an action touches

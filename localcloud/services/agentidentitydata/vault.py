"""The token vault: OAuth2 tokens held for (workload, user, provider, scopes); refresh tokens never leave it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from localcloud.store import Store

__all__ = ["VaultEntry", "VaultKey", "delete", "forget", "get", "put"]

_KIND = "agentidentitydata.vault"


@dataclass(frozen=True)
class VaultKey:
    account: str
    workload: str
    user_id: str  # "" for machine-to-machine tokens
    provider: str
    scopes: tuple[str, ...]

    @classmethod
    def of(cls, account: str, workload: str, user_id: str | None, provider: str, scopes: list[str]) -> VaultKey:
        return cls(account, workload, user_id or "", provider, tuple(sorted(set(scopes))))

    def name(self) -> str:
        """A stable store name for the key (scopes are part of it: a token is for exactly those scopes)."""
        raw = json.dumps([self.workload, self.user_id, self.provider, list(self.scopes)])
        return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class VaultEntry:
    access_token: str
    expires_at: float
    refresh_token: str | None = None
    scope: str = ""

    def expires_in(self, now: float) -> int:
        return max(0, int(self.expires_at - now))

    @classmethod
    def from_token_response(cls, body: dict[str, Any], now: float) -> VaultEntry:
        """An entry from an OAuth token endpoint's JSON answer."""
        lifetime = body.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, int | float) else 3600.0
        return cls(str(body["access_token"]), now + seconds, body.get("refresh_token"), str(body.get("scope", "")))


def get(store: Store, key: VaultKey) -> VaultEntry | None:
    doc = store.get(_KIND, key.account, key.name())
    return VaultEntry(**doc["entry"]) if doc else None


def put(store: Store, key: VaultKey, entry: VaultEntry) -> None:
    doc = {"key": asdict(key), "entry": asdict(entry)}
    with store.locked():
        if not store.replace(_KIND, key.account, key.name(), doc):
            store.insert(_KIND, key.account, key.name(), doc)


def delete(store: Store, key: VaultKey) -> None:
    store.delete(_KIND, key.account, key.name())


def forget(store: Store, account: str, *, workload: str | None = None, provider: str | None = None) -> None:
    """Delete every token held for a workload identity or a credential provider that is being deleted.

    Agent Identity's documentation does not say; we assume a deleted resource's tokens go with it, since nothing
    could ever use them again."""
    for doc in store.list(_KIND, account):
        key = VaultKey(**{**doc["key"], "scopes": tuple(doc["key"]["scopes"])})
        if workload in (None, key.workload) and provider in (None, key.provider):
            delete(store, key)

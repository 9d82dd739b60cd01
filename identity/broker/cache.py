"""The broker's in-memory credential cache: keyed by the verified user, honouring each credential's expiry."""

from __future__ import annotations

import threading
from dataclasses import dataclass

from identity.broker.credentials import Credential
from identity.broker.kinds import CredentialKind

__all__ = ["CacheKey", "CredentialCache"]

# Expired entries stay this long (the Credentials page shows them as expired), then go: a user who never signs
# out must not keep memory forever.
KEEP_EXPIRED_SECONDS = 3600.0


@dataclass(frozen=True)
class CacheKey:
    user: tuple[str, str]          # (issuer, subject) of a verified ID token: never shared across users
    workload: str
    kind: CredentialKind
    provider: str = ""
    scopes: tuple[str, ...] = ()


class CredentialCache:
    """Process-wide and thread-safe; every entry belongs to exactly one user."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[CacheKey, Credential] = {}

    def get(self, key: CacheKey, now: float, leeway: float) -> Credential | None:
        """The cached credential unless it expires within `leeway` seconds."""
        with self._lock:
            found = self._entries.get(key)
        return None if found is None or found.is_expired(now, leeway) else found

    def peek(self, key: CacheKey) -> Credential | None:
        """The entry even if expired (the Credentials page shows expired ones as such)."""
        with self._lock:
            return self._entries.get(key)

    def put(self, key: CacheKey, credential: Credential, now: float) -> None:
        with self._lock:
            self._entries[key] = credential
            for stale in [k for k, c in self._entries.items() if c.expires_at + KEEP_EXPIRED_SECONDS < now]:
                del self._entries[stale]

    def drop(self, key: CacheKey) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def forget_user(self, user: tuple[str, str]) -> None:
        with self._lock:
            for key in [k for k in self._entries if k.user == user]:
                del self._entries[key]

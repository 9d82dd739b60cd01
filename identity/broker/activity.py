"""The activity log: every identity call the broker makes (or saves by a cache hit), per user, no secrets."""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass

__all__ = ["Activity", "ActivityLog"]

_KEEP_PER_USER = 500


@dataclass(frozen=True)
class Activity:
    at: float
    user: tuple[str, str]
    action: str          # e.g. GetResourceOAuth2Token, or "cache" for a call the cache saved
    provider: str
    outcome: str         # ok, cache hit, consent required, completed, declined, or the error code
    latency_ms: float
    detail: str = ""     # a fingerprint or an error message; never a credential value


class ActivityLog:
    """Bounded per-user history, newest last; process-wide and thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], deque[Activity]] = defaultdict(lambda: deque(maxlen=_KEEP_PER_USER))

    def add(self, entry: Activity) -> None:
        with self._lock:
            self._entries[entry.user].append(entry)

    def of(self, user: tuple[str, str]) -> list[Activity]:
        """The user's entries, newest first."""
        with self._lock:
            return list(reversed(self._entries.get(user, ())))

    def forget(self, user: tuple[str, str]) -> None:
        with self._lock:
            self._entries.pop(user, None)

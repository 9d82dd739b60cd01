"""Counts of the RPC actions localcloud answered, so tests and benchmarks can see how many calls a client made."""

from __future__ import annotations

import threading
from collections import Counter

__all__ = ["RequestLog"]


class RequestLog:
    """Thread-safe per-action counters (no parameters, no keys: nothing secret is kept)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def record(self, action: str) -> None:
        with self._lock:
            self._counts[action] += 1

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def clear(self) -> None:
        with self._lock:
            self._counts.clear()

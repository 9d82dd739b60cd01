"""The activity log: every identity call the broker makes (or saves by a cache hit), per user, no secrets.

Each entry also says which chat turn and tool call it was made for: the agent loop opens a `tracing(...)`
context around a tool call, and an `Activity` created inside it picks the trace up. Calls made outside one
(the Credentials page, the consent return route) carry an empty trace. A context variable, not an argument,
so the broker's call sites stay as they are and concurrent sessions (threads) never see each other's trace.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

__all__ = ["Activity", "ActivityLog", "Trace", "current_trace", "tracing"]

_KEEP_PER_USER = 500


@dataclass(frozen=True)
class Trace:
    """The chat turn and tool call an identity call was made for; empty when it was made for neither."""

    turn_id: str = ""
    tool_call_id: str = ""
    tool: str = ""


_NO_TRACE = Trace()
_current: ContextVar[Trace] = ContextVar("activity_trace", default=_NO_TRACE)


def current_trace() -> Trace:
    """The trace of the code running now (empty outside any `tracing` block)."""
    return _current.get()


@contextmanager
def tracing(turn_id: str, tool_call_id: str = "", tool: str = "") -> Iterator[Trace]:
    """Attribute every activity recorded inside the block (in this thread) to this turn and tool call.

    Keep the block free of `yield`s when used in a generator: the variable belongs to the thread's context,
    so a block left open across a yield would label the consumer's calls too.
    """
    trace = Trace(turn_id, tool_call_id, tool)
    token = _current.set(trace)
    try:
        yield trace
    finally:
        _current.reset(token)


@dataclass(frozen=True)
class Activity:
    at: float
    user: tuple[str, str]
    action: str          # e.g. GetResourceOAuth2Token, or "cache" for a call the cache saved
    provider: str
    outcome: str         # ok, cache hit, consent required, completed, declined, or the error code
    latency_ms: float
    detail: str = ""     # a fingerprint or an error message; never a credential value
    trace: Trace = field(default_factory=current_trace)  # last, so positional construction keeps working


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

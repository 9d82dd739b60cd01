"""The activity log: every identity call the broker makes (or saves by a cache hit), per user, no secrets.

Kept in the app's database (it survives restarts and every replica writes to and reads the same log), bounded per
user to KEEP_DAYS days and KEEP_PER_USER entries, whichever is less. Entries are written behind the call that made
them, in batches, within FLUSH_SECONDS: a cached tool call costs no database round trip. Reading a log first writes
what is waiting, so a page always shows its own process's latest calls.

Each entry also says which chat turn and tool call it was made for: the agent loop opens a `tracing(...)`
context around a tool call, and an `Activity` created inside it picks the trace up. Calls made outside one
(the Credentials page, the consent return route) carry an empty trace. A context variable, not an argument,
so the broker's call sites stay as they are and concurrent sessions (threads) never see each other's trace.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, or_, select

from identity.store import Database, StoreUnavailable
from identity.store.schema import activity

__all__ = ["Activity", "ActivityLog", "Trace", "current_trace", "tracing"]

_LOG = logging.getLogger(__name__)
KEEP_PER_USER = 1_000
KEEP_DAYS = 30
FLUSH_SECONDS = 0.2
MAX_WAITING = 10_000


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
    """Per-user history in the database, newest first; thread-safe."""

    def __init__(self, database: Database, clock: Callable[[], float] = time.time) -> None:
        self.database, self.clock = database, clock
        self._lock = threading.Lock()
        self._waiting: list[Activity] = []
        self._timer: threading.Timer | None = None

    def add(self, entry: Activity) -> None:
        with self._lock:
            self._waiting.append(entry)
            del self._waiting[:-MAX_WAITING]  # the database has been away long enough: keep the newest
            if self._timer is None:
                self._timer = threading.Timer(FLUSH_SECONDS, self._flush_quietly)
                self._timer.daemon = True
                self._timer.start()

    def flush(self) -> None:
        """Write every waiting entry now (one transaction) and trim the users it touched."""
        with self._lock:
            batch, self._waiting, self._timer = self._waiting, [], None
        if not batch:
            return
        try:
            with self.database.write() as db:
                db.execute(insert(activity), [_row(entry) for entry in batch])
                for user in {entry.user for entry in batch}:
                    _trim(db, user, self.clock())
        except StoreUnavailable:
            with self._lock:  # written next time (bounded): an outage does not lose the trail it can keep
                self._waiting[:0] = batch
                del self._waiting[:-MAX_WAITING]
            raise

    def _flush_quietly(self) -> None:
        try:
            self.flush()
        except StoreUnavailable as error:
            _LOG.warning("The activity log could not be written yet: %s", error)

    def of(self, user: tuple[str, str]) -> list[Activity]:
        """The user's entries, newest first."""
        self.flush()
        with self.database.read() as db:
            rows = db.execute(select(activity).where(_mine(user)).order_by(activity.c.id.desc())
                              .limit(KEEP_PER_USER)).all()
        return [Activity(row.at, user, row.action, row.provider, row.outcome, row.latency_ms, row.detail,
                         Trace(row.turn_id, row.tool_call_id, row.tool)) for row in rows]



def _mine(user: tuple[str, str]) -> Any:
    return and_(activity.c.issuer == user[0], activity.c.subject == user[1])


def _row(entry: Activity) -> dict[str, Any]:
    return {"issuer": entry.user[0], "subject": entry.user[1], "at": entry.at, "action": entry.action,
            "provider": entry.provider, "outcome": entry.outcome, "latency_ms": entry.latency_ms,
            "detail": entry.detail, "turn_id": entry.trace.turn_id, "tool_call_id": entry.trace.tool_call_id,
            "tool": entry.trace.tool}


def _trim(db: Connection, user: tuple[str, str], now: float) -> None:
    """At most KEEP_PER_USER entries and none older than KEEP_DAYS."""
    oldest_kept = (select(activity.c.id).where(_mine(user)).order_by(activity.c.id.desc())
                   .offset(KEEP_PER_USER - 1).limit(1).scalar_subquery())
    db.execute(delete(activity).where(_mine(user), or_(activity.c.id < oldest_kept,
                                                       activity.c.at < now - KEEP_DAYS * 86400)))

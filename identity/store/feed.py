"""The change feed: how one process tells the others that something they may hold in memory changed.

A change (sign-out, Disconnect, Clear, a consent settled) is a row in `changes`, written in the same transaction as
the change itself, so it is never announced without having happened. Each process follows the feed on a background
thread and hands other processes' changes to its handlers (the broker drops cached credentials); its own changes it
has applied already. On PostgreSQL the writer also sends NOTIFY, and the follower LISTENs, so it reads the feed the
moment something lands (and at least every second, in case a notification was lost while reconnecting); on SQLite
the follower reads the feed every POLL_SECONDS. Threads waiting for a change (a chat turn waiting for a consent)
are woken by both: at once for this process's own changes, on arrival for the others'.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, delete, func, select, text

from identity.store import schema
from identity.store.database import CONNECT_TIMEOUT_SECONDS, Database
from identity.store.errors import StoreUnavailable

__all__ = ["CHANNEL", "POLL_SECONDS", "Change", "ChangeFeed"]

_LOG = logging.getLogger(__name__)
CHANNEL = "aid_changes"
POLL_SECONDS = 0.25        # SQLite: another process's change is seen within this, plus one query
LISTEN_SAFETY_SECONDS = 1.0  # PostgreSQL: read the feed at least this often even without a notification
KEEP_SECONDS = 600.0       # a replica that was away longer starts from the present (its memory is gone anyway)
_RETRY_SECONDS = 2.0


@dataclass(frozen=True)
class Change:
    seq: int
    topic: str
    owner: tuple[str, str]
    detail: str


Handler = Callable[[Change], None]


class ChangeFeed:
    """One per process and database."""

    def __init__(self, database: Database, clock: Callable[[], float] = time.time) -> None:
        self.database, self.clock = database, clock
        self._changed = threading.Condition()
        self._generation = 0
        self._handlers: list[Handler] = []
        self._last_seq: int | None = None
        self._last_prune = 0.0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # -- writing -----------------------------------------------------------------------------------------------------
    def publish(self, connection: Connection, topic: str, owner: tuple[str, str], detail: str = "") -> None:
        """Record a change inside the caller's transaction (NOTIFY, too, is delivered only when it commits)."""
        connection.execute(schema.changes.insert().values(at=self.clock(), origin=self.database.origin, topic=topic,
                                                          issuer=owner[0], subject=owner[1], detail=detail))
        if self.database.dialect == "postgresql":
            connection.execute(text("SELECT pg_notify(:channel, '')"), {"channel": CHANNEL})

    def wake(self) -> None:
        """Wake this process's waiters now (after a change it made itself has committed)."""
        with self._changed:
            self._generation += 1
            self._changed.notify_all()

    # -- following ---------------------------------------------------------------------------------------------------
    def subscribe(self, handler: Handler) -> None:
        """Call `handler` (on the feed's thread) for every change another process makes."""
        self._handlers.append(handler)

    @property
    def generation(self) -> int:
        """Counts wake-ups: read it before reading what you wait for, then `wait(timeout, seen=…)`."""
        return self._generation

    def wait(self, timeout: float, seen: int | None = None) -> None:
        """Block until a change arrives after generation `seen` (default: now) or `timeout` passes; callers re-read
        what they wait for. Passing the generation read before that read means no wake-up in between is missed."""
        with self._changed:
            start = self._generation if seen is None else seen
            self._changed.wait_for(lambda: self._generation != start, timeout)

    @property
    def following(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        """Follow other processes' changes from now on (a daemon thread; idempotent)."""
        if self.following:
            return
        self._stopping.clear()
        self._last_seq = self._latest_seq()
        self._thread = threading.Thread(target=self._run, name="state-change-feed", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None

    def _latest_seq(self) -> int:
        with self.database.read() as connection:
            return int(connection.execute(select(func.coalesce(func.max(schema.changes.c.seq), 0))).scalar_one())

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self._listen() if self.database.dialect == "postgresql" else self._poll()
            except StoreUnavailable as exc:  # the database went away: keep trying, quietly bounded
                _LOG.warning("The change feed lost its database (%s); retrying in %.0f s.", exc, _RETRY_SECONDS)
                self._stopping.wait(_RETRY_SECONDS)
            except Exception:  # whatever else: a feed that stops would leave this replica deaf to sign-outs
                _LOG.exception("The change feed failed; retrying in %.0f s.", _RETRY_SECONDS)
                self._stopping.wait(_RETRY_SECONDS)

    def _poll(self) -> None:
        while not self._stopping.is_set():
            self.catch_up()
            self._stopping.wait(POLL_SECONDS)

    def _listen(self) -> None:
        import psycopg  # PostgreSQL only: the embedded default never loads the driver

        url = self.database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            with psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS) as connection:
                connection.execute(f"LISTEN {CHANNEL}")
                while not self._stopping.is_set():
                    self.catch_up()  # also what was missed while (re)connecting
                    for _ in connection.notifies(timeout=LISTEN_SAFETY_SECONDS, stop_after=1):
                        pass
        except psycopg.Error as exc:
            raise StoreUnavailable(f"The change feed lost PostgreSQL: {exc}") from None

    def catch_up(self) -> list[Change]:
        """Read the feed since last time, apply other processes' changes and wake the waiters."""
        with self.database.read() as connection:
            rows = connection.execute(
                select(schema.changes.c.seq, schema.changes.c.origin, schema.changes.c.topic, schema.changes.c.issuer,
                       schema.changes.c.subject, schema.changes.c.detail)
                .where(schema.changes.c.seq > (self._last_seq or 0)).order_by(schema.changes.c.seq)).all()
        foreign = [Change(seq, topic, (issuer, subject), detail)
                   for seq, origin, topic, issuer, subject, detail in rows if origin != self.database.origin]
        if rows:
            self._last_seq = rows[-1][0]
        for change in foreign:
            self._apply(change)
        if foreign:
            self.wake()
        self._prune()
        return foreign

    def _apply(self, change: Change) -> None:
        for handler in self._handlers:
            try:
                handler(change)
            except Exception:  # one handler's bug must not stop the feed for the others
                _LOG.exception("A change handler failed on %s", change.topic)

    def _prune(self) -> None:
        now = self.clock()
        if now - self._last_prune < KEEP_SECONDS / 10:
            return
        self._last_prune = now
        with self.database.write() as connection:
            connection.execute(delete(schema.changes).where(schema.changes.c.at < now - KEEP_SECONDS))

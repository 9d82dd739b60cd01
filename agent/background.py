"""Chat turns that outlive the browser tab that asked: each runs on a worker thread owned by this process.

A reload or a closed tab stops that browser session's script, never the turn. The turn records every message and
card into the user's chat as it goes (`agent.memory.recorded`), so a later page, on this replica or another, reads
its progress from the database (`agent.progress`); the page that asked follows its events live.

While a turn runs, its process marks the chat as in use every TOUCH_SECONDS: a turn whose process went away (stopped,
crashed) is seen as over by every replica within ALIVE_SECONDS, though it could not record its end.

One turn per chat at a time: a new message in a chat stops the turn running there at its next event (a waiting
consent reports every few seconds), in this process directly and on another replica through the change feed, and
the new turn starts only once the old one recorded its end (or its process is gone). A turn is bounded by the
loop's own bounds (rounds, the consent's lifetime, the model's timeouts); a user runs at most MAX_TURNS_PER_USER at
once in one process. A sign-out stops the user's turns (in this process by the sign-out hook, on other replicas
when the sign-out reaches them through the feed).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

from agent.errors import AgentError, LimitReached, TurnBusy
from agent.events import Event, TurnDone, TurnFailed, card_record
from agent.memory import ChatStore, Owner
from agent.progress import ALIVE_SECONDS, TOUCH_SECONDS
from identity.broker.broker import SIGNED_OUT
from identity.errors import IdentityError
from identity.store import ChangeFeed
from identity.store.feed import Change

__all__ = ["FOLLOW_SECONDS", "MAX_TURNS_PER_USER", "NEWER_MESSAGE", "SIGNED_OUT_STOP", "STOP_TOPIC",
           "STOP_WAIT_SECONDS", "TURN_BROKEN", "TURN_STOPPED", "BackgroundTurn", "BackgroundTurns"]

_LOG = logging.getLogger(__name__)

MAX_TURNS_PER_USER = 3
STOP_WAIT_SECONDS = 8.0     # a stopped turn ends at its next event; a waiting consent reports every 5 s
# Waiting for another replica's turn: long enough, too, for one whose process went away to be seen as over.
ELSEWHERE_WAIT_SECONDS = max(STOP_WAIT_SECONDS, ALIVE_SECONDS + 1.0)
FOLLOW_SECONDS = 1.0        # a follower hears at least this often, so its page can move a countdown (and be stopped)
_ELSEWHERE_POLL_SECONDS = 0.25
STOP_TOPIC = "turn-stop"    # on the change feed: (owner, chat id) asks the replica running that chat's turn to stop
TURN_STOPPED, TURN_BROKEN = "TurnStopped", "TurnBroken"  # the codes of the failure cards a worker itself records
NEWER_MESSAGE = "A newer message in this chat stopped this turn."
SIGNED_OUT_STOP = "You signed out, so this turn stopped."
SHUT_DOWN = "The app stopped while this turn was running."
UNEXPECTED = "This turn failed unexpectedly; the server log says why."
BUSY = ("Friday is still on the last message of this chat and did not stop in time (it may be running on another "
        "server): try again in a moment, or start a New chat.")

Key = tuple[Owner, str]


class BackgroundTurn:
    """One turn on its worker thread, and its events so far for any number of followers."""

    def __init__(self, owner: Owner, chat_id: str, events: Iterator[Event], record: Callable[[TurnFailed], None],
                 forget: Callable[[BackgroundTurn], None]) -> None:
        self.owner, self.chat_id = owner, chat_id
        self._events, self._record, self._forget = events, record, forget
        self._seen: list[Event] = []
        self._changed = threading.Condition()
        self._stopping = threading.Event()
        self._reason = ""
        self.done = False
        self._thread = threading.Thread(target=self._run, name=f"chat-turn-{chat_id[:8]}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, reason: str) -> None:
        """Ask the turn to stop at its next event; it records `reason` as its end."""
        if not self._stopping.is_set():
            self._reason = reason
            self._stopping.set()

    def wait(self, timeout: float) -> bool:
        """Whether the turn has ended, waiting at most `timeout` seconds for it."""
        with self._changed:
            return self._changed.wait_for(lambda: self.done, timeout)

    def follow(self) -> Iterator[Event | None]:
        """Every event from the first, as it comes, until the end; None after FOLLOW_SECONDS without one."""
        index = 0
        while True:
            fresh, ended = self._after(index)
            index += len(fresh)
            yield from fresh
            if ended:
                return
            if not fresh:
                yield None

    def _after(self, index: int) -> tuple[list[Event], bool]:
        with self._changed:
            self._changed.wait_for(lambda: len(self._seen) > index or self.done, FOLLOW_SECONDS)
            return self._seen[index:], self.done

    def _add(self, event: Event) -> None:
        with self._changed:
            self._seen.append(event)
            self._changed.notify_all()

    def _run(self) -> None:
        try:
            end = self._relay()
            if end is not None:  # the chat says how the turn ended, so no page waits for it any longer
                self._record(end)
                self._add(end)
                self._add(TurnDone("", 0, ok=False))
        finally:
            self._forget(self)  # before `done`: whoever waited for the end may start the chat's next turn at once
            with self._changed:
                self.done = True
                self._changed.notify_all()

    def _relay(self) -> TurnFailed | None:
        """Pass the turn's events on until its end; the failure to record when it did not end by itself."""
        try:
            for event in self._events:
                self._add(event)
                if isinstance(event, TurnDone):
                    return None
                if self._stopping.is_set():
                    return TurnFailed(TURN_STOPPED, self._reason)
            return None
        except (AgentError, IdentityError) as error:  # e.g. the chat was deleted meanwhile, the database went away
            return TurnFailed(TURN_BROKEN, str(error))  # its code and message, as the page showed them before
        except Exception:  # a bug must not end the thread silently: the log has it, the chat says so
            _LOG.exception("A chat turn failed")
            return TurnFailed(TURN_BROKEN, UNEXPECTED)
        finally:
            _close(self._events)


def _close(events: Iterator[Event]) -> None:
    """End the turn's generator (GeneratorExit inside the loop: its waits end, nothing more is called)."""
    close = getattr(events, "close", None)
    try:
        if close is not None:
            close()
    except Exception:
        _LOG.exception("A chat turn failed while closing")


class BackgroundTurns:
    """This process's running chat turns, at most one per (owner, chat)."""

    def __init__(self, chats: ChatStore, feed: ChangeFeed | None = None, per_user: int = MAX_TURNS_PER_USER) -> None:
        self.chats, self.feed, self.per_user = chats, feed, per_user
        self._turns: dict[Key, BackgroundTurn] = {}
        self._lock = threading.Lock()
        self._subscribed = False
        self._closing = threading.Event()
        self._marker: threading.Thread | None = None

    def running(self, owner: Owner, chat_id: str) -> BackgroundTurn | None:
        with self._lock:
            return self._turns.get((owner, chat_id))

    def start(self, owner: Owner, chat_id: str, events: Iterator[Event],
              recorded_open: Callable[[], bool] = lambda: False) -> BackgroundTurn:
        """Run `events` (a turn that records itself in the chat) on a worker. A turn running in this chat is stopped
        first: here, or, while `recorded_open()` says the chat's last turn is going on elsewhere, on the replica
        running it. TurnBusy when it does not end within STOP_WAIT_SECONDS; LimitReached beyond the user's cap."""
        self._stop_here(owner, chat_id)
        self._stop_elsewhere(owner, chat_id, recorded_open)
        turn = self._register(owner, chat_id, events)
        turn.start()
        return turn

    def stop_owner(self, owner: Owner, reason: str) -> None:
        """Stop every turn of this user here (not waiting for them to end)."""
        with self._lock:
            turns = [turn for key, turn in self._turns.items() if key[0] == owner]
        for turn in turns:
            turn.stop(reason)

    def close(self) -> None:
        """Stop every turn, waiting (bounded) for them to record their end before the database closes."""
        turns = self._running()
        for turn in turns:
            turn.stop(SHUT_DOWN)
        deadline = time.monotonic() + STOP_WAIT_SECONDS
        for turn in turns:
            turn.wait(max(0.0, deadline - time.monotonic()))
        self._closing.set()
        if self._marker is not None:
            self._marker.join(STOP_WAIT_SECONDS)

    def _running(self) -> list[BackgroundTurn]:
        with self._lock:
            return list(self._turns.values())

    def _stop_here(self, owner: Owner, chat_id: str) -> None:
        old = self.running(owner, chat_id)
        if old is not None:
            old.stop(NEWER_MESSAGE)
            if not old.wait(STOP_WAIT_SECONDS):
                raise TurnBusy(BUSY)

    def _stop_elsewhere(self, owner: Owner, chat_id: str, recorded_open: Callable[[], bool]) -> None:
        if not recorded_open():
            return
        self._publish_stop(owner, chat_id)
        deadline = time.monotonic() + ELSEWHERE_WAIT_SECONDS
        while recorded_open():  # the other replica's turn records its end once it stopped
            if time.monotonic() >= deadline:
                raise TurnBusy(BUSY)
            time.sleep(_ELSEWHERE_POLL_SECONDS)  # a bounded poll of the chat, as a page on another replica does

    def _publish_stop(self, owner: Owner, chat_id: str) -> None:
        if self.feed is None:
            return
        try:
            with self.chats.database.write() as db:
                self.feed.publish(db, STOP_TOPIC, owner, chat_id)
        except IdentityError as error:
            raise AgentError(str(error), "ChatStoreUnavailable") from None

    def _register(self, owner: Owner, chat_id: str, events: Iterator[Event]) -> BackgroundTurn:
        with self._lock:
            if (owner, chat_id) in self._turns:  # another tab started one meanwhile
                raise TurnBusy(BUSY)
            mine = sum(1 for key in self._turns if key[0] == owner)
            if mine >= self.per_user:
                raise LimitReached(f"You have {mine} answers in progress, the most one user may have at once: wait "
                                   "for one to finish (or send a new message in its chat, which stops it).")
            turn = BackgroundTurn(owner, chat_id, events, lambda end: self._record_end(owner, chat_id, end),
                                  self._forget)
            self._turns[(owner, chat_id)] = turn
            self._subscribe()
            self._start_marking()
        return turn

    def _start_marking(self) -> None:
        """One thread per process marks the running turns' chats (under the lock, once)."""
        if self._marker is None:
            self._marker = threading.Thread(target=self._mark, name="chat-turns-alive", daemon=True)
            self._marker.start()

    def _mark(self) -> None:
        """Every TOUCH_SECONDS, mark each running turn's chat as in use: what other replicas read as "alive"."""
        while not self._closing.wait(TOUCH_SECONDS):
            for turn in self._running():
                try:
                    self.chats.touch(turn.owner, turn.chat_id)
                except AgentError as error:  # the database is away: the turns themselves will say so
                    _LOG.warning("A running chat turn could not be marked: %s", error)

    def _forget(self, turn: BackgroundTurn) -> None:
        with self._lock:
            if self._turns.get((turn.owner, turn.chat_id)) is turn:
                del self._turns[(turn.owner, turn.chat_id)]

    def _record_end(self, owner: Owner, chat_id: str, end: TurnFailed) -> None:
        record = card_record(end)
        try:
            if record is not None:
                self.chats.append_card(owner, chat_id, record)
        except (AgentError, IdentityError) as error:  # the chat is gone, or the database: nowhere to keep it
            _LOG.warning("A chat turn's end could not be recorded: %s", error)

    def _subscribe(self) -> None:
        """Hear other replicas' stop requests and sign-outs, once this process runs a turn (under the lock)."""
        if self.feed is not None and not self._subscribed:
            self._subscribed = True
            self.feed.subscribe(self._apply)

    def _apply(self, change: Change) -> None:
        if change.topic == STOP_TOPIC:
            turn = self.running(change.owner, change.detail)
            if turn is not None:
                turn.stop(NEWER_MESSAGE)
        elif change.topic == SIGNED_OUT:
            self.stop_owner(change.owner, SIGNED_OUT_STOP)

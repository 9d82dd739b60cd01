"""Chats per user in the app's database (the state store: SQLite by default, PostgreSQL for replicas).

The owner is the verified (issuer, subject) of the sign-in, and every statement filters by it: a chat id on
its own opens nothing, so one user can never read or change another's chat. A chat holds its role messages
(what the model sees again, trimmed by `agent.history`) and the UI's cards (tool calls, consents, errors), in
the order they happened, so a reload (on any replica) shows the conversation as it was.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from agent.errors import AgentError, ChatNotFound, LimitReached, SessionTaken
from agent.events import Event, MessageAdded, card_record
from agent.history import HISTORY_CHARS, HISTORY_TURNS, trim_history
from identity.errors import IdentityError
from identity.store import Database, database_url, open_database
from identity.store.database import insert_new
from identity.store.schema import chat_entries, chats

__all__ = ["DEFAULT_TITLE", "MAX_CHATS_PER_USER", "MAX_ENTRIES_PER_CHAT", "ChatStore", "ChatSummary", "Entry",
           "Owner", "clean_title", "recorded"]

DEFAULT_TITLE = "New chat"
# Per-user bounds, so one user (or a script on their websocket) cannot grow the disk without end: with prompts
# bounded by agent.loop.MAX_PROMPT_CHARS and tool results by agent.loop.RESULT_CHARS, a user holds at most
# MAX_CHATS_PER_USER times MAX_ENTRIES_PER_CHAT bounded entries.
MAX_CHATS_PER_USER = 100
MAX_ENTRIES_PER_CHAT = 1_000
TITLE_CHARS = 60
MESSAGE, CARD = "message", "card"
_ROLES = frozenset({"user", "assistant", "tool"})

Owner = tuple[str, str]


@dataclass(frozen=True)
class ChatSummary:
    id: str
    title: str
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class Entry:
    """One thing in a chat: a role message (`kind` "message") or a UI card record (`kind` "card")."""

    seq: int
    kind: str
    body: dict[str, Any]


def clean_title(title: str) -> str:
    """One line, at most TITLE_CHARS characters; the default when nothing is left."""
    text = " ".join(str(title).split())
    return (text[: TITLE_CHARS - 1] + "…" if len(text) > TITLE_CHARS else text) or DEFAULT_TITLE


def _mine(table: Any, owner: Owner) -> Any:
    return and_(table.c.issuer == owner[0], table.c.subject == owner[1])


_SUMMARY = (chats.c.id, chats.c.title, chats.c.created_at, chats.c.updated_at)


class ChatStore:
    """Thread- and process-safe: Streamlit sessions of every user, on every replica, share it."""

    def __init__(self, database: Database, clock: Callable[[], float] = time.time) -> None:
        self.database, self.clock = database, clock

    @classmethod
    def in_directory(cls, directory: Path) -> ChatStore:
        """The store in the embedded database of a state directory (tests and tools; the app shares its own)."""
        try:
            return cls(open_database(database_url(None, directory), directory))
        except IdentityError as error:
            raise AgentError(f"The chat store cannot be opened: {error}", "ChatStoreUnavailable") from None

    def close(self) -> None:
        self.database.close()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        with self._unavailable(), self.database.write() as db:
            yield db

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._unavailable(), self.database.read() as db:
            yield db

    @staticmethod
    @contextmanager
    def _unavailable() -> Iterator[None]:
        """The database went away: the chat page says so (AgentError); the transaction rolled back."""
        try:
            yield
        except IdentityError as error:
            raise AgentError(str(error), "ChatStoreUnavailable") from None

    # -- chats ------------------------------------------------------------------------------------------
    def list_chats(self, owner: Owner) -> list[ChatSummary]:
        """The owner's chats, most recently used first."""
        with self._read() as db:
            rows = db.execute(select(*_SUMMARY).where(_mine(chats, owner))
                              .order_by(chats.c.updated_at.desc(), chats.c.created_at.desc())).all()
        return [ChatSummary(*row) for row in rows]

    def create_chat(self, owner: Owner, title: str = DEFAULT_TITLE) -> ChatSummary:
        """A new chat; LimitReached when the owner already has MAX_CHATS_PER_USER."""
        now = self.clock()
        chat = ChatSummary(secrets.token_urlsafe(12), clean_title(title), now, now)
        with self._write() as db:  # counted and added in one transaction: two tabs cannot both slip past the cap
            count = db.execute(select(func.count()).select_from(chats).where(_mine(chats, owner))).scalar_one()
            if count >= MAX_CHATS_PER_USER:
                raise LimitReached(f"You have {count} chats, the most one user may keep: delete one to start "
                                   "another.")
            db.execute(insert(chats).values(id=chat.id, issuer=owner[0], subject=owner[1], title=chat.title,
                                            created_at=now, updated_at=now))
        return chat

    def open_session(self, owner: Owner, chat_id: str) -> ChatSummary:
        """The owner's chat with this id (a session id of the agent service), created when no chat has it yet;
        SessionTaken when it is another user's. Decided by the database: of two requests naming one new id, at
        once, on any replicas, one creates it and the other finds it."""
        now = self.clock()
        with self._write() as db:
            count = db.execute(select(func.count()).select_from(chats).where(_mine(chats, owner))).scalar_one()
            row = db.execute(select(chats.c.issuer, chats.c.subject).where(chats.c.id == chat_id)).first()
            if row is None and count >= MAX_CHATS_PER_USER:
                raise LimitReached(f"You have {count} chats, the most one user may keep: delete one to start "
                                   "another.")
            if row is None:
                insert_new(db, chats, {"id": chat_id, "issuer": owner[0], "subject": owner[1], "title": DEFAULT_TITLE,
                                       "created_at": now, "updated_at": now})
                row = db.execute(select(chats.c.issuer, chats.c.subject).where(chats.c.id == chat_id)).one()
            if (row[0], row[1]) != owner:
                raise SessionTaken("This session_id belongs to another user: use one of your own (or none).")
            return _chat(db, owner, chat_id)

    def get_chat(self, owner: Owner, chat_id: str) -> ChatSummary:
        with self._read() as db:
            return _chat(db, owner, chat_id)

    def rename_chat(self, owner: Owner, chat_id: str, title: str) -> ChatSummary:
        with self._write() as db:
            _chat(db, owner, chat_id)
            db.execute(update(chats).values(title=clean_title(title)).where(chats.c.id == chat_id, _mine(chats, owner)))
            return _chat(db, owner, chat_id)

    def title_if_untitled(self, owner: Owner, chat_id: str, text: str) -> ChatSummary:
        """Name a chat after its first prompt, unless the user named it already."""
        chat = self.get_chat(owner, chat_id)
        return self.rename_chat(owner, chat_id, text) if chat.title == DEFAULT_TITLE else chat

    def delete_chat(self, owner: Owner, chat_id: str) -> None:
        with self._write() as db:
            _chat(db, owner, chat_id)
            db.execute(delete(chat_entries).where(chat_entries.c.chat_id == chat_id, _mine(chat_entries, owner)))
            db.execute(delete(chats).where(chats.c.id == chat_id, _mine(chats, owner)))

    # -- entries ------------------------------------------------------------------------------------------
    def _append(self, owner: Owner, chat_id: str, kind: str, body: dict[str, Any]) -> None:
        now = self.clock()
        with self._write() as db:
            _chat(db, owner, chat_id)
            db.execute(insert(chat_entries).values(chat_id=chat_id, issuer=owner[0], subject=owner[1], kind=kind,
                                                   body=json.dumps(body), created_at=now))
            db.execute(update(chats).values(updated_at=now).where(chats.c.id == chat_id, _mine(chats, owner)))

    def touch(self, owner: Owner, chat_id: str) -> None:
        """Mark the chat as in use now: the process running its turn does so, so other replicas can tell that turn
        is alive (`agent.progress`); no chat, nothing to mark."""
        with self._write() as db:
            db.execute(update(chats).values(updated_at=self.clock()).where(chats.c.id == chat_id, _mine(chats, owner)))

    def check_room(self, owner: Owner, chat_id: str) -> None:
        """LimitReached when the chat already holds MAX_ENTRIES_PER_CHAT entries (checked before a turn starts)."""
        with self._read() as db:
            count = db.execute(select(func.count()).select_from(chat_entries).where(
                chat_entries.c.chat_id == chat_id, _mine(chat_entries, owner))).scalar_one()
        if count >= MAX_ENTRIES_PER_CHAT:
            raise LimitReached("This chat is full: start a new chat (or delete this one) to go on.")

    def append_message(self, owner: Owner, chat_id: str, message: dict[str, Any]) -> None:
        """A role message (user, assistant, tool) as the model saw or wrote it."""
        if message.get("role") not in _ROLES:
            raise ValueError(f"not a chat message role: {message.get('role')!r}")
        self._append(owner, chat_id, MESSAGE, message)

    def append_card(self, owner: Owner, chat_id: str, record: dict[str, Any]) -> None:
        """A UI card (from `agent.events.card_record`)."""
        self._append(owner, chat_id, CARD, record)

    def entries(self, owner: Owner, chat_id: str) -> list[Entry]:
        """Everything in the chat, in order."""
        with self._read() as db:
            _chat(db, owner, chat_id)
            rows = db.execute(select(chat_entries.c.seq, chat_entries.c.kind, chat_entries.c.body).where(
                chat_entries.c.chat_id == chat_id, _mine(chat_entries, owner)).order_by(chat_entries.c.seq)).all()
        return [Entry(seq, kind, json.loads(body)) for seq, kind, body in rows]

    def messages(self, owner: Owner, chat_id: str) -> list[dict[str, Any]]:
        """The chat's role messages, untrimmed."""
        return [entry.body for entry in self.entries(owner, chat_id) if entry.kind == MESSAGE]

    def history(self, owner: Owner, chat_id: str, max_turns: int = HISTORY_TURNS,
                max_chars: int = HISTORY_CHARS) -> list[dict[str, Any]]:
        """What the model sees again: the last whole turns as role messages, within the budget."""
        return trim_history(self.messages(owner, chat_id), max_turns, max_chars)


def _chat(db: Connection, owner: Owner, chat_id: str) -> ChatSummary:
    row = db.execute(select(*_SUMMARY).where(chats.c.id == chat_id, _mine(chats, owner))).first()
    if row is None:
        raise ChatNotFound("This chat does not exist (it may have been deleted).")
    return ChatSummary(*row)


def recorded(store: ChatStore, owner: Owner, chat_id: str, events: Iterable[Event]) -> Iterator[Event]:
    """Pass a turn's events on, keeping each message and card first: what was shown survives a reload."""
    for event in events:
        if isinstance(event, MessageAdded):
            store.append_message(owner, chat_id, event.message)
        elif (record := card_record(event)) is not None:
            store.append_card(owner, chat_id, record)
        yield event

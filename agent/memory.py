"""Chats per user in SQLite (`.appstate/chats.sqlite3`, directory 0700, file 0600).

The owner is the verified (issuer, subject) of the sign-in, and every statement filters by it: a chat id on
its own opens nothing, so one user can never read or change another's chat. A chat holds its role messages
(what the model sees again, trimmed by `agent.history`) and the UI's cards (tool calls, consents, errors), in
the order they happened, so a reload shows the conversation as it was.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.errors import AgentError, ChatNotFound, LimitReached
from agent.events import Event, MessageAdded, card_record
from agent.history import HISTORY_CHARS, HISTORY_TURNS, trim_history

__all__ = ["CHATS_FILE", "DEFAULT_TITLE", "MAX_CHATS_PER_USER", "MAX_ENTRIES_PER_CHAT", "ChatStore",
           "ChatSummary", "Entry", "Owner", "clean_title", "recorded"]

CHATS_FILE = "chats.sqlite3"
DEFAULT_TITLE = "New chat"
# Per-user bounds, so one user (or a script on their websocket) cannot grow the disk without end: with prompts
# bounded by agent.loop.MAX_PROMPT_CHARS and tool results by agent.loop.RESULT_CHARS, a user holds at most
# MAX_CHATS_PER_USER times MAX_ENTRIES_PER_CHAT bounded entries.
MAX_CHATS_PER_USER = 100
MAX_ENTRIES_PER_CHAT = 1_000
TITLE_CHARS = 60
MESSAGE, CARD = "message", "card"
_ROLES = frozenset({"user", "assistant", "tool"})
_SCHEMA = """
CREATE TABLE IF NOT EXISTS chats (id TEXT PRIMARY KEY, issuer TEXT NOT NULL, subject TEXT NOT NULL,
                                  title TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS chats_by_owner ON chats (issuer, subject, updated_at);
CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY AUTOINCREMENT, chat_id TEXT NOT NULL,
                                    issuer TEXT NOT NULL, subject TEXT NOT NULL, kind TEXT NOT NULL,
                                    body TEXT NOT NULL, created_at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS entries_by_chat ON entries (chat_id, issuer, subject, seq);
"""

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


def _private_file(path: Path) -> None:
    """Create the directory (0700) and the database file (0600) before SQLite opens it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    os.chmod(path, 0o600)


def clean_title(title: str) -> str:
    """One line, at most TITLE_CHARS characters; the default when nothing is left."""
    text = " ".join(str(title).split())
    return (text[: TITLE_CHARS - 1] + "…" if len(text) > TITLE_CHARS else text) or DEFAULT_TITLE


class ChatStore:
    """Thread-safe (one connection behind a lock): Streamlit sessions of every user share it."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        try:
            _private_file(path)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise AgentError(f"The chat store {path} cannot be opened ({exc.__class__.__name__}: {exc}): make its "
                             "directory writable, or move the file away.", "ChatStoreUnavailable") from None
        self.path, self.clock = path, clock
        self._lock = threading.Lock()

    @classmethod
    def in_directory(cls, directory: Path) -> ChatStore:
        """The store in the app's state directory."""
        return cls(directory / CHATS_FILE)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _run(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- chats ------------------------------------------------------------------------------------------
    def list_chats(self, owner: Owner) -> list[ChatSummary]:
        """The owner's chats, most recently used first."""
        rows = self._run("SELECT id, title, created_at, updated_at FROM chats WHERE issuer = ? AND subject = ? "
                         "ORDER BY updated_at DESC, created_at DESC", owner)
        return [ChatSummary(*row) for row in rows]

    def create_chat(self, owner: Owner, title: str = DEFAULT_TITLE) -> ChatSummary:
        """A new chat; LimitReached when the owner already has MAX_CHATS_PER_USER."""
        [(count,)] = self._run("SELECT COUNT(*) FROM chats WHERE issuer = ? AND subject = ?", owner)
        if count >= MAX_CHATS_PER_USER:
            raise LimitReached(f"You have {count} chats, the most one user may keep: delete one to start another.")
        now = self.clock()
        chat = ChatSummary(secrets.token_urlsafe(12), clean_title(title), now, now)
        self._run("INSERT INTO chats VALUES (?, ?, ?, ?, ?, ?)", (chat.id, *owner, chat.title, now, now))
        return chat

    def get_chat(self, owner: Owner, chat_id: str) -> ChatSummary:
        rows = self._run("SELECT id, title, created_at, updated_at FROM chats WHERE id = ? AND issuer = ? "
                         "AND subject = ?", (chat_id, *owner))
        if not rows:
            raise ChatNotFound("This chat does not exist (it may have been deleted).")
        return ChatSummary(*rows[0])

    def rename_chat(self, owner: Owner, chat_id: str, title: str) -> ChatSummary:
        self.get_chat(owner, chat_id)
        self._run("UPDATE chats SET title = ? WHERE id = ? AND issuer = ? AND subject = ?",
                  (clean_title(title), chat_id, *owner))
        return self.get_chat(owner, chat_id)

    def title_if_untitled(self, owner: Owner, chat_id: str, text: str) -> ChatSummary:
        """Name a chat after its first prompt, unless the user named it already."""
        chat = self.get_chat(owner, chat_id)
        return self.rename_chat(owner, chat_id, text) if chat.title == DEFAULT_TITLE else chat

    def delete_chat(self, owner: Owner, chat_id: str) -> None:
        self.get_chat(owner, chat_id)
        with self._lock:
            self._db.execute("DELETE FROM entries WHERE chat_id = ? AND issuer = ? AND subject = ?", (chat_id, *owner))
            self._db.execute("DELETE FROM chats WHERE id = ? AND issuer = ? AND subject = ?", (chat_id, *owner))

    # -- entries ------------------------------------------------------------------------------------------
    def _append(self, owner: Owner, chat_id: str, kind: str, body: dict[str, Any]) -> None:
        self.get_chat(owner, chat_id)
        now = self.clock()
        with self._lock:
            self._db.execute("INSERT INTO entries (chat_id, issuer, subject, kind, body, created_at) "
                             "VALUES (?, ?, ?, ?, ?, ?)", (chat_id, *owner, kind, json.dumps(body), now))
            self._db.execute("UPDATE chats SET updated_at = ? WHERE id = ? AND issuer = ? AND subject = ?",
                             (now, chat_id, *owner))

    def check_room(self, owner: Owner, chat_id: str) -> None:
        """LimitReached when the chat already holds MAX_ENTRIES_PER_CHAT entries (checked before a turn starts)."""
        [(count,)] = self._run("SELECT COUNT(*) FROM entries WHERE chat_id = ? AND issuer = ? AND subject = ?",
                               (chat_id, *owner))
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
        self.get_chat(owner, chat_id)
        rows = self._run("SELECT seq, kind, body FROM entries WHERE chat_id = ? AND issuer = ? AND subject = ? "
                         "ORDER BY seq", (chat_id, *owner))
        return [Entry(seq, kind, json.loads(body)) for seq, kind, body in rows]

    def messages(self, owner: Owner, chat_id: str) -> list[dict[str, Any]]:
        """The chat's role messages, untrimmed."""
        return [entry.body for entry in self.entries(owner, chat_id) if entry.kind == MESSAGE]

    def history(self, owner: Owner, chat_id: str, max_turns: int = HISTORY_TURNS,
                max_chars: int = HISTORY_CHARS) -> list[dict[str, Any]]:
        """What the model sees again: the last whole turns as role messages, within the budget."""
        return trim_history(self.messages(owner, chat_id), max_turns, max_chars)


def recorded(store: ChatStore, owner: Owner, chat_id: str, events: Iterable[Event]) -> Iterator[Event]:
    """Pass a turn's events on, keeping each message and card first: what was shown survives a reload."""
    for event in events:
        if isinstance(event, MessageAdded):
            store.append_message(owner, chat_id, event.message)
        elif (record := card_record(event)) is not None:
            store.append_card(owner, chat_id, record)
        yield event

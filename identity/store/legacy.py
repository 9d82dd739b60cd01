"""Importing what releases before the state store kept in two SQLite files of `.appstate/`, once.

`login_sessions.sqlite3` (login sessions: hashed ids and sealed users, copied as they are, so signed-in browsers
stay signed in) and `chats.sqlite3` (chats and their entries, in order). Short-lived sign-in tickets and attempts
are not worth carrying over. The import runs in one transaction with a marker in `meta`, so it happens exactly
once whichever replica starts first; the old files are then renamed `*.imported` (kept, not deleted: a backup).
"""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, update

from identity.store import schema
from identity.store.database import Database, insert_new

__all__ = ["LEGACY_FILES", "import_legacy_files"]

_LOG = logging.getLogger(__name__)
SESSIONS_FILE, CHATS_FILE = "login_sessions.sqlite3", "chats.sqlite3"
LEGACY_FILES = (SESSIONS_FILE, CHATS_FILE)
_MARKER = "legacy_imported"


def import_legacy_files(database: Database, directory: Path) -> int:
    """Rows imported (0 when there was nothing to import or another process did it)."""
    present = [directory / name for name in LEGACY_FILES if (directory / name).is_file()]
    if not present:
        return 0
    with database.write() as db:
        # The marker first: a replica starting at the same moment waits on it, then finds it taken and imports nothing.
        if not insert_new(db, schema.meta, {"name": _MARKER, "value": "importing"}):
            return 0
        count = _sessions(db, directory / SESSIONS_FILE) + _chats(db, directory / CHATS_FILE)
        db.execute(update(schema.meta).where(schema.meta.c.name == _MARKER).values(value=str(count)))
    for path in present:
        path.rename(path.with_name(path.name + ".imported"))
    _LOG.info("Imported %d rows from the earlier state files in %s.", count, directory)
    return count


def _rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    if not path.is_file():
        return []
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as old:
        try:
            return old.execute(sql).fetchall()
        except sqlite3.OperationalError:  # a file from an even older release without this table
            return []


def _sessions(db: Connection, path: Path) -> int:
    rows = _rows(path, "SELECT id_hash, sealed, expires_at, created_at FROM sessions")
    if rows:
        db.execute(insert(schema.login_sessions), [
            {"id_hash": h, "sealed": bytes(sealed), "expires_at": expires, "created_at": created}
            for h, sealed, expires, created in rows])
    return len(rows)


def _chats(db: Connection, path: Path) -> int:
    chats = _rows(path, "SELECT id, issuer, subject, title, created_at, updated_at FROM chats")
    entries = _rows(path, "SELECT chat_id, issuer, subject, kind, body, created_at FROM entries ORDER BY seq")
    if chats:
        db.execute(insert(schema.chats), [dict(zip(("id", "issuer", "subject", "title", "created_at", "updated_at"),
                                                   row, strict=True)) for row in chats])
    if entries:
        db.execute(insert(schema.chat_entries), [
            dict(zip(("chat_id", "issuer", "subject", "kind", "body", "created_at"), row, strict=True))
            for row in entries])
    return len(chats) + len(entries)

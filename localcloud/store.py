"""localcloud's state: one SQLite file in the data directory, so nothing is lost on restart.

Resources of every service live in one table keyed by (kind, account, name) with a JSON document;
access keys and used signature nonces have their own tables. Files are created 0600, the directory 0700.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["AccessKey", "Store", "open_store"]

DB_NAME = "localcloud.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS access_keys (
    id TEXT PRIMARY KEY, secret TEXT NOT NULL, account_id TEXT NOT NULL, kind TEXT NOT NULL,
    security_token TEXT, expires_at REAL, principal TEXT NOT NULL DEFAULT '{}');
CREATE TABLE IF NOT EXISTS nonces (nonce TEXT PRIMARY KEY, seen_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS resources (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, account TEXT NOT NULL, name TEXT NOT NULL,
    data TEXT NOT NULL, UNIQUE (kind, account, name));
"""
# A nonce only has to be remembered as long as a request carrying it could still be accepted.
NONCE_TTL_SECONDS = 30 * 60
_ALNUM = string.ascii_letters + string.digits


def random_token(length: int, alphabet: str = _ALNUM) -> str:
    """A cryptographically random string."""
    return "".join(secrets.choice(alphabet) for _ in range(length))


@dataclass(frozen=True)
class AccessKey:
    """A key pair localcloud issued: the account's root key, or temporary STS credentials."""

    id: str
    secret: str
    account_id: str
    kind: str  # "root" or "sts"
    security_token: str | None = None
    expires_at: float | None = None
    principal: dict[str, Any] = field(default_factory=dict)

    def is_expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at


class Store:
    """Thread-safe access to the SQLite file; every method is one transaction."""

    def __init__(self, path: Path, clock: Callable[[], float]) -> None:
        self.path = path
        self.clock = clock
        self._lock = threading.RLock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        # Every signed request records its nonce: in the default rollback journal each of those commits
        # waited for several fsyncs. WAL with NORMAL syncs at checkpoints and still survives a crash of
        # the process (only a power cut could lose the last writes, which an emulator can afford).
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        # A deleted resource (an API key provider, a vaulted token) must not linger in the file: freed space is
        # zeroed, and `_scrub` empties the write-ahead log, whose older frames still hold what was deleted.
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _run(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- meta: account id, control token -------------------------------------------------------
    def meta(self, key: str) -> str | None:
        rows = self._run("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self._run("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    def set_meta_once(self, key: str, value: str) -> bool:
        """Set a meta value unless one exists; False if another writer got there first."""
        with self._lock:
            cursor = self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, value))
            return cursor.rowcount == 1

    def locked(self) -> threading.RLock:
        """Hold this to make a read-check-write sequence atomic against other handlers."""
        return self._lock

    # -- access keys ----------------------------------------------------------------------------
    def add_access_key(self, key: AccessKey) -> None:
        self._run(
            "INSERT INTO access_keys (id, secret, account_id, kind, security_token, expires_at, principal) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (key.id, key.secret, key.account_id, key.kind, key.security_token, key.expires_at,
             json.dumps(key.principal)),
        )

    def access_key(self, key_id: str) -> AccessKey | None:
        rows = self._run("SELECT id, secret, account_id, kind, security_token, expires_at, principal "
                         "FROM access_keys WHERE id = ?", (key_id,))
        if not rows:
            return None
        key_id, secret, account_id, kind, security_token, expires_at, principal = rows[0]
        return AccessKey(key_id, secret, account_id, kind, security_token, expires_at, json.loads(principal))

    def root_key(self, account_id: str) -> AccessKey | None:
        rows = self._run("SELECT id FROM access_keys WHERE account_id = ? AND kind = 'root' ORDER BY rowid",
                         (account_id,))
        return self.access_key(rows[0][0]) if rows else None

    # -- nonces ---------------------------------------------------------------------------------
    def use_nonce(self, nonce: str, now: float) -> bool:
        """Record a signature nonce; False when it was already used (a replay)."""
        with self._lock:
            self._db.execute("DELETE FROM nonces WHERE seen_at < ?", (now - NONCE_TTL_SECONDS,))
            try:
                self._db.execute("INSERT INTO nonces (nonce, seen_at) VALUES (?, ?)", (nonce, now))
            except sqlite3.IntegrityError:
                return False
            return True

    # -- resources ------------------------------------------------------------------------------
    def insert(self, kind: str, account: str, name: str, data: dict[str, Any]) -> bool:
        """Store a new resource; False if one of that kind and name exists."""
        try:
            self._run("INSERT INTO resources (kind, account, name, data) VALUES (?, ?, ?, ?)",
                      (kind, account, name, json.dumps(data)))
        except sqlite3.IntegrityError:
            return False
        return True

    def get(self, kind: str, account: str, name: str) -> dict[str, Any] | None:
        rows = self._run("SELECT data FROM resources WHERE kind = ? AND account = ? AND name = ?",
                         (kind, account, name))
        return json.loads(rows[0][0]) if rows else None

    def replace(self, kind: str, account: str, name: str, data: dict[str, Any]) -> bool:
        """Overwrite an existing resource's document; False if there is none."""
        with self._lock:
            cursor = self._db.execute("UPDATE resources SET data = ? WHERE kind = ? AND account = ? AND name = ?",
                                      (json.dumps(data), kind, account, name))
            return cursor.rowcount == 1

    def delete(self, kind: str, account: str, name: str) -> bool:
        with self._lock:
            cursor = self._db.execute("DELETE FROM resources WHERE kind = ? AND account = ? AND name = ?",
                                      (kind, account, name))
            if cursor.rowcount != 1:
                return False
            self._scrub()
            return True

    def _scrub(self) -> None:
        """Copy the log into the (zeroed) database and truncate it: deleted data survives in neither file.

        Best effort: a reader in another process (`python -m localcloud env`) can make it a partial checkpoint,
        and the next delete finishes the job."""
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def list(self, kind: str, account: str) -> list[dict[str, Any]]:
        """Every resource of a kind in creation order."""
        rows = self._run("SELECT data FROM resources WHERE kind = ? AND account = ? ORDER BY seq", (kind, account))
        return [json.loads(row[0]) for row in rows]

    def reset(self) -> None:
        """Forget every resource, nonce and temporary key; keep the accounts and their root keys."""
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute("DELETE FROM resources")
            self._db.execute("DELETE FROM nonces")
            self._db.execute("DELETE FROM access_keys WHERE kind != 'root'")
            self._db.execute("COMMIT")
            self._scrub()


def _private_file(path: Path) -> None:
    """Create (or tighten) a file readable by its owner only."""
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def open_store(data_dir: Path, clock: Callable[[], float]) -> Store:
    """Open the data directory's store, creating it, the root account and its key on first use."""
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(data_dir, 0o700)
    path = data_dir / DB_NAME
    _private_file(path)
    store = Store(path, clock)
    if store.meta("account_id") is None:
        _create_root_account(store)
    return store


def _create_root_account(store: Store) -> None:
    account_id = "1" + random_token(15, string.digits)
    key = AccessKey(id="LCAK" + random_token(20), secret=random_token(30), account_id=account_id, kind="root",
                    principal={"type": "root"})
    store.add_access_key(key)
    store.set_meta("control_token", random_token(32))
    # Written last: its presence marks a fully initialised store.
    store.set_meta("account_id", account_id)


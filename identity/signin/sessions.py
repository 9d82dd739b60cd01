"""Server-side login sessions in SQLite, keyed by a random cookie value the store never keeps.

A session id (the `aid_session` cookie) and a ticket (one use, 60 s, for the page to hand the browser its
cookie) are 256-bit random secrets; on disk there is only their SHA-256 and data sealed with a key derived
from them (`sealing`). Directory 0700, file 0600. Thread-safe: one connection behind a lock.

A ticket works only in the browser that started the sign-in (no login CSRF: a ticket link opened in another
browser signs nobody in). The Login page opens a sign-in *attempt* and has its browser load `/auth/begin`, which
binds the attempt to a random `aid_signin` cookie (first come, once); the ticket then carries that cookie's hash,
and `/auth/session` redeems it only with the same cookie.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

from identity.errors import SettingsError
from identity.signin.errors import SignInError
from identity.signin.sealing import new_secret, seal, secret_hash, unseal
from identity.users import SignedInUser

__all__ = ["APP_STATE_DIRNAME", "ATTEMPT_SECONDS", "EXPIRED_KEPT_SECONDS", "SESSIONS_FILE", "SESSION_COOKIE",
           "SIGNIN_COOKIE", "TICKET_SECONDS", "LoginSessionStore", "SessionLookup"]

SESSION_COOKIE = "aid_session"
SIGNIN_COOKIE = "aid_signin"  # the pre-sign-in cookie: which browser started a sign-in
ATTEMPT_SECONDS = 600.0       # how long a started sign-in may take (the sign-in server's forms included)
# Every Login page view opens an attempt: a flood of page views keeps at most this many (the oldest go first).
MAX_OPEN_ATTEMPTS = 10_000
APP_STATE_DIRNAME = ".appstate"
SESSIONS_FILE = "login_sessions.sqlite3"
TICKET_SECONDS = 60.0
# An expired session is kept this long, so a returning browser hears "your sign-in expired", not nothing.
EXPIRED_KEPT_SECONDS = 24 * 3600.0
_MAX_SECRET_CHARS = 128  # ours are 43; anything longer is not ours and is not hashed
_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (id_hash TEXT PRIMARY KEY, sealed BLOB NOT NULL, expires_at REAL NOT NULL,
                                     created_at REAL NOT NULL);
-- the unbound tickets of earlier releases (60 s each, nothing to keep): bound_tickets replaces them
DROP TABLE IF EXISTS tickets;
CREATE TABLE IF NOT EXISTS bound_tickets (ticket_hash TEXT PRIMARY KEY, sealed BLOB NOT NULL,
                                          browser_hash TEXT NOT NULL, expires_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS attempts (attempt_hash TEXT PRIMARY KEY, browser_hash TEXT, expires_at REAL NOT NULL);
"""


@dataclass(frozen=True)
class SessionLookup:
    """What a session id stands for: its user, or None; `expired` when it did stand for one whose token expired."""

    user: SignedInUser | None
    expired: bool = False


def _user_json(user: SignedInUser) -> bytes:
    return json.dumps({"issuer": user.issuer, "subject": user.subject, "name": user.name,
                       "expires_at": user.expires_at, "id_token": user.id_token, "claims": user.claims}).encode()


def _user_from_json(data: bytes) -> SignedInUser:
    fields: dict[str, Any] = json.loads(data)
    return SignedInUser(**fields)


def _is_secret(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value) <= _MAX_SECRET_CHARS


def _private_file(path: Path) -> None:
    """Create the directory (0700) and the database file (0600) before SQLite opens it."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    os.chmod(path, 0o600)


class LoginSessionStore:
    """Login sessions and their one-use cookie tickets."""

    def __init__(self, path: Path) -> None:
        try:
            _private_file(path)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise SettingsError(f"The login session store {path} cannot be opened ({exc.__class__.__name__}: "
                                f"{exc}): make its directory writable, or move it away.") from None
        self.path = path
        self._lock = threading.Lock()

    @classmethod
    def in_directory(cls, directory: Path) -> LoginSessionStore:
        """The store in the app's state directory."""
        return cls(directory / SESSIONS_FILE)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def create(self, user: SignedInUser, now: float) -> str:
        """A new session for a verified user; returns its id (the cookie value), which is stored only hashed."""
        session_id = new_secret()
        with self._lock:
            self._purge(now)
            self._db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)",
                             (secret_hash(session_id), seal(session_id, _user_json(user)), user.expires_at, now))
        return session_id

    def lookup(self, session_id: str | None, now: float) -> SessionLookup:
        """The session's user, None if unknown, or `expired=True` if its ID token expired."""
        if not _is_secret(session_id):
            return SessionLookup(None)
        with self._lock:
            row = self._db.execute("SELECT sealed FROM sessions WHERE id_hash = ?",
                                   (secret_hash(session_id),)).fetchone()
        data = unseal(session_id, row[0]) if row else None
        if data is None:
            return SessionLookup(None)
        user = _user_from_json(data)
        return SessionLookup(None, expired=True) if user.is_expired(now) else SessionLookup(user)

    def user(self, session_id: str | None, now: float) -> SignedInUser | None:
        """The session's user while their ID token is valid, else None."""
        return self.lookup(session_id, now).user

    def delete(self, session_id: str | None) -> None:
        """Forget a session (sign-out); unknown ids are fine."""
        if _is_secret(session_id):
            with self._lock:
                self._db.execute("DELETE FROM sessions WHERE id_hash = ?", (secret_hash(session_id),))

    def open_attempt(self, now: float) -> str:
        """A new sign-in attempt (its id goes to `/auth/begin`), not yet bound to any browser."""
        attempt = new_secret()
        with self._lock:
            self._purge(now)
            self._db.execute("INSERT INTO attempts VALUES (?, NULL, ?)", (secret_hash(attempt), now + ATTEMPT_SECONDS))
            self._db.execute("DELETE FROM attempts WHERE attempt_hash IN (SELECT attempt_hash FROM attempts ORDER BY "
                             "expires_at DESC LIMIT -1 OFFSET ?)", (MAX_OPEN_ATTEMPTS,))
        return attempt

    def bind_attempt(self, attempt: str | None, browser: str, now: float) -> bool:
        """Bind a live, still unbound attempt to the browser holding the `browser` cookie: once, first come."""
        if not (_is_secret(attempt) and _is_secret(browser)):
            return False
        with self._lock:
            bound = self._db.execute("UPDATE attempts SET browser_hash = ? WHERE attempt_hash = ? AND browser_hash "
                                     "IS NULL AND expires_at > ?", (secret_hash(browser), secret_hash(attempt), now))
        return bound.rowcount == 1

    def attempt_bound(self, attempt: str | None, now: float) -> bool:
        """Whether a live attempt is bound to a browser yet (its `/auth/begin` image has loaded)."""
        if not _is_secret(attempt):
            return False
        with self._lock:
            row = self._db.execute("SELECT browser_hash FROM attempts WHERE attempt_hash = ? AND expires_at > ?",
                                   (secret_hash(attempt), now)).fetchone()
        return row is not None and row[0] is not None

    def issue_ticket(self, session_id: str, attempt: str | None, now: float) -> str:
        """A one-use ticket, valid TICKET_SECONDS, that only the browser the attempt is bound to can redeem."""
        ticket = new_secret()
        with self._lock:
            self._purge(now)
            if not self._exists(session_id):
                raise SignInError("There is no such login session to hand to the browser: sign in again.")
            browser_hash = self._take_attempt(attempt, now)
            self._db.execute("INSERT INTO bound_tickets VALUES (?, ?, ?, ?)",
                             (secret_hash(ticket), seal(ticket, session_id.encode()), browser_hash,
                              now + TICKET_SECONDS))
        return ticket

    def _take_attempt(self, attempt: str | None, now: float) -> str:
        """The browser hash of a bound, live attempt, which is used up; SignInError otherwise."""
        row = None if not _is_secret(attempt) else self._db.execute(
            "DELETE FROM attempts WHERE attempt_hash = ? RETURNING browser_hash, expires_at",
            (secret_hash(attempt),)).fetchone()
        if row is None or row[0] is None or row[1] <= now:
            raise SignInError("This browser did not start this sign-in (or it took too long): reload the Login "
                              "page and sign in again.")
        return str(row[0])

    def redeem_ticket(self, ticket: str | None, browser: str | None, now: float) -> str | None:
        """The session id of a live ticket, once, for the browser that started the sign-in; None otherwise.

        A ticket presented by another browser is burnt too: a leaked ticket link is worth nothing afterwards."""
        if not _is_secret(ticket):
            return None
        with self._lock:
            # DELETE … RETURNING: used up even if another process reads the same row at the same time.
            row = self._db.execute("DELETE FROM bound_tickets WHERE ticket_hash = ? RETURNING sealed, browser_hash, "
                                   "expires_at", (secret_hash(ticket),)).fetchone()
            if row is None or row[2] <= now or not _is_secret(browser) or row[1] != secret_hash(browser):
                return None
            data = unseal(ticket, row[0])
            session_id = data.decode() if data else None
            return session_id if session_id and self._exists(session_id) else None

    def ticket_waiting(self, ticket: str | None, now: float) -> bool:
        """Whether this ticket is still live and unredeemed: the browser has not yet fetched its cookie."""
        if not _is_secret(ticket):
            return False
        with self._lock:
            row = self._db.execute("SELECT expires_at FROM bound_tickets WHERE ticket_hash = ?",
                                   (secret_hash(ticket),)).fetchone()
        return row is not None and row[0] > now

    def _exists(self, session_id: str) -> bool:
        if not _is_secret(session_id):
            return False
        found = self._db.execute("SELECT 1 FROM sessions WHERE id_hash = ?", (secret_hash(session_id),)).fetchone()
        return found is not None

    def _purge(self, now: float) -> None:
        self._db.execute("DELETE FROM bound_tickets WHERE expires_at <= ?", (now,))
        self._db.execute("DELETE FROM attempts WHERE expires_at <= ?", (now,))
        self._db.execute("DELETE FROM sessions WHERE expires_at + ? < ?", (EXPIRED_KEPT_SECONDS, now))

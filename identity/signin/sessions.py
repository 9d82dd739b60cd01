"""Server-side login sessions in the app's database, keyed by a random cookie value the store never keeps.

A session id (the `aid_session` cookie) and a ticket (one use, 60 s, for the page to hand the browser its
cookie) are 256-bit random secrets; in the database there is only their SHA-256 and data sealed with a key derived
from them (`sealing`). Any process sharing the database (a replica) finds the same sessions.

A ticket works only in the browser that started the sign-in (no login CSRF: a ticket link opened in another
browser signs nobody in). The Login page opens a sign-in *attempt* and has its browser load `/auth/begin`, which
binds the attempt to a random `aid_signin` cookie (first come, once); the ticket then carries that cookie's hash,
and `/auth/session` redeems it only with the same cookie.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard

from sqlalchemy import Connection, delete, exists, insert, select, update

from identity.signin.errors import SignInError
from identity.signin.sealing import new_secret, seal, secret_hash, unseal
from identity.store import APP_STATE_DIRNAME, Database, database_url, open_database
from identity.store.schema import login_sessions, signin_attempts, signin_tickets
from identity.users import SignedInUser

__all__ = ["APP_STATE_DIRNAME", "ATTEMPT_SECONDS", "EXPIRED_KEPT_SECONDS", "SESSION_COOKIE",
           "SIGNIN_COOKIE", "TICKET_SECONDS", "LoginSessionStore", "SessionLookup"]

SESSION_COOKIE = "aid_session"
SIGNIN_COOKIE = "aid_signin"  # the pre-sign-in cookie: which browser started a sign-in
ATTEMPT_SECONDS = 600.0       # how long a started sign-in may take (the sign-in server's forms included)
# Every Login page view opens an attempt: a flood of page views keeps at most this many (the oldest go first).
MAX_OPEN_ATTEMPTS = 10_000
TICKET_SECONDS = 60.0
# An expired session is kept this long, so a returning browser hears "your sign-in expired", not nothing.
EXPIRED_KEPT_SECONDS = 24 * 3600.0
_MAX_SECRET_CHARS = 128  # ours are 43; anything longer is not ours and is not hashed


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


class LoginSessionStore:
    """Login sessions and their one-use cookie tickets."""

    def __init__(self, database: Database) -> None:
        self.database = database

    @classmethod
    def in_directory(cls, directory: Path) -> LoginSessionStore:
        """The store in the embedded database of a state directory (tests and tools; the app shares its own)."""
        return cls(open_database(database_url(None, directory), directory))

    def close(self) -> None:
        self.database.close()

    def create(self, user: SignedInUser, now: float) -> str:
        """A new session for a verified user; returns its id (the cookie value), which is stored only hashed."""
        session_id = new_secret()
        with self.database.write() as db:
            _purge(db, now)
            db.execute(insert(login_sessions).values(id_hash=secret_hash(session_id), expires_at=user.expires_at,
                                                     sealed=seal(session_id, _user_json(user)), created_at=now))
        return session_id

    def lookup(self, session_id: str | None, now: float) -> SessionLookup:
        """The session's user, None if unknown, or `expired=True` if its ID token expired."""
        if not _is_secret(session_id):
            return SessionLookup(None)
        with self.database.read() as db:
            sealed = db.execute(select(login_sessions.c.sealed)
                                .where(login_sessions.c.id_hash == secret_hash(session_id))).scalar()
        data = unseal(session_id, bytes(sealed)) if sealed is not None else None
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
            with self.database.write() as db:
                db.execute(delete(login_sessions).where(login_sessions.c.id_hash == secret_hash(session_id)))

    def open_attempt(self, now: float) -> str:
        """A new sign-in attempt (its id goes to `/auth/begin`), not yet bound to any browser."""
        attempt = new_secret()
        with self.database.write() as db:
            _purge(db, now)
            db.execute(insert(signin_attempts).values(attempt_hash=secret_hash(attempt), browser_hash=None,
                                                      expires_at=now + ATTEMPT_SECONDS))
            oldest_kept = (select(signin_attempts.c.expires_at).order_by(signin_attempts.c.expires_at.desc())
                           .offset(MAX_OPEN_ATTEMPTS - 1).limit(1).scalar_subquery())
            db.execute(delete(signin_attempts).where(signin_attempts.c.expires_at < oldest_kept))
        return attempt

    def bind_attempt(self, attempt: str | None, browser: str, now: float) -> bool:
        """Bind a live, still unbound attempt to the browser holding the `browser` cookie: once, first come."""
        if not (_is_secret(attempt) and _is_secret(browser)):
            return False
        with self.database.write() as db:
            bound = db.execute(update(signin_attempts).values(browser_hash=secret_hash(browser)).where(
                signin_attempts.c.attempt_hash == secret_hash(attempt), signin_attempts.c.browser_hash.is_(None),
                signin_attempts.c.expires_at > now))
        return bound.rowcount == 1

    def attempt_bound(self, attempt: str | None, now: float) -> bool:
        """Whether a live attempt is bound to a browser yet (its `/auth/begin` image has loaded)."""
        if not _is_secret(attempt):
            return False
        with self.database.read() as db:
            row = db.execute(select(signin_attempts.c.browser_hash).where(
                signin_attempts.c.attempt_hash == secret_hash(attempt), signin_attempts.c.expires_at > now)).first()
        return row is not None and row[0] is not None

    def issue_ticket(self, session_id: str, attempt: str | None, now: float) -> str:
        """A one-use ticket, valid TICKET_SECONDS, that only the browser the attempt is bound to can redeem."""
        ticket = new_secret()
        with self.database.write() as db:
            _purge(db, now)
            if not _exists(db, session_id):
                raise SignInError("There is no such login session to hand to the browser: sign in again.")
            browser_hash = _take_attempt(db, attempt, now)
            db.execute(insert(signin_tickets).values(ticket_hash=secret_hash(ticket), browser_hash=browser_hash,
                                                     sealed=seal(ticket, session_id.encode()),
                                                     expires_at=now + TICKET_SECONDS))
        return ticket

    def redeem_ticket(self, ticket: str | None, browser: str | None, now: float) -> str | None:
        """The session id of a live ticket, once, for the browser that started the sign-in; None otherwise.

        A ticket presented by another browser is burnt too: a leaked ticket link is worth nothing afterwards."""
        if not _is_secret(ticket):
            return None
        with self.database.write() as db:
            # DELETE … RETURNING: used up even if another process reads the same row at the same time.
            row = db.execute(delete(signin_tickets).where(signin_tickets.c.ticket_hash == secret_hash(ticket))
                             .returning(signin_tickets.c.sealed, signin_tickets.c.browser_hash,
                                        signin_tickets.c.expires_at)).first()
            if row is None or row[2] <= now or not _is_secret(browser) or row[1] != secret_hash(browser):
                return None
            data = unseal(ticket, bytes(row[0]))
            session_id = data.decode() if data else None
            return session_id if session_id and _exists(db, session_id) else None

    def ticket_waiting(self, ticket: str | None, now: float) -> bool:
        """Whether this ticket is still live and unredeemed: the browser has not yet fetched its cookie."""
        if not _is_secret(ticket):
            return False
        with self.database.read() as db:
            expires_at = db.execute(select(signin_tickets.c.expires_at)
                                    .where(signin_tickets.c.ticket_hash == secret_hash(ticket))).scalar()
        return expires_at is not None and expires_at > now


def _take_attempt(db: Connection, attempt: str | None, now: float) -> str:
    """The browser hash of a bound, live attempt, which is used up; SignInError otherwise."""
    row = None if not _is_secret(attempt) else db.execute(
        delete(signin_attempts).where(signin_attempts.c.attempt_hash == secret_hash(attempt))
        .returning(signin_attempts.c.browser_hash, signin_attempts.c.expires_at)).first()
    if row is None or row[0] is None or row[1] <= now:
        raise SignInError("This browser did not start this sign-in (or it took too long): reload the Login "
                          "page and sign in again.")
    return str(row[0])


def _exists(db: Connection, session_id: str) -> bool:
    if not _is_secret(session_id):
        return False
    return bool(db.execute(select(exists().where(login_sessions.c.id_hash == secret_hash(session_id)))).scalar())


def _purge(db: Connection, now: float) -> None:
    db.execute(delete(signin_tickets).where(signin_tickets.c.expires_at <= now))
    db.execute(delete(signin_attempts).where(signin_attempts.c.expires_at <= now))
    db.execute(delete(login_sessions).where(login_sessions.c.expires_at + EXPIRED_KEPT_SECONDS < now))

"""Pending consents: owned by one user, found by their `state`, kept in the app's database.

A consent started on one replica can be authorized, returned to and waited for on any other, and survives a
restart. The database keeps only the state's hash; the state itself, the authorization URL and the session URI
are sealed (identity.store.sealing). A waiting chat turn is woken at once by a settle in its own process and, for
one in another process, by the change feed (PostgreSQL NOTIFY) or a bounded re-read of the consent row (SQLite).
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from identity.signin.sealing import secret_hash
from identity.store import ChangeFeed, Database
from identity.store.schema import consents

__all__ = ["ConsentRegistry", "PendingConsent"]

# Agent Identity's consent sessions live 10 minutes (the local cloud enforces the same).
CONSENT_LIFETIME_SECONDS = 600
# Settled or expired consents stay listed this long after they expire (the Credentials page shows them), and
# at most this many per user: the registry never grows without bound (the sample's state maps did).
KEEP_AFTER_EXPIRY_SECONDS = 600
KEEP_PER_USER = 50
# At most this many open at once per user: a new one beyond it ends the oldest ("superseded"), so a script on a
# user's websocket pressing Connect in a loop holds a bounded number of live consents.
OPEN_PER_USER = 20
TOO_MANY_OPEN = "superseded: more than 20 consents were waiting at once"


@dataclass(frozen=True)
class PendingConsent:
    """One OAuth2 consent the user must give at a provider before a tool can get its token."""

    state: str                     # our CustomState: unguessable, names this consent on return
    owner: tuple[str, str]         # the user's (issuer, subject)
    provider: str
    scopes: tuple[str, ...]
    authorization_url: str
    session_uri: str
    created_at: float
    expires_at: float
    status: str = "pending"        # pending → completed | declined | expired
    detail: str = ""
    # SHA-256 of the consent cookie of the browser whose Authorize click started it: only that browser's return
    # completes it. Empty until the owner presses Authorize.
    browser: str = field(default="", repr=False)

    def status_at(self, now: float) -> str:
        return "expired" if self.status == "pending" and now >= self.expires_at else self.status

    def seconds_left(self, now: float) -> int:
        return max(0, int(self.expires_at - now))


# A waiter re-reads its consent row at least this often: on SQLite that is how a settle in another process is
# seen (the bound on a cross-process wake-up); on PostgreSQL NOTIFY wakes it sooner and this is a safety net.
ROW_POLL_SECONDS = {"sqlite": 0.1, "postgresql": 1.0}
CONSENT_TOPIC = "consent"


class ConsentRegistry:
    """Every read filters by owner or by an unguessable state, so no user sees another's consents."""

    def __init__(self, database: Database, feed: ChangeFeed) -> None:
        self.database, self.feed = database, feed

    @staticmethod
    def new_state() -> str:
        return secrets.token_urlsafe(24)

    # -- rows ----------------------------------------------------------------------------------------------------
    def _row(self, consent: PendingConsent) -> dict[str, Any]:
        state_hash = secret_hash(consent.state)
        sealed = json.dumps([consent.state, consent.authorization_url, consent.session_uri]).encode()
        return {"state_hash": state_hash, "issuer": consent.owner[0], "subject": consent.owner[1],
                "provider": consent.provider, "scopes": json.dumps(list(consent.scopes)),
                "sealed": self.database.sealer.seal(sealed, f"consent:{state_hash}"), "status": consent.status,
                "detail": consent.detail, "browser_hash": consent.browser, "created_at": consent.created_at,
                "expires_at": consent.expires_at}

    def _consent(self, row: Any) -> PendingConsent | None:
        opened = self.database.sealer.open(bytes(row.sealed), f"consent:{row.state_hash}")
        if opened is None:  # sealed under another key: unreadable, so as good as gone
            return None
        state, authorization_url, session_uri = json.loads(opened)
        return PendingConsent(state, (row.issuer, row.subject), row.provider, tuple(json.loads(row.scopes)),
                              authorization_url, session_uri, row.created_at, row.expires_at, row.status, row.detail,
                              row.browser_hash)

    def _select(self, db: Connection, *where: Any) -> list[PendingConsent]:
        rows = db.execute(select(consents).where(*where).order_by(consents.c.created_at.desc())).all()
        return [found for row in rows if (found := self._consent(row)) is not None]

    # -- reads ---------------------------------------------------------------------------------------------------
    def get(self, state: str) -> PendingConsent | None:
        with self.database.read() as db:
            found = self._select(db, consents.c.state_hash == secret_hash(state))
        return found[0] if found and found[0].state == state else None

    def open_for(self, owner: tuple[str, str], provider: str, scopes: tuple[str, ...],
                 now: float) -> PendingConsent | None:
        """A still-usable pending consent of this user for this provider and scopes."""
        with self.database.read() as db:
            found = self._select(db, _owned(owner), consents.c.provider == provider,
                                 consents.c.scopes == json.dumps(list(scopes)), consents.c.status == "pending",
                                 consents.c.expires_at > now)
        return found[0] if found else None

    def of(self, owner: tuple[str, str]) -> list[PendingConsent]:
        """The user's consents, newest first."""
        with self.database.read() as db:
            return self._select(db, _owned(owner))

    # -- writes --------------------------------------------------------------------------------------------------
    def add(self, consent: PendingConsent) -> None:
        with self.database.write() as db:
            db.execute(insert(consents).values(**self._row(consent)))
            _supersede_beyond_limit(db, consent.owner)
            _prune(db, consent.owner, consent.created_at)

    def bind_browser(self, state: str, browser: str) -> PendingConsent:
        """Record which browser the owner pressed Authorize in (the latest press counts)."""
        self._update(state, None, browser_hash=browser)
        return self._existing(state)

    def settle(self, state: str, status: str, detail: str = "") -> PendingConsent:
        """Mark a consent completed or declined and wake everyone waiting for it, in every process."""
        self._update(state, None, status=status, detail=detail)
        return self._existing(state)

    def end_if_pending(self, state: str, detail: str) -> None:
        """Decline a consent that is still pending (decided in one statement: a completion that just won stays)."""
        self._update(state, "pending", status="declined", detail=detail)

    def _update(self, state: str, only_if: str | None, **values: str) -> None:
        condition = consents.c.state_hash == secret_hash(state)
        if only_if is not None:
            condition = and_(condition, consents.c.status == only_if)
        with self.database.write() as db:
            owner = db.execute(update(consents).values(**values).where(condition)
                               .returning(consents.c.issuer, consents.c.subject)).first()
            if owner is not None and "status" in values:
                self.feed.publish(db, CONSENT_TOPIC, (owner[0], owner[1]))
        self.feed.wake()

    def _existing(self, state: str) -> PendingConsent:
        found = self.get(state)
        if found is None:
            from identity.broker.errors import ConsentError  # errors.py imports this module

            raise ConsentError("This consent no longer exists (its owner signed out): ask the agent again.", 410,
                               "consent withdrawn")
        return found

    def wait(self, state: str, timeout: float) -> PendingConsent | None:
        """Block until the consent is no longer pending (or `timeout`): woken by a settle, not by asking the
        identity service; the consent row is re-read at most every ROW_POLL_SECONDS."""
        deadline = time.monotonic() + timeout
        poll = ROW_POLL_SECONDS.get(self.database.dialect, 0.1)
        while True:
            seen = self.feed.generation
            found = self.get(state)
            left = deadline - time.monotonic()
            if found is None or found.status != "pending" or left <= 0:
                return found
            self.feed.wait(min(poll, left), seen)

    def forget(self, owner: tuple[str, str]) -> None:
        with self.database.write() as db:
            db.execute(delete(consents).where(_owned(owner)))
        self.feed.wake()


def _owned(owner: tuple[str, str]) -> Any:
    return and_(consents.c.issuer == owner[0], consents.c.subject == owner[1])


def _supersede_beyond_limit(db: Connection, owner: tuple[str, str]) -> None:
    waiting = db.execute(select(consents.c.state_hash).where(_owned(owner), consents.c.status == "pending")
                         .order_by(consents.c.created_at.desc()).offset(OPEN_PER_USER)).scalars().all()
    if waiting:
        db.execute(update(consents).values(status="declined", detail=TOO_MANY_OPEN)
                   .where(consents.c.state_hash.in_(waiting)))


def _prune(db: Connection, owner: tuple[str, str], now: float) -> None:
    """Drop long-expired consents (anyone's) and this user's oldest settled ones beyond the cap."""
    db.execute(delete(consents).where(consents.c.expires_at + KEEP_AFTER_EXPIRY_SECONDS < now))
    open_count = db.execute(select(func.count()).select_from(consents)
                            .where(_owned(owner), consents.c.status == "pending")).scalar_one()
    keep_settled = max(0, KEEP_PER_USER - open_count)
    overflow = db.execute(select(consents.c.state_hash).where(_owned(owner), consents.c.status != "pending")
                          .order_by(consents.c.created_at.desc()).offset(keep_settled)).scalars().all()
    if overflow:
        db.execute(delete(consents).where(consents.c.state_hash.in_(overflow)))

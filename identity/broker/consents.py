"""Pending consents: owned by one user, found by their `state`, waited on without polling."""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field, replace

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


class ConsentRegistry:
    """Process-wide, thread-safe; every read filters by owner, so no user sees another's consents."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._by_state: dict[str, PendingConsent] = {}

    @staticmethod
    def new_state() -> str:
        return secrets.token_urlsafe(24)

    def add(self, consent: PendingConsent) -> None:
        with self._changed:
            self._by_state[consent.state] = consent
            self._supersede_beyond_limit(consent.owner)
            self._prune(consent.owner, consent.created_at)
            self._changed.notify_all()

    def _supersede_beyond_limit(self, owner: tuple[str, str]) -> None:
        waiting = sorted((c for c in self._by_state.values() if c.owner == owner and c.status == "pending"),
                         key=lambda c: c.created_at)
        for old in waiting[: max(0, len(waiting) - OPEN_PER_USER)]:
            self._by_state[old.state] = replace(old, status="declined", detail=TOO_MANY_OPEN)

    def _prune(self, owner: tuple[str, str], now: float) -> None:
        """Drop long-expired consents (anyone's) and this user's oldest settled ones beyond the cap."""
        stale = [s for s, c in self._by_state.items() if c.expires_at + KEEP_AFTER_EXPIRY_SECONDS < now]
        mine = sorted((c for c in self._by_state.values() if c.owner == owner and c.status != "pending"),
                      key=lambda c: c.created_at)
        open_count = sum(1 for c in self._by_state.values() if c.owner == owner and c.status == "pending")
        overflow = max(0, open_count + len(mine) - KEEP_PER_USER)
        for state in stale + [c.state for c in mine[:overflow]]:
            self._by_state.pop(state, None)

    def get(self, state: str) -> PendingConsent | None:
        with self._changed:
            return self._by_state.get(state)

    def open_for(self, owner: tuple[str, str], provider: str, scopes: tuple[str, ...],
                 now: float) -> PendingConsent | None:
        """A still-usable pending consent of this user for this provider and scopes."""
        with self._changed:
            return next((c for c in self._by_state.values() if c.owner == owner and c.provider == provider
                         and c.scopes == scopes and c.status_at(now) == "pending"), None)

    def of(self, owner: tuple[str, str]) -> list[PendingConsent]:
        with self._changed:
            return sorted((c for c in self._by_state.values() if c.owner == owner), key=lambda c: -c.created_at)

    def bind_browser(self, state: str, browser: str) -> PendingConsent:
        """Record which browser the owner pressed Authorize in (the latest press counts)."""
        with self._changed:
            bound = replace(self._by_state[state], browser=browser)
            self._by_state[state] = bound
            return bound

    def settle(self, state: str, status: str, detail: str = "") -> PendingConsent:
        """Mark a consent completed or declined and wake everyone waiting for it."""
        with self._changed:
            settled = replace(self._by_state[state], status=status, detail=detail)
            self._by_state[state] = settled
            self._changed.notify_all()
            return settled

    def end_if_pending(self, state: str, detail: str) -> None:
        """Decline a consent that is still pending (checked under the lock: a completion that just won stays)."""
        with self._changed:
            current = self._by_state.get(state)
            if current is not None and current.status == "pending":
                self._by_state[state] = replace(current, status="declined", detail=detail)
                self._changed.notify_all()

    def wait(self, state: str, timeout: float) -> PendingConsent | None:
        """Block until the consent is no longer pending (or `timeout`); woken by `settle`, not by polling."""
        with self._changed:
            self._changed.wait_for(lambda: self._by_state.get(state) is None
                                   or self._by_state[state].status != "pending", timeout)
            return self._by_state.get(state)

    def forget(self, owner: tuple[str, str]) -> None:
        with self._changed:
            for state in [s for s, c in self._by_state.items() if c.owner == owner]:
                del self._by_state[state]
            self._changed.notify_all()

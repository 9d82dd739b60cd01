"""Password guessing, throttled per user name, with its state in the store (a restart does not reset it).

Two limits work together (the first lives on the pending request, see `pending`):

- per pending sign-in request: after `MAX_REQUEST_FAILURES` wrong passwords it is burnt;
- per user name (normalised: NFKC, case-folded, trimmed; known or not, so the answer says nothing about
  which names exist): after `FREE_FAILURES` consecutive failures every attempt waits, 2 s after the 5th
  failure, then 4, 8, … up to `MAX_DELAY_SECONDS`. While it waits an attempt is refused with its
  `Retry-After` without the password being checked, and nothing sleeps on the server. A success resets it.

Both realms share the demo users, so one counter per name covers both. The store keeps the name's SHA-256
only: people type passwords into the user name field.
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from dataclasses import asdict, dataclass

from localcloud.store import Store

__all__ = ["FREE_FAILURES", "MAX_DELAY_SECONDS", "MAX_REQUEST_FAILURES", "NameFailures", "count_name_failure",
           "delay_after", "forget_name_failures", "name_failures", "name_key"]

MAX_REQUEST_FAILURES = 5
FREE_FAILURES = 4  # the 5th consecutive failure starts the delays
FIRST_DELAY_SECONDS = 2
MAX_DELAY_SECONDS = 300
_KIND = "oidc.login-failures"
_EVERY_REALM = ""


@dataclass(frozen=True)
class NameFailures:
    """Consecutive failed sign-ins for one user name, and until when the next attempt must wait."""

    failures: int = 0
    locked_until: float = 0.0

    def wait_seconds(self, now: float) -> int:
        """Whole seconds until an attempt may be checked again (0: now)."""
        return max(0, math.ceil(self.locked_until - now))

    def after_failure(self, now: float) -> NameFailures:
        failures = self.failures + 1
        delay = delay_after(failures)
        return NameFailures(failures, now + delay if delay else self.locked_until)


def delay_after(failures: int) -> int:
    """Seconds the name waits after its `failures`-th consecutive failure: 0 up to FREE_FAILURES, then 2, 4, 8 …"""
    if failures <= FREE_FAILURES:
        return 0
    return min(MAX_DELAY_SECONDS, FIRST_DELAY_SECONDS * 2 ** min(failures - FREE_FAILURES - 1, 16))


def name_key(username: str) -> str:
    """What the counter is stored under: the SHA-256 of the normalised name."""
    normalised = unicodedata.normalize("NFKC", username).casefold().strip()
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def name_failures(store: Store, username: str) -> NameFailures:
    """The name's current count (none yet: zero)."""
    doc = store.get(_KIND, _EVERY_REALM, name_key(username))
    return NameFailures(**doc) if doc else NameFailures()


def count_name_failure(store: Store, username: str, now: float) -> NameFailures:
    """Count one more failure for the name (hold the store's lock, with the check that preceded it)."""
    counted = name_failures(store, username).after_failure(now)
    key = name_key(username)
    if not store.replace(_KIND, _EVERY_REALM, key, asdict(counted)):
        store.insert(_KIND, _EVERY_REALM, key, asdict(counted))
    return counted


def forget_name_failures(store: Store, username: str) -> None:
    """A successful sign-in: the name starts from zero again."""
    key = name_key(username)
    if store.get(_KIND, _EVERY_REALM, key) is not None:
        store.delete(_KIND, _EVERY_REALM, key)

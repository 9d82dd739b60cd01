"""The broker's per-user state stays bounded: long-expired and surplus consents and cache entries are dropped."""

from __future__ import annotations

from identity.broker.cache import KEEP_EXPIRED_SECONDS, CacheKey, CredentialCache
from identity.broker.consents import (
    CONSENT_LIFETIME_SECONDS,
    KEEP_AFTER_EXPIRY_SECONDS,
    KEEP_PER_USER,
    ConsentRegistry,
    PendingConsent,
)
from identity.broker.credentials import ApiKey
from identity.store import ChangeFeed, Database

ALICE, BOB = ("iss", "alice"), ("iss", "bob")


def _consent(owner: tuple[str, str], at: float, state: str | None = None) -> PendingConsent:
    return PendingConsent(state or ConsentRegistry.new_state(), owner, "mcp", ("openid",), "https://x/authorize",
                          "urn:s", at, at + CONSENT_LIFETIME_SECONDS)


def test_long_expired_consents_of_anyone_are_dropped_when_a_new_one_arrives(database: Database):
    registry = ConsentRegistry(database, ChangeFeed(database))
    old = _consent(BOB, 0.0, "old")
    registry.add(old)
    registry.add(_consent(ALICE, CONSENT_LIFETIME_SECONDS + KEEP_AFTER_EXPIRY_SECONDS - 1))
    assert registry.get("old") is not None  # recently expired: still listed on the Credentials page
    registry.add(_consent(ALICE, CONSENT_LIFETIME_SECONDS + KEEP_AFTER_EXPIRY_SECONDS + 1))
    assert registry.get("old") is None


def test_a_user_keeps_at_most_the_cap_and_the_oldest_settled_go_first(database: Database):
    registry = ConsentRegistry(database, ChangeFeed(database))
    registry.add(_consent(ALICE, 0.0, "open"))
    for n in range(KEEP_PER_USER + 10):
        consent = _consent(ALICE, 1.0 + n, f"s{n}")
        registry.add(consent)
        registry.settle(consent.state, "declined")
    registry.add(_consent(BOB, 100.0, "bobs"))
    states = {c.state for c in registry.of(ALICE)}
    assert len(states) <= KEEP_PER_USER + 1 and "open" in states and "s0" not in states
    assert f"s{KEEP_PER_USER + 9}" in states and registry.get("bobs") is not None


def test_the_credential_cache_drops_entries_an_hour_past_expiry():
    cache = CredentialCache()
    old, fresh = CacheKey(ALICE, "w", "api_key", "a"), CacheKey(BOB, "w", "api_key", "b")
    cache.put(old, ApiKey(100.0, "a", "value-a"), now=0.0)
    cache.put(fresh, ApiKey(200.0 + KEEP_EXPIRED_SECONDS, "b", "value-b"), now=100.0 + KEEP_EXPIRED_SECONDS - 1)
    assert cache.peek(old) is not None  # expired, still shown as such
    cache.put(fresh, ApiKey(300.0 + KEEP_EXPIRED_SECONDS, "b", "value-b"), now=101.0 + KEEP_EXPIRED_SECONDS)
    assert cache.peek(old) is None and cache.peek(fresh) is not None

"""Two processes on one database (two brokers, each with its own engine and change feed, as two replicas have):
consents wake across them, sign-out, Disconnect and Clear reach the other's cache, and everything outlives a
restart. On embedded SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from identity.broker import ApiKey, CredentialBroker, OAuth2Token, PendingConsent
from identity.broker.activity import KEEP_DAYS, KEEP_PER_USER, Activity
from identity.broker.cache import CacheKey
from identity.broker.consents import CONSENT_LIFETIME_SECONDS, ConsentRegistry
from identity.settings import load_settings
from identity.store import ChangeFeed, Database, open_database
from identity.users import SignedInUser

KEY = "k" * 32
WORKLOAD = "wl-demo"
SETTINGS = load_settings({"AGENT_IDENTITY_MODE": "local", "AGENT_IDENTITY_WORKLOAD_IDENTITY_NAME": WORKLOAD},
                         config_file="/nonexistent/config.yml")
ALICE = SignedInUser("https://lc/oauth/aliyun", "alice", "Alice", 4e9, "x.y.z", {})
BOB = SignedInUser("https://lc/oauth/aliyun", "bob", "Bob", 4e9, "x.y.z", {})
SCOPES = ("Document.Read",)


def _replica(database: Database) -> CredentialBroker:
    """A second process's broker: its own engine (so its own origin in the feed), the same database."""
    url = database.engine.url.render_as_string(hide_password=False)
    other = open_database(url, Path(tempfile.gettempdir()), KEY)  # the directory matters only for a generated key
    feed = ChangeFeed(other)
    broker = CredentialBroker(None, SETTINGS, database=other, feed=feed)  # type: ignore[arg-type]
    feed.start()
    return broker


@pytest.fixture
def replicas(database: Database) -> Iterator[tuple[CredentialBroker, CredentialBroker]]:
    a, b = _replica(database), _replica(database)
    yield a, b
    for broker in (a, b):
        broker.feed.stop()
        broker.database.close()


def _eventually(check: Callable[[], bool], timeout: float = 5.0) -> float:
    """Seconds until `check()` held; fails after `timeout` (a bound, not a speed claim: bench measures speed)."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout, "the other replica never saw the change"
        time.sleep(0.01)
    return time.monotonic() - started


def _when_waiting(feed: ChangeFeed) -> threading.Event:
    """Set once a thread blocks on `feed` (a consent waiter has read its consent, still pending, and waits)."""
    waiting, wait = threading.Event(), feed.wait

    def wait_and_tell(timeout: float, seen: int | None = None) -> None:
        waiting.set()
        wait(timeout, seen)

    feed.wait = wait_and_tell  # type: ignore[method-assign]
    return waiting


def _token(provider: str = "dingtalk") -> OAuth2Token:
    return OAuth2Token(time.time() + 3600, provider, SCOPES, "vault-token-value")


def _key(user: SignedInUser, kind: str = "oauth2", provider: str = "dingtalk") -> CacheKey:
    return CacheKey(user.key, WORKLOAD, kind, provider, SCOPES if kind == "oauth2" else ())


def _consent(owner: SignedInUser, state: str) -> PendingConsent:
    now = time.time()
    return PendingConsent(state, owner.key, "dingtalk", SCOPES, "https://lc/authorize?x=1", "urn:session:1", now,
                          now + CONSENT_LIFETIME_SECONDS)


def test_a_consent_settled_on_one_replica_wakes_the_turn_waiting_on_the_other(replicas):
    a, b = replicas
    consent = _consent(ALICE, ConsentRegistry.new_state())
    a.consents.add(consent)
    assert b.consents.get(consent.state) == consent  # the return may land on any replica
    woken: list[PendingConsent | None] = []
    waiting = _when_waiting(a.consents.feed)
    waiter = threading.Thread(target=lambda: woken.append(a.wait_for_consent(ALICE, consent.state, 10.0)))
    waiter.start()
    assert waiting.wait(5.0), "the turn never started waiting"
    b.consents.settle(consent.state, "completed")
    waiter.join(5.0)
    assert woken and woken[0] is not None and woken[0].status == "completed"


def test_a_sign_out_on_one_replica_drops_the_others_cached_credentials(replicas):
    a, b = replicas
    a.cache.put(_key(ALICE), _token(), time.time())
    a.cache.put(_key(BOB), _token(), time.time())
    b.forget_user(ALICE)
    _eventually(lambda: a.cache.peek(_key(ALICE)) is None)
    assert a.cache.peek(_key(BOB)) is not None  # only the user who signed out


def test_a_disconnect_on_one_replica_holds_on_the_other_and_after_a_restart(replicas, database):
    a, b = replicas
    a.cache.put(_key(ALICE), _token(), time.time())
    api_key = _key(ALICE, "api_key", "weather")
    a.cache.put(api_key, ApiKey(time.time() + 600, "weather", "key-value"), time.time())
    b.disconnect(ALICE, "oauth2", "dingtalk", SCOPES)
    b.disconnect(ALICE, "api_key", "weather")
    _eventually(lambda: a.cache.peek(_key(ALICE)) is None and a.cache.peek(api_key) is None)
    assert _key(ALICE) in a.marks  # the next use asks for consent again, here too
    restarted = _replica(database)
    try:
        assert _key(ALICE) in restarted.marks and [k.provider for k in restarted.marks.of(ALICE.key)] == ["dingtalk"]
    finally:
        restarted.feed.stop()
        restarted.database.close()


def test_clear_on_one_replica_empties_every_cache(replicas):
    a, b = replicas
    a.cache.put(_key(ALICE), _token(), time.time())
    a.cache.put(_key(BOB), _token(), time.time())
    b.forget_everyone()
    _eventually(lambda: a.cache.peek(_key(ALICE)) is None and a.cache.peek(_key(BOB)) is None)


def test_a_cached_credential_is_served_without_a_database_round_trip(replicas):
    a, _ = replicas
    a.cache.put(_key(ALICE), _token(), time.time())
    statements: list[str] = []
    from sqlalchemy import event

    caller = threading.get_ident()

    def listener(*args: Any) -> None:  # this thread's statements only: the change feed's own thread reads the feed
        if threading.get_ident() == caller:
            statements.append(args[2])

    event.listen(a.database.engine, "before_cursor_execute", listener)
    try:
        assert a.oauth2_token(ALICE, "dingtalk", SCOPES).value == "vault-token-value"
    finally:
        event.remove(a.database.engine, "before_cursor_execute", listener)
    assert statements == []  # the cache hit's activity entry is written behind it, later


def test_pending_consents_and_the_activity_log_outlive_a_restart(replicas, database):
    a, _ = replicas
    consent = _consent(ALICE, ConsentRegistry.new_state())
    a.consents.add(consent)
    a.log.add(Activity(time.time(), ALICE.key, "GetResourceOAuth2Token", "dingtalk", "consent required", 3.0))
    a.log.flush()
    a.database.close()  # the process is gone
    restarted = _replica(database)
    try:
        assert restarted.consents.get(consent.state) == consent
        assert [e.outcome for e in restarted.log.of(ALICE.key)] == ["consent required"]
        assert restarted.log.of(BOB.key) == []
    finally:
        restarted.feed.stop()
        restarted.database.close()


def test_sensitive_consent_fields_are_sealed_at_rest(replicas, database):
    a, _ = replicas
    consent = _consent(ALICE, ConsentRegistry.new_state())
    a.consents.add(consent)
    with database.read() as db:
        from sqlalchemy import text

        row = " ".join(str(v) for v in db.execute(text("SELECT * FROM consents")).one())
    for secret in (consent.state, consent.authorization_url, consent.session_uri):
        assert secret not in row


def test_the_activity_log_keeps_a_bounded_history_per_user(replicas):
    a, b = replicas
    now = time.time()
    a.log.add(Activity(now - (KEEP_DAYS + 1) * 86400, ALICE.key, "old", "", "ok", 1.0))
    for n in range(KEEP_PER_USER + 5):
        a.log.add(Activity(now, ALICE.key, f"call-{n}", "", "ok", 1.0))
    a.log.add(Activity(now, BOB.key, "bobs", "", "ok", 1.0))
    a.log.flush()
    entries = b.log.of(ALICE.key)  # read on the other replica
    assert len(entries) == KEEP_PER_USER and entries[0].action == f"call-{KEEP_PER_USER + 4}"
    assert "old" not in {e.action for e in entries} and [e.action for e in b.log.of(BOB.key)] == ["bobs"]

"""Benchmark 7: the shared state store. Consent-to-resume across two processes (SQLite and PostgreSQL) next to
the in-process figure, and a cached tool call's cost with the store in place next to the memory-only path the
broker had before it.

Consent: this process settles a consent (as `/callback` on one replica does); the turn waiting for it is a thread
here (in-process) or `bench.state_waiter` in another process (another replica); the figure is the time from the
return's arrival (before the settle's commit) to the waiter's wake-up. Cached call: `oauth2_token` with the token
cached, against a replay of the earlier hot path (a dict lookup and an in-memory log append) and against writing
its activity entry at once.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.environment import REPO_ROOT, stop_process
from bench.plan import Plan
from bench.results import Results
from bench.stats import percentile, ratio
from identity.broker import CredentialBroker, OAuth2Token, PendingConsent
from identity.broker.activity import Activity
from identity.broker.cache import CacheKey
from identity.broker.consents import CONSENT_LIFETIME_SECONDS, ConsentRegistry
from identity.settings import load_settings
from identity.store import ChangeFeed, Database, database_url, open_database
from identity.users import SignedInUser

__all__ = ["STATE", "run"]

STATE = "state"
_KEY = secrets.token_urlsafe(32)
_USER = SignedInUser("https://bench/oauth", "alice", "Alice", 4e9, "x.y.z", {})
_SCOPES = ("Document.Read",)
_SETTLE_GAP_SECONDS = 0.3  # the waiter is certainly waiting by then


def _consent() -> PendingConsent:
    now = time.time()
    return PendingConsent(ConsentRegistry.new_state(), _USER.key, "dingtalk", _SCOPES, "https://x/authorize",
                          "urn:s", now, now + CONSENT_LIFETIME_SECONDS)


def _in_process(database: Database, rounds: int) -> list[float]:
    feed = ChangeFeed(database)
    registry = ConsentRegistry(database, feed)
    latencies = []
    for _ in range(rounds):
        consent = _consent()
        woke: list[float] = []
        registry.add(consent)
        waiter = threading.Thread(target=_wait_and_note, args=(registry, consent.state, woke))
        waiter.start()
        time.sleep(_SETTLE_GAP_SECONDS)
        settled = _settle(registry, consent)
        waiter.join(30.0)
        latencies.append((woke[0] - settled) * 1000)
    return latencies


def _wait_and_note(registry: ConsentRegistry, state: str, woke: list[float]) -> None:
    registry.wait(state, 30.0)
    woke.append(time.monotonic())


def _settle(registry: ConsentRegistry, consent: PendingConsent) -> float:
    """Settle the consent as `/callback` does; the moment the return arrived (the figure includes the commit)."""
    arrived = time.monotonic()
    registry.settle(consent.state, "completed")
    return arrived


def _across_processes(url: str, rounds: int) -> list[float]:
    database = open_database(url, Path(tempfile.gettempdir()), _KEY)
    registry = ConsentRegistry(database, ChangeFeed(database))
    waiter = subprocess.Popen([sys.executable, "-m", "bench.state_waiter", url, _KEY],  # noqa: S603 (our own module)
                              cwd=REPO_ROOT, text=True, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert waiter.stdin is not None and waiter.stdout is not None
    try:
        if waiter.stdout.readline().strip() != "ready":
            raise RuntimeError("the waiting process did not start")
        latencies = []
        for _ in range(rounds):
            consent = _consent()
            registry.add(consent)
            waiter.stdin.write(consent.state + "\n")
            waiter.stdin.flush()
            time.sleep(_SETTLE_GAP_SECONDS)
            settled = _settle(registry, consent)
            woke, status = waiter.stdout.readline().split()
            if status != "completed":
                raise RuntimeError(f"the other process saw {status!r}")
            latencies.append((float(woke) - settled) * 1000)
        return latencies
    finally:
        waiter.stdin.close()
        stop_process(waiter)
        database.close()


def _cached_calls(database: Database, samples: int) -> tuple[list[float], list[float], list[float]]:
    """Microseconds per cached call: with the store (write-behind), memory only (before), written at once."""
    settings = load_settings({"AGENT_IDENTITY_MODE": "local", "AGENT_IDENTITY_WORKLOAD_IDENTITY_NAME": "wl"},
                             config_file="/nonexistent.yml")
    broker = CredentialBroker(None, settings, database=database)  # type: ignore[arg-type]  # never called: cached
    key = CacheKey(_USER.key, "wl", "oauth2", "dingtalk", _SCOPES)
    broker.cache.put(key, OAuth2Token(time.time() + 3600, "dingtalk", _SCOPES, "value"), time.time())
    before: deque[Activity] = deque(maxlen=500)

    def memory_only() -> None:  # the hot path before the store: the cache, and the log as a per-user deque
        found = broker.cache.get(key, time.time(), 60.0)
        assert found is not None  # put above, an hour from expiry
        before.append(Activity(time.time(), _USER.key, "cache", "dingtalk", "cache hit", 0.0, found.fingerprint))

    def written_at_once() -> None:
        broker.oauth2_token(_USER, "dingtalk", _SCOPES)
        broker.log.flush()

    def with_the_store() -> None:
        broker.oauth2_token(_USER, "dingtalk", _SCOPES)

    cached, memory, at_once = ([_timed_us(call) for _ in range(samples)]
                               for call in (with_the_store, memory_only, written_at_once))
    broker.log.flush()
    return cached, memory, at_once


def _timed_us(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1e6


@contextmanager
def _postgres(workdir: Path) -> Iterator[str | None]:
    """A throwaway PostgreSQL cluster (as the tests start one), or None when PostgreSQL is not installed."""
    from tests.postgres import installed_bin_dir, postgres_cluster

    if installed_bin_dir() is None:
        yield None
        return
    with postgres_cluster(workdir / "postgres") as server:
        yield server.create_database("bench")


def _one_run(plan: Plan, results: Results, workdir: Path, postgres_url: str | None) -> None:
    rounds = max(3, plan.consent_rounds * 2)
    directory = workdir / f"state-{secrets.token_hex(4)}"
    sqlite_url = database_url(None, directory)
    database = open_database(sqlite_url, directory, _KEY)
    try:
        here = _in_process(database, rounds)
        cached, memory, at_once = _cached_calls(database, plan.cached_samples)
    finally:
        database.close()
    sqlite = _across_processes(sqlite_url, rounds)
    results.add(STATE, "consent wake-up, same process (SQLite), p95", percentile(here, 95), "ms")
    results.add(STATE, "consent wake-up, other process, SQLite, p50", percentile(sqlite, 50), "ms")
    results.add(STATE, "consent wake-up, other process, SQLite, p95", percentile(sqlite, 95), "ms")
    if postgres_url is not None:
        pg = _across_processes(postgres_url, rounds)
        results.add(STATE, "consent wake-up, other process, PostgreSQL, p50", percentile(pg, 50), "ms")
        results.add(STATE, "consent wake-up, other process, PostgreSQL, p95", percentile(pg, 95), "ms")
    results.add(STATE, "cached OAuth2 call with the store, p50", percentile(cached, 50), "µs")
    results.add(STATE, "cached call, memory-only path before the store, p50", percentile(memory, 50), "µs")
    results.add(STATE, "cached call writing its activity entry at once, p50", percentile(at_once, 50), "µs")
    results.add(STATE, "with the store / before, cached call", ratio(percentile(cached, 50), percentile(memory, 50)),
                "x")


def run(plan: Plan, results: Results, workdir: Path) -> None:
    """Every run of benchmark 7."""
    section = results.section(STATE, "7. Shared state store (consent wake-up across processes, cached call cost)")
    section.notes.append("target: a consent settled in another process wakes the waiting turn within 300 ms (p95); "
                         "a cached call makes no database round trip (its activity entry is written behind it)")
    with _postgres(workdir) as postgres_url:
        if postgres_url is None:
            section.notes.append("PostgreSQL is not installed here: its row is missing (apt-get install postgresql)")
        for _ in range(plan.repeat):
            _one_run(plan, results, workdir, postgres_url)

"""Benchmarks 1 and 2: identity calls per tool call (counted at localcloud) and credential resolution time.

Our broker and the official SDK's decorators resolve the same three credentials for the same signed-in
user, interleaved in each run so both see the same machine. "First" is a process with nothing cached (a
fresh broker; the SDK's STS cache emptied); "cached" / "repeated" is the same call again right after.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.official import OfficialSdk
from bench.plan import Plan
from bench.results import Results
from bench.stats import percentile, ratio
from bench.world import World, ensure_consented
from identity.broker import CredentialBroker

__all__ = ["CALLS", "KINDS", "RESOLUTION", "run"]

CALLS, RESOLUTION = "calls", "resolution"
KINDS = ("API key", "STS", "OAuth2")


@dataclass
class Series:
    """Timings (ms) and identity calls of one path in one run."""

    times: list[float] = field(default_factory=list)
    calls: list[float] = field(default_factory=list)


def _timed(world: World, call: Callable[[], object], count: bool = True) -> tuple[float, int]:
    """Milliseconds the call took, and how many RPCs localcloud answered meanwhile."""
    before = world.cloud.request_counts() if count else {}
    started = time.perf_counter()
    call()
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, (sum(world.cloud.request_counts().values()) - sum(before.values())) if count else 0


def _ours(world: World, broker: CredentialBroker, kind: str) -> Callable[[], object]:
    user = world.user
    if kind == "API key":
        return lambda: broker.api_key(user, world.settings.api_key_provider_name)
    if kind == "STS":
        return lambda: broker.sts_credentials(user)
    return lambda: broker.oauth2_token(user, *world.mcp)


def _sdk(world: World, sdk: OfficialSdk, kind: str) -> Callable[[], object]:
    tool = {"API key": sdk.api_key, "STS": sdk.sts, "OAuth2": sdk.oauth2}[kind]
    return lambda: sdk.call(tool, world.user)


def _first_calls(world: World, sdk: OfficialSdk, kind: str, n: int) -> tuple[Series, Series]:
    """Nothing cached, interleaved: a fresh broker, then the SDK with its cache emptied."""
    ours, theirs = Series(), Series()
    for _ in range(n):
        for series, call in ((ours, _ours(world, world.fresh_broker(), kind)), (theirs, _sdk(world, sdk, kind))):
            sdk.forget_cache()
            elapsed, calls = _timed(world, call)
            series.times.append(elapsed)
            series.calls.append(calls)
    return ours, theirs


def _repeated_calls(world: World, call: Callable[[], object], n: int) -> Series:
    """The same call again after a first one; calls counted over the batch (cache hits must be free)."""
    call()
    series = Series()
    before = sum(world.cloud.request_counts().values())
    series.times = [_timed(world, call, count=False)[0] for _ in range(n)]
    series.calls = [(sum(world.cloud.request_counts().values()) - before) / n]
    return series


def _record(results: Results, kind: str, path: str, series: Series) -> None:
    results.add(CALLS, f"{kind}: {path} call", sum(series.calls) / len(series.calls), "calls")
    for q in (50, 99):
        results.add(RESOLUTION, f"{kind}: {path}, p{q}", percentile(series.times, q), "ms")


def _one_kind(world: World, sdk: OfficialSdk, plan: Plan, results: Results, kind: str) -> None:
    ours_first, sdk_first = _first_calls(world, sdk, kind, plan.uncached_samples)
    ours_cached = _repeated_calls(world, _ours(world, world.fresh_broker(), kind), plan.cached_samples)
    sdk_repeated = _repeated_calls(world, _sdk(world, sdk, kind), plan.sdk_repeat_samples)
    for path, series in (("ours, first", ours_first), ("ours, cached", ours_cached),
                         ("SDK, first", sdk_first), ("SDK, repeated", sdk_repeated)):
        _record(results, kind, path, series)
    for label, mine, theirs in (("first", ours_first, sdk_first), ("cached/repeated", ours_cached, sdk_repeated)):
        results.add(RESOLUTION, f"{kind}: SDK / ours, {label}, p50",
                    ratio(percentile(theirs.times, 50), percentile(mine.times, 50)), "x")


def run(world: World, sdk: OfficialSdk, plan: Plan, results: Results) -> None:
    """Every run of benchmarks 1 and 2."""
    results.section(CALLS, "1. Identity calls per tool call (RPCs answered by localcloud)")
    results.section(RESOLUTION, "2. Credential resolution time")
    ensure_consented(world)
    for _ in range(plan.repeat):
        for kind in KINDS:
            _one_kind(world, sdk, plan, results, kind)

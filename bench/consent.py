"""Benchmark 3: consent-to-resume latency, from the return route receiving the browser's redirect to the
waiting tool call holding its token.

Ours: a thread blocked in `broker.wait_for_consent`, woken when `/callback` completes the consent. The SDK:
`requires_access_token(poll_for_token=True)` polling GetResourceOAuth2Token every 3 s, with the sample's
`/callback` calling `confirm_user_auth`. Both consent in the same browser, in the same run.
"""

from __future__ import annotations

import itertools
import statistics
import threading
import time
import uuid

from bench.official import SDK_STATE_PREFIX, OfficialSdk
from bench.plan import Plan
from bench.results import Results
from bench.stats import percentile, ratio
from bench.world import World, approve_consent, authorize_url
from identity.broker import ConsentRequired, PendingConsent

__all__ = ["CONSENT", "run"]

CONSENT = "consent"
_TIMEOUT_SECONDS = 90.0  # the SDK gives up after 20 polls 3 s apart


def _fresh_consent(world: World) -> PendingConsent:
    """Disconnect the MCP credential, so the next request asks the user again (ForceAuthentication)."""
    world.broker.disconnect(world.user, "oauth2", *world.mcp)
    try:
        world.broker.oauth2_token(world.user, *world.mcp)
    except ConsentRequired as needed:
        return needed.consent
    raise RuntimeError("a disconnected credential came back without consent")


def _our_round(world: World) -> float:
    """Seconds from the return's arrival to the waiting call holding the token."""
    broker, user, consent = world.broker, world.user, _fresh_consent(world)
    held: list[float] = []

    def tool_call() -> None:
        broker.wait_for_consent(user, consent.state, _TIMEOUT_SECONDS)
        broker.oauth2_token(user, *world.mcp)
        held.append(time.perf_counter())

    waiter = threading.Thread(target=tool_call, name="bench-waiting-tool")
    waiter.start()
    approve_consent(world, authorize_url(world, consent.state))
    waiter.join(_TIMEOUT_SECONDS)
    if not held:
        raise RuntimeError("the waiting tool call never got its token")
    return held[0] - world.server.arrivals[consent.state]


def _sdk_round(world: World, sdk: OfficialSdk) -> tuple[float, list[float], int]:
    """Latency, the gaps between the SDK's polls, and how many GetResourceOAuth2Token calls it made."""
    state = f"{SDK_STATE_PREFIX}{uuid.uuid4().hex}"
    browsing: list[threading.Thread] = []

    def on_auth_url(url: str) -> None:
        # The user opens the link while the tool keeps polling, as in the sample's chat.
        browsing.append(threading.Thread(target=approve_consent, args=(world, url), name="bench-browser"))
        browsing[0].start()

    sdk.clock.polls.clear()
    before = world.cloud.request_counts().get("GetResourceOAuth2Token", 0)
    sdk.consent_call(world.user, state, on_auth_url)
    for thread in browsing:
        thread.join(_TIMEOUT_SECONDS)
    calls = world.cloud.request_counts().get("GetResourceOAuth2Token", 0) - before
    held = sdk.held_at[state]
    moments = [*sdk.clock.polls, held]
    return held - world.server.arrivals[state], [b - a for a, b in itertools.pairwise(moments)], calls


def _one_run(world: World, sdk: OfficialSdk, plan: Plan, results: Results) -> None:
    ours = [_our_round(world) * 1000 for _ in range(plan.consent_rounds)]
    theirs = [_sdk_round(world, sdk) for _ in range(plan.sdk_consent_rounds)]
    sdk_ms = statistics.median(t[0] * 1000 for t in theirs)
    gaps = [gap for t in theirs for gap in t[1]]
    results.add(CONSENT, "ours: wait_for_consent woken by /callback, p50", percentile(ours, 50), "ms")
    results.add(CONSENT, "ours: wait_for_consent woken by /callback, p95", percentile(ours, 95), "ms")
    results.add(CONSENT, "SDK: poll_for_token=True, median of rounds", sdk_ms, "ms")
    results.add(CONSENT, "SDK: measured poll interval", statistics.median(gaps) if gaps else float("nan"), "s")
    results.add(CONSENT, "SDK: GetResourceOAuth2Token calls per consent",
                statistics.median(t[2] for t in theirs), "calls")
    results.add(CONSENT, "SDK / ours, median latency", ratio(sdk_ms, percentile(ours, 50)), "x")


def run(world: World, sdk: OfficialSdk, plan: Plan, results: Results) -> None:
    """Every run of benchmark 3."""
    section = results.section(CONSENT, "3. Consent-to-resume latency (return route -> tool call holds token)")
    section.notes.append("target for ours: p95 under 300 ms")
    for _ in range(plan.repeat):
        _one_run(world, sdk, plan, results)

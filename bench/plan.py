"""How much to measure: repetitions and sample counts for the full and the quick mode."""

from __future__ import annotations

from dataclasses import dataclass, replace

__all__ = ["Plan", "plan_for"]


@dataclass(frozen=True)
class Plan:
    """Every count a benchmark uses; `repeat` is how many runs each figure is the median of."""

    name: str
    repeat: int
    uncached_samples: int      # credential resolutions with nothing cached, per run and path
    cached_samples: int        # cache hits timed per run (ours; they cost microseconds)
    sdk_repeat_samples: int    # repeated SDK calls per run (each one is remote)
    consent_rounds: int        # our consents per run
    sdk_consent_rounds: int    # the SDK's consents per run (each waits out its 3 s poll)
    throughput_seconds: float  # per mode and run
    concurrency: int


_FULL = Plan("full", repeat=3, uncached_samples=15, cached_samples=300, sdk_repeat_samples=15, consent_rounds=5,
             sdk_consent_rounds=1, throughput_seconds=1.5, concurrency=8)
_QUICK = Plan("quick", repeat=1, uncached_samples=2, cached_samples=5, sdk_repeat_samples=2, consent_rounds=1,
              sdk_consent_rounds=1, throughput_seconds=0.2, concurrency=4)


def plan_for(quick: bool, repeat: int | None) -> Plan:
    """The mode's plan, with `--repeat N` overriding how many runs each figure is the median of."""
    plan = _QUICK if quick else _FULL
    if repeat is None:
        return plan
    if repeat < 1:
        raise ValueError("--repeat must be at least 1")
    return replace(plan, repeat=repeat)

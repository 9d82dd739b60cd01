"""The broker's audit trail: every identity call (and cache hit, consent and refusal), for the user it concerned.

A thin recorder over the activity log (`identity.broker.activity`): it times calls, keeps error codes and never a
credential value. The credential side and the consent desk both write through it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from identity.broker.activity import Activity, ActivityLog
from identity.errors import CloudError

__all__ = ["Audit"]

T = TypeVar("T")


class Audit:
    def __init__(self, log: ActivityLog, clock: Callable[[], float]) -> None:
        self.log, self.clock = log, clock

    def record(self, owner: tuple[str, str], action: str, provider: str, outcome: str, started: float | None = None,
               detail: str = "") -> None:
        """One entry; `started` (a perf_counter reading) gives its latency, None records none."""
        latency = 0.0 if started is None else round((time.perf_counter() - started) * 1000, 1)
        self.log.add(Activity(self.clock(), owner, action, provider, outcome, latency, detail))

    def call(self, owner: tuple[str, str], action: str, provider: str, call: Callable[[], T]) -> T:
        """One identity call, recorded with its outcome and latency (errors keep their code)."""
        started = time.perf_counter()
        try:
            result = call()
        except CloudError as error:
            self.record(owner, action, provider, error.code, started, error.message)
            raise
        self.record(owner, action, provider, "ok", started)
        return result

"""Pure statistics for the benchmarks: percentiles of samples, and a figure summarised over runs."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Figure", "percentile", "ratio", "summarize"]


def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    position = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, NaN when the denominator is zero (rendered as n/a)."""
    return numerator / denominator if denominator else math.nan


@dataclass(frozen=True)
class Figure:
    """One reported number: the median of its per-run values, with the extremes."""

    section: str
    name: str
    unit: str
    median: float
    low: float
    high: float
    runs: int
    note: str = ""

    def as_json(self) -> dict[str, object]:
        """The figure for latest.json (NaN becomes null: JSON has no NaN)."""
        def clean(x: float) -> float | None:
            return None if math.isnan(x) else round(x, 6)
        return {"name": self.name, "unit": self.unit, "median": clean(self.median), "min": clean(self.low),
                "max": clean(self.high), "runs": self.runs, "note": self.note}


def summarize(section: str, name: str, unit: str, per_run: Sequence[float], note: str = "") -> Figure:
    """A figure from one value per run (NaNs are left out; all NaN gives a NaN figure)."""
    values = [v for v in per_run if not math.isnan(v)]
    if not values:
        return Figure(section, name, unit, math.nan, math.nan, math.nan, 0, note)
    return Figure(section, name, unit, statistics.median(values), min(values), max(values), len(values), note)

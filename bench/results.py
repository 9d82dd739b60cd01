"""Collecting per-run values of every figure, then one table and one JSON document from them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bench.stats import Figure, summarize

__all__ = ["Results", "Section", "render_table"]


@dataclass
class Section:
    """A numbered benchmark: its figures, or why it has none."""

    key: str
    title: str
    unavailable: str = ""
    notes: list[str] = field(default_factory=list)


class Results:
    """Per-run values of every figure, kept in the order they were first recorded."""

    def __init__(self) -> None:
        self.sections: dict[str, Section] = {}
        self._values: dict[tuple[str, str], list[float]] = {}
        self._units: dict[tuple[str, str], tuple[str, str]] = {}

    def section(self, key: str, title: str) -> Section:
        return self.sections.setdefault(key, Section(key, title))

    def add(self, section: str, name: str, value: float, unit: str, note: str = "") -> None:
        """One run's value of a figure."""
        self._values.setdefault((section, name), []).append(float(value))
        self._units[(section, name)] = (unit, note)

    def ordered(self) -> list[Section]:
        """Sections by their number (titles start with it), whatever order they ran in."""
        return sorted(self.sections.values(), key=lambda s: s.title)

    def figures(self, section: str) -> list[Figure]:
        """The section's figures, each summarised over its runs."""
        figures = []
        for (key, name), values in self._values.items():
            if key == section:
                unit, note = self._units[(key, name)]
                figures.append(summarize(key, name, unit, values, note))
        return figures

    def as_json(self) -> list[dict[str, object]]:
        """Every section with its figures, for latest.json."""
        return [{"key": s.key, "title": s.title, "status": "not available yet" if s.unavailable else "ok",
                 "reason": s.unavailable, "notes": s.notes, "figures": [f.as_json() for f in self.figures(s.key)]}
                for s in self.ordered()]


def _number(value: float, unit: str) -> str:
    if math.isnan(value):
        return "n/a"
    if unit == "x":
        return f"{value:.2f}x"
    if unit in ("calls", "polls") or abs(value) >= 100:
        return f"{value:.0f}" if value == int(value) or abs(value) >= 100 else f"{value:.2f}"
    return f"{value:.3g}" if abs(value) >= 1 else f"{value:.3f}"


def render_table(results: Results) -> str:
    """One plain-text table: a header row per benchmark, then its figures."""
    width = max([len(f.name) for s in results.sections for f in results.figures(s)] + [40]) + 2
    header = f"{'figure':<{width}}{'median':>10}{'min':>10}{'max':>10}  {'unit':<6}{'runs':>5}"
    lines = [header, "-" * len(header)]
    for section in results.ordered():
        lines.append(section.title)
        if section.unavailable:
            lines.append(f"  {'not available yet':<{width - 2}}  ({section.unavailable})")
        for f in results.figures(section.key):
            unit = "" if f.unit == "x" else f.unit
            lines.append(f"  {f.name:<{width - 2}}{_number(f.median, f.unit):>10}{_number(f.low, f.unit):>10}"
                         f"{_number(f.high, f.unit):>10}  {unit:<6}{f.runs:>5}")
        lines.extend(f"  * {note}" for note in section.notes)
    return "\n".join(lines)

"""Timestamps in the format Alibaba Cloud APIs return them."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["iso_utc"]


def iso_utc(timestamp: float) -> str:
    """`2026-11-28T22:02:12Z` for a POSIX timestamp."""
    return datetime.fromtimestamp(timestamp, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

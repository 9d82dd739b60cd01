"""Who the app acts for: a user whose ID token was verified. Everything per-user is keyed by `key`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["SignedInUser"]


@dataclass(frozen=True)
class SignedInUser:
    """A verified sign-in: the ID token's issuer and subject identify the user everywhere in the app."""

    issuer: str
    subject: str
    name: str
    expires_at: float                      # the ID token's `exp`
    id_token: str = field(repr=False)      # the verified token itself (the workload token is exchanged for it)
    claims: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def key(self) -> tuple[str, str]:
        """The user's identity for caches, consents and chats: (issuer, subject), never the name."""
        return (self.issuer, self.subject)

    def is_expired(self, now: float, leeway: float = 0.0) -> bool:
        return now + leeway >= self.expires_at

    def seconds_left(self, now: float) -> int:
        return max(0, int(self.expires_at - now))

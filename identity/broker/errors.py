"""What the broker raises besides CloudError: consent needed, and consent problems on return."""

from __future__ import annotations

from identity.broker.consents import PendingConsent
from identity.errors import IdentityError

__all__ = ["ConsentError", "ConsentRequired", "NotProvisioned", "SignInExpired"]


class ConsentRequired(IdentityError):
    """The user must approve at the provider first; raised at once, never after polling."""

    def __init__(self, consent: PendingConsent) -> None:
        super().__init__(f"{consent.provider} needs your consent (scopes: {', '.join(consent.scopes)}).")
        self.consent = consent


class ConsentError(IdentityError):
    """A consent return that must not complete anything; `status` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason or message  # short, for the activity log


class NotProvisioned(IdentityError):
    """The cloud resources the broker needs are not there yet."""


class SignInExpired(IdentityError):
    """The user's ID token expired: they must sign in again before anything acts for them."""

"""The consent desk: where a consent's return is checked, completed, declined, refused or waited for.

A consent completes only for its owner, in the browser where the owner pressed Authorize, with the session the
identity service issued for it. Any refused attempt ends the consent for good (declined): a link that leaked is
worth nothing afterwards, whoever approved at the provider. Every refusal is recorded for the user who tried and
for the owner (never with the state or session values). The consents themselves live in the app's database
(`identity.broker.consents`), so any replica can take a return, and a waiting turn on any replica wakes.
"""

from __future__ import annotations

from collections.abc import Callable

from alibabacloud_agentidentitydata20251127 import models as data

from identity.broker.audit import Audit
from identity.broker.consents import ConsentRegistry, PendingConsent
from identity.broker.errors import ConsentError, ConsentRequired
from identity.clients import Clients
from identity.users import SignedInUser

__all__ = ["ConsentDesk"]


class ConsentDesk:
    """`fetch_token(user, consent)` gets the token once a consent completed (ConsentRequired if the vault has
    none); `check_user(user)` refuses a user whose sign-in expired."""

    def __init__(self, registry: ConsentRegistry, audit: Audit, clients: Clients, clock: Callable[[], float],
                 fetch_token: Callable[[SignedInUser, PendingConsent], None],
                 check_user: Callable[[SignedInUser], None]) -> None:
        self.registry, self.audit, self.clients, self.clock = registry, audit, clients, clock
        self.fetch_token, self.check_user = fetch_token, check_user

    def authorize(self, user: SignedInUser, state: str, browser: str) -> PendingConsent:
        """The owner pressed Authorize in the browser holding the consent cookie `browser` (its hash): bind the
        consent to that browser and return it, so the route can send the browser to its authorization URL."""
        consent = self._checked(user, state, lambda found: self._check_open(user, found))
        return self.registry.bind_browser(consent.state, browser)

    def complete(self, user: SignedInUser, state: str, session_uri: str | None, browser: str = "") -> PendingConsent:
        """Finish a consent for its owner: CompleteResourceTokenAuth, fetch the token, wake the waiter."""
        self.check_user(user)
        consent = self._checked(user, state, lambda found: self._check_return(user, found, session_uri, browser))
        identifier = data.CompleteResourceTokenAuthRequestUserIdentifier(user_jwt=user.id_token)
        request = data.CompleteResourceTokenAuthRequest(session_uri=consent.session_uri, user_identifier=identifier)
        self.audit.call(user.key, "CompleteResourceTokenAuth", consent.provider,
                        lambda: self.clients.data().complete_resource_token_auth(request))
        try:  # fetched now, so the waiting tool call finds it in the cache
            self.fetch_token(user, consent)
        except ConsentRequired as again:  # the vault did not get the token after all
            self.registry.settle(again.consent.state, "declined", "superseded")
            return self.registry.settle(state, "declined", "the provider returned no token")
        return self.registry.settle(state, "completed")

    def decline(self, user: SignedInUser, state: str, reason: str = "you declined") -> PendingConsent:
        consent = self._checked(user, state, lambda found: self._check_open(user, found))
        self.audit.record(user.key, "consent", consent.provider, "declined", None, reason)
        return self.registry.settle(state, "declined", reason)

    def note_unsigned_return(self, state: str) -> None:
        """A consent return reached the app without a login session: nothing is completed, the consent ends, and
        its owner (if the state names one) sees the attempt in their activity log."""
        consent = self.registry.get(state)
        if consent is not None:
            self._end_refused(consent, "return without a login session")

    def _checked(self, user: SignedInUser, state: str,
                 check: Callable[[PendingConsent | None], PendingConsent]) -> PendingConsent:
        """`check(consent)`; a refusal is logged for both users and ends the consent."""
        consent = self.registry.get(state)
        try:
            return check(consent)
        except ConsentError as refused:
            provider = consent.provider if consent is not None else ""
            self.audit.record(user.key, "CompleteResourceTokenAuth", provider, "refused", None, refused.reason)
            if consent is not None:
                who = f" ({user.name or user.subject})" if consent.owner != user.key else ""
                self._end_refused(consent, refused.reason + who, log_owner=consent.owner != user.key)
            raise

    def _end_refused(self, consent: PendingConsent, reason: str, *, log_owner: bool = True) -> None:
        if log_owner:
            self._record_for(consent.owner, consent.provider, reason)
        self.registry.end_if_pending(consent.state, f"refused: {reason}")  # settled ones stay as they are

    def _record_for(self, owner: tuple[str, str], provider: str, detail: str) -> None:
        self.audit.record(owner, "CompleteResourceTokenAuth", provider, "refused", None, detail)

    def _check_open(self, user: SignedInUser, consent: PendingConsent | None) -> PendingConsent:
        """The consent exists, belongs to `user` and is still pending."""
        if consent is None:
            raise ConsentError("This consent link is unknown: it was not started from this app.", 404,
                               "unknown state")
        if consent.owner != user.key:
            raise ConsentError("This consent was started by another user: it cannot be completed by you.", 403,
                               "consent started by another user")
        status = consent.status_at(self.clock())
        if status != "pending":
            raise ConsentError(f"This consent is already {status}: ask the agent again for a new link.", 409,
                               f"consent already {status}")
        return consent

    def _check_return(self, user: SignedInUser, consent: PendingConsent | None, session_uri: str | None,
                      browser: str) -> PendingConsent:
        """`_check_open`, and the return carries this consent's session and comes to the browser that pressed
        Authorize."""
        consent = self._check_open(user, consent)
        if not session_uri or session_uri != consent.session_uri:
            raise ConsentError("The returned session does not match this consent.", 400,
                               "session does not match the consent")
        if not consent.browser or browser != consent.browser:
            raise ConsentError("This consent was not started from this browser: press Authorize in the app, in "
                               "the browser you approve in.", 403, "return to another browser")
        return consent

    def wait(self, user: SignedInUser, state: str, timeout: float) -> PendingConsent | None:
        """Block (bounded) until this user's consent is settled; woken by the return route at once."""
        consent = self.registry.get(state)
        if consent is None or consent.owner != user.key:
            return None
        return self.registry.wait(state, timeout)

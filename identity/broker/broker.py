"""The credential broker: the only way tools get credentials, always for the signed-in user.

Calls follow the official SDK's default path: the workload access token comes from
GetWorkloadAccessTokenForJWT with the user's verified ID token (signed with the app's key), then
AssumeRoleForWorkloadIdentity gives the role's STS keys, which sign GetResourceAPIKey and
GetResourceOAuth2Token. Every credential is cached per verified user until shortly before it expires;
a consent is raised at once as ConsentRequired and completed by the app's return route.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import jwt
from alibabacloud_agentidentitydata20251127 import models as data

from identity.broker.activity import Activity, ActivityLog
from identity.broker.cache import CacheKey, CredentialCache
from identity.broker.consents import CONSENT_LIFETIME_SECONDS, ConsentRegistry, PendingConsent
from identity.broker.credentials import ApiKey, OAuth2Token, StsCredentials, WorkloadAccessToken
from identity.broker.errors import ConsentError, ConsentRequired, NotProvisioned, SignInExpired
from identity.clients import Clients
from identity.errors import CloudError
from identity.provision import read_config
from identity.settings import Settings
from identity.users import SignedInUser

__all__ = ["CredentialBroker"]

T = TypeVar("T")
LEEWAY_SECONDS = 60.0          # never hand out a credential that dies within a minute
API_KEY_CACHE_SECONDS = 600.0  # API keys do not expire, but can be rotated at the provider
STS_SECONDS = 3600
# When a workload token is not a JWT we can read, assume this lifetime (never past the ID token's).
OPAQUE_TOKEN_SECONDS = 900.0


class CredentialBroker:
    """Process-wide; every cache, consent and log entry is keyed by the verified user."""

    def __init__(self, clients: Clients, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.clients, self.settings, self.clock = clients, settings, clock
        self.cache, self.consents, self.log = CredentialCache(), ConsentRegistry(), ActivityLog()
        # OAuth2 credentials the user disconnected: the next request forces a fresh consent.
        self._disconnected: set[CacheKey] = set()

    # -- plumbing ---------------------------------------------------------------------------------
    def workload(self) -> str:
        """The provisioned workload identity's name."""
        name = self.settings.workload_identity_name or read_config(self.settings.config_json).get(
            "workload_identity_name")
        if not name:
            raise NotProvisioned("The cloud resources are not provisioned yet: open Setup and press Provision.")
        return str(name)

    def _key(self, user: SignedInUser, kind: str, provider: str = "", scopes: tuple[str, ...] = ()) -> CacheKey:
        return CacheKey(user.key, self.workload(), kind, provider, scopes)

    def _record(self, user: SignedInUser, action: str, provider: str, outcome: str, started: float,
                detail: str = "") -> None:
        self.log.add(Activity(self.clock(), user.key, action, provider, outcome,
                              round((time.perf_counter() - started) * 1000, 1), detail))

    def _call(self, user: SignedInUser, action: str, provider: str, call: Callable[[], T]) -> T:
        """One identity call, logged with its outcome and latency (errors keep their code)."""
        started = time.perf_counter()
        try:
            result = call()
        except CloudError as error:
            self._record(user, action, provider, error.code, started, error.message)
            raise
        self._record(user, action, provider, "ok", started)
        return result

    def _cached(self, user: SignedInUser, key: CacheKey) -> Any:
        found = self.cache.get(key, self.clock(), LEEWAY_SECONDS)
        if found is not None:
            self._record(user, "cache", key.provider or key.kind, "cache hit", time.perf_counter(),
                         found.fingerprint)
        return found

    def _check(self, user: SignedInUser) -> None:
        if user.is_expired(self.clock()):
            raise SignInExpired("Your sign-in has expired: sign in again.")

    # -- credentials --------------------------------------------------------------------------------
    def workload_token(self, user: SignedInUser) -> WorkloadAccessToken:
        """The workload access token for this user (ForJWT with the verified ID token)."""
        self._check(user)
        key = self._key(user, "workload")
        found = self._cached(user, key)
        if found is not None:
            return found
        request = data.GetWorkloadAccessTokenForJWTRequest(workload_identity_name=key.workload,
                                                           user_token=user.id_token)
        body = self._call(user, "GetWorkloadAccessTokenForJWT", "", lambda: self.clients.data()
                          .get_workload_access_token_for_jwt(request).body)
        token = WorkloadAccessToken(self._token_expiry(body.workload_access_token, user), key.workload,
                                    body.workload_access_token)
        self.cache.put(key, token, self.clock())
        return token

    def _token_expiry(self, token: str, user: SignedInUser) -> float:
        try:
            exp = float(jwt.decode(token, options={"verify_signature": False})["exp"])
        except (jwt.PyJWTError, KeyError, TypeError, ValueError):
            exp = self.clock() + OPAQUE_TOKEN_SECONDS
        return min(exp, user.expires_at)

    def sts_credentials(self, user: SignedInUser) -> StsCredentials:
        """The workload role's STS keys for this user (AssumeRoleForWorkloadIdentity)."""
        key = self._key(user, "sts")
        found = self._cached(user, key)
        if found is not None:
            return found
        wat = self.workload_token(user)
        request = data.AssumeRoleForWorkloadIdentityRequest(
            workload_access_token=wat.value, role_session_name=f"agent-{user.subject}"[:64],
            duration_seconds=STS_SECONDS)
        creds = self._call(user, "AssumeRoleForWorkloadIdentity", "", lambda: self.clients.data()
                           .assume_role_for_workload_identity(request).body.credentials)
        sts = StsCredentials(_parse_time(creds.expiration, self.clock() + STS_SECONDS), creds.access_key_id,
                             creds.access_key_secret, creds.security_token)
        self.cache.put(key, sts, self.clock())
        return sts

    def _as_role(self, user: SignedInUser) -> Any:
        """A data-plane client signed with the role's STS keys, as the SDK does by default."""
        sts = self.sts_credentials(user)
        return self.clients.data((sts.access_key_id, sts.access_key_secret, sts.security_token))

    def api_key(self, user: SignedInUser, provider: str) -> ApiKey:
        """An API key from an API-key credential provider."""
        key = self._key(user, "api_key", provider)
        found = self._cached(user, key)
        if found is not None:
            return found
        request = data.GetResourceAPIKeyRequest(resource_credential_provider_name=provider,
                                                workload_access_token=self.workload_token(user).value)
        value = self._call(user, "GetResourceAPIKey", provider,
                           lambda: self._as_role(user).get_resource_apikey(request).body.apikey)
        api_key = ApiKey(self.clock() + API_KEY_CACHE_SECONDS, provider, value)
        self.cache.put(key, api_key, self.clock())
        return api_key

    def oauth2_token(self, user: SignedInUser, provider: str, scopes: tuple[str, ...], *,
                     flow: str = "USER_FEDERATION", force: bool = False,
                     custom_parameters: dict[str, str] | None = None) -> OAuth2Token:
        """An OAuth2 token; raises ConsentRequired at once when the user must approve first."""
        # An M2M token is the app's, not the user's: kept apart so neither can ever answer for the other.
        key = self._key(user, "oauth2" if flow != "M2M" else "oauth2_m2m", provider, scopes)
        forced = force or key in self._disconnected
        found = None if forced else self._cached(user, key)
        if found is not None:
            return found
        # A consent already waiting is reused, also after a Disconnect; only an explicit `force` starts another.
        waiting = None if force or flow == "M2M" else self.consents.open_for(user.key, provider, scopes, self.clock())
        if waiting is not None:
            raise ConsentRequired(waiting)
        return self._request_token(user, key, flow, forced, custom_parameters)

    def _request_token(self, user: SignedInUser, key: CacheKey, flow: str, force: bool,
                       custom_parameters: dict[str, str] | None) -> OAuth2Token:
        state = ConsentRegistry.new_state()
        federated = flow != "M2M"
        request = data.GetResourceOAuth2TokenRequest(
            resource_credential_provider_name=key.provider, scopes=list(key.scopes), oauth2_flow=flow,
            workload_access_token=self.workload_token(user).value, force_authentication=force or None,
            resource_oauth2_return_url=self.settings.consent_return_url if federated else None,
            custom_state=state if federated else None, custom_parameters=custom_parameters)
        body = self._call(user, "GetResourceOAuth2Token", key.provider,
                          lambda: self._as_role(user).get_resource_oauth2_token(request).body)
        if body.access_token:
            # A token after a Disconnect means a fresh consent completed: from now on the vault's answer counts.
            # Until then the mark stays, so a consent that is declined or refused never brings the old token back.
            self._disconnected.discard(key)
            return self._keep_token(key, body)
        raise ConsentRequired(self._pending(user, state, key.provider, key.scopes, body))

    def held_oauth2_token(self, user: SignedInUser, provider: str, scopes: tuple[str, ...]) -> OAuth2Token | None:
        """The token if the user already consented (cached or in the vault); None otherwise.

        Unlike `oauth2_token` it never records a pending consent: for probing ("is MCP connected?"), not
        for a tool the user asked for.
        """
        key = self._key(user, "oauth2", provider, scopes)
        found = None if key in self._disconnected else self._cached(user, key)
        if found is not None or key in self._disconnected:
            return found
        request = data.GetResourceOAuth2TokenRequest(
            resource_credential_provider_name=provider, scopes=list(scopes), oauth2_flow="USER_FEDERATION",
            workload_access_token=self.workload_token(user).value,
            resource_oauth2_return_url=self.settings.consent_return_url)
        body = self._call(user, "GetResourceOAuth2Token", provider,
                          lambda: self._as_role(user).get_resource_oauth2_token(request).body)
        return self._keep_token(key, body) if body.access_token else None

    def _keep_token(self, key: CacheKey, body: Any) -> OAuth2Token:
        token = OAuth2Token(self.clock() + float(body.expires_in or 0), key.provider, key.scopes, body.access_token)
        self.cache.put(key, token, self.clock())
        return token

    def _pending(self, user: SignedInUser, state: str, provider: str, scopes: tuple[str, ...],
                 body: Any) -> PendingConsent:
        now = self.clock()
        consent = PendingConsent(state, user.key, provider, scopes, body.authorization_url, body.session_uri,
                                 now, now + CONSENT_LIFETIME_SECONDS)
        self.consents.add(consent)
        self._record(user, "GetResourceOAuth2Token", provider, "consent required", time.perf_counter())
        return consent

    # -- consent return -------------------------------------------------------------------------------
    # A consent completes only for its owner, in the browser where the owner pressed Authorize, with the session
    # the identity service issued for it. Any refused attempt ends the consent for good (declined): a link that
    # leaked is worth nothing afterwards, whoever approved at the provider. Every refusal is logged for the user
    # who tried and for the owner (never with the state or session values).
    def authorize_consent(self, user: SignedInUser, state: str, browser: str) -> PendingConsent:
        """The owner pressed Authorize in the browser holding the consent cookie `browser` (its hash): bind the
        consent to that browser and return it, so the route can send the browser to its authorization URL."""
        consent = self._checked(user, state, lambda found: self._check_open(user, found))
        return self.consents.bind_browser(consent.state, browser)

    def complete_consent(self, user: SignedInUser, state: str, session_uri: str | None,
                         browser: str = "") -> PendingConsent:
        """Finish a consent for its owner: CompleteResourceTokenAuth, fetch the token, wake the waiter."""
        self._check(user)
        consent = self._checked(user, state, lambda found: self._check_return(user, found, session_uri, browser))
        identifier = data.CompleteResourceTokenAuthRequestUserIdentifier(user_jwt=user.id_token)
        request = data.CompleteResourceTokenAuthRequest(session_uri=consent.session_uri, user_identifier=identifier)
        self._call(user, "CompleteResourceTokenAuth", consent.provider,
                   lambda: self.clients.data().complete_resource_token_auth(request))
        key = self._key(user, "oauth2", consent.provider, consent.scopes)
        try:  # fetched now, so the waiting tool call finds it in the cache
            self._request_token(user, key, "USER_FEDERATION", False, None)
        except ConsentRequired as again:  # the vault did not get the token after all
            self.consents.settle(again.consent.state, "declined", "superseded")
            return self.consents.settle(state, "declined", "the provider returned no token")
        return self.consents.settle(state, "completed")

    def decline_consent(self, user: SignedInUser, state: str, reason: str = "you declined") -> PendingConsent:
        consent = self._checked(user, state, lambda found: self._check_open(user, found))
        self._record(user, "consent", consent.provider, "declined", time.perf_counter(), reason)
        return self.consents.settle(state, "declined", reason)

    def note_unsigned_return(self, state: str) -> None:
        """A consent return reached the app without a login session: nothing is completed, the consent ends, and
        its owner (if the state names one) sees the attempt in their activity log."""
        consent = self.consents.get(state)
        if consent is not None:
            self._end_refused(consent, "return without a login session")

    def _checked(self, user: SignedInUser, state: str,
                 check: Callable[[PendingConsent | None], PendingConsent]) -> PendingConsent:
        """`check(consent)`; a refusal is logged for both users and ends the consent."""
        consent = self.consents.get(state)
        try:
            return check(consent)
        except ConsentError as refused:
            provider = consent.provider if consent is not None else ""
            self._record(user, "CompleteResourceTokenAuth", provider, "refused", time.perf_counter(), refused.reason)
            if consent is not None:
                who = f" ({user.name or user.subject})" if consent.owner != user.key else ""
                self._end_refused(consent, refused.reason + who, log_owner=consent.owner != user.key)
            raise

    def _end_refused(self, consent: PendingConsent, reason: str, *, log_owner: bool = True) -> None:
        if log_owner:
            self._record_for(consent.owner, consent.provider, reason)
        self.consents.end_if_pending(consent.state, f"refused: {reason}")  # settled ones stay as they are

    def _record_for(self, owner: tuple[str, str], provider: str, detail: str) -> None:
        self.log.add(Activity(self.clock(), owner, "CompleteResourceTokenAuth", provider, "refused", 0.0, detail))

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

    def wait_for_consent(self, user: SignedInUser, state: str, timeout: float) -> PendingConsent | None:
        """Block (bounded) until this user's consent is settled; woken by the return route at once."""
        consent = self.consents.get(state)
        if consent is None or consent.owner != user.key:
            return None
        return self.consents.wait(state, timeout)

    # -- housekeeping -----------------------------------------------------------------------------------
    def disconnect(self, user: SignedInUser, kind: str, provider: str = "", scopes: tuple[str, ...] = ()) -> None:
        """Forget a credential here. For OAuth2 the next use asks for consent again (ForceAuthentication);
        API keys and STS keys are simply fetched anew."""
        key = self._key(user, kind, provider, scopes)
        self.cache.drop(key)
        if kind == "oauth2":
            self._disconnected.add(key)
        self._record(user, "disconnect", provider or kind, "ok", time.perf_counter())

    def forget_user(self, user: SignedInUser) -> None:
        """Sign-out: drop every cached credential and pending consent of this user.

        Disconnect marks stay: they hold no secret, and a sign-out followed by a sign-in must not quietly bring
        back a vaulted token the user disconnected (the next use still asks for consent again)."""
        self.cache.forget_user(user.key)
        self.consents.forget(user.key)


def _parse_time(value: str | None, default: float) -> float:

    try:
        return datetime.strptime(value or "", "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return default

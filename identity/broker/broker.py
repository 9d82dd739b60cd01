"""The credential broker: the only way tools get credentials, always for the signed-in user.

Calls follow the official SDK's default path: the workload access token comes from
GetWorkloadAccessTokenForJWT with the user's verified ID token (signed with the app's key), then
AssumeRoleForWorkloadIdentity gives the role's STS keys, which sign GetResourceAPIKey and
GetResourceOAuth2Token. Every credential is cached per verified user until shortly before it expires;
a consent is raised at once as ConsentRequired and completed by the app's return route.

Split by responsibility: this module gets and caches credentials; `consent_desk` checks and completes consent
returns; `audit` records every call. State that outlives a process (consents, Disconnect marks, the activity log)
is in the app's database; credentials never are.
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import jwt
from alibabacloud_agentidentitydata20251127 import models as data

from identity.broker.activity import ActivityLog
from identity.broker.audit import Audit
from identity.broker.cache import CacheKey, CredentialCache
from identity.broker.consent_desk import ConsentDesk
from identity.broker.consents import CONSENT_LIFETIME_SECONDS, ConsentRegistry, PendingConsent
from identity.broker.credentials import ApiKey, OAuth2Token, StsCredentials, WorkloadAccessToken
from identity.broker.disconnects import DisconnectMarks
from identity.broker.errors import ConsentRequired, NotProvisioned, SignInExpired
from identity.broker.holdings import Holdings
from identity.broker.kinds import CredentialKind
from identity.broker.needs import CredentialNeed
from identity.clients import Clients
from identity.provision import read_config
from identity.settings import Settings
from identity.store import Change, ChangeFeed, Database, database_url, open_database
from identity.users import SignedInUser

__all__ = ["CredentialBroker"]

T = TypeVar("T")
LEEWAY_SECONDS = 60.0          # never hand out a credential that dies within a minute
API_KEY_CACHE_SECONDS = 600.0  # API keys do not expire, but can be rotated at the provider
STS_SECONDS = 3600
# When a workload token is not a JWT we can read, assume this lifetime (never past the ID token's).
OPAQUE_TOKEN_SECONDS = 900.0


# What one replica tells the others (identity.store.feed), so none keeps using what a user took back.
SIGNED_OUT, DISCONNECTED, CLEARED = "signed-out", "disconnected", "cleared"


class CredentialBroker:
    """Process-wide; every cache, consent and log entry is keyed by the verified user.

    Credentials live only in this process's memory (and in Agent Identity's vault). Consents, Disconnect marks and
    the activity log live in the app's database, shared by every replica; a sign-out, Disconnect or Clear made on
    another replica reaches this one's cache through the change feed within a second.
    """

    def __init__(self, clients: Clients, settings: Settings, clock: Callable[[], float] = time.time,
                 database: Database | None = None, feed: ChangeFeed | None = None) -> None:
        self.clients, self.settings, self.clock = clients, settings, clock
        self.database = database or _scratch_database(self)
        self.feed = feed or ChangeFeed(self.database, clock)
        self.cache, self.log = CredentialCache(), ActivityLog(self.database, clock)
        now = lambda: self.clock()  # noqa: E731  (read at each call: tests move the broker's clock)
        self.audit = Audit(self.log, now)
        self.consents = ConsentRegistry(self.database, self.feed)
        self.desk = ConsentDesk(self.consents, self.audit, clients, now, self._token_after_consent, self._check)
        # OAuth2 credentials the user disconnected: the next request forces a fresh consent.
        self.marks = DisconnectMarks(self.database)
        self.feed.subscribe(self._apply)

    def _apply(self, change: Change) -> None:
        """Another replica's sign-out, Disconnect or Clear: stop using what this process cached for it."""
        if change.topic == SIGNED_OUT:
            self.cache.forget_user(change.owner)
        elif change.topic == DISCONNECTED:
            fields = json.loads(change.detail)
            self.cache.drop(CacheKey(change.owner, fields["workload"], fields["kind"], fields["provider"],
                                     tuple(fields["scopes"])))
        elif change.topic == CLEARED:
            self.cache.clear()

    # -- plumbing ---------------------------------------------------------------------------------
    def workload(self) -> str:
        """The provisioned workload identity's name."""
        name = self.settings.workload_identity_name or read_config(self.settings.config_json).get(
            "workload_identity_name")
        if not name:
            raise NotProvisioned("The cloud resources are not provisioned yet: open Setup and press Provision.")
        return str(name)

    def _key(self, user: SignedInUser, kind: CredentialKind, provider: str = "",
             scopes: tuple[str, ...] = ()) -> CacheKey:
        return CacheKey(user.key, self.workload(), kind, provider, scopes)

    def _record(self, user: SignedInUser, action: str, provider: str, outcome: str, started: float | None = None,
                detail: str = "") -> None:
        self.audit.record(user.key, action, provider, outcome, started, detail)

    def _call(self, user: SignedInUser, action: str, provider: str, call: Callable[[], T]) -> T:
        return self.audit.call(user.key, action, provider, call)

    def _cached(self, user: SignedInUser, key: CacheKey) -> Any:
        found = self.cache.get(key, self.clock(), LEEWAY_SECONDS)
        if found is not None:
            self._record(user, "cache", key.provider or key.kind, "cache hit", None, found.fingerprint)
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
        # The hot path asks only memory: a Disconnect drops the cached token here and, through the change feed, on
        # every replica, so a cached token is never one the user took back.
        found = None if force else self._cached(user, key)
        if found is not None:
            return found
        forced = force or key in self.marks
        # A consent already waiting is reused, also after a Disconnect; only an explicit `force` starts another.
        waiting = None if force or flow == "M2M" else self.consents.open_for(user.key, provider, scopes, self.clock())
        if waiting is not None:
            raise ConsentRequired(waiting)
        return self._request_token(user, key, flow, forced, custom_parameters)

    def _request_token(self, user: SignedInUser, key: CacheKey, flow: str, force: bool,
                       custom_parameters: dict[str, str] | None, *, consented: bool = False) -> OAuth2Token:
        state = ConsentRegistry.new_state()
        federated = flow != "M2M"
        request = data.GetResourceOAuth2TokenRequest(
            resource_credential_provider_name=key.provider, scopes=list(key.scopes), oauth2_flow=flow,
            workload_access_token=self.workload_token(user).value, force_authentication=force or None,
            resource_oauth2_return_url=self.settings.consent_return_url if federated else None,
            custom_state=state if federated else None, custom_parameters=custom_parameters)
        body = self._call(user, "GetResourceOAuth2Token", key.provider,
                          lambda: self._as_role(user).get_resource_oauth2_token(request).body)
        if body.access_token and (force or consented):
            # A fresh consent completed (or the forced request needed none): from now on the vault's answer counts.
            # Until then the mark stays, so a consent that is declined or refused never brings the old token back.
            self.marks.discard(key)
        elif body.access_token and key in self.marks:
            # Disconnected (here or on another replica) while this request was on its way: the vault's token does not
            # count; ask for consent again instead.
            return self._request_token(user, key, flow, True, custom_parameters)
        if body.access_token:
            return self._keep_token(key, body)
        raise ConsentRequired(self._pending(user, state, key.provider, key.scopes, body))

    def held_oauth2_token(self, user: SignedInUser, provider: str, scopes: tuple[str, ...]) -> OAuth2Token | None:
        """The token if the user already consented (cached or in the vault); None otherwise.

        Unlike `oauth2_token` it never records a pending consent: for probing ("is MCP connected?"), not
        for a tool the user asked for.
        """
        key = self._key(user, "oauth2", provider, scopes)
        found = self._cached(user, key)
        if found is not None or key in self.marks:
            return found
        request = data.GetResourceOAuth2TokenRequest(
            resource_credential_provider_name=provider, scopes=list(scopes), oauth2_flow="USER_FEDERATION",
            workload_access_token=self.workload_token(user).value,
            resource_oauth2_return_url=self.settings.consent_return_url)
        body = self._call(user, "GetResourceOAuth2Token", provider,
                          lambda: self._as_role(user).get_resource_oauth2_token(request).body)
        if not body.access_token or key in self.marks:  # disconnected meanwhile, here or on another replica
            return None
        return self._keep_token(key, body)

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
        self._record(user, "GetResourceOAuth2Token", provider, "consent required")
        return consent

    # -- consent return: the desk's (identity.broker.consent_desk); kept here so callers need one object ----------
    def authorize_consent(self, user: SignedInUser, state: str, browser: str) -> PendingConsent:
        return self.desk.authorize(user, state, browser)

    def complete_consent(self, user: SignedInUser, state: str, session_uri: str | None,
                         browser: str = "") -> PendingConsent:
        return self.desk.complete(user, state, session_uri, browser)

    def decline_consent(self, user: SignedInUser, state: str, reason: str = "you declined") -> PendingConsent:
        return self.desk.decline(user, state, reason)

    def note_unsigned_return(self, state: str) -> None:
        self.desk.note_unsigned_return(state)

    def wait_for_consent(self, user: SignedInUser, state: str, timeout: float) -> PendingConsent | None:
        return self.desk.wait(user, state, timeout)

    def _token_after_consent(self, user: SignedInUser, consent: PendingConsent) -> None:
        """Fetched as soon as a consent completes, so the waiting tool call finds it in the cache; except a credential
        the AI Gateway injects (the order service's): the gateway fetches it from the vault, and the app never holds
        it, not even to check."""
        if consent.provider == self.settings.gateway.order_provider_name:
            return
        self._request_token(user, self._key(user, "oauth2", consent.provider, consent.scopes), "USER_FEDERATION",
                            False, None, consented=True)

    # -- what a user holds (the pages' one read-only query) ---------------------------------------------------
    def holdings(self, user: SignedInUser, needs: Sequence[CredentialNeed] = ()) -> Holdings:
        """The user's cached credentials for `needs`, consents and activity; never calls an identity service."""
        try:
            workload = self.workload()
        except NotProvisioned:
            return Holdings(None, None, None, {}, self.consents.of(user.key), self.log.of(user.key))
        key = CacheKey(user.key, workload, "workload")

        def peek(kind: CredentialKind, provider: str = "", scopes: tuple[str, ...] = ()) -> Any:
            return self.cache.peek(replace(key, kind=kind, provider=provider, scopes=scopes))

        held = {need: peek(need.kind, need.provider, need.scopes if need.kind == "oauth2" else ()) for need in needs}
        return Holdings(workload, peek("workload"), peek("sts"), held, self.consents.of(user.key),
                        self.log.of(user.key))

    # -- housekeeping -----------------------------------------------------------------------------------
    def disconnect(self, user: SignedInUser, kind: CredentialKind, provider: str = "",
                   scopes: tuple[str, ...] = ()) -> None:
        """Forget a credential here. For OAuth2 the next use asks for consent again (ForceAuthentication);
        API keys and STS keys are simply fetched anew."""
        key = self._key(user, kind, provider, scopes)
        self.cache.drop(key)
        with self.database.write() as db:  # the mark and its announcement commit together
            if kind == "oauth2":
                DisconnectMarks.add(db, key, self.clock())
            self.feed.publish(db, DISCONNECTED, user.key, json.dumps(
                {"workload": key.workload, "kind": kind, "provider": provider, "scopes": list(scopes)}))
        self._record(user, "disconnect", provider or kind, "ok")

    def forget_user(self, user: SignedInUser) -> None:
        """Sign-out: drop every cached credential and pending consent of this user, on every replica.

        Disconnect marks stay: they hold no secret, and a sign-out followed by a sign-in must not quietly bring
        back a vaulted token the user disconnected (the next use still asks for consent again)."""
        self.cache.forget_user(user.key)
        self.consents.forget(user.key)
        with self.database.write() as db:
            self.feed.publish(db, SIGNED_OUT, user.key)

    def forget_everyone(self) -> None:
        """Setup's Clear: the resources are gone, so is every cached credential, on every replica."""
        self.cache.clear()
        with self.database.write() as db:
            self.feed.publish(db, CLEARED, ("", ""))


def _scratch_database(owner: object) -> Database:
    """A private SQLite database in a temporary directory, removed with `owner` (a broker built without the app's
    database, as tests and tools do): the same code path as the app's, just not shared."""
    directory = Path(tempfile.mkdtemp(prefix="aid-state-"))
    database = open_database(database_url(None, directory), directory, secret_key=secrets.token_urlsafe(32))
    weakref.finalize(owner, _remove_scratch, database, directory)
    return database


def _remove_scratch(database: Database, directory: Path) -> None:
    database.close()
    shutil.rmtree(directory, ignore_errors=True)


def _parse_time(value: str | None, default: float) -> float:

    try:
        return datetime.strptime(value or "", "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return default

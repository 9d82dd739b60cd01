"""The data plane's records: consent sessions, and the token vault.

A consent session is a USER_FEDERATION token the user must approve at the provider first. Life of a session
(10 minutes, each step once):
  GetResourceOAuth2Token → AuthorizationURL (`/oauth2/authorize?request_uri=…`) + SessionURI
  browser opens the AuthorizationURL → redirected to the provider's authorize endpoint (PKCE, state)
  provider → `/oauth2/callback/<id>` → code exchanged, token held in the session → browser redirected to
      the workload's return URL with `session_uri` and `state` (= CustomState)
  CompleteResourceTokenAuth(SessionURI, UserIdentifier) by the same user → the token enters the vault.

The token vault holds OAuth2 tokens for (workload, user, provider, scopes); refresh tokens never leave it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import asdict, dataclass, field, replace
from typing import Any
from urllib.parse import urlencode

from localcloud.services.agentidentitydata.errors import ConsentSessionError
from localcloud.store import Store

__all__ = ["KEEP_AFTER_LIFETIME_SECONDS", "SESSION_LIFETIME_SECONDS", "SESSION_URI_PREFIX", "ConsentSession",
           "VaultEntry", "VaultKey", "delete_vaulted", "find_consent_by_state", "forget_consents", "forget_vaulted",
           "get_vaulted", "load_consent", "put_vaulted", "save_consent", "start_consent"]

# -- consent sessions ----------------------------------------------------------------------------
SESSION_LIFETIME_SECONDS = 600
# Finished or expired sessions are kept this long (a late return still hears "expired", not "unknown"), then
# deleted when a new session starts: the store never grows without bound.
KEEP_AFTER_LIFETIME_SECONDS = 3600
# The shape of the sample's session URIs (RFC 9126 request URIs); the suffix is ours.
SESSION_URI_PREFIX = "urn:ietf:params:oauth:request_uri:"
_CONSENT_KIND = "agentidentitydata.consent_session"
_STATE_KIND = "agentidentitydata.consent_state"
_GLOBAL = ""  # sessions are found by id from the browser, which names no account


@dataclass(frozen=True)
class ConsentSession:
    id: str
    account: str
    workload: str
    user_id: str
    provider: str
    scopes: list[str]
    return_url: str
    custom_state: str | None
    custom_parameters: dict[str, str]
    created_at: float
    provider_state: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    code_verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    status: str = "IN_PROGRESS"  # then COMPLETED or FAILED
    opened: bool = False
    authorized: bool = False  # the provider's callback arrived with a token
    pending: dict[str, Any] | None = None  # that token, until CompleteResourceTokenAuth

    @property
    def uri(self) -> str:
        return SESSION_URI_PREFIX + self.id

    def expired(self, now: float) -> bool:
        return self.status != "COMPLETED" and now > self.created_at + SESSION_LIFETIME_SECONDS

    def status_at(self, now: float) -> str:
        return "EXPIRED" if self.expired(now) else self.status

    def code_challenge(self) -> str:
        digest = hashlib.sha256(self.code_verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def return_redirect(self, **extra: str) -> str:
        """The workload's return URL with `session_uri`, `state` and any `extra` (e.g. an error)."""
        params = {"session_uri": self.uri, **({"state": self.custom_state} if self.custom_state else {}), **extra}
        joiner = "&" if "?" in self.return_url else "?"
        return f"{self.return_url}{joiner}{urlencode(params)}"


def start_consent(store: Store, **fields: Any) -> ConsentSession:
    """A new session (fresh id, state and PKCE verifier), stored; long-finished sessions are deleted first."""
    session = ConsentSession(id=secrets.token_urlsafe(24), **fields)
    _prune_consents(store, session.created_at)
    store.insert(_CONSENT_KIND, _GLOBAL, session.id, asdict(session))
    store.insert(_STATE_KIND, _GLOBAL, session.provider_state, {"session": session.id})
    return session


def _prune_consents(store: Store, now: float) -> None:
    cutoff = now - SESSION_LIFETIME_SECONDS - KEEP_AFTER_LIFETIME_SECONDS
    for doc in store.list(_CONSENT_KIND, _GLOBAL):
        if doc["created_at"] < cutoff:
            store.delete(_STATE_KIND, _GLOBAL, doc["provider_state"])
            store.delete(_CONSENT_KIND, _GLOBAL, doc["id"])


def save_consent(store: Store, session: ConsentSession, **changes: Any) -> ConsentSession:
    updated = replace(session, **changes)
    store.replace(_CONSENT_KIND, _GLOBAL, session.id, asdict(updated))
    return updated


def _get_consent(store: Store, session_id: str) -> ConsentSession | None:
    doc = store.get(_CONSENT_KIND, _GLOBAL, session_id)
    return ConsentSession(**doc) if doc else None


def load_consent(store: Store, uri: str, account: str | None = None) -> ConsentSession:
    """The session a SessionURI names (of `account`, when given); unknown ones are an error."""
    session_id = uri.removeprefix(SESSION_URI_PREFIX) if uri.startswith(SESSION_URI_PREFIX) else ""
    session = _get_consent(store, session_id) if session_id else None
    if session is None or (account is not None and session.account != account):
        raise ConsentSessionError("NotFound", "The consent session does not exist: start a new one.")
    return session


def find_consent_by_state(store: Store, state: str) -> ConsentSession | None:
    """The session a provider callback's `state` belongs to."""
    doc = store.get(_STATE_KIND, _GLOBAL, state) if state else None
    return _get_consent(store, doc["session"]) if doc else None


def forget_consents(store: Store, account: str, *, workload: str | None = None, provider: str | None = None) -> None:
    """Delete the consent sessions of a workload identity or credential provider that is being deleted (a session
    the user approved but nobody completed still holds the provider's token)."""
    for doc in store.list(_CONSENT_KIND, _GLOBAL):
        if doc["account"] == account and workload in (None, doc["workload"]) and provider in (None, doc["provider"]):
            store.delete(_STATE_KIND, _GLOBAL, doc["provider_state"])
            store.delete(_CONSENT_KIND, _GLOBAL, doc["id"])


# -- the token vault -----------------------------------------------------------------------------
_VAULT_KIND = "agentidentitydata.vault"


@dataclass(frozen=True)
class VaultKey:
    account: str
    workload: str
    user_id: str  # "" for machine-to-machine tokens
    provider: str
    scopes: tuple[str, ...]

    @classmethod
    def of(cls, account: str, workload: str, user_id: str | None, provider: str, scopes: list[str]) -> VaultKey:
        return cls(account, workload, user_id or "", provider, tuple(sorted(set(scopes))))

    def name(self) -> str:
        """A stable store name for the key (scopes are part of it: a token is for exactly those scopes)."""
        raw = json.dumps([self.workload, self.user_id, self.provider, list(self.scopes)])
        return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class VaultEntry:
    access_token: str
    expires_at: float
    refresh_token: str | None = None
    scope: str = ""

    def expires_in(self, now: float) -> int:
        return max(0, int(self.expires_at - now))

    @classmethod
    def from_token_response(cls, body: dict[str, Any], now: float) -> VaultEntry:
        """An entry from an OAuth token endpoint's JSON answer."""
        lifetime = body.get("expires_in")
        seconds = float(lifetime) if isinstance(lifetime, int | float) else 3600.0
        return cls(str(body["access_token"]), now + seconds, body.get("refresh_token"), str(body.get("scope", "")))


def get_vaulted(store: Store, key: VaultKey) -> VaultEntry | None:
    doc = store.get(_VAULT_KIND, key.account, key.name())
    return VaultEntry(**doc["entry"]) if doc else None


def put_vaulted(store: Store, key: VaultKey, entry: VaultEntry) -> None:
    doc = {"key": asdict(key), "entry": asdict(entry)}
    with store.locked():
        if not store.replace(_VAULT_KIND, key.account, key.name(), doc):
            store.insert(_VAULT_KIND, key.account, key.name(), doc)


def delete_vaulted(store: Store, key: VaultKey) -> None:
    store.delete(_VAULT_KIND, key.account, key.name())


def forget_vaulted(store: Store, account: str, *, workload: str | None = None, provider: str | None = None) -> None:
    """Delete every token held for a workload identity or a credential provider that is being deleted.

    Agent Identity's documentation does not say; we assume a deleted resource's tokens go with it, since nothing
    could ever use them again."""
    for doc in store.list(_VAULT_KIND, account):
        key = VaultKey(**{**doc["key"], "scopes": tuple(doc["key"]["scopes"])})
        if workload in (None, key.workload) and provider in (None, key.provider):
            delete_vaulted(store, key)

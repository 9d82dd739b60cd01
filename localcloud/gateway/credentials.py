"""Credential injection: the user's downstream OAuth2 token from the data plane, cached until shortly before expiry.

The plugin asks the data plane's GetResourceOAuth2Token (USER_FEDERATION, with the caller's workload access
token). localcloud's gateway calls the data plane's own handler in process, not over its RPC front: the same
checks (the workload's RAM role must allow `agentidentitydata:GetResourceOAuth2Token` on the provider), the same
vault, refresh and consent sessions, and no request signing for a call that never leaves the process. It still
counts in `/_localcloud/requests` as a GetResourceOAuth2Token.

* A token comes back: it is cached per (account, workload identity, user, provider, scopes) until
  `REFRESH_LEEWAY_SECONDS` before it expires, and only while the vault still holds that very token (one store
  read: a Disconnect or a deleted provider ends it at once). The workload is part of the key because the data
  plane vaults per workload: a token one workload got is never handed to another, whose role may not allow it.
* No consent yet: `ConsentRequired` with the data plane's authorization URL, for the -32042 URL elicitation. The
  consent session returns to the plugin's `oauthReturnURL`, or else to the workload identity's first allowed return
  URL, with `state` = the elicitation id; there the app completes it (CompleteResourceTokenAuth) for its user.
* Anything else the data plane refuses: `CredentialUnavailable` (the plugin's 500, naming the data plane's code).
"""

from __future__ import annotations

import hmac
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from localcloud.gateway.callers import Caller, in_process_call
from localcloud.gateway.config import CredentialInjection
from localcloud.gateway.errors import ConsentRequired, CredentialUnavailable
from localcloud.request_log import RequestLog
from localcloud.rpc.errors import ServiceError
from localcloud.services.agentidentity.records import WORKLOAD_IDENTITY
from localcloud.services.agentidentitydata import oauth2_tokens
from localcloud.services.agentidentitydata.records import VaultKey, get_vaulted
from localcloud.store import Store
from localcloud.urls import LocalUrls

__all__ = ["MAX_CACHED", "REFRESH_LEEWAY_SECONDS", "DownstreamToken", "DownstreamTokens"]

REFRESH_LEEWAY_SECONDS = 60.0
MAX_CACHED = 10_000
_ACTION = "GetResourceOAuth2Token"
CacheKey = tuple[str, str, str, str, tuple[str, ...]]


@dataclass(frozen=True)
class DownstreamToken:
    """The user's token for the upstream service, as the data plane handed it out."""

    value: str = field(repr=False)
    expires_at: float

    def is_fresh(self, now: float, leeway: float = REFRESH_LEEWAY_SECONDS) -> bool:
        return now < self.expires_at - leeway


def _key(caller: Caller, injection: CredentialInjection) -> CacheKey:
    return caller.account, caller.workload, caller.user_id, injection.provider_name, tuple(sorted(injection.scopes))


class DownstreamTokens:
    """The gateway's downstream tokens: from its cache, else from the data plane."""

    def __init__(self, store: Store, region: str, urls: Callable[[], LocalUrls], log: RequestLog | None = None) -> None:
        self._store, self._region, self._urls, self._log = store, region, urls, log
        self._cache: dict[CacheKey, DownstreamToken] = {}
        self._lock = threading.Lock()

    def token(self, caller: Caller, injection: CredentialInjection, *, gateway_arn: str,
              now: float) -> DownstreamToken:
        """The caller's user's token (blocking: the data plane may call the provider to refresh it)."""
        key = _key(caller, injection)
        with self._lock:
            cached = None if injection.force_auth else self._cache.get(key)
        if cached is not None and cached.is_fresh(now) and self._still_vaulted(caller, injection, cached):
            return cached
        token = self._fetch(caller, injection, gateway_arn=gateway_arn, now=now)
        if not injection.force_auth:
            self._keep(key, token, now)
        return token

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def forget(self, caller: Caller, injection: CredentialInjection) -> None:
        """Drop the cached token (the upstream refused it): the next call asks the data plane again."""
        with self._lock:
            self._cache.pop(_key(caller, injection), None)

    def _keep(self, key: CacheKey, token: DownstreamToken, now: float) -> None:
        with self._lock:
            if len(self._cache) >= MAX_CACHED:
                for stale in [k for k, v in self._cache.items() if not v.is_fresh(now)]:
                    del self._cache[stale]
            while len(self._cache) >= MAX_CACHED:
                del self._cache[next(iter(self._cache))]  # the oldest
            self._cache[key] = token

    def _still_vaulted(self, caller: Caller, injection: CredentialInjection, token: DownstreamToken) -> bool:
        """Whether the vault still holds this very token: a user's Disconnect, a deleted provider or workload
        identity, or a refresh there, ends the cached copy too."""
        key = VaultKey.of(caller.account, caller.workload, caller.user_id, injection.provider_name,
                          list(injection.scopes))
        entry = get_vaulted(self._store, key)
        return entry is not None and hmac.compare_digest(entry.access_token.encode(), token.value.encode())

    def _return_url(self, caller: Caller, injection: CredentialInjection) -> str | None:
        if injection.return_url:
            return injection.return_url
        workload = self._store.get(WORKLOAD_IDENTITY.store_kind, caller.account, caller.workload) or {}
        allowed = workload.get("AllowedResourceOAuth2ReturnURLs") or []
        return str(allowed[0]) if allowed else None

    def _params(self, caller: Caller, injection: CredentialInjection, elicitation_id: str) -> dict[str, str]:
        params = {"WorkloadAccessToken": caller.token, "ResourceCredentialProviderName": injection.provider_name,
                  "OAuth2Flow": injection.flow, "Scopes": json.dumps(list(injection.scopes)),
                  "ForceAuthentication": str(injection.force_auth), "CustomState": elicitation_id}
        return_url = self._return_url(caller, injection)
        if return_url:
            params["ResourceOAuth2ReturnURL"] = return_url
        return params

    def _fetch(self, caller: Caller, injection: CredentialInjection, *, gateway_arn: str,
               now: float) -> DownstreamToken:
        elicitation_id = uuid.uuid4().hex
        call = in_process_call(_ACTION, self._params(caller, injection, elicitation_id), store=self._store,
                               account=caller.account, caller_arn=gateway_arn, now=now, region=self._region,
                               urls=self._urls())
        if self._log is not None:
            self._log.record(_ACTION)
        try:
            answer: dict[str, Any] = oauth2_tokens.get_resource_oauth2_token(call)
        except ServiceError as error:
            raise CredentialUnavailable(f"GetResourceOAuth2Token failed with status {error.status}: {error.code}: "
                                        f"{error.message}") from None
        if answer.get("AccessToken"):
            return DownstreamToken(str(answer["AccessToken"]), now + float(answer.get("ExpiresIn") or 0))
        if answer.get("AuthorizationURL"):
            raise ConsentRequired(str(answer["AuthorizationURL"]), elicitation_id,
                                  f"Authorize access to {injection.provider_name} for this tool: open the link, "
                                  "sign in and approve, then call the tool again.")
        raise CredentialUnavailable("GetResourceOAuth2Token answered neither a token nor an authorization URL.")

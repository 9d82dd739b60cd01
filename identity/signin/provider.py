"""The sign-in server as seen from this app: its discovery document and JWKS, fetched with httpx and cached.

The HTTP is thin; `verify` hands both documents to the pure `verify_id_token`, and fetches the JWKS once
more when a token names a key it does not hold (the provider rotated its keys since the last fetch).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from identity.signin.errors import SignInError, UnknownSigningKey
from identity.signin.id_token import verify_id_token
from identity.tls import verified_tls
from identity.users import SignedInUser

__all__ = ["CACHE_SECONDS", "TIMEOUT", "OidcProvider", "ProviderMetadata"]

CACHE_SECONDS = 300.0  # discovery and JWKS change rarely; a rotated key is caught by the refetch anyway
TIMEOUT = httpx.Timeout(5.0)
_REQUIRED = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of the discovery document sign-in uses, plus the whole document for the issuer check."""

    issuer: str
    authorization_endpoint: str   # browser-facing
    token_endpoint: str           # server-to-server
    jwks_uri: str
    document: dict[str, Any]

    @classmethod
    def parse(cls, document: Any, source: str) -> ProviderMetadata:
        """Check the fields sign-in needs; SignInError naming the first missing one."""
        if not isinstance(document, dict):
            raise SignInError(f"The sign-in server's discovery document at {source} is not a JSON object.")
        for name in _REQUIRED:
            if not isinstance(document.get(name), str) or not document[name]:
                raise SignInError(f"The sign-in server's discovery document at {source} has no {name}.")
        return cls(issuer=document["issuer"], authorization_endpoint=document["authorization_endpoint"],
                   token_endpoint=document["token_endpoint"], jwks_uri=document["jwks_uri"], document=document)


class _Cached:
    """One fetched value and when it was fetched."""

    def __init__(self) -> None:
        self.value: Any = None
        self.fetched_at = float("-inf")


class OidcProvider:
    """Discovery and JWKS of one OpenID provider; thread-safe, shared by every session of the server."""

    def __init__(self, discovery_url: str, *, transport: httpx.BaseTransport | None = None,
                 cache_seconds: float = CACHE_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self.discovery_url, self._transport = discovery_url, transport
        self._cache_seconds, self._clock = cache_seconds, clock
        self._lock = threading.Lock()
        self._metadata, self._jwks = _Cached(), _Cached()

    def metadata(self) -> ProviderMetadata:
        """The discovery document (cached); SignInError when it cannot be fetched or lacks a field."""
        return self._cached(self._metadata, lambda: ProviderMetadata.parse(
            self._get_json(self.discovery_url, "discovery document"), self.discovery_url), refresh=False)

    def jwks(self, *, refresh: bool = False) -> dict[str, Any]:
        """The provider's JSON Web Key Set (cached unless `refresh`)."""
        jwks_uri = self.metadata().jwks_uri
        return self._cached(self._jwks, lambda: self._fetch_jwks(jwks_uri), refresh=refresh)

    def verify(self, token: str, *, client_id: str, nonce: str | None, now: float) -> SignedInUser:
        """Verify an ID token against this provider; one JWKS refetch when its key is unknown."""
        metadata = self.metadata()
        try:
            return verify_id_token(token, discovery=metadata.document, jwks=self.jwks(), client_id=client_id,
                                   nonce=nonce, now=now)
        except UnknownSigningKey:
            return verify_id_token(token, discovery=metadata.document, jwks=self.jwks(refresh=True),
                                   client_id=client_id, nonce=nonce, now=now)

    def _cached(self, slot: _Cached, fetch: Callable[[], Any], *, refresh: bool) -> Any:
        with self._lock:  # held while fetching, so concurrent page views fetch once (5 s at most)
            if refresh or slot.value is None or self._clock() - slot.fetched_at >= self._cache_seconds:
                slot.value, slot.fetched_at = fetch(), self._clock()
            return slot.value

    def _fetch_jwks(self, jwks_uri: str) -> dict[str, Any]:
        document = self._get_json(jwks_uri, "key set (JWKS)")
        if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
            raise SignInError(f"The sign-in server's key set (JWKS) at {jwks_uri} has no list of keys.")
        return document

    def _get_json(self, url: str, what: str) -> Any:
        try:
            # A client per fetch (they are minutes apart): nothing stays open when the cache is dropped.
            # Never a proxy from the environment: localcloud is on 127.0.0.1, and Alibaba's endpoints are direct.
            with httpx.Client(trust_env=False, timeout=TIMEOUT, transport=self._transport,
                              follow_redirects=False, verify=verified_tls()) as http:
                response = http.get(url, headers={"Accept": "application/json"})
        except httpx.HTTPError as exc:
            raise SignInError(f"The sign-in server's {what} at {url} could not be fetched "
                              f"({exc.__class__.__name__}).") from None
        if response.status_code != 200:
            raise SignInError(f"The sign-in server's {what} at {url} answered HTTP {response.status_code}.")
        try:
            return response.json()
        except ValueError:
            raise SignInError(f"The sign-in server's {what} at {url} is not JSON.") from None

"""The data plane as an HTTP client of identity and OAuth providers: discovery, JWKS, token requests.

Discovery documents and JWKS are cached briefly per URL (process-wide, like a real service's cache;
nothing per user). Every call has a timeout; any failure becomes ProviderUnavailable with the reason, or
ProviderRefused when a token endpoint answered with an OAuth error.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx

from localcloud.services.agentidentitydata.errors import ProviderRefused, ProviderUnavailable

__all__ = ["discovery", "jwks", "token_request"]

_TIMEOUT = httpx.Timeout(5.0, connect=3.0)
_CACHE_SECONDS = 300.0
_cache: dict[str, tuple[float, dict[str, Any]]] = {}
_cache_lock = threading.Lock()


def _get_json(url: str) -> dict[str, Any]:
    try:
        response = httpx.get(url, timeout=_TIMEOUT, trust_env=False, follow_redirects=False)
        response.raise_for_status()
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderUnavailable(f"Could not read {url}: {exc.__class__.__name__}.") from None
    if not isinstance(body, dict):
        raise ProviderUnavailable(f"{url} did not answer a JSON object.")
    return body


def _cached(url: str, now: float, refresh: bool = False) -> dict[str, Any]:
    with _cache_lock:
        hit = _cache.get(url)
    if hit is not None and not refresh and now - hit[0] < _CACHE_SECONDS:
        return hit[1]
    body = _get_json(url)
    with _cache_lock:
        _cache[url] = (now, body)
    return body


def discovery(url: str, now: float, *, keys: bool = True) -> dict[str, Any]:
    """An OIDC/OAuth discovery document with the fields the data plane relies on; `keys=False` for an OAuth2
    provider's (RFC 8414 metadata may have no `jwks_uri`: its tokens are only passed on, never verified here)."""
    document = _cached(url, now)
    needed = ("issuer", "authorization_endpoint", "token_endpoint", *(("jwks_uri",) if keys else ()))
    missing = [k for k in needed if not document.get(k)]
    if missing:
        raise ProviderUnavailable(f"The discovery document at {url} lacks {', '.join(missing)}.")
    return document


def jwks(url: str, now: float, refresh: bool = False) -> dict[str, Any]:
    """A provider's JSON Web Key Set (`refresh` skips the cache, e.g. after an unknown `kid`)."""
    return _cached(url, now, refresh=refresh)


def token_request(endpoint: str, form: dict[str, str], client_id: str, client_secret: str | None,
                  auth_methods: tuple[str, ...] = ()) -> dict[str, Any]:
    """POST to a token endpoint; the JSON answer, or ProviderUnavailable with the OAuth error. The secret goes by
    HTTP Basic (RFC 8414's default) unless the provider's metadata lists client_secret_post and not basic."""
    post = "client_secret_post" in auth_methods and "client_secret_basic" not in auth_methods
    auth = (client_id, client_secret) if client_secret and not post else None
    secret = {"client_secret": client_secret} if client_secret and post else {}
    fields = form if auth else {**form, "client_id": client_id, **secret}
    try:
        response = httpx.post(endpoint, data=fields, auth=auth, timeout=_TIMEOUT, trust_env=False)
        body = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise ProviderUnavailable(f"The token endpoint {endpoint} failed: {exc.__class__.__name__}.") from None
    error = body.get("error") if isinstance(body, dict) else None
    if 400 <= response.status_code < 500 and isinstance(error, str) and error:
        # RFC 6749 §5.2: the provider understood and refused (e.g. unauthorized_client for a public client asked
        # for client_credentials): retrying cannot help, so it is not the provider being unavailable.
        raise ProviderRefused(f"The token endpoint refused the request ({error[:64]}).")
    if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
        raise ProviderUnavailable(f"The token endpoint refused the request ({error or response.status_code}).")
    return body

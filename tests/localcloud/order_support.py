"""The order service as its tests (and the gateway's) drive it: a user's consent in the scripted browser, tokens,
and the REST API over real HTTP."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx

import localcloud
from lab.browser import Browser, query_of
from lab.order_consent import order_consent as consent

__all__ = ["CALLBACK_ID", "MovableClock", "api", "authorize_url", "callback", "consent", "metadata",
           "token_request", "user_tokens"]

CALLBACK_ID = "order-service-test"
BOTH_SCOPES = "orders:read orders:write"


class MovableClock:
    """A clock the test moves forward (localcloud reads it once per request)."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def callback(cloud: localcloud.LocalCloud) -> str:
    """A redirect URI the order service allows: one of the data plane's callbacks."""
    return f"{cloud.urls.data_plane_callback_prefix()}{CALLBACK_ID}"


def metadata(cloud: localcloud.LocalCloud) -> dict[str, Any]:
    response = httpx.get(f"{cloud.order_service_url}/.well-known/oauth-authorization-server", trust_env=False,
                         timeout=10)
    response.raise_for_status()
    return dict(response.json())


def authorize_url(cloud: localcloud.LocalCloud, **params: str) -> str:
    """The authorize page for order-client (the callback, both scopes and a state, unless overridden)."""
    query = {"client_id": "order-client", "redirect_uri": callback(cloud), "response_type": "code",
             "scope": BOTH_SCOPES, "state": "st-1", **params}
    return f"{metadata(cloud)['authorization_endpoint']}?{urlencode(query)}"


def token_request(cloud: localcloud.LocalCloud, **form: str) -> httpx.Response:
    """POST the token endpoint with order-client's credentials in the form (client_secret_post), unless given."""
    fields = {"client_id": cloud.order_client_id, "client_secret": cloud.order_client_secret, **form}
    return httpx.post(metadata(cloud)["token_endpoint"], data=fields, trust_env=False, timeout=10)


def user_tokens(cloud: localcloud.LocalCloud, username: str, scope: str = BOTH_SCOPES) -> dict[str, Any]:
    """A user's consent, scripted end to end (fresh browser), redeemed for tokens."""
    with Browser() as browser:
        landed = consent(browser, authorize_url(cloud, scope=scope), username, stop_at=callback(cloud))
    answer = token_request(cloud, grant_type="authorization_code", code=query_of(landed)["code"],
                           redirect_uri=callback(cloud))
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def api(cloud: localcloud.LocalCloud, method: str, path: str, token: str | None = None,
        **kwargs: Any) -> httpx.Response:
    """One call to the orders API (path below the service's base), with a Bearer token when given."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.request(method, f"{cloud.order_service_url}{path}", headers={**headers, **kwargs.pop("headers", {})},
                         trust_env=False, timeout=10, **kwargs)

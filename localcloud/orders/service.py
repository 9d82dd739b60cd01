"""Where the order service lives and what one request sees of it: its store, its URLs and the time.

The service is mounted at `ORDER_SERVICE_PATH` on localcloud. Server-to-server traffic (metadata, token, the REST
API) uses the loopback base, `{internal}/order-service`, which is also its OAuth `issuer`: the data plane fetches
`{issuer}/.well-known/oauth-authorization-server`, so issuer and metadata URL agree as RFC 8414 §3.3 asks. Browsers
reach the pages (authorize, login) on the public base, `{public}/order-service` (the app's `/lc` proxy in local mode).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from localcloud.store import Store
from localcloud.urls import LocalUrls

__all__ = [
    "AUTHORIZE_PATH",
    "DEFAULT_SCOPES",
    "LOGIN_PATH",
    "METADATA_PATH",
    "ORDER_SERVICE_PATH",
    "SCOPES",
    "TOKEN_PATH",
    "OrderService",
    "public_service_url",
    "service_url",
]

ORDER_SERVICE_PATH = "/order-service"
METADATA_PATH = "/.well-known/oauth-authorization-server"
AUTHORIZE_PATH = "/oauth/authorize"
LOGIN_PATH = "/oauth/login"
TOKEN_PATH = "/oauth/token"
# The scopes the sample's order service defines, with what the consent page says about each.
SCOPES = {"orders:read": "See your orders", "orders:write": "Create and delete orders for you"}
DEFAULT_SCOPES = ("orders:read", "orders:write")  # what an authorization request without `scope` gets


def service_url(urls: LocalUrls) -> str:
    """The service's base on localcloud's loopback address: its issuer, and what ORDER_SERVICE_URL says."""
    return f"{urls.internal}{ORDER_SERVICE_PATH}"


def public_service_url(urls: LocalUrls) -> str:
    """The service's base as browsers reach it (its authorize and login pages)."""
    return f"{urls.public}{ORDER_SERVICE_PATH}"


@dataclass(frozen=True)
class OrderService:
    """One request's view of the order service: the store, localcloud's URLs and the time, read once."""

    store: Store
    urls: LocalUrls
    now: float

    @property
    def issuer(self) -> str:
        return service_url(self.urls)

    def endpoint(self, path: str) -> str:
        """A server-to-server endpoint (token, metadata)."""
        return f"{self.issuer}{path}"

    def page_url(self, path: str) -> str:
        """A browser-facing page (authorize, login)."""
        return f"{public_service_url(self.urls)}{path}"

    @property
    def cookie_path(self) -> str:
        """The service's cookies go to its pages only: `/order-service/oauth` below the public base's path."""
        return urlsplit(self.page_url("/oauth")).path

    @property
    def secure_cookies(self) -> bool:
        return self.page_url("").startswith("https://")

"""One request's view of a realm: its store, its URLs and the time, read once per request."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from localcloud.jose import SigningKey, signing_key
from localcloud.oidc.clients import OAuthClient, find_client
from localcloud.store import Store
from localcloud.urls import LocalUrls

__all__ = ["Realm", "realm_key"]


def realm_key(store: Store, realm: str) -> SigningKey:
    """The realm's RS256 key (ID and access tokens, JWKS)."""
    return signing_key(store, f"oauth-{realm}")


@dataclass(frozen=True)
class Realm:
    name: str  # "aliyun" or "dingtalk"
    store: Store
    urls: LocalUrls
    now: float

    @property
    def issuer(self) -> str:
        return self.urls.issuer(self.name)

    @property
    def key(self) -> SigningKey:
        return realm_key(self.store, self.name)

    @property
    def cookie_path(self) -> str:
        """Where the browser sends this realm's cookies: the realm's pages under the public base."""
        return urlsplit(self.issuer).path or "/"

    @property
    def secure_cookies(self) -> bool:
        return self.issuer.startswith("https://")

    @property
    def account_id(self) -> str:
        return self.store.meta("account_id") or ""

    def page_url(self, name: str) -> str:
        """A browser-facing page of the realm (public base)."""
        return f"{self.issuer}/{name}"

    def client(self, client_id: str) -> OAuthClient | None:
        return find_client(self.store, self.urls, self.name, client_id)

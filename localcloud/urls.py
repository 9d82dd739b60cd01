"""Where localcloud is reached: server-to-server on 127.0.0.1, and by browsers at a public base URL.

Browser-facing pages (sign-in, consent, the data plane's authorization URL and callback) use `public`,
so a hosted demo can serve them from the app's own origin; everything server-to-server uses `internal`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["REALMS", "LocalUrls"]

# The OAuth authorization servers localcloud runs: Alibaba Cloud's sign-in and a DingTalk stand-in.
REALMS = ("aliyun", "dingtalk")


@dataclass(frozen=True)
class LocalUrls:
    internal: str  # http://127.0.0.1:PORT
    public: str    # LOCALCLOUD_PUBLIC_URL, or `internal` when unset

    def issuer(self, realm: str) -> str:
        """The OIDC issuer of a realm (what `iss` says; browsers reach its authorize page there)."""
        return f"{self.public}/oauth/{realm}"

    def oauth_endpoint(self, realm: str, name: str) -> str:
        """A server-to-server endpoint of a realm: token, jwks, userinfo, revoke, introspect."""
        return f"{self.internal}/oauth/{realm}/{name}"

    def discovery(self, realm: str) -> str:
        """The OIDC discovery document of a realm, fetched server-to-server."""
        return f"{self.internal}/oauth/{realm}/.well-known/openid-configuration"

    def data_plane_callback_prefix(self) -> str:
        """Agent Identity's OAuth callback, `{data-plane endpoint}/oauth2/callback/<id>`, as browsers reach it."""
        return f"{self.public}/oauth2/callback/"

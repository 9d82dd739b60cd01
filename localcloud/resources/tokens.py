"""Checking the OAuth access tokens the resource services accept: localcloud's own realms, nothing else."""

from __future__ import annotations

from typing import Any

from localcloud.jose import JwtError
from localcloud.oidc import verify_access_token
from localcloud.store import Store
from localcloud.urls import LocalUrls

__all__ = ["MCP_SCOPE", "bearer_token", "realm_token_claims", "scopes_of"]

# What an IMS application predefines to let its tokens reach Alibaba Cloud's MCP servers.
MCP_SCOPE = "/acs/mcp-server"


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1), else None."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def realm_token_claims(store: Store, urls: LocalUrls, realm: str, token: str, now: float) -> dict[str, Any] | None:
    """The claims of a live access token `realm` issued (any of its clients), or None."""
    try:
        return verify_access_token(store, urls, realm, token, now)
    except (JwtError, ValueError, TypeError):  # whatever a malformed token trips over, it is just not valid
        return None


def scopes_of(claims: dict[str, Any]) -> list[str]:
    """The granted scopes of an access token (RFC 9068 `scope`, space-separated)."""
    scope = claims.get("scope")
    return scope.split() if isinstance(scope, str) else []

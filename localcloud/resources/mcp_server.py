"""The "resourcecenter" MCP server: Alibaba Cloud's MCP server for an account's resources, over streamable HTTP.

Endpoint `{localcloud}/mcp/resourcecenter/mcp`; it accepts only `Authorization: Bearer <access token>`
from localcloud's `aliyun` realm (signature, issuer, type, expiry and revocation checked) carrying the
`/acs/mcp-server` scope. The SDK answers a missing or invalid token with 401 and
`WWW-Authenticate: Bearer …, resource_metadata="…"` (RFC 9728, served at
`/.well-known/oauth-protected-resource/mcp/resourcecenter/mcp`), and a token without the scope with 403.

The MCP app needs its own URL in its settings, and localcloud's port is known only once it listens; it is
built on its first request by `localcloud.resources.center.ResourceCenter`, which also runs its session manager.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio.to_thread
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from localcloud.resources import inventory
from localcloud.resources.center import MCP_ENDPOINT_PATH
from localcloud.resources.tokens import MCP_SCOPE, realm_token_claims, scopes_of
from localcloud.store import Store
from localcloud.urls import LocalUrls

__all__ = ["AliyunTokenVerifier", "build_resource_center"]
_INSTRUCTIONS = ("Alibaba Cloud resource center (localcloud stand-in): look up the ECS instances, RDS "
                 "instances and OSS buckets of the signed-in user's account.")


class AliyunTokenVerifier:
    """The MCP SDK's TokenVerifier over localcloud's `aliyun` realm."""

    def __init__(self, store: Store, urls: Callable[[], LocalUrls], clock: Callable[[], float]) -> None:
        self._store, self._urls, self._clock = store, urls, clock

    def _verify(self, token: str) -> AccessToken | None:
        claims = realm_token_claims(self._store, self._urls(), "aliyun", token, self._clock())
        if claims is None:
            return None
        # expires_at stays unset: `exp` was checked against localcloud's clock (tests move it), while the
        # SDK would compare it with the wall clock a second time.
        return AccessToken(token=token, client_id=str(claims.get("client_id") or claims.get("aud")),
                           scopes=scopes_of(claims), subject=str(claims["sub"]), claims=claims)

    async def verify_token(self, token: str) -> AccessToken | None:
        """The token's grant, or None when localcloud did not issue it (or it expired or was revoked)."""
        return await anyio.to_thread.run_sync(self._verify, token)


def _region(region: str) -> str:
    name = region.strip()
    if name not in inventory.REGIONS:
        raise ToolError(f"InvalidRegionId.NotFound: the region {name[:64]!r} does not exist; use one of "
                        f"{', '.join(inventory.REGIONS)}.")
    return name


def _register_tools(server: MCPServer, account_id: Callable[[], str]) -> None:
    @server.tool()
    def list_ecs_instances(region: str = "cn-beijing") -> dict[str, Any]:
        """List the ECS instances of the user's Alibaba Cloud account in a region (default cn-beijing)."""
        name = _region(region)
        found = [i for i in inventory.ecs_instances(account_id()) if i["RegionId"] == name]
        return {"RegionId": name, "TotalCount": len(found), "Instances": found}

    @server.tool()
    def describe_ecs_instance(instance_id: str) -> dict[str, Any]:
        """Describe one ECS instance of the user's account by its instance id (i-…)."""
        found = inventory.find_ecs_instance(account_id(), instance_id)
        if found is None:
            raise ToolError(f"InvalidInstanceId.NotFound: no ECS instance {instance_id.strip()[:64]!r} "
                            "in this account.")
        return found

    @server.tool()
    def search_resources(keyword: str) -> dict[str, Any]:
        """Search the account's ECS, RDS and OSS resources by a keyword in their id, name, type, region or tags."""
        found = inventory.search(account_id(), keyword)
        return {"Keyword": keyword, "TotalCount": len(found), "Resources": found}


def build_resource_center(store: Store, clock: Callable[[], float], urls: Callable[[], LocalUrls]) -> MCPServer:
    """The MCP server, configured for the URL localcloud serves it at (so call it once the port is bound)."""
    here = urls()
    # Validated from plain strings (the URL fields are pydantic URLs, parsed with the model's own URL settings).
    auth = AuthSettings.model_validate({
        "issuer_url": here.issuer("aliyun"), "resource_server_url": f"{here.internal}{MCP_ENDPOINT_PATH}",
        "required_scopes": [MCP_SCOPE],
        # The verifier decides which tokens count (any client of the realm, like the real server accepts any
        # application with the scope), so no RFC 8707 audience check.
        "validate_token_resource": False,
    })
    # log_level feeds logging.basicConfig on the root logger: WARNING keeps the host process's INFO quiet.
    server = MCPServer("resourcecenter", instructions=_INSTRUCTIONS, log_level="WARNING",
                       token_verifier=AliyunTokenVerifier(store, urls, clock), auth=auth)
    _register_tools(server, lambda: store.meta("account_id") or "")
    return server

"""The "resourcecenter" MCP server through the official `mcp` client, with tokens obtained through consent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from lab.browser import Browser
from tests.localcloud.resource_credentials import CloudWorld, inbound_tokens, mcp_token, start_world

INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                         "clientInfo": {"name": "raw-http", "version": "0"}}}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


@pytest.fixture(scope="module")
def cloud_world(tmp_path_factory: pytest.TempPathFactory) -> CloudWorld:
    return start_world(tmp_path_factory.mktemp("mcp-world"))


@pytest.fixture(scope="module")
def tokens(cloud_world: CloudWorld) -> dict[str, str]:
    """alice's inbound ID and access tokens (no MCP scope) and her consented MCP access token."""
    browser = Browser()
    try:
        inbound = inbound_tokens(cloud_world, browser, "alice")
        return {"id_token": inbound["id_token"], "inbound_access": inbound["access_token"],
                "mcp": mcp_token(cloud_world, browser, inbound["id_token"], "alice")}
    finally:
        browser.close()


def mcp_url(cloud_world: CloudWorld) -> str:
    return cloud_world.cloud.env()["MCP_SERVER"]


def with_session(url: str, token: str, use: Callable[[ClientSession], Awaitable[Any]]) -> Any:
    """Run `use` in an initialized MCP session that sends `Authorization: Bearer <token>`."""
    async def run() -> Any:
        client = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, trust_env=False, timeout=10)
        async with client, streamable_http_client(url, http_client=client) as (read, write), \
                ClientSession(read, write) as session:
            await session.initialize()
            return await use(session)
    return anyio.run(run)


def raw_initialize(cloud_world: CloudWorld, token: str | None) -> httpx.Response:
    headers = {**MCP_HEADERS, **({"Authorization": f"Bearer {token}"} if token else {})}
    return httpx.post(mcp_url(cloud_world), json=INITIALIZE, headers=headers, trust_env=False, timeout=10)


def test_env_points_at_the_streamable_http_endpoint(cloud_world):
    assert mcp_url(cloud_world) == f"{cloud_world.cloud.url}/mcp/resourcecenter/mcp"


def test_consented_token_lists_the_tools_and_the_ecs_instances(cloud_world, tokens):
    async def use(session: ClientSession) -> tuple[list[str], Any]:
        listed = await session.list_tools()
        return [tool.name for tool in listed.tools], await session.call_tool("list_ecs_instances", {})
    names, result = with_session(mcp_url(cloud_world), tokens["mcp"], use)
    assert names == ["list_ecs_instances", "describe_ecs_instance", "search_resources"]
    assert not result.is_error
    body = result.structured_content
    assert body["RegionId"] == "cn-beijing" and body["TotalCount"] == 3
    assert {i["InstanceName"] for i in body["Instances"]} == {"agent-web-01", "agent-worker-01", "agent-batch-02"}
    assert all(i["InstanceId"].startswith("i-2ze") for i in body["Instances"])


def test_the_inventory_is_deterministic_and_searchable(cloud_world, tokens):
    async def use(session: ClientSession) -> tuple[Any, Any, Any]:
        first = await session.call_tool("list_ecs_instances", {"region": "cn-hangzhou"})
        instance_id = first.structured_content["Instances"][0]["InstanceId"]
        described = await session.call_tool("describe_ecs_instance", {"instance_id": instance_id})
        return first, described, await session.call_tool("search_resources", {"keyword": "MySQL"})
    first, described, found = with_session(mcp_url(cloud_world), tokens["mcp"], use)
    again = with_session(mcp_url(cloud_world), tokens["mcp"],
                         lambda s: s.call_tool("list_ecs_instances", {"region": "cn-hangzhou"}))
    assert first.structured_content == again.structured_content
    assert described.structured_content["InstanceName"] == "analytics-01"
    assert [r["ResourceType"] for r in found.structured_content["Resources"]] == ["ACS::RDS::DBInstance"]


def test_unknown_instance_and_region_are_tool_errors_not_crashes(cloud_world, tokens):
    async def use(session: ClientSession) -> tuple[Any, Any]:
        return (await session.call_tool("describe_ecs_instance", {"instance_id": "i-nope"}),
                await session.call_tool("list_ecs_instances", {"region": "mars-1"}))
    missing, region = with_session(mcp_url(cloud_world), tokens["mcp"], use)
    assert missing.is_error and "InvalidInstanceId.NotFound" in missing.content[0].text
    assert region.is_error and "InvalidRegionId.NotFound" in region.content[0].text


def test_no_token_is_401_pointing_at_the_resource_metadata(cloud_world):
    response = raw_initialize(cloud_world, None)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    metadata_url = f"{cloud_world.cloud.url}/.well-known/oauth-protected-resource/mcp/resourcecenter/mcp"
    assert challenge.startswith("Bearer ") and f'resource_metadata="{metadata_url}"' in challenge
    metadata = httpx.get(metadata_url, trust_env=False, timeout=10).json()
    assert metadata["resource"] == mcp_url(cloud_world)
    assert metadata["authorization_servers"] == [cloud_world.cloud.urls.issuer("aliyun")]
    assert metadata["scopes_supported"] == ["/acs/mcp-server"]


def test_token_without_the_mcp_scope_is_403(cloud_world, tokens):
    response = raw_initialize(cloud_world, tokens["inbound_access"])
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


@pytest.mark.parametrize("make", [
    lambda t: t["id_token"],                              # an ID token is not an access token
    lambda t: t["mcp"].rsplit(".", 1)[0] + ".c2lnbmF0dXJl",  # signature swapped
    lambda t: "not-a-jwt",
    lambda t: "x" * 20000,
])
def test_tokens_localcloud_did_not_issue_as_access_tokens_are_401(cloud_world, tokens, make):
    response = raw_initialize(cloud_world, make(tokens))
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]


def test_expired_token_is_401(cloud_world, tokens):
    assert raw_initialize(cloud_world, tokens["mcp"]).status_code == 200
    with cloud_world.later(3600 + 60):  # past the hour-long token and the 30 s leeway
        assert raw_initialize(cloud_world, tokens["mcp"]).status_code == 401


def test_revoked_token_is_401(cloud_world):
    browser = Browser()  # bob's own token, so revoking it leaves alice's for the other tests
    try:
        inbound = inbound_tokens(cloud_world, browser, "bob")
        token = mcp_token(cloud_world, browser, inbound["id_token"], "bob")
    finally:
        browser.close()
    assert raw_initialize(cloud_world, token).status_code == 200
    revoked = httpx.post(cloud_world.cloud.urls.oauth_endpoint("aliyun", "revoke"), trust_env=False, timeout=10,
                         data={"token": token, "client_id": cloud_world.sample.mcp_app_id})
    assert revoked.status_code == 200
    assert raw_initialize(cloud_world, token).status_code == 401


def test_foreign_host_header_is_refused(cloud_world, tokens):
    headers = {**MCP_HEADERS, "Authorization": f"Bearer {tokens['mcp']}", "Host": "evil.example:80"}
    response = httpx.post(mcp_url(cloud_world), json=INITIALIZE, headers=headers, trust_env=False, timeout=10)
    assert response.status_code == 421

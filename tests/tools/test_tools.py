"""Each tool end to end against localcloud, with credentials from the broker for a signed-in demo user."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator

import pytest

import localcloud
from identity import provision
from identity.broker import ApiKey, ConsentRequired, CredentialBroker, OAuth2Token
from identity.clients import Clients
from identity.cloud import connect
from identity.users import SignedInUser
from lab.browser import Browser
from tests.identity.conftest import local_settings
from tests.support import free_port, give_consent, scripted_id_token, user_of
from tools import (
    TOOLS,
    ToolContext,
    ToolError,
    call_tool,
    discover_mcp_tools,
    get_current_time,
    get_schedule,
    list_oss_objects,
    read_dingtalk_document,
    read_oss_object,
    resolve_credential,
    weather_search,
    write_dingtalk_document,
)


@dataclasses.dataclass
class ToolWorld:
    cloud: localcloud.LocalCloud
    settings: object
    broker: CredentialBroker
    endpoints: dict[str, str]
    browser: Browser
    user: SignedInUser


@pytest.fixture(scope="module")
def tool_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToolWorld]:
    directory = tmp_path_factory.mktemp("tools")
    cloud = localcloud.start(port=0, data_dir=directory / "lc")
    settings = local_settings(cloud, directory)
    clients = Clients(connect(settings))
    provision.apply(clients, settings)
    browser = Browser()
    user = user_of(scripted_id_token(cloud, settings, "alice", browser=browser), "alice")
    yield ToolWorld(cloud, settings, CredentialBroker(clients, settings), clients.target.services, browser, user)
    browser.close()


def _consented(tool_world: ToolWorld, tool) -> None:
    """Run the tool's consent like a user would: approve at the provider, then the app completes it."""
    try:
        resolve_credential(tool, tool_world.user, tool_world.broker)
        return
    except ConsentRequired as needed:
        consent = needed.consent
    give_consent(tool_world.broker, tool_world.user, consent.state, "alice", tool_world.settings.consent_return_url,
                 browser=tool_world.browser)


def _run(tool_world: ToolWorld, tool, **arguments: object):
    return call_tool(tool, arguments, tool_world.user, tool_world.broker, tool_world.endpoints)


def test_weather_uses_the_api_key(tool_world):
    outcome = _run(tool_world, weather_search, city="San Francisco")
    assert outcome.ok and "foggy" in outcome.content
    assert (outcome.credential_kind, outcome.provider) == ("api_key", "test-provider-api-key")
    assert outcome.fingerprint.startswith("sha256:")


def test_schedule_returns_the_signed_in_users_own_events(tool_world):
    outcome = _run(tool_world, get_schedule, date="2026-12-01")
    body = json.loads(outcome.content)
    assert outcome.ok and body["user_id"] == tool_world.user.subject and body["events"]


def test_time_needs_consent_first_then_works(tool_world):
    with pytest.raises(ConsentRequired):
        _run(tool_world, get_current_time, timezone="Asia/Shanghai")
    _consented(tool_world, get_current_time)
    outcome = _run(tool_world, get_current_time, timezone="Asia/Shanghai")
    assert outcome.ok and json.loads(outcome.content)["timezone"] == "Asia/Shanghai"


def test_dingtalk_document_write_then_read(tool_world):
    _consented(tool_world, write_dingtalk_document)
    written = _run(tool_world, write_dingtalk_document, content="# Notes from the agent\nhello")
    assert written.ok, written.content
    read = _run(tool_world, read_dingtalk_document)
    assert read.ok and "Notes from the agent" in read.content


def test_oss_lists_and_reads_text_and_reports_binary(tool_world):
    listed = _run(tool_world, list_oss_objects, prefix="docs/")
    assert listed.ok and "docs/welcome.md" in listed.content
    text = _run(tool_world, read_oss_object, key="docs/welcome.md")
    assert text.ok and text.content.strip()
    binary = _run(tool_world, read_oss_object, key="images/logo.png")
    assert binary.ok and "binary file" in binary.content


def test_mcp_server_tools_are_discovered_and_called(tool_world):
    from tools import MCP_CREDENTIAL

    probe = dataclasses.replace(get_current_time, credential=MCP_CREDENTIAL)
    _consented(tool_world, probe)
    token = resolve_credential(probe, tool_world.user, tool_world.broker)
    found = {tool.name: tool for tool in discover_mcp_tools(tool_world.endpoints["mcp_server"], token.value)}
    assert {"list_ecs_instances", "search_resources"} <= set(found)
    outcome = _run(tool_world, found["list_ecs_instances"], region="cn-beijing")
    assert outcome.ok and "i-" in outcome.content


def test_oss_outside_the_policy_is_access_denied(tool_world):
    other = dataclasses.replace(tool_world.settings, oss_bucket="someone-elses-bucket")
    broker = CredentialBroker(tool_world.broker.clients, other)
    outcome = call_tool(read_oss_object, {"key": "secret.txt"}, tool_world.user, broker, tool_world.endpoints)
    assert not outcome.ok and "AccessDenied" in outcome.content


def test_weather_with_a_wrong_key_fails_with_the_services_error(tool_world):
    context = ToolContext(ApiKey(time.time() + 60, "p", "not-the-key"), tool_world.settings, tool_world.endpoints)
    with pytest.raises(ToolError, match="401"):
        weather_search.function(context, city="Beijing")


def test_dingtalk_refuses_an_mcp_scoped_token(tool_world):
    _consented(tool_world, get_current_time)
    mcp_token = resolve_credential(get_current_time, tool_world.user, tool_world.broker)
    context = ToolContext(OAuth2Token(time.time() + 60, "x", (), mcp_token.value), tool_world.settings,
                          tool_world.endpoints)
    with pytest.raises(ToolError, match="401"):
        write_dingtalk_document.function(context, content="should not land")


def test_an_unreachable_mcp_server_fails_fast_without_hanging():
    started = time.monotonic()
    with pytest.raises(ToolError, match="MCP server"):
        discover_mcp_tools(f"http://127.0.0.1:{free_port()}/mcp", "token", timeout=3)
    assert time.monotonic() - started < 15


def test_every_tool_declares_a_credential_and_a_description():
    for tool in TOOLS:
        assert tool.credential.kind in ("api_key", "sts", "oauth2") and tool.description
        assert tool.schema()["function"]["parameters"]["type"] == "object"

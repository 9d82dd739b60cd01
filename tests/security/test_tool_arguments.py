"""Case 19, tool arguments: an argument the model chose never changes where a tool's request goes.

A model steered by text it read (indirect prompt injection) picks the tools' arguments: `../../../../../v1.0/
contact/users/me?x=` as a DingTalk document id would send the user's DingTalk token to another API of the host.
Every argument of every tool (the six tools and the MCP server's) is driven here through the real runner, the real
broker and a real localcloud, with a recording proxy in front of every tool service and the MCP server. A value
outside the argument's grammar is a tool error naming the argument and what a valid one looks like; nothing
reaches the proxy; and localcloud answers no identity call for it: the broker was not even asked for a credential.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import httpx
import pytest

from identity.broker import ConsentRequired, CredentialBroker, OAuth2Token
from localcloud.resources import inventory
from tests.agent import conftest as agent_fixtures
from tests.agent.conftest import AgentWorld, decide
from tests.security import test_least_privilege as least_privilege
from tests.security.binding_support import RecordingProxy, calls_since
from tools import CredentialSpec, Tool, ToolContext, ToolError, ToolOutcome, call_tool, discover_mcp_tools, tool
from tools.arguments import CITY, ECS_INSTANCE_ID, OSS_OBJECT_KEY, REGION_ID, TIME_ZONE, check_argument
from tools.documents import (
    DEMO_DOCUMENT_ID,
    DINGTALK_SCOPES,
    document_url,
    list_oss_objects,
    read_dingtalk_document,
    read_oss_object,
    write_dingtalk_document,
)
from tools.services import MCP_SCOPES, get_current_time, get_schedule, weather_search

# Fixtures by reference: the agent tests' `agent_world` (provisioned localcloud, alice signed in for real) and per-test
# `broker` (nothing cached, so any credential it fetches is an identity call localcloud counts), and the
# least-privilege tests' `proxied` (that world, reaching every tool service and the MCP server through a recorder).
agent_world, broker, proxied = agent_fixtures.agent_world, agent_fixtures.broker, least_privilege.proxied


def _attacks(valid: str, *, empty_is_valid: bool = False, **extra: str) -> list[Any]:
    """The values a steered model could send for an argument whose valid form is `valid`."""
    cases = {"traversal": "../../../../../v1.0/contact/users/me?x=",
             "traversal-to-post-elsewhere": "../../../../../attacker/collect?",
             "dot-segments-after-a-valid-value": f"{valid}/../../../../../v1.0/contact/users/me",
             "encoded-traversal": "%2e%2e%2f%2e%2e%2fv1.0%2fcontact%2fusers%2fme",
             "absolute-path": "/v1.0/contact/users/me", "backslashes": "..\\..\\v1.0\\contact",
             "query": f"{valid}?x=1", "fragment": f"{valid}#x", "absolute-url": "http://evil/",
             "crlf-header": f"{valid}\r\nX-Injected: yes", "over-long": valid + "a" * 5000,
             **({} if empty_is_valid else {"empty": ""}), **extra}
    return [pytest.param(value, id=name) for name, value in cases.items()]


@dataclass
class Services:
    """alice's world whose every tool service is behind `proxy`, and a broker that has fetched nothing yet."""

    world: AgentWorld
    proxy: RecordingProxy
    broker: CredentialBroker

    def call(self, tool: Tool, **arguments: Any) -> ToolOutcome:
        return call_tool(tool, arguments, self.world.alice, self.broker, self.world.target.services)

    def mcp_tool(self, name: str) -> Tool:
        """The MCP server's tool, discovered through the proxy with a broker of its own (this one stays empty)."""
        need = (self.world.settings.mcp_oauth_provider_name, MCP_SCOPES)
        token = CredentialBroker(self.world.clients, self.world.settings).oauth2_token(self.world.alice, *need)
        found = {t.name: t for t in discover_mcp_tools(self.world.target.services["mcp_server"], token.value)}
        self.proxy.requests.clear()  # discovery's requests are not the call's
        return found[name]

    def refused(self, tool: Tool, argument: str, value: str, **others: Any) -> None:
        """The call fails with a clear error, nothing reached the service, and no credential was fetched."""
        before = self.world.cloud.request_counts()
        outcome = self.call(tool, **{argument: value}, **others)
        assert not outcome.ok
        assert outcome.content.startswith(f"{tool.name} failed: invalid {argument} "), outcome.content
        assert "A valid" in outcome.content and "e.g." in outcome.content and "Nothing was sent" in outcome.content
        assert [r.target for r in self.proxy.requests] == []
        assert calls_since(self.world, before) == {}


@pytest.fixture(scope="module")
def consented(agent_world: AgentWorld) -> AgentWorld:
    """alice has approved DingTalk and the MCP server once (the vault keeps them), so no call waits for consent."""
    approver = CredentialBroker(agent_world.clients, agent_world.settings)
    for need in ((agent_world.settings.dingtalk_oauth_provider_name, DINGTALK_SCOPES),
                 (agent_world.settings.mcp_oauth_provider_name, MCP_SCOPES)):
        try:
            approver.oauth2_token(agent_world.alice, *need)
        except ConsentRequired as needed:
            decide(agent_world, approver, needed.consent)
    return agent_world


@pytest.fixture
def services(consented: AgentWorld, proxied: tuple[AgentWorld, RecordingProxy], broker: CredentialBroker) -> Services:
    return Services(*proxied, broker)


# -- every argument: refused before anything is sent ------------------------------------------------------------------
@pytest.mark.parametrize("value", _attacks(DEMO_DOCUMENT_ID, short="ZX6GRez"))
def test_dingtalk_document_id_for_reading_is_refused_before_anything_is_sent(services, value):
    services.refused(read_dingtalk_document, "document_id", value)


@pytest.mark.parametrize("value", _attacks(DEMO_DOCUMENT_ID))
def test_dingtalk_document_id_for_writing_is_refused_before_anything_is_sent(services, value):
    services.refused(write_dingtalk_document, "document_id", value, content="sent to another path of the API host")


# The content travels in a JSON body, so `../` or `?` in it are just text; what it must not be is over-long or full of
# control characters (a terminal escape that turns text into a link).
@pytest.mark.parametrize("value", [pytest.param("a" * 50_001, id="over-long"),
                                   pytest.param("hello\x00world", id="nul"),
                                   pytest.param("\x1b]8;;http://evil/\x1b\\click\x1b]8;;\x1b\\", id="terminal-escape")])
def test_dingtalk_content_is_refused_before_anything_is_sent(services, value):
    services.refused(write_dingtalk_document, "content", value)


@pytest.mark.parametrize("value", _attacks("docs/welcome.md", folder="docs/", bad_encoding="docs/%E2%80%AE.md"))
def test_oss_object_key_is_refused_before_anything_is_sent(services, value):
    services.refused(read_oss_object, "key", value)


@pytest.mark.parametrize("value", _attacks("docs/", empty_is_valid=True))
def test_oss_prefix_is_refused_before_anything_is_sent(services, value):
    services.refused(list_oss_objects, "prefix", value)


@pytest.mark.parametrize("value", _attacks("Beijing", starts_with_a_digit="1Beijing"))
def test_weather_city_is_refused_before_anything_is_sent(services, value):
    services.refused(weather_search, "city", value)


@pytest.mark.parametrize("value", _attacks("2026-12-01", not_a_day="2026-02-30", other_form="12/01/2026"))
def test_schedule_date_is_refused_before_anything_is_sent(services, value):
    services.refused(get_schedule, "date", value)


@pytest.mark.parametrize("value", _attacks("Asia/Shanghai", unknown_zone="Mars/Olympus_Mons",
                                           file_path="Asia/../../etc/localtime"))
def test_time_zone_is_refused_before_anything_is_sent(services, value):
    services.refused(get_current_time, "timezone", value)


@pytest.mark.parametrize("value", _attacks("cn-hangzhou", upper_case="CN-HANGZHOU", no_dash="hangzhou"))
def test_mcp_region_is_refused_before_anything_is_sent(services, value):
    services.refused(services.mcp_tool("list_ecs_instances"), "region", value)


@pytest.mark.parametrize("value", _attacks("i-bp1abcdefghijklmnopq", other_resource="rm-2ze1234567"))
def test_mcp_instance_id_is_refused_before_anything_is_sent(services, value):
    services.refused(services.mcp_tool("describe_ecs_instance"), "instance_id", value)


@pytest.mark.parametrize("value", _attacks("MySQL"))
def test_mcp_search_keyword_is_refused_before_anything_is_sent(services, value):
    services.refused(services.mcp_tool("search_resources"), "keyword", value)


def test_an_mcp_argument_the_tool_does_not_declare_is_refused_before_anything_is_sent(services):
    list_instances = services.mcp_tool("list_ecs_instances")
    before = services.world.cloud.request_counts()
    outcome = services.call(list_instances, region="cn-beijing", url="http://evil/")
    assert not outcome.ok and "takes no argument 'url'; it takes region" in outcome.content
    assert services.proxy.requests == [] and calls_since(services.world, before) == {}


def test_a_tool_function_called_directly_still_refuses_a_bad_argument(services):
    # Not through the runner (the attack lab calls tools this way): the function itself checks before it sends.
    context = ToolContext(OAuth2Token(time.time() + 60, "dingtalk", DINGTALK_SCOPES, "a-token"),
                          services.world.settings, services.world.target.services)
    with pytest.raises(ToolError, match="invalid document_id"):
        read_dingtalk_document.function(context, document_id="../../../../../v1.0/contact/users/me?x=")
    assert services.proxy.requests == []


# -- the second guard: a document id is one path segment, whatever it holds -----------------------------------------
@pytest.mark.parametrize("value", ["../../../../../v1.0/contact/users/me?x=", "..", ".", "a/b", "x?y=1", "x#y",
                                   "%2e%2e%2f", "x\r\nX-Injected: yes", "http://evil/", "..\\..\\x"])
def test_a_document_id_is_encoded_as_exactly_one_path_segment(services, value):
    context = ToolContext(None, services.world.settings, {"dingtalk_api_base": "http://api.example"})
    url = httpx.URL(document_url(context, value, "content"))
    segments = url.raw_path.decode().split("/")
    assert (url.host, url.query, url.fragment) == ("api.example", b"", "")
    assert segments[:-2] == ["", "v2.0", "doc", "me", "suites", "documents"] and segments[-1] == "content"
    assert unquote(segments[-2]) == value


# -- the grammars are the services' own: every real value passes, end to end -----------------------------------------
def test_the_grammars_accept_every_value_the_services_know():
    from zoneinfo import available_timezones

    for zone in available_timezones():
        check_argument("timezone", zone, TIME_ZONE)
    for region in inventory.REGIONS:
        check_argument("region", region, REGION_ID)
    for instance in inventory.ecs_instances("1234567890123456"):
        check_argument("instance_id", instance["InstanceId"], ECS_INSTANCE_ID)
    for city in ("San Francisco", "São Paulo", "Saint-Étienne", "N'Djamena", "St. John's", "北京", "กรุงเทพมหานคร"):
        check_argument("city", city, CITY)
    for key in ("docs/welcome.md", "reports/q3-summary.txt", "images/logo.png", "报告/2026 (Q3) draft_v2.md"):
        check_argument("key", key, OSS_OBJECT_KEY)


_VALID_CALLS = [
    pytest.param(weather_search, {"city": "São Paulo"}, "/svc/weather", "sunny", id="city"),
    pytest.param(get_schedule, {"date": "2026-12-01"}, "/svc/schedule", "Opening meeting", id="date"),
    pytest.param(get_current_time, {"timezone": "America/Argentina/Buenos_Aires"}, "/svc/time", "Buenos_Aires",
                 id="timezone"),
    pytest.param(write_dingtalk_document, {"content": "# Notes\r\n\n../ and ?x=1 are just text here",
                                           "document_id": DEMO_DOCUMENT_ID},
                 f"/v2.0/doc/me/suites/documents/{DEMO_DOCUMENT_ID}/overwriteContent", "written", id="content"),
    pytest.param(read_dingtalk_document, {"document_id": DEMO_DOCUMENT_ID},
                 f"/v2.0/doc/me/suites/documents/{DEMO_DOCUMENT_ID}/content", "markdown", id="document_id"),
    pytest.param(list_oss_objects, {"prefix": "docs/"}, "/{bucket}/", "docs/welcome.md", id="prefix"),
    pytest.param(read_oss_object, {"key": "docs/welcome.md"}, "/{bucket}/docs/welcome.md", "Welcome", id="key"),
]


@pytest.mark.parametrize(("tool", "arguments", "path", "answer"), _VALID_CALLS)
def test_valid_arguments_still_reach_the_service_and_work(services, tool, arguments, path, answer):
    outcome = services.call(tool, **arguments)
    assert outcome.ok and answer in outcome.content, outcome.content
    bucket = services.world.settings.oss_bucket
    assert path.format(bucket=bucket) in {r.target.split("?")[0] for r in services.proxy.requests}


def test_valid_mcp_arguments_still_reach_the_server_and_work(services):
    listed = services.call(services.mcp_tool("list_ecs_instances"), region="cn-hangzhou")
    assert listed.ok and json.loads(listed.content)["RegionId"] == "cn-hangzhou"
    instance_id = re.search(r"i-[a-z0-9]+", listed.content).group(0)
    described = services.call(services.mcp_tool("describe_ecs_instance"), instance_id=instance_id)
    assert described.ok and instance_id in described.content
    found = services.call(services.mcp_tool("search_resources"), keyword="MySQL")
    assert found.ok and "ACS::RDS::DBInstance" in found.content
    assert [r.target for r in services.proxy.requests] and all(
        r.target.startswith("/mcp/resourcecenter/mcp") for r in services.proxy.requests)


def test_a_tool_argument_without_a_grammar_cannot_be_declared():
    def open_url(context: ToolContext, url: str) -> str:
        """Fetch any URL (an argument with no grammar)."""
        return url

    with pytest.raises(TypeError, match="argument 'url' needs a grammar"):
        tool(CredentialSpec("sts"))(open_url)

"""The order tools through localcloud's AI Gateway, over the official MCP client, for users signed in for real: what the
gateway lists, an allowed call, a denial with its deciding policies, the -32042 consent and the call after it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from alibabacloud_agentidentity20250901 import models as ai
from alibabacloud_agentidentity20250901.client import Client as ControlClient

import localcloud
from identity.broker import ConsentRequired, CredentialBroker
from identity.broker.cache import CacheKey
from identity.provision import read_config
from localcloud.orders import ORDER_TOOLS
from tests.agent.conftest import AgentWorld, decide_at_orders, provisioned_world
from tests.conftest import tea_config
from tests.support import free_port
from tools import GATEWAY_CREDENTIAL, ToolContext, ToolError, call_tool, discover_gateway_tools
from tools.elicitations import ELICITATION_ACTION, consent_for, session_uri_of
from tools.errors import ElicitationRequired, ServiceFailed
from tools.gateway_tools import GATEWAY, NOT_LISTED, ORDER_CATALOGUE, ORDER_SCOPES, _result_text
from ui.credentials_view import is_trusted_authorization_url

FORBID_DEADBEEF = ('forbid (principal, action == AIGateway::Action::"mcp-servers.test-order-agent-identity.'
                   'deleteOrder", resource)\n'
                   'when { context.input has order_id && context.input.order_id == "deadbeef" };')


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> AgentWorld:
    directory = tmp_path_factory.mktemp("gateway-tools")
    return provisioned_world(localcloud.start(port=0, data_dir=directory / "lc"), directory, ("alice", "bob"))


@pytest.fixture(scope="module")
def broker(world: AgentWorld) -> CredentialBroker:
    return CredentialBroker(world.clients, world.settings)


def _tools(world: AgentWorld, broker: CredentialBroker, user: str) -> dict[str, Any]:
    wat = broker.workload_token(world.users[user])
    return {tool.name: tool for tool in discover_gateway_tools(world.target.gateway.mcp_server, wat.value)}


def _call(world: AgentWorld, broker: CredentialBroker, user: str, tool: str, arguments: dict[str, Any]) -> Any:
    return call_tool(_tools(world, broker, user)[tool], arguments, world.users[user], broker, world.target.services)


def _decisions(world: AgentWorld, user: str, tool: str) -> list[dict[str, Any]]:
    return world.cloud.gateway_decisions(user=world.users[user].subject, tool=tool)


@pytest.fixture
def forbid_deadbeef(world: AgentWorld) -> Iterator[str]:
    """A forbid policy in the provisioned set (bound in ENFORCE): nobody deletes the order "deadbeef"."""
    control, name = ControlClient(tea_config(world.cloud)), "nobody-deletes-deadbeef"
    policy_set = read_config(world.settings.config_json)["policy_set_name"]
    control.create_policy(ai.CreatePolicyRequest(policy_set_name=policy_set, policy_name=name, definition=ai.Definition(
        cedar=ai.DefinitionCedar(statement=FORBID_DEADBEEF))))
    yield name
    control.delete_policy(ai.DeletePolicyRequest(policy_set_name=policy_set, policy_name=name))


def test_the_gateway_lists_what_its_policies_could_permit_and_the_other_order_tools_are_marked(world, broker):
    alice, bob = _tools(world, broker, "alice"), _tools(world, broker, "bob")
    assert sorted(alice) == sorted(bob) == ["createOrder", "deleteOrder", "getOrder", "listOrders"]
    assert not any(NOT_LISTED in tool.description for tool in alice.values())
    assert [name for name, tool in bob.items() if NOT_LISTED in tool.description] == ["deleteOrder"]
    assert all(tool.credential == GATEWAY_CREDENTIAL and tool.description.startswith(f"[{GATEWAY}] ")
               for tool in [*alice.values(), *bob.values()])
    assert bob["deleteOrder"].parameters == alice["deleteOrder"].parameters


def test_the_catalogue_is_the_order_servers_own_description():
    served = {tool.name: (tool.description, tool.input_schema) for tool in ORDER_TOOLS}
    assert {tool.name: (tool.description, tool.schema) for tool in ORDER_CATALOGUE} == served


def test_a_first_call_asks_for_consent_with_the_gateways_own_link_and_goes_through_after_it(world, broker):
    with pytest.raises(ConsentRequired) as asked:
        _call(world, broker, "alice", "listOrders", {})
    consent = asked.value.consent
    assert (consent.provider, consent.scopes, consent.owner) == ("mcp-order-oauth2", ORDER_SCOPES,
                                                                 world.users["alice"].key)
    assert is_trusted_authorization_url(consent.authorization_url, world.target)
    assert consent.session_uri == session_uri_of(consent.authorization_url) and consent.session_uri
    [logged] = [a for a in broker.log.of(world.users["alice"].key) if a.action == ELICITATION_ACTION]
    assert (logged.provider, logged.outcome) == ("mcp-order-oauth2", "consent required")
    back = decide_at_orders(world, broker, consent)
    assert back["state"] == consent.state  # the gateway's elicitation id came back to the app's /callback
    outcome = _call(world, broker, "alice", "listOrders", {})
    assert (outcome.ok, outcome.via, outcome.denied_by, outcome.provider) == (True, GATEWAY, None, "mcp-order-oauth2")
    assert json.loads(outcome.content) == []
    assert outcome.fingerprint == broker.workload_token(world.users["alice"]).fingerprint  # what the app sent
    cached = CacheKey(world.users["alice"].key, broker.workload(), "oauth2", "mcp-order-oauth2", ORDER_SCOPES)
    assert broker.cache.peek(cached) is None  # the consent's check fetched it once; the app keeps nothing of it



def test_an_elicitation_that_names_no_session_becomes_a_consent_agent_identity_starts(world, broker):
    tool = _tools(world, broker, "bob")["listOrders"]
    with pytest.raises(ConsentRequired) as raised:
        consent_for(ElicitationRequired("https://elsewhere.example/consent?x=1", "e" * 32), tool, world.users["bob"],
                    broker)
    consent = raised.value.consent
    assert consent.state != "e" * 32 and (consent.provider, consent.scopes) == ("mcp-order-oauth2", ORDER_SCOPES)
    assert is_trusted_authorization_url(consent.authorization_url, world.target)  # the data plane's, not that link

def test_a_call_the_policy_denies_names_its_deciding_policies(world, broker, forbid_deadbeef):
    outcome = _call(world, broker, "alice", "deleteOrder", {"order_id": "deadbeef"})
    assert (outcome.ok, outcome.denied_by, outcome.via) == (False, (forbid_deadbeef,), GATEWAY)
    assert outcome.content.startswith(f"deleteOrder failed: denied by the AI Gateway's policy ({forbid_deadbeef}):")
    [decision] = _decisions(world, "alice", "deleteOrder")
    assert (decision["decision"], decision["deciding_policies"]) == ("DENY", [forbid_deadbeef])


def test_a_call_no_policy_permits_is_denied_with_no_names_and_needs_no_consent(world, broker):
    outcome = _call(world, broker, "bob", "deleteOrder", {"order_id": "12345678"})
    assert (outcome.ok, outcome.denied_by) == (False, ())
    assert "denied by the AI Gateway's policy (no policy permits it)" in outcome.content
    assert "Nothing was done." in outcome.content


def test_an_order_id_outside_its_grammar_is_refused_before_anything_is_sent(world, broker):
    before = len(_decisions(world, "alice", "getOrder"))
    outcome = _call(world, broker, "alice", "getOrder", {"order_id": "../admin"})
    assert not outcome.ok and "invalid order_id '../admin'" in outcome.content
    assert "Nothing was sent." in outcome.content
    assert len(_decisions(world, "alice", "getOrder")) == before


def test_a_workload_token_the_gateway_refuses_is_its_401_in_the_result(world, broker):
    tool = _tools(world, broker, "alice")["listOrders"]
    context = ToolContext(SimpleNamespace(value="not-a-workload-token"), world.settings)
    with pytest.raises(ServiceFailed, match=r"HTTP 401 InvalidParameter\.WorkloadAccessToken"):
        tool.function(context)


def test_an_unreachable_gateway_fails_within_its_bound():
    with pytest.raises(ToolError, match="failed"):
        discover_gateway_tools(f"http://127.0.0.1:{free_port()}/mcp-servers/test-order-agent-identity", "wat", 2.0)


def test_a_consent_request_in_an_error_result_is_a_consent_too():
    error = {"code": -32042, "message": "URL elicitation required", "data": {"elicitations": [
        {"mode": "url", "url": "https://dp.example/oauth2/authorize?request_uri=urn%3As", "message": "m",
         "elicitationId": "e" * 32}]}}
    result = SimpleNamespace(content=[SimpleNamespace(text=json.dumps({"error": error}))], is_error=True)
    with pytest.raises(ElicitationRequired) as asked:
        _result_text(result)
    assert (asked.value.elicitation_id, session_uri_of(asked.value.url)) == ("e" * 32, "urn:s")
    failed = SimpleNamespace(content=[SimpleNamespace(text="The order service answered HTTP 404")], is_error=True)
    with pytest.raises(ServiceFailed, match="HTTP 404"):
        _result_text(failed)


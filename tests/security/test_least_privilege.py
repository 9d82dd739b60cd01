"""Case 7, least privilege: each credential reaches only what it was granted, and the user's ID token reaches
only Agent Identity.

- The STS keys the broker gets for the workload's RAM role cannot do what the role's policy does not allow.
- An M2M (client credentials) token acts as the application, never as a user: it cannot read a user's DingTalk
  document, the broker never hands a user's token out for an M2M request, and a public client gets no M2M token.
- During a turn that uses all six tools, the tool services, the MCP server and the model receive neither the ID
  token nor its signature: a recording proxy stands in front of each of them (the app reaches them by the URLs
  of its cloud target) and keeps every header, query and body.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import httpx
import jwt
import oss2
import pytest
from alibabacloud_ram20150501 import models as ram
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_tea_openapi.exceptions import ClientException

from agent import ToolFinished, TurnDone
from identity.broker import ConsentRequired
from identity.errors import CloudError
from tests.agent import conftest as agent_fixtures
from tests.agent.conftest import AgentWorld, decide, run, turn
from tests.conftest import tea_config
from tests.identity.broker import test_broker as broker_tests
from tests.identity.broker.test_broker import sign_in
from tests.security.binding_support import DINGTALK, MCP, RecordingProxy, approve, served_routes, start_consent
from tools import call_tool, read_dingtalk_document, write_dingtalk_document
from tools.documents import DEMO_DOCUMENT_ID
from tools.services import MCP_SCOPES

# Fixtures by reference: the broker tests' `broker_app` (the real /callback over HTTP) and the agent tests'
# `agent_world` (a provisioned localcloud with its DashScope stand-in, alice and bob signed in) and per-test `broker`.
broker_app, agent_world, broker = broker_tests.broker_app, agent_fixtures.agent_world, agent_fixtures.broker
SIX_TOOLS = {"weather_search", "get_schedule", "get_current_time", "list_ecs_instances", "read_oss_object",
             "read_dingtalk_document"}


# -- STS keys: only what the role's policy allows ----------------------------------------------------------------------
def _sts_keys(broker_app) -> tuple[str, str, str]:
    alice, _ = sign_in(broker_app, "alice")
    sts = broker_app.broker.sts_credentials(alice)
    return sts.access_key_id, sts.access_key_secret, sts.security_token


def test_the_roles_sts_keys_cannot_write_to_the_bucket_they_may_read(broker_app):
    bucket = oss2.Bucket(oss2.StsAuth(*_sts_keys(broker_app)), broker_app.clients.target.services["oss_endpoint"],
                         broker_app.settings.oss_bucket)
    assert bucket.get_object("docs/welcome.md").read()  # reading is granted

    with pytest.raises(oss2.exceptions.AccessDenied):
        bucket.put_object("docs/welcome.md", b"overwritten by the agent")


def test_the_roles_sts_keys_cannot_manage_ram(broker_app):
    key_id, secret, token = _sts_keys(broker_app)
    as_role = RamClient(tea_config(broker_app.cloud, access_key_id=key_id, access_key_secret=secret,
                                   security_token=token))

    with pytest.raises(ClientException) as refused:
        as_role.create_role(ram.CreateRoleRequest(role_name="escalated", assume_role_policy_document=json.dumps(
            {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"RAM": ["acs:ram::1:root"]}}]})))

    assert refused.value.code == "NoPermission"


# -- M2M: the application's own token, never a user's ---------------------------------------------------------------
def _read_document(broker_app, token: str) -> str:
    base = broker_app.clients.target.services["dingtalk_api_base"]
    answer = httpx.get(f"{base}/v2.0/doc/me/suites/documents/{DEMO_DOCUMENT_ID}/content", trust_env=False,
                       timeout=10, headers={"x-acs-dingtalk-access-token": token})
    answer.raise_for_status()
    return answer.json()["result"]["content"]


def _alice_writes_her_document(broker_app, secret_note: str):
    """alice consents to DingTalk and the write tool puts `secret_note` in her document."""
    alice, browser = sign_in(broker_app, "alice")
    consent = start_consent(broker_app, alice, DINGTALK)
    assert browser.get(approve(broker_app, browser, consent, "alice")).status_code == 200
    written = call_tool(write_dingtalk_document, {"content": secret_note}, alice, broker_app.broker,
                        broker_app.clients.target.services)
    assert written.ok
    return alice


def test_an_m2m_token_cannot_read_a_users_dingtalk_document(broker_app):
    alice = _alice_writes_her_document(broker_app, "alice's private notes")

    machine = broker_app.broker.oauth2_token(alice, DINGTALK[0], ("corpid",), flow="M2M")

    assert jwt.decode(machine.value, options={"verify_signature": False})["sub"] != alice.subject
    assert "alice's private notes" not in _read_document(broker_app, machine.value)
    read = call_tool(read_dingtalk_document, {}, alice, broker_app.broker, broker_app.clients.target.services)
    assert read.ok and "alice's private notes" in read.content  # her own token still reads it


def test_an_m2m_request_never_gets_the_users_token_for_the_same_scopes(broker_app):
    alice, browser = sign_in(broker_app, "alice")
    consent = start_consent(broker_app, alice, (DINGTALK[0], ("corpid",)))
    assert browser.get(approve(broker_app, browser, consent, "alice")).status_code == 200
    delegated = broker_app.broker.oauth2_token(alice, DINGTALK[0], ("corpid",))
    assert jwt.decode(delegated.value, options={"verify_signature": False})["sub"] == alice.subject

    machine = broker_app.broker.oauth2_token(alice, DINGTALK[0], ("corpid",), flow="M2M")

    assert machine.fingerprint != delegated.fingerprint
    assert jwt.decode(machine.value, options={"verify_signature": False})["sub"] != alice.subject


def test_a_public_client_gets_no_m2m_token_for_the_mcp_server(broker_app):
    alice, _ = sign_in(broker_app, "alice")

    with pytest.raises(CloudError) as refused:
        broker_app.broker.oauth2_token(alice, MCP[0], MCP[1], flow="M2M")

    assert "unauthorized_client" in refused.value.message  # client credentials are for confidential clients only


# -- the ID token goes to Agent Identity only -------------------------------------------------------------------------
@pytest.fixture
def proxied(agent_world: AgentWorld) -> Iterator[tuple[AgentWorld, RecordingProxy]]:
    """`agent_world` whose tool services, MCP server and model are reached through one recording proxy."""
    proxy, base, before = RecordingProxy(agent_world.cloud.url), agent_world.cloud.url, agent_world.target
    with served_routes(proxy.routes()) as url:
        services = {name: url + _path(value, base) for name, value in before.services.items()}
        target = dataclasses.replace(before, services=services,
                                     dashscope_base_url=url + _path(before.dashscope_base_url, base))
        yield dataclasses.replace(agent_world, target=target), proxy


def _path(url: str, base: str) -> str:
    assert url.startswith(base), f"{url} is not on localcloud"
    return url[len(base):]


def _consented(agent_world: AgentWorld, broker, need: tuple[str, tuple[str, ...]]) -> None:
    """alice approves `need` once, so the turn runs without waiting (the token lands in the vault)."""
    try:
        broker.oauth2_token(agent_world.alice, *need)
    except ConsentRequired as needed:  # approve in a browser, then complete as the app's /callback does
        decide(agent_world, broker, needed.consent)


def test_a_turn_with_all_six_tools_never_sends_the_id_token_to_a_service(proxied, broker):
    agent_world, proxy = proxied
    _consented(agent_world, broker, (agent_world.settings.mcp_oauth_provider_name, MCP_SCOPES))
    _consented(agent_world, broker, DINGTALK)
    id_token = agent_world.alice.id_token

    events, _ = run(turn(agent_world, broker, "What's the weather in Beijing, what's on my schedule today, what time "
                         "is it in Shanghai, list my ECS instances, read docs/welcome.md from OSS, and read "
                         "my DingTalk document"))

    finished = [e for e in events if isinstance(e, ToolFinished)]
    assert {e.tool for e in finished} == SIX_TOOLS and all(e.ok for e in finished)
    assert isinstance(events[-1], TurnDone) and events[-1].ok
    seen = {r.target.split("?")[0] for r in proxy.requests}
    assert {"/svc/weather", "/svc/schedule", "/svc/time", "/mcp/resourcecenter/mcp",
            f"/v2.0/doc/me/suites/documents/{DEMO_DOCUMENT_ID}/content",
            f"/{agent_world.settings.oss_bucket}/docs/welcome.md",
            "/api/v1/services/aigc/text-generation/generation"} <= seen
    dingtalk_token = broker.oauth2_token(agent_world.alice, *DINGTALK).value
    assert any(r.carries(dingtalk_token) for r in proxy.requests)  # the recorder does see credentials that are sent
    leaks = [r.target for r in proxy.requests if r.carries(id_token) or r.carries(id_token.split(".")[2])]
    assert leaks == []

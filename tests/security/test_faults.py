"""Security suite, case 9: faults. Nothing is lost and nothing hangs when a service fails.

Every fault is real: localcloud runs as its own process and is killed (SIGKILL) mid-chat, DashScope and the MCP
server are tiny HTTP servers on 127.0.0.1 that fail, stall or refuse, and a provisioning run is broken by a proxy
in front of localcloud that throttles or drops one call. Each wait is bounded (`bounded`), so a hang fails the
test instead of stalling the suite.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import streamlit as st

import localcloud
from agent import (
    ChatStore,
    ConsentNeeded,
    McpUnavailable,
    ModelConfig,
    ToolFinished,
    TurnContext,
    TurnDone,
    TurnFailed,
    recorded,
    run_turn,
)
from identity import provision
from identity.broker import ConsentRequired, CredentialBroker
from identity.clients import Clients
from identity.cloud import CloudTarget, connect
from identity.errors import ProvisioningError
from identity.settings import Settings, load_settings
from tests.agent import conftest as agent_fixtures
from tests.agent.conftest import (
    AgentWorld,
    decide,
    provisioned_world,
    run,
    turn,
)
from tests.app.test_credentials_page import sign_in as app_sign_in
from tests.identity.provision.test_engine import _leftovers
from tests.security.fault_support import (
    DROP,
    HANG,
    Drop,
    FaultServer,
    LocalCloudProcess,
    Received,
    Reply,
    alibaba_error,
    bounded,
    forward,
    provisioned_app,
)
from tests.support import free_port
from tools.documents import DINGTALK_SCOPES
from tools.services import MCP_SCOPES
from ui.chat_view import notice_of
from ui.runtime import AppRuntime, app_state_dir, get_runtime, reset_runtime

GENERATION = "/api/v1/services/aigc/text-generation/generation"
TWO_TOOLS = "What's on my schedule today and the weather in Beijing?"
approver = agent_fixtures.approver  # the user's browser in a thread of its own
TURN_BOUND = 90.0  # generous: a turn that is not over by then hangs


@pytest.fixture(scope="module")
def agent_world(tmp_path_factory: pytest.TempPathFactory) -> AgentWorld:
    """A provisioned in-process localcloud (its DashScope stand-in is the model) and alice signed in."""
    directory = tmp_path_factory.mktemp("faults")
    return provisioned_world(localcloud.start(port=0, data_dir=directory / "localcloud"), directory, ("alice",))


@pytest.fixture
def provisioned(fresh_cloud: localcloud.LocalCloud, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> Iterator[AppRuntime]:
    yield from provisioned_app(fresh_cloud, tmp_path, monkeypatch)


def _of(events: Iterable[Any], kind: type) -> list[Any]:
    return [event for event in events if isinstance(event, kind)]


def _done(events: list[Any]) -> TurnDone:
    assert isinstance(events[-1], TurnDone) and len(_of(events, TurnDone)) == 1
    return events[-1]


def _approving(agent_world: AgentWorld, broker: CredentialBroker, pool: ThreadPoolExecutor) -> Any:
    return lambda event: pool.submit(decide, agent_world, broker, event)


def _approved_turn(agent_world: AgentWorld, broker: CredentialBroker, pool: ThreadPoolExecutor, text: str,
                   events: Iterable[Any] | None = None) -> list[Any]:
    """A turn (`events`, else a new one for `text`) whose consents the user approves from another thread, as their
    browser would."""
    def whole() -> list[Any]:
        seen, futures = run(events if events is not None else turn(agent_world, broker, text),
                            _approving(agent_world, broker, pool))
        for future in futures:
            future.result(timeout=60)
        return seen
    return bounded(whole, TURN_BOUND, f"the turn {text!r}")


# -- localcloud killed mid-chat, then restarted on the same port and data directory ---------------------------------
@pytest.fixture
def crashable(tmp_path: Path) -> Iterator[tuple[LocalCloudProcess, AgentWorld]]:
    """A provisioned localcloud in a process of its own, the app's settings pointed at it, alice signed in."""
    process = LocalCloudProcess(free_port(), tmp_path / "localcloud", tmp_path / "localcloud.log")
    process.start()
    try:
        cloud = localcloud.start(port=process.port, data_dir=process.data_dir)  # the process above, reused
        assert cloud.reused
        yield process, provisioned_world(cloud, tmp_path, ("alice",))
    finally:
        process.kill()


def _crashing_after_first_tool(process: LocalCloudProcess, events: Iterator[Any]) -> list[Any]:
    """All of a turn's events; localcloud dies right after the first tool call finished, before the next one."""
    seen: list[Any] = []
    for event in events:
        seen.append(event)
        if isinstance(event, ToolFinished) and len(_of(seen, ToolFinished)) == 1:
            process.kill()
    return seen


def test_localcloud_killed_mid_chat_loses_nothing_and_the_chat_goes_on_after_a_retry(crashable, approver):
    process, agent_world = crashable
    alice, broker = agent_world.alice, CredentialBroker(agent_world.clients, agent_world.settings)
    _approved_turn(agent_world, broker, approver, "What time is it in Shanghai?")  # the MCP token is in the vault now
    with pytest.raises(ConsentRequired) as started:  # a DingTalk consent is open when localcloud dies
        broker.oauth2_token(alice, agent_world.settings.dingtalk_oauth_provider_name, DINGTALK_SCOPES)
    store = ChatStore.in_directory(agent_world.directory / ".appstate")
    chat = store.create_chat(alice.key)

    crashed = bounded(lambda: _crashing_after_first_tool(
        process, recorded(store, alice.key, chat.id, turn(agent_world, broker, TWO_TOOLS))), TURN_BOUND,
        "the crashed turn")

    # The moment of failure: the second tool and the model say what went wrong, in words, and the turn ends.
    schedule, weather = _of(crashed, ToolFinished)
    assert schedule.ok and not weather.ok
    assert "did not get an answer (connection refused)" in weather.summary
    [error] = _of(crashed, TurnFailed)
    assert error.code == "ConnectionError" and f"DashScope at {agent_world.cloud.url}/api/v1 could not be reached" in \
        error.message
    assert notice_of(error).text.startswith("The model failed: `ConnectionError` DashScope at")
    assert _done(crashed).ok is False
    # Asking again while localcloud is still down: the same plain error, not an exception out of the turn.
    down = bounded(lambda: list(turn(agent_world, broker, TWO_TOOLS)), TURN_BOUND, "a turn while localcloud is down")
    assert [e.code for e in _of(down, TurnFailed)] == ["ConnectionError"] and _done(down).ok is False

    process.start()  # same port, same data directory
    retried = bounded(lambda: list(recorded(store, alice.key, chat.id, turn(
        agent_world, broker, TWO_TOOLS, store.history(alice.key, chat.id)))), TURN_BOUND, "the retried turn")

    assert [(f.tool, f.ok) for f in _of(retried, ToolFinished)] == [("get_schedule", True), ("weather_search", True)]
    assert _done(retried).ok and "30 degrees and sunny" in _done(retried).text
    # The STS keys and workload token cached before the crash were accepted by the restarted localcloud.
    calls = agent_world.cloud.request_counts()
    assert "AssumeRoleForWorkloadIdentity" not in calls and "GetWorkloadAccessTokenForJWT" not in calls
    # The consent started before the crash completes after it.
    decide(agent_world, broker, started.value.consent)
    assert broker.oauth2_token(alice, agent_world.settings.dingtalk_oauth_provider_name, DINGTALK_SCOPES).value
    # The vault kept the MCP token: a broker with nothing cached gets it without asking the user again.
    fresh = CredentialBroker(agent_world.clients, agent_world.settings)
    assert fresh.held_oauth2_token(alice, agent_world.settings.mcp_oauth_provider_name, MCP_SCOPES) is not None
    assert fresh.consents.of(alice.key) == []
    # Every provisioned resource is still there, and the chat holds both turns.
    assert {report.status for report in provision.plan(agent_world.clients, agent_world.settings)} == {"keep"}
    asked = [m["content"] for m in store.messages(alice.key, chat.id) if m["role"] == "user"]
    assert asked == [TWO_TOOLS, TWO_TOOLS]
    store.close()


# -- DashScope failing or stalling -----------------------------------------------------------------------------------
def _model_target(agent_world: AgentWorld, monkeypatch: pytest.MonkeyPatch, base_url: str) -> CloudTarget:
    """The app's target as `python -m localcloud env` sets it up, with DASHSCOPE_HTTP_BASE_URL at `base_url`."""
    monkeypatch.setenv("DASHSCOPE_HTTP_BASE_URL", base_url)
    environ = {**agent_world.cloud.env(), "CONFIG_JSON": str(agent_world.settings.config_json)}
    environ.pop("DASHSCOPE_HTTP_BASE_URL")
    target = connect(load_settings(environ, config_file=agent_world.directory / "config.yml"))
    assert target.dashscope_base_url == base_url
    return target


def _dashscope_error(status: int, code: str, message: str) -> Reply:
    body = f'{{"request_id": "fault-{status}", "code": "{code}", "message": "{message}"}}'
    return Reply(status, body.encode(), {"Content-Type": "application/json"})


def _model_turn(agent_world: AgentWorld, target: CloudTarget, text: str, **model: Any) -> list[Any]:
    broker = CredentialBroker(agent_world.clients, agent_world.settings)
    config = ModelConfig.of(agent_world.settings, target, **model)
    context = TurnContext.of(agent_world.alice, broker, target, model=config)
    return bounded(lambda: list(run_turn(context, [], text)), TURN_BOUND, "the turn with a failing model")


@pytest.mark.parametrize(("status", "code", "attempts"), [
    (500, "InternalError", 3), (503, "ServiceUnavailable", 3), (429, "Throttling.RateQuota", 3),
    (400, "InvalidParameter", 1),
], ids=["500", "503", "429", "400-not-retried"])
def test_a_failing_model_is_retried_a_bounded_number_of_times_then_the_chat_says_why(agent_world, monkeypatch, status,
                                                                                     code, attempts):
    with FaultServer(lambda _request: _dashscope_error(status, code, "scripted failure")) as dashscope:
        target = _model_target(agent_world, monkeypatch, f"{dashscope.url}/api/v1")
        events = _model_turn(agent_world, target, "What's the weather in Beijing?")
    assert dashscope.count(GENERATION) == attempts  # 3 tries for what may pass, 1 for a bad request
    [error] = _of(events, TurnFailed)
    assert (error.code, error.message) == (code, "scripted failure")
    assert notice_of(error).text == f"The model failed: `{code}` scripted failure"
    assert _done(events).ok is False and not _of(events, ToolFinished)


def test_a_model_that_stalls_past_the_client_timeout_is_given_up_after_three_tries(agent_world, monkeypatch):
    with FaultServer(lambda _request: HANG) as dashscope:
        target = _model_target(agent_world, monkeypatch, f"{dashscope.url}/api/v1")
        events = _model_turn(agent_world, target, "What's the weather in Beijing?", timeout=1)
    assert dashscope.count(GENERATION) == 3
    [error] = _of(events, TurnFailed)
    assert (error.code, error.message) == ("RequestTimeOut", "DashScope did not answer within 1 s")
    assert _done(events).ok is False


def test_a_model_that_recovers_after_two_503s_answers_the_turn(agent_world, monkeypatch):
    def flaky(request: Received) -> Reply:
        failures = 2
        if len(dashscope.received) <= failures:
            return _dashscope_error(503, "ServiceUnavailable", "try again")
        return forward(agent_world.cloud.url, request)  # then the real (local) model answers

    with FaultServer(flaky) as dashscope:
        target = _model_target(agent_world, monkeypatch, f"{dashscope.url}/api/v1")
        events = _model_turn(agent_world, target, "What's the weather in Beijing?")
    assert not _of(events, TurnFailed) and _done(events).ok and "30 degrees and sunny" in _done(events).text
    assert dashscope.count(GENERATION) == 4  # round one took three tries, round two one


# -- the MCP server down ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def mcp_approved(agent_world: AgentWorld) -> AgentWorld:
    """alice has approved the MCP server once, so every turn starts by connecting to it."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        _approved_turn(agent_world, CredentialBroker(agent_world.clients, agent_world.settings), pool,
                       "What time is it in Shanghai?")
    return agent_world


@pytest.mark.parametrize("failure", ["refused", "hangs"])
def test_an_mcp_server_that_refuses_or_hangs_costs_a_bounded_wait_and_the_other_tools_still_work(mcp_approved,
                                                                                                 failure):
    with FaultServer(lambda _request: HANG) as silent:
        url = f"http://127.0.0.1:{free_port()}/mcp" if failure == "refused" else f"{silent.url}/mcp"
        settings = dataclasses.replace(mcp_approved.settings, mcp_server=url)  # the MCP_SERVER setting
        down = dataclasses.replace(mcp_approved, settings=settings, target=connect(settings))
        broker = CredentialBroker(down.clients, settings)
        events = bounded(lambda: list(turn(down, broker, "List my ECS instances and the weather in Beijing",
                                           mcp_timeout=2)), TURN_BOUND, "a turn with the MCP server down")
        assert len(silent.received) == (1 if failure == "hangs" else 0)  # it really was asked, and kept silent
    [unavailable] = _of(events, McpUnavailable)
    reason = {"refused": "failed: ConnectError", "hangs": "did not answer within 2 s"}[failure]
    assert unavailable.reason.startswith(f"the MCP server at {url} ") and reason in unavailable.reason
    assert notice_of(unavailable).text.startswith("Alibaba Cloud MCP server unavailable, answering without it")
    connector, weather = _of(events, ToolFinished)
    assert not connector.ok and "the Alibaba Cloud MCP server is unavailable" in connector.summary
    assert weather.tool == "weather_search" and weather.ok
    assert _done(events).ok and "30 degrees and sunny" in _done(events).text


# -- a provisioning run failing half-way, over real HTTP ------------------------------------------------------------
def _proxied_settings(cloud: localcloud.LocalCloud, proxy: FaultServer, directory: Path) -> Settings:
    """Settings for a localcloud reached through `proxy` (LOCALCLOUD_URL), as `python -m localcloud env` gives."""
    environ = {**cloud.env(), "LOCALCLOUD_URL": proxy.url, "CONFIG_JSON": str(directory / ".config.json")}
    return load_settings(environ, config_file=directory / "config.yml")


@pytest.mark.parametrize(("action", "fault", "step", "resumed"), [
    ("CreatePolicy", "throttled", "policy", "created"),
    ("CreateWorkloadIdentity", "answer lost", "workload_identity", "kept"),
], ids=["throttled-before-create", "answer-lost-after-create"])
def test_provisioning_broken_half_way_over_http_resumes_then_clears_everything(fresh_cloud, tmp_path, action, fault,
                                                                               step, resumed):
    fired: list[str] = []

    def once(request: Received) -> Reply | Drop:
        if request.action == action and not fired:
            fired.append(action)
            if fault == "throttled":
                return alibaba_error("Throttling.User", "Request was denied due to user flow control.")
            forward(fresh_cloud.url, request)  # localcloud creates it, and the answer never comes back
            return DROP
        return forward(fresh_cloud.url, request)

    with FaultServer(once) as proxy:
        settings = _proxied_settings(fresh_cloud, proxy, tmp_path)
        clients = Clients(connect(settings))
        with pytest.raises(ProvisioningError) as failed:
            provision.apply(clients, settings)
        assert fired == [action]
        expected = "Throttling.User" if fault == "throttled" else "ConnectionFailed"
        assert failed.value.cause.code == expected
        statuses = {report.key: report.status for report in provision.apply(clients, settings)}
        assert statuses[step] == resumed
        assert {report.status for report in provision.plan(clients, settings)} == {"keep"}
        provision.destroy(clients, settings)
        assert all(not items for items in _leftovers(clients).values())
    assert not settings.config_json.exists()


# -- the app restarted -----------------------------------------------------------------------------------------------
def _restarted() -> AppRuntime:
    """What a new server process builds: a new runtime from the same settings and state directories."""
    st.cache_resource.clear()
    reset_runtime()
    return get_runtime()


def test_an_app_restart_brings_back_sign_ins_and_chats_and_refetches_credentials_without_new_consent(provisioned):
    before = provisioned
    alice, alice_session = app_sign_in(before, "alice")
    bob, bob_session = app_sign_in(before, "bob")
    chat_world = AgentWorld(before.target.local, before.settings, before.target, before.clients, {"alice": alice},
                            before.settings.config_json.parent)
    store = ChatStore.in_directory(app_state_dir(before.settings))
    chat = store.create_chat(alice.key)
    first = "What time is it in Shanghai?"
    with ThreadPoolExecutor(max_workers=1) as pool:
        events = _approved_turn(chat_world, before.broker, pool, first, recorded(
            store, alice.key, chat.id, turn(chat_world, before.broker, first)))
    assert _of(events, ConsentNeeded) and _done(events).ok
    store.close()

    after = _restarted()

    assert after is not before and after.broker is not before.broker
    now = time.time()
    assert after.sessions.user(alice_session, now).key == alice.key
    assert after.sessions.user(bob_session, now).key == bob.key
    chats = ChatStore.in_directory(app_state_dir(after.settings))
    assert [c.id for c in chats.list_chats(alice.key)] == [chat.id] and chats.list_chats(bob.key) == []
    history = chats.history(alice.key, chat.id)
    assert history[0]["content"] == "What time is it in Shanghai?" and "Asia/Shanghai" in history[-1]["content"]
    # The activity log survives (it is in the database); nothing cached does: the first use fetches again, and the
    # vault answers without a consent.
    logged_before = after.broker.log.of(alice.key)
    assert ("CompleteResourceTokenAuth", "ok") in {(e.action, e.outcome) for e in logged_before}
    restored = after.sessions.user(alice_session, now)
    chat_world = dataclasses.replace(chat_world, settings=after.settings, target=after.target, clients=after.clients,
                                     users={"alice": restored})
    again = bounded(lambda: list(recorded(chats, alice.key, chat.id, turn(
        chat_world, after.broker, "What time is it in Tokyo?", history))), TURN_BOUND, "the turn after the restart")
    assert not _of(again, ConsentNeeded) and _done(again).ok and "Asia/Tokyo" in _done(again).text
    since = after.broker.log.of(alice.key)[: -len(logged_before)]
    actions = {(entry.action, entry.outcome) for entry in since}
    assert ("GetWorkloadAccessTokenForJWT", "ok") in actions and ("GetResourceOAuth2Token", "ok") in actions
    assert [c.status for c in after.broker.consents.of(alice.key)] == ["completed"]  # the one from before
    chats.close()

"""Whole turns against a provisioned localcloud: its DashScope stand-in answers as the model, the broker gets
real credentials for alice, and consents are given from another thread by a scripted browser."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

from agent import (
    CONNECTOR_NAME,
    ChatStore,
    ConsentNeeded,
    ConsentSettled,
    ConsentWaiting,
    McpConnected,
    McpUnavailable,
    MessageAdded,
    ModelReply,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnDone,
    TurnFailed,
    recorded,
    stream_reply,
)
from agent.history import HISTORY_TURNS
from agent.llm import ToolCall
from tests.agent.conftest import context, decide, forget_consent, mcp_provider, run, turn
from tests.support import free_port
from tools import call_tool, read_dingtalk_document
from tools.documents import DINGTALK_SCOPES
from ui.credentials_view import is_trusted_authorization_url


def _of(events: list[Any], kind: type) -> list[Any]:
    return [event for event in events if isinstance(event, kind)]


def _finished(events: list[Any]) -> ToolFinished:
    [finished] = _of(events, ToolFinished)
    return finished


def _done(events: list[Any]) -> TurnDone:
    assert isinstance(events[-1], TurnDone) and len(_of(events, TurnDone)) == 1
    return events[-1]


def _streamed(events: list[Any]) -> str:
    return "".join(event.text for event in _of(events, TextDelta))


def _approving(agent_world, broker, approver, decision: str = "approve"):
    return lambda event: approver.submit(decide, agent_world, broker, event, decision)


def _tool_result(events: list[Any]) -> str:
    [message] = [e.message for e in _of(events, MessageAdded) if e.message["role"] == "tool"]
    return message["content"]


def _consent_mcp(agent_world, broker, approver) -> None:
    """Have the MCP token in the vault, the way a user gets it: a turn that asks for it and an approval."""
    events, futures = run(turn(agent_world, broker, "What time is it in Shanghai?"),
                          _approving(agent_world, broker, approver))
    for future in futures:
        future.result()
    assert _finished(events).ok


# -- one conversation per example prompt ---------------------------------------------------------------
def test_weather_uses_the_api_key_and_answers_with_the_forecast(agent_world, broker):
    events, _ = run(turn(agent_world, broker, "What's the weather in Beijing?"))
    started, finished = _of(events, ToolStarted)[0], _finished(events)
    assert (started.tool, started.arguments) == ("weather_search", {"city": "Beijing"})
    assert (finished.ok, finished.credential_kind, finished.provider) == (True, "api_key", "test-provider-api-key")
    assert finished.fingerprint.startswith("sha256:")
    assert "30 degrees" in json.loads(_tool_result(events))["summary"]
    assert "30 degrees and sunny" in _done(events).text and _streamed(events) == _done(events).text


def test_schedule_uses_the_roles_sts_keys_and_lists_todays_events(agent_world, broker):
    events, _ = run(turn(agent_world, broker, "What's on my schedule today?"))
    finished = _finished(events)
    assert (finished.tool, finished.ok, finished.credential_kind) == ("get_schedule", True, "sts")
    assert finished.provider == ""  # STS keys come from the workload's RAM role, not a named provider
    result = json.loads(_tool_result(events))
    assert result["user_id"] == agent_world.alice.subject
    assert all(event["title"] in _done(events).text for event in result["events"])


def test_time_asks_for_consent_mid_turn_and_resumes_after_approval(agent_world, broker, approver):
    forget_consent(agent_world, broker, *mcp_provider(agent_world))
    events, futures = run(turn(agent_world, broker, "What time is it in Shanghai?"),
                          _approving(agent_world, broker, approver))
    futures[0].result()
    kinds = [type(e) for e in events if not isinstance(e, TextDelta | MessageAdded | ConsentWaiting)]
    assert kinds == [ToolStarted, ConsentNeeded, ConsentSettled, ToolFinished, TurnDone]
    needed, settled, finished = _of(events, ConsentNeeded)[0], _of(events, ConsentSettled)[0], _finished(events)
    assert is_trusted_authorization_url(needed.authorization_url, agent_world.target)
    assert needed.provider == agent_world.settings.mcp_oauth_provider_name and needed.expires_at > time.time()
    assert settled.status == "completed" and settled.state == needed.state
    assert (finished.tool, finished.ok, finished.credential_kind) == ("get_current_time", True, "oauth2")
    assert json.loads(_tool_result(events))["timezone"] == "Asia/Shanghai" and "Asia/Shanghai" in _done(events).text


def test_ecs_instances_come_from_the_mcp_server_with_the_users_token(agent_world, broker, approver):
    _consent_mcp(agent_world, broker, approver)
    events, _ = run(turn(agent_world, broker, "List my ECS instances"))
    [connected] = _of(events, McpConnected)
    assert "list_ecs_instances" in connected.tools and connected.via == "vault"
    finished = _finished(events)
    assert (finished.tool, finished.ok, finished.credential_kind) == ("list_ecs_instances", True, "oauth2")
    assert finished.provider == agent_world.settings.mcp_oauth_provider_name
    instances = json.loads(_tool_result(events))["Instances"]
    assert instances and all(i["InstanceId"] in _done(events).text for i in instances)


def test_an_oss_file_is_read_with_sts_keys(agent_world, broker):
    events, _ = run(turn(agent_world, broker, "Read docs/welcome.md from OSS"))
    finished = _finished(events)
    assert (finished.tool, finished.ok, finished.credential_kind) == ("read_oss_object", True, "sts")
    assert _tool_result(events).startswith("# Welcome") and "# Welcome" in _done(events).text


def test_a_dingtalk_write_asks_for_consent_then_writes(agent_world, broker, approver):
    forget_consent(agent_world, broker, agent_world.settings.dingtalk_oauth_provider_name, DINGTALK_SCOPES)
    prompt = "Write 'Agent Identity demo notes' to my DingTalk document"
    events, futures = run(turn(agent_world, broker, prompt), _approving(agent_world, broker, approver))
    futures[0].result()
    assert _of(events, ConsentSettled)[0].status == "completed"
    finished = _finished(events)
    assert (finished.tool, finished.ok, finished.credential_kind) == ("write_dingtalk_document", True, "oauth2")
    assert finished.provider == agent_world.settings.dingtalk_oauth_provider_name and "DingTalk" in _done(events).text
    read = call_tool(read_dingtalk_document, {}, agent_world.alice, broker, agent_world.target.services)
    assert read.ok and "Agent Identity demo notes" in read.content


# -- consent that does not come --------------------------------------------------------------------------
def test_a_declined_consent_ends_the_turn_cleanly_and_the_chat_goes_on(agent_world, broker, approver):
    forget_consent(agent_world, broker, *mcp_provider(agent_world))
    events, futures = run(turn(agent_world, broker, "What time is it in Shanghai?"),
                          _approving(agent_world, broker, approver, "deny"))
    futures[0].result()
    assert _of(events, ConsentSettled)[0].status == "declined"
    finished, done = _finished(events), _done(events)
    assert not finished.ok and "declined" in finished.summary
    assert done.ok and "did not approve" in done.text and not _of(events, TurnFailed)
    history = [e.message for e in _of(events, MessageAdded)]
    assert [m["role"] for m in history] == ["user", "assistant", "tool", "assistant"]
    after, _ = run(turn(agent_world, broker, "What's the weather in Beijing?", history))
    assert _finished(after).ok and _done(after).ok


def test_a_consent_nobody_answers_expires_within_the_bound(agent_world, broker):
    forget_consent(agent_world, broker, *mcp_provider(agent_world))
    started = time.monotonic()
    events, _ = run(turn(agent_world, broker, "What time is it in Shanghai?", consent_timeout=1.0, heartbeat=0.2))
    assert time.monotonic() - started < 10
    assert _of(events, ConsentWaiting) and _of(events, ConsentSettled)[0].status == "expired"
    assert "did not arrive in time" in _done(events).text


# -- failures that must not hang or crash the turn -----------------------------------------------------------
def _dead_mcp(agent_world) -> Any:
    return dataclasses.replace(agent_world.target, services={**agent_world.target.services,
                                                             "mcp_server": f"http://127.0.0.1:{free_port()}/mcp"})


def test_with_the_mcp_server_down_the_turn_still_answers_and_says_why(agent_world, broker, approver):
    _consent_mcp(agent_world, broker, approver)
    down = dataclasses.replace(agent_world, target=_dead_mcp(agent_world))
    started = time.monotonic()
    events, _ = run(turn(down, broker, "What's the weather in Beijing?", mcp_timeout=3))
    assert time.monotonic() - started < 20
    [unavailable] = _of(events, McpUnavailable)
    assert "MCP server" in unavailable.reason and _finished(events).ok and _done(events).ok


def _scripted(*replies: ModelReply, seen: list[list[str]] | None = None):
    """A model that answers from a script, recording the tool names it was offered each round."""
    script = list(replies)

    def stream(_config: Any, _messages: Any, tools: Any):
        if seen is not None:
            seen.append([tool["function"]["name"] for tool in tools])
        yield script.pop(0)
    return stream


def _asks(name: str, call_id: str) -> ModelReply:
    return ModelReply("", (ToolCall(call_id, name, "{}"),), "tool_calls")


def test_the_connector_reports_an_unreachable_mcp_server_as_its_result(agent_world, broker, approver):
    _consent_mcp(agent_world, broker, approver)
    down = dataclasses.replace(agent_world, target=_dead_mcp(agent_world))
    stream = _scripted(_asks(CONNECTOR_NAME, "c1"), ModelReply("The MCP server is down."))
    events, _ = run(turn(down, broker, "List my ECS instances", stream=stream, mcp_timeout=3))
    assert len(_of(events, McpUnavailable)) == 1  # found at the start; the connector does not try again
    finished = _finished(events)
    assert finished.tool == CONNECTOR_NAME and not finished.ok and "unavailable" in _tool_result(events)


def test_the_connector_asks_for_consent_then_offers_the_servers_tools(agent_world, broker, approver):
    forget_consent(agent_world, broker, *mcp_provider(agent_world))
    offered: list[list[str]] = []
    stream = _scripted(_asks(CONNECTOR_NAME, "c1"), _asks("list_ecs_instances", "c2"), ModelReply("3 instances."),
                       seen=offered)
    events, futures = run(turn(agent_world, broker, "List my ECS instances", stream=stream),
                          _approving(agent_world, broker, approver))
    futures[0].result()
    assert CONNECTOR_NAME in offered[0] and "list_ecs_instances" not in offered[0]
    assert "list_ecs_instances" in offered[1] and CONNECTOR_NAME not in offered[1]
    assert _of(events, McpConnected)[0].via == "consent"
    assert [(f.tool, f.ok) for f in _of(events, ToolFinished)] == [(CONNECTOR_NAME, True), ("list_ecs_instances", True)]
    assert _done(events).text == "3 instances."


def test_a_wrong_dashscope_key_is_a_turn_error_with_its_code(agent_world, broker):
    model = dataclasses.replace(context(agent_world, broker).model, api_key="sk-wrong")
    events, _ = run(turn(agent_world, broker, "What's the weather in Beijing?", model=model))
    [error] = _of(events, TurnFailed)
    assert error.code == "InvalidApiKey" and "API-key" in error.message
    assert _done(events).ok is False and not _of(events, ToolStarted)


def test_an_unreachable_model_fails_after_bounded_retries(agent_world, broker):
    slept: list[float] = []
    base = f"http://127.0.0.1:{free_port()}/api/v1"
    model = dataclasses.replace(context(agent_world, broker).model, base_url=base, sleep=slept.append)
    events, _ = run(turn(agent_world, broker, "hello", model=model))
    assert _of(events, TurnFailed)[0].code == "ConnectionError" and len(slept) == 2


def test_a_model_that_never_stops_calling_tools_is_cut_off(agent_world, broker):
    calls = [_asks("weather_search", f"w{n}") for n in range(5)]
    stream = _scripted(*calls, _asks("weather_search", "w-last"))
    events, _ = run(turn(agent_world, broker, "weather forever", stream=stream, max_rounds=6))
    assert len(_of(events, ToolFinished)) == 5 and _done(events).rounds == 6
    assert "too many rounds" in _done(events).text


# -- memory -----------------------------------------------------------------------------------------------
def test_the_model_gets_trimmed_role_messages_not_a_pasted_blob(agent_world, broker):
    sent: list[list[dict[str, Any]]] = []

    def spying(config: Any, messages: Any, tools: Any):
        sent.append([dict(m) for m in messages])
        yield from stream_reply(config, messages, tools)

    old = [m for n in range(HISTORY_TURNS + 4) for m in
           ({"role": "user", "content": f"old question {n}"}, {"role": "assistant", "content": f"old answer {n}"})]
    store = ChatStore.in_directory(agent_world.directory / "trim")
    chat = store.create_chat(agent_world.alice.key)
    for message in old:
        store.append_message(agent_world.alice.key, chat.id, message)
    history = store.history(agent_world.alice.key, chat.id)
    run(recorded(store, agent_world.alice.key, chat.id,
                 turn(agent_world, broker, "What's the weather in Beijing?", history, stream=spying)))
    first, second = sent
    assert first[0]["role"] == "system" and "Friday" in first[0]["content"]
    assert first[1:-1] == old[-2 * HISTORY_TURNS:] and first[-1] == {"role": "user",
                                                                      "content": "What's the weather in Beijing?"}
    assert all("old question" not in m["content"] for m in first[-1:])  # the new message is only the new message
    call, result = second[-2], second[-1]
    assert call["role"] == "assistant" and call["tool_calls"][0]["function"]["name"] == "weather_search"
    assert result["role"] == "tool" and result["tool_call_id"] == call["tool_calls"][0]["id"]
    assert result["name"] == "weather_search"
    kept = store.history(agent_world.alice.key, chat.id)
    assert [m["role"] for m in kept[-4:]] == ["user", "assistant", "tool", "assistant"]
    store.close()


def test_a_chat_is_restored_by_a_fresh_store_and_the_next_turn_sees_it(agent_world, broker):
    path = agent_world.directory / "restore"
    store = ChatStore.in_directory(path)
    chat = store.create_chat(agent_world.alice.key)
    run(recorded(store, agent_world.alice.key, chat.id, turn(agent_world, broker, "What's the weather in Beijing?")))
    store.close()
    again = ChatStore.in_directory(path)
    history = again.history(agent_world.alice.key, chat.id)
    assert history[0] == {"role": "user", "content": "What's the weather in Beijing?"}
    assert "sunny" in history[-1]["content"]
    cards = [e.body["type"] for e in again.entries(agent_world.alice.key, chat.id) if e.kind == "card"]
    assert cards == ["ToolFinished"]
    assert again.list_chats(agent_world.users["bob"].key) == []
    again.close()

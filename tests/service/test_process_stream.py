"""`POST /process` as the sample's backend calls it (AgentScope mode): its exact request, with the shared
`AGENT_BEARER_TOKEN` and the user's ID token in `user_id`, read by a plain httpx client; every event checked against
agentscope-runtime's own schema models."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.service.schemas import validate_event
from tests.service.support import (
    SERVICE_BEARER,
    WEATHER,
    Service,
    process_body,
    process_turn,
    streamed_text,
)

SESSION = "sample-backend-chat-1"


def _sample_backend_turn(service: Service) -> list[dict[str, Any]]:
    body = process_body(WEATHER, SESSION, user_id=service.id_token("alice"))
    return process_turn(service, body, {"Authorization": f"Bearer {SERVICE_BEARER}"})


@pytest.fixture
def turn(service: Service) -> list[dict[str, Any]]:
    return _sample_backend_turn(service)


def _of(events: list[dict[str, Any]], kind: str, **fields: Any) -> list[dict[str, Any]]:
    return [e for e in events if e["object"] == kind and all(e.get(k) == v for k, v in fields.items())]


def test_every_event_validates_against_agentscope_runtimes_models(turn):
    assert len(turn) > 5
    for event in turn:
        validate_event(event)


def test_the_response_goes_created_in_progress_then_completed_with_the_tools_answer(service, turn):
    responses = _of(turn, "response")
    assert [r["status"] for r in responses] == ["created", "in_progress", "completed"]
    assert turn[0] is responses[0] and turn[1] is responses[1] and turn[-1] is responses[-1]  # first, first, last
    assert {r["id"] for r in responses} == {responses[0]["id"]} and responses[-1]["session_id"] == SESSION
    assert "30 degrees and sunny in Beijing" in streamed_text(turn)
    # what was said is recorded in alice's chat under the sample's session id
    history = service.runtime.chats.history(service.user("alice").key, SESSION)
    assert history[0]["role"] == "user" and WEATHER in history[0]["content"]
    assert "30 degrees" in history[-1]["content"]


def test_text_deltas_belong_to_a_message_in_progress(turn):
    open_messages: set[str] = set()
    deltas = 0
    for event in turn:
        if event["object"] == "message" and event["status"] == "in_progress":
            open_messages.add(event["id"])
        elif event["object"] == "message" and event["status"] == "completed":
            open_messages.discard(event["id"])
        elif event["object"] == "content" and event["type"] == "text" and event["delta"]:
            deltas += 1
            assert event["msg_id"] in open_messages, f"delta for a message not in progress: {event}"
            assert event["status"] == "in_progress"
    assert deltas >= 1 and not open_messages  # every message that started also completed
    [whole] = [e for e in _of(turn, "content", type="text", status="completed") if e["text"]]
    assert whole["delta"] is False and whole["text"] == streamed_text(turn)


def test_a_tool_call_is_a_plugin_call_then_its_plugin_call_output(turn):
    [call] = _of(turn, "message", type="plugin_call", status="completed")
    [output] = _of(turn, "message", type="plugin_call_output", status="completed")
    assert turn.index(call) < turn.index(output) < turn.index(_of(turn, "response", status="completed")[0])
    called, answered = call["content"][0]["data"], output["content"][0]["data"]
    assert (called["name"], json.loads(called["arguments"])) == ("weather_search", {"city": "Beijing"})
    assert answered["call_id"] == called["call_id"] and "30 degrees and sunny" in answered["output"]
    assert output["role"] == "tool" and call["role"] == "assistant"
    # this app's own frontends read the loop's event from each structural message's metadata
    assert call["metadata"]["event"]["type"] == "ToolStarted" and call["metadata"]["event"]["tool"] == "weather_search"
    assert output["metadata"]["event"]["type"] == "ToolFinished" and output["metadata"]["event"]["ok"] is True
    # the completed response lists both messages among its output
    output_ids = [m["id"] for m in turn[-1]["output"]]
    assert call["id"] in output_ids and output["id"] in output_ids


def test_sequence_numbers_increase_from_one_without_gaps(turn):
    numbers = [event["sequence_number"] for event in turn]
    assert numbers == list(range(1, len(turn) + 1)), numbers

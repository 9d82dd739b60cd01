"""The DashScope stand-in through the official `dashscope` SDK (and raw HTTP for status codes and wire format)."""

from __future__ import annotations

import json
import re
from itertools import pairwise
from typing import Any

import dashscope
import httpx
import pytest
from dashscope import Generation

import localcloud
from localcloud.dashscope import GENERATION_PATH

TOOL_NAMES = ("weather_search", "get_schedule", "get_current_time", "write_dingtalk_document",
              "read_dingtalk_document", "list_oss_objects", "read_oss_object")
TOOLS = [{"type": "function", "function": {"name": name, "description": f"The {name} tool.",
                                           "parameters": {"type": "object", "properties": {}}}}
         for name in TOOL_NAMES]
SYSTEM = {"role": "system", "content": "You're a helpful assistant named Friday."}


def ask(cloud: localcloud.LocalCloud, messages: list[dict[str, Any]], **options: Any) -> Any:
    """Generation.call the way the dashboard's agent does, pointed at localcloud per call."""
    env = cloud.env()
    values: dict[str, Any] = {"model": "qwen3-max", "messages": messages, "tools": TOOLS, "result_format": "message",
                              "stream": True, "incremental_output": True, "api_key": env["DASHSCOPE_API_KEY"],
                              "base_address": env["DASHSCOPE_HTTP_BASE_URL"]}
    values.update(options)
    answer = Generation.call(**values)
    # A stream is consumed whole, so its connection is closed before the test ends.
    return list(answer) if values["stream"] else answer


def merged_calls(chunks: list[Any]) -> list[dict[str, Any]]:
    """Tool call deltas merged by index, as an incremental client does."""
    calls: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for delta in chunk.output.choices[0].message.get("tool_calls") or []:
            call = calls.setdefault(delta["index"], {"id": "", "name": "", "arguments": ""})
            call["id"] += delta.get("id", "")
            call["name"] += delta["function"].get("name", "")
            call["arguments"] += delta["function"].get("arguments", "")
    return [calls[index] for index in sorted(calls)]


def post(cloud: localcloud.LocalCloud, body: bytes | dict[str, Any], key: str | None = None,
         stream: bool = False) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key or cloud.env()['DASHSCOPE_API_KEY']}",
               "Content-Type": "application/json"}
    if stream:
        headers["X-DashScope-SSE"] = "enable"
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(f"{cloud.url}{GENERATION_PATH}", content=content, headers=headers, trust_env=False, timeout=10)


def user(text: str) -> list[dict[str, Any]]:
    return [SYSTEM, {"role": "user", "content": text}]


# -- streaming ----------------------------------------------------------------------------------------
def test_streamed_text_arrives_in_several_chunks_that_assemble_into_the_answer(cloud):
    chunks = ask(cloud, user("Hello!"))
    assert all(chunk.status_code == 200 for chunk in chunks)
    choices = [chunk.output.choices[0] for chunk in chunks]
    text = "".join(choice.message.content for choice in choices)
    assert len(chunks) > 5
    assert [choice.finish_reason for choice in choices] == ["null"] * (len(chunks) - 1) + ["stop"]
    assert text.startswith("Hello! I'm Friday") and "local model" in text
    assert all(f"`{name}`" in text for name in TOOL_NAMES)
    assert chunks[-1].request_id and chunks[-1].usage.output_tokens > 0 and chunks[-1].usage.input_tokens > 0


def test_a_weather_question_streams_a_weather_search_call_with_the_city(cloud):
    chunks = ask(cloud, user("What's the weather in Beijing?"))
    assert merged_calls(chunks)[0]["name"] == "weather_search"
    assert [json.loads(call["arguments"]) for call in merged_calls(chunks)] == [{"city": "Beijing"}]
    assert chunks[-1].output.choices[0].finish_reason == "tool_calls"
    names = [d["function"].get("name") for c in chunks for d in c.output.choices[0].message.get("tool_calls") or []]
    assert names[0] == "weather_search" and not any(names[1:])  # the name only in the first delta


def test_several_intents_in_one_message_give_parallel_calls_with_distinct_ids(cloud):
    chunks = ask(cloud, user("What's the weather in Tokyo, what's on my schedule for 2026-03-04, "
                             "and what time is it in London?"))
    calls = merged_calls(chunks)
    assert [(c["name"], json.loads(c["arguments"])) for c in calls] == [
        ("weather_search", {"city": "Tokyo"}), ("get_schedule", {"date": "2026-03-04"}),
        ("get_current_time", {"timezone": "Europe/London"})]
    assert len({call["id"] for call in calls}) == 3 and all(call["id"].startswith("call_") for call in calls)


def test_tool_results_get_a_readable_summary(cloud):
    call = {"index": 0, "id": "call_1", "type": "function",
            "function": {"name": "weather_search", "arguments": '{"city": "Beijing"}'}}
    other = {"index": 1, "id": "call_2", "type": "function", "function": {"name": "get_schedule", "arguments": "{}"}}
    messages = [*user("Weather in Beijing and my schedule?"),
                {"role": "assistant", "content": "", "tool_calls": [call, other]},
                {"role": "tool", "tool_call_id": "call_1", "name": "weather_search",
                 "content": json.dumps({"city": "Beijing", "temperature": 30, "conditions": "sunny"})},
                {"role": "tool", "tool_call_id": "call_2", "name": "get_schedule",
                 "content": "get_schedule failed: the service refused the request (401 InvalidAccessKeyId)"}]
    chunks = ask(cloud, messages)
    text = "".join(chunk.output.choices[0].message.content for chunk in chunks)
    assert text.startswith("It's 30 degrees and sunny in Beijing.")
    assert "I couldn't get your schedule" in text and '"the service refused the request (401' in text
    assert chunks[-1].output.choices[0].finish_reason == "stop"


def test_the_sdk_merging_a_non_incremental_stream_gets_the_whole_call(cloud):
    chunks = ask(cloud, user("List the files in OSS under docs/"), incremental_output=False)
    final = chunks[-1].output.choices[0]
    assert final.finish_reason == "tool_calls"
    assert [(c["function"]["name"], c["function"]["arguments"]) for c in final.message.tool_calls] == [
        ("list_oss_objects", '{"prefix": "docs/"}')]


def test_the_runtime_base_url_setting_reaches_localcloud(cloud, monkeypatch):
    # WIRE §0: DASHSCOPE_HTTP_BASE_URL is read at import; a running process sets the module attribute.
    monkeypatch.setattr(dashscope, "base_http_api_url", cloud.env()["DASHSCOPE_HTTP_BASE_URL"])
    answer = Generation.call(model="qwen3-max", messages=user("Hi"), result_format="message",
                             api_key=cloud.env()["DASHSCOPE_API_KEY"])
    assert answer.status_code == 200 and "No tools are offered" in answer.output.choices[0].message.content


# -- non-streaming, errors ----------------------------------------------------------------------------
def test_non_stream_answers_one_object_with_usage_and_request_id(cloud):
    answer = ask(cloud, user("Read docs/welcome.md"), stream=False, incremental_output=None)
    assert answer.status_code == 200 and answer.request_id
    choice = answer.output.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls[0]["function"] == {"name": "read_oss_object",
                                                        "arguments": '{"key": "docs/welcome.md"}'}
    assert answer.usage.total_tokens == answer.usage.input_tokens + answer.usage.output_tokens


@pytest.mark.parametrize("stream", [False, True])
def test_a_wrong_key_is_returned_as_401_invalid_api_key(cloud, stream):
    answer = ask(cloud, user("Hi"), api_key="sk-local-not-the-key", stream=stream)
    answer = answer[0] if stream else answer
    assert (answer.status_code, answer.code) == (401, "InvalidApiKey")
    assert answer.message == "Invalid API-key provided." and answer.request_id


def test_a_missing_key_is_401_before_the_body_is_read(cloud):
    response = httpx.post(f"{cloud.url}{GENERATION_PATH}", content=b"not json", trust_env=False, timeout=10)
    assert response.status_code == 401 and response.json()["code"] == "InvalidApiKey"
    assert set(response.json()) == {"request_id", "code", "message"}


@pytest.mark.parametrize("body", [
    b"{not json", b"[1, 2]", {"input": {"messages": [{"role": "user", "content": "hi"}]}},
    {"model": "qwen3-max", "input": {"messages": []}},
    {"model": "qwen3-max", "input": {"messages": [{"role": "wizard", "content": "hi"}]}},
    {"model": "qwen3-max", "input": {"messages": [{"role": "user", "content": "hi"}]},
     "parameters": {"tools": [{"type": "function", "function": {}}]}},
])
def test_a_malformed_body_is_400_invalid_parameter(cloud, body):
    response = post(cloud, body)
    assert response.status_code == 400 and response.json()["code"] == "InvalidParameter"


# -- the wire -----------------------------------------------------------------------------------------
def events(response: httpx.Response) -> list[dict[str, Any]]:
    return [json.loads(line[len("data:"):]) for line in response.text.splitlines() if line.startswith("data:")]


def test_the_sse_stream_is_framed_as_dashscope_frames_it(cloud):
    body = {"model": "qwen3-max", "input": {"messages": user("hello")},
            "parameters": {"result_format": "message", "incremental_output": True}}
    response = post(cloud, body, stream=True)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    frames = response.text.strip().split("\n\n")
    assert frames[0].split("\n")[:3] == ["id:1", "event:result", ":HTTP_STATUS/200"]
    assert [frame.split("\n")[0] for frame in frames] == [f"id:{n}" for n in range(1, len(frames) + 1)]
    assert "[DONE]" not in response.text
    assert events(response)[0]["output"]["choices"][0]["finish_reason"] == "null"


def test_without_incremental_output_every_event_carries_everything_so_far(cloud):
    body = {"model": "qwen3-max", "input": {"messages": user("hello")}, "parameters": {"result_format": "message"}}
    contents = [e["output"]["choices"][0]["message"]["content"] for e in events(post(cloud, body, stream=True))]
    assert len(contents) > 3 and all(later.startswith(earlier) for earlier, later in pairwise(contents))
    assert contents[-1] == post(cloud, body).json()["output"]["choices"][0]["message"]["content"]


def test_the_same_conversation_gets_the_same_answer_and_ids(cloud):
    body = {"model": "qwen3-max", "input": {"messages": user("Weather in Paris and the time in Tokyo?")},
            "parameters": {"result_format": "message", "tools": TOOLS}}
    first, second = (post(cloud, body).json() for _ in range(2))
    assert first["output"] == second["output"] and first["request_id"] != second["request_id"]


def test_any_model_name_is_accepted_and_named_in_the_answer(cloud):
    body = {"model": "my-own-model", "input": {"messages": user("hi")}, "parameters": {"result_format": "message"}}
    response = post(cloud, body)
    assert response.status_code == 200
    assert "stand-in for my-own-model" in response.json()["output"]["choices"][0]["message"]["content"]


def test_the_environment_points_dashscope_at_localcloud_with_a_local_key(cloud):
    env = cloud.env()
    assert env["DASHSCOPE_HTTP_BASE_URL"] == f"{cloud.url}/api/v1"
    key = env["DASHSCOPE_API_KEY"]
    assert key.startswith("sk-local-") and not re.fullmatch(r"sk-[0-9a-f]{32}", key)
    assert key not in repr(cloud)
    assert localcloud.start(port=cloud.port, data_dir=cloud.data_dir).env()["DASHSCOPE_API_KEY"] == key

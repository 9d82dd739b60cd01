"""The DashScope call over real HTTP: a scripted SSE server on 127.0.0.1 plays DashScope's wire format (WIRE.md §4)
for what the stand-in never does (fragments, errors mid-stream, 5xx), and the stand-in checks the key."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from agent import ModelConfig, ModelError, ModelReply, stream_reply
from agent.llm import is_retryable
from tests.agent.conftest import AgentWorld
from tests.support import free_port, served

PATH = "/api/v1/services/aigc/text-generation/generation"
Answer = Callable[[], Response]


def _chunk(message: dict[str, Any], finish: str = "null") -> dict[str, Any]:
    return {"output": {"choices": [{"message": {"role": "assistant", **message}, "finish_reason": finish}]},
            "usage": {"input_tokens": 1, "output_tokens": 1, "total_tokens": 2}, "request_id": "r-1"}


def sse(*chunks: dict[str, Any], error: dict[str, Any] | None = None) -> Answer:
    """A 200 event stream of `chunks`, optionally ending with an `event:error`."""
    frames = [f"id:{n}\nevent:result\n:HTTP_STATUS/200\ndata:{json.dumps(c)}\n\n" for n, c in enumerate(chunks, 1)]
    if error is not None:
        frames.append(f"id:{len(frames) + 1}\nevent:error\nstatus:{error.pop('status')}\ndata:{json.dumps(error)}\n\n")
    return lambda: StreamingResponse(iter(frames), media_type="text/event-stream;charset=UTF-8")


def failure(status: int, code: str, message: str = "scripted") -> Answer:
    return lambda: JSONResponse({"request_id": "r-err", "code": code, "message": message}, status_code=status)


@dataclass
class FakeDashScope:
    """Answers each request with the next scripted answer; keeps what it was sent."""

    url: str
    answers: list[Answer] = field(default_factory=list)
    requests: list[tuple[dict[str, str], dict[str, Any]]] = field(default_factory=list)

    def config(self, **overrides: Any) -> ModelConfig:
        values: dict[str, Any] = {"model": "qwen3-max", "base_url": f"{self.url}/api/v1", "api_key": "sk-test",
                                  "timeout": 5, "sleep": lambda _seconds: None}
        return ModelConfig(**{**values, **overrides})


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeDashScope]:
    server_state = FakeDashScope("")  # its URL once the server has its port

    async def generation(request: Request) -> Response:
        server_state.requests.append((dict(request.headers), json.loads(await request.body())))
        return server_state.answers.pop(0)()

    with served(Starlette(routes=[Route(PATH, generation, methods=["POST"])])) as port:
        server_state.url = f"http://127.0.0.1:{port}"
        yield server_state


@pytest.fixture
def dashscope(fake: FakeDashScope) -> FakeDashScope:
    fake.answers.clear()
    fake.requests.clear()
    return fake


def _all(config: ModelConfig, tools: list[dict[str, Any]] | None = None) -> tuple[list[str], ModelReply]:
    chunks = list(stream_reply(config, [{"role": "user", "content": "hi"}], tools or []))
    *texts, reply = chunks
    assert isinstance(reply, ModelReply) and all(isinstance(t, str) for t in texts)
    return texts, reply


def test_the_request_is_a_streamed_native_generation_call_to_the_configured_base_url(dashscope):
    dashscope.answers.append(sse(_chunk({"content": "ok"}, "stop")))
    tool = {"type": "function", "function": {"name": "weather_search", "description": "d", "parameters": {}}}
    _all(dashscope.config(), [tool])
    [(headers, body)] = dashscope.requests
    assert headers["x-dashscope-sse"] == "enable" and headers["authorization"] == "Bearer sk-test"
    assert body["model"] == "qwen3-max" and body["input"]["messages"] == [{"role": "user", "content": "hi"}]
    assert body["parameters"]["result_format"] == "message" and body["parameters"]["incremental_output"] is True
    assert body["parameters"]["tools"] == [tool]


def test_text_streams_in_pieces_and_the_reply_holds_all_of_it(dashscope):
    dashscope.answers.append(sse(_chunk({"content": "Hello"}), _chunk({"content": ", Alice"}),
                                 _chunk({"content": ""}, "stop")))
    texts, reply = _all(dashscope.config())
    assert texts == ["Hello", ", Alice"]
    assert (reply.text, reply.tool_calls, reply.finish_reason) == ("Hello, Alice", (), "stop")


def test_tool_call_fragments_are_merged_by_index_with_the_name_sent_once(dashscope):
    def call(index: int, call_id: str, name: str | None, arguments: str) -> dict[str, Any]:
        function = {"arguments": arguments} if name is None else {"name": name, "arguments": arguments}
        return {"index": index, "id": call_id, "type": "function", "function": function}

    dashscope.answers.append(sse(
        _chunk({"content": "", "tool_calls": [call(0, "call_a", "weather_search", '{"city":')]}),
        _chunk({"content": "", "tool_calls": [call(1, "call_b", "get_current_time", "{")]}),
        _chunk({"content": "", "tool_calls": [call(0, "", None, ' "Beijing"}')]}),
        _chunk({"content": "", "tool_calls": [call(1, "", None, '"timezone": "Asia/Shanghai"}')]}),
        _chunk({"content": ""}, "tool_calls")))
    _, reply = _all(dashscope.config())
    assert [(c.id, c.name, json.loads(c.arguments)) for c in reply.tool_calls] == [
        ("call_a", "weather_search", {"city": "Beijing"}),
        ("call_b", "get_current_time", {"timezone": "Asia/Shanghai"})]
    assert reply.finish_reason == "tool_calls"


def test_a_server_error_is_retried_with_backoff_then_succeeds(dashscope):
    slept: list[float] = []
    dashscope.answers += [failure(500, "InternalError"), failure(503, "ServiceUnavailable"),
                          sse(_chunk({"content": "fine"}, "stop"))]
    _, reply = _all(dashscope.config(sleep=slept.append, backoff=0.5))
    assert reply.text == "fine" and slept == [0.5, 1.0] and len(dashscope.requests) == 3


def test_retries_are_bounded_and_end_in_one_model_error(dashscope):
    slept: list[float] = []
    dashscope.answers += [failure(429, "Throttling.RateQuota", "slow down")] * 3
    with pytest.raises(ModelError) as raised:
        _all(dashscope.config(sleep=slept.append))
    assert (raised.value.code, raised.value.status, raised.value.attempts) == ("Throttling.RateQuota", 429, 3)
    assert raised.value.message == "slow down" and len(dashscope.requests) == 3 and len(slept) == 2


def test_a_bad_key_is_not_retried(dashscope):
    dashscope.answers.append(failure(401, "InvalidApiKey", "Invalid API-key provided."))
    with pytest.raises(ModelError) as raised:
        _all(dashscope.config())
    assert (raised.value.code, raised.value.status, raised.value.attempts) == ("InvalidApiKey", 401, 1)
    assert str(raised.value) == "InvalidApiKey: Invalid API-key provided."


def test_an_error_event_before_any_text_is_retried(dashscope):
    dashscope.answers += [sse(error={"status": 500, "code": "InternalError", "message": "boom", "request_id": "x"}),
                          sse(_chunk({"content": "recovered"}, "stop"))]
    _, reply = _all(dashscope.config())
    assert reply.text == "recovered" and len(dashscope.requests) == 2


def test_an_error_event_after_text_ends_the_call_without_a_retry(dashscope):
    dashscope.answers.append(sse(_chunk({"content": "Half an ans"}),
                                 error={"status": 500, "code": "InternalError", "message": "stream broke"}))
    chunks: list[Any] = []
    with pytest.raises(ModelError) as raised:
        chunks.extend(stream_reply(dashscope.config(), [{"role": "user", "content": "hi"}]))
    assert chunks == ["Half an ans"]  # shown text cannot be taken back, so it is not asked again
    assert (raised.value.code, raised.value.attempts, len(dashscope.requests)) == ("InternalError", 1, 1)


def test_an_unreachable_endpoint_is_tried_a_bounded_number_of_times():
    slept: list[float] = []
    config = ModelConfig("qwen3-max", f"http://127.0.0.1:{free_port()}/api/v1", "sk-test", timeout=2, tries=3,
                         sleep=slept.append)
    started = time.monotonic()
    with pytest.raises(ModelError) as raised:
        list(stream_reply(config, [{"role": "user", "content": "hi"}]))
    assert raised.value.code == "ConnectionError" and raised.value.attempts == 3 and slept == [0.5, 1.0]
    assert time.monotonic() - started < 10


def test_a_silent_endpoint_times_out(dashscope):
    def stalled() -> Response:
        def frames() -> Iterator[str]:
            time.sleep(3)  # simulated time, not a wait: the scripted model stalls past the client timeout
            yield "data:{}\n\n"
        return StreamingResponse(frames(), media_type="text/event-stream")

    dashscope.answers += [stalled, stalled]
    with pytest.raises(ModelError) as raised:
        list(stream_reply(dashscope.config(timeout=1, tries=2), [{"role": "user", "content": "hi"}]))
    assert raised.value.code == "RequestTimeOut" and raised.value.attempts == 2


def test_without_an_api_key_nothing_is_sent(dashscope):
    with pytest.raises(ModelError) as raised:
        list(stream_reply(dashscope.config(api_key=None), [{"role": "user", "content": "hi"}]))
    assert raised.value.code == "NoApiKey" and not dashscope.requests


def test_the_stand_in_refuses_a_wrong_key(agent_world: AgentWorld):
    config = ModelConfig.of(agent_world.settings, agent_world.target)
    assert agent_world.target.uses_local_model and config.api_key
    _, reply = _all(config)
    assert reply.text
    with pytest.raises(ModelError) as raised:
        _all(dataclasses.replace(config, api_key="sk-wrong"))
    assert (raised.value.code, raised.value.status) == ("InvalidApiKey", 401)


@pytest.mark.parametrize(("code", "status", "expected"), [
    ("InternalError", 500, True), ("Throttling", 429, True), ("ConnectionError", None, True),
    ("InvalidApiKey", 401, False), ("InvalidParameter", 400, False), ("DataInspectionFailed", 400, False)])
def test_only_transient_failures_are_retryable(code, status, expected):
    assert is_retryable(code, status) is expected

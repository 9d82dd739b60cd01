"""Failures that must end a turn, not hang it: the model unreachable gives a `failed` response with an error (and
an error to OpenAI clients) within a bound; a client that goes away mid-turn, while the turn waits for a consent,
frees the turn's worker thread."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

import localcloud
from agent.runtime import AgentRuntime, build_agent_runtime
from tests.security.fault_support import bounded
from tests.service.schemas import validate_event
from tests.service.support import (
    DINGTALK,
    WEATHER,
    Service,
    consent_of,
    process_body,
    process_turn,
    service_in_process,
    sse_events,
)
from tests.support import free_port

FAIL_SECONDS = 30.0     # the model's bounded retries take ~2 s; a hang would take the read timeout (60 s) or forever
FREED_SECONDS = 15.0    # the worker notices at the waiting consent's next heartbeat (5 s)


def _model_down() -> AgentRuntime:
    """The service's own runtime, with its model at a port nothing listens on."""
    runtime = build_agent_runtime(os.environ)
    closed = f"http://127.0.0.1:{free_port()}/api/v1"
    return dataclasses.replace(runtime, target=dataclasses.replace(runtime.target, dashscope_base_url=closed))


@pytest.fixture
def model_down(fresh_cloud: localcloud.LocalCloud, tmp_path: Path,
               monkeypatch: pytest.MonkeyPatch) -> Iterator[Service]:
    with service_in_process(fresh_cloud, tmp_path, monkeypatch, build=_model_down) as running:
        yield running


def test_the_model_down_is_a_failed_response_with_an_error_not_a_hang(model_down):
    events = bounded(lambda: process_turn(model_down, process_body(WEATHER, "model-down"), model_down.bearer("alice")),
                     FAIL_SECONDS, "a turn with the model down")
    for event in events:
        validate_event(event)
    last = events[-1]
    assert last["object"] == "response" and last["status"] == "failed"
    assert last["error"]["code"] == "ConnectionError" and last["error"]["message"]
    assert [e["status"] for e in events if e["object"] == "response"] == ["created", "in_progress", "failed"]
    # and the service itself is still up
    with model_down.http() as http:
        assert http.get("/health").json()["status"] == "healthy"


def test_the_model_down_is_an_error_to_the_openai_sdk(model_down):
    with httpx.Client(trust_env=False, timeout=60) as http:
        client = openai.OpenAI(base_url=f"{model_down.url}/openai/v1", api_key=model_down.id_token("alice"),
                               max_retries=0, http_client=http)
        messages = [{"role": "user", "content": WEATHER}]

        def streamed() -> None:
            for _ in client.chat.completions.create(model="qwen3-max", stream=True, messages=messages):
                pass

        with pytest.raises(openai.APIError, match=r"ConnectionError|connect|reach"):
            bounded(streamed, FAIL_SECONDS, "a streamed completion with the model down")
        with pytest.raises(openai.APIStatusError) as whole:
            bounded(lambda: client.chat.completions.create(model="qwen3-max", messages=messages), FAIL_SECONDS,
                    "a completion with the model down")
        assert whole.value.status_code == 502


def _turn_threads(session_id: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"agent-turn-{session_id[:8]}" and t.is_alive()]


def test_a_client_that_disconnects_while_the_turn_waits_for_consent_frees_the_turn(service):
    session_id = "leaving1-chat"
    seen: list[dict[str, Any]] = []
    with httpx.Client(base_url=service.url, timeout=60, trust_env=False) as http, \
            http.stream("POST", "/process", json=process_body(DINGTALK, session_id), headers=service.bearer("alice")) \
            as response:
        for event in sse_events(response):
            seen.append(event)
            if consent_of(event) is not None:
                break  # the turn now waits for alice's consent (up to its 10-minute lifetime)
        assert seen and consent_of(seen[-1]) is not None
        assert len(_turn_threads(session_id)) == 1, "the turn runs on its worker thread while it waits"
    # the response and its connection are closed: the client is gone
    deadline = time.monotonic() + FREED_SECONDS
    while _turn_threads(session_id) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _turn_threads(session_id), f"the turn's worker still runs {FREED_SECONDS:.0f} s after the client left"
    # and the service goes on serving
    events = process_turn(service, process_body(WEATHER, "after-leaving"), service.bearer("alice"))
    assert events[-1]["status"] == "completed"

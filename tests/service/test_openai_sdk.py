"""`POST /openai/v1/chat/completions` driven by the official `openai` SDK (the sample's agentRun mode): the user's
ID token is the API key; `X-app-custom-session-id` names the chat, so a session keeps its own history."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from openai import OpenAI

from tests.service.support import WEATHER, Service, state_of_link
from tools import call_tool, read_dingtalk_document

SAVE_THAT = "Save that to my DingTalk document"  # the model writes its previous answer, if the session has one
_LINK = "Please click the link to authorize "


@pytest.fixture
def alice_openai(service: Service) -> Iterator[OpenAI]:
    with httpx.Client(trust_env=False, timeout=60) as http:
        yield OpenAI(base_url=f"{service.url}/openai/v1", api_key=service.id_token("alice"), max_retries=0,
                     http_client=http)


def test_the_sdk_streams_a_turn_and_gets_the_tools_answer(alice_openai):
    chunks = list(alice_openai.chat.completions.create(model="qwen3-max", stream=True,
                                                       messages=[{"role": "user", "content": WEATHER}]))
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert "30 degrees and sunny in Beijing" in text
    assert len(chunks) > 2 and chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[0].choices[0].delta.role == "assistant" and len({chunk.id for chunk in chunks}) == 1


def test_the_sdk_gets_the_whole_answer_without_streaming(alice_openai):
    completion = alice_openai.chat.completions.create(model="qwen3-max", messages=[
        {"role": "user", "content": [{"type": "text", "text": WEATHER}]}])
    assert completion.object == "chat.completion" and completion.choices[0].finish_reason == "stop"
    assert "30 degrees and sunny in Beijing" in completion.choices[0].message.content


def _turn(client: OpenAI, service: Service, text: str, session_id: str) -> str:
    """One streamed turn in a session; a consent link in the answer is approved by alice's browser at the app."""
    answer = ""
    stream = client.chat.completions.create(model="qwen3-max", stream=True,
                                            messages=[{"role": "user", "content": text}],
                                            extra_headers={"X-app-custom-session-id": session_id})
    for chunk in stream:
        piece = chunk.choices[0].delta.content or "" if chunk.choices else ""
        answer += piece
        if _LINK in piece:  # the sample's sentence, with the app's Authorize link
            service.give_consent("alice", state_of_link(piece.split(": ", 1)[1].strip()))
    return answer


def _document(service: Service) -> str:
    read = call_tool(read_dingtalk_document, {}, service.user("alice"), service.app_runtime.broker,
                     service.app_runtime.target.services)
    assert read.ok, read.content
    return read.content


def test_the_session_header_keeps_each_sessions_history(alice_openai, service):
    assert "30 degrees" in _turn(alice_openai, service, WEATHER, "alice-session-a")
    # Another session has no previous answer: "that" is the message itself (the first DingTalk use asks consent).
    other = _turn(alice_openai, service, SAVE_THAT, "alice-session-b")
    assert _LINK in other and "30 degrees" not in _document(service)
    # The first session's second turn sees its first: "that" is the weather answer.
    _turn(alice_openai, service, SAVE_THAT, "alice-session-a")
    assert "30 degrees and sunny in Beijing" in _document(service)
    owner = service.user("alice").key
    assert [m["role"] for m in service.runtime.chats.history(owner, "alice-session-a")].count("user") == 2
    assert [m["role"] for m in service.runtime.chats.history(owner, "alice-session-b")].count("user") == 1

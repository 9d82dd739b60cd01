"""Two users at once never share a session: each turn is recorded under (verified user, session id), each answer
is its own, and a session id that is another user's chat is refused as a 4xx JSON error with nothing read or
written."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import httpx

from tests.security.fault_support import bounded
from tests.service.support import Service, process_body, process_turn, sse_events, streamed_text

PROMPTS = {"alice": "What's the weather in Beijing?", "bob": "What's the weather in Shanghai?"}
CITIES = {"alice": "Beijing", "bob": "Shanghai"}


def _at_once(chat: Callable[[str], None], usernames: Iterable[str], what: str) -> None:
    """`chat(username)` for every user, each on its own thread, all joined within a bound."""
    threads = [threading.Thread(target=chat, args=(name,), name=f"client-{name}") for name in usernames]

    def run_all() -> None:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    bounded(run_all, 90, what)


def _in_parallel(service: Service, sessions: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """One turn per user, both streaming at the same time (released together)."""
    for username in sessions:
        service.id_token(username)  # signed in before the race starts
    barrier, results = threading.Barrier(len(sessions)), {}

    def chat(username: str) -> None:
        barrier.wait(timeout=30)
        results[username] = process_turn(service, process_body(PROMPTS[username], sessions[username]),
                                         service.bearer(username))

    _at_once(chat, sessions, "two users' turns")
    assert set(results) == set(sessions), "a client thread failed (see its traceback above)"
    return results


def _history(service: Service, username: str, session_id: str) -> list[dict[str, Any]]:
    return service.runtime.chats.history(service.user(username).key, session_id)


def _entries(service: Service, username: str, session_id: str) -> list[Any]:
    """Everything the chat holds (messages and cards), to compare before and after."""
    return service.runtime.chats.entries(service.user(username).key, session_id)


def test_two_users_in_parallel_each_get_their_own_answer_and_history(service):
    sessions = {"alice": "alice-chat", "bob": "bob-chat"}
    for _ in range(2):  # two turns each, interleaved with the other user's
        results = _in_parallel(service, sessions)
        for username, events in results.items():
            other = CITIES["bob" if username == "alice" else "alice"]
            answer = streamed_text(events)
            assert events[-1]["status"] == "completed" and events[-1]["session_id"] == sessions[username]
            assert CITIES[username] in answer and other not in answer
    for username, session_id in sessions.items():
        history = _history(service, username, session_id)
        users_said = [m["content"] for m in history if m["role"] == "user"]
        assert users_said == [PROMPTS[username]] * 2
        assert all(CITIES[username] in m["content"] for m in history if m["role"] == "assistant" and m["content"])
    # neither user's chat list holds the other's session
    alice_chats = {chat.id for chat in service.runtime.chats.list_chats(service.user("alice").key)}
    bob_chats = {chat.id for chat in service.runtime.chats.list_chats(service.user("bob").key)}
    assert "alice-chat" in alice_chats and "bob-chat" in bob_chats and not alice_chats & bob_chats


def _refused(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"} and isinstance(body["error"]["code"], str)
    assert "session" in body["error"]["message"].lower()


def test_another_users_session_id_is_a_4xx_json_error_and_their_chat_is_unchanged(service):
    process_turn(service, process_body(PROMPTS["alice"], "alice-only"), service.bearer("alice"))
    before = _entries(service, "alice", "alice-only")
    with service.http() as http:
        agentscope = http.post("/process", json=process_body("What did alice ask?", "alice-only", stream=True),
                               headers=service.bearer("bob"))
        openai = http.post("/openai/v1/chat/completions", headers={**service.bearer("bob"),
                                                                   "X-app-custom-session-id": "alice-only"},
                           json={"model": "qwen3-max", "messages": [{"role": "user", "content": "hi"}]})
    assert _entries(service, "alice", "alice-only") == before
    _refused(agentscope)
    _refused(openai)


def test_two_users_racing_for_one_new_session_id_do_not_share_it(service):
    for username in PROMPTS:
        service.id_token(username)  # signed in before the race starts
    barrier, outcomes = threading.Barrier(2), {}

    def chat(username: str) -> None:
        barrier.wait(timeout=30)
        with service.http() as http, http.stream("POST", "/process", json=process_body(PROMPTS[username], "contested"),
                                                 headers=service.bearer(username)) as response:
            if response.status_code == 200:
                outcomes[username] = (200, list(sse_events(response)))
            else:
                response.read()
                outcomes[username] = (response.status_code, response.json())

    _at_once(chat, PROMPTS, "two users racing for one session id")
    assert sorted(status for status, _ in outcomes.values()) == [200, 403], outcomes
    [winner] = [username for username, (status, _) in outcomes.items() if status == 200]
    loser = "bob" if winner == "alice" else "alice"
    assert outcomes[winner][1][-1]["status"] == "completed"
    assert outcomes[loser][1]["error"]["code"] == "session_taken"
    assert [m["content"] for m in _history(service, winner, "contested") if m["role"] == "user"] == [PROMPTS[winner]]

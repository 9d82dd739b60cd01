"""A turn run by the agent service (`AGENT_ENDPOINT`, its `/process`) instead of in this process.

The dashboard's Chat page posts the prompt with the signed-in user's ID token and the chat's id as the session, and
reads the AgentScope events back into the loop's own events (`agent.events`), so the page draws the same cards
either way. The service records the turn in the shared chat store, so the page does not record it again. A service
that is down or answers an error ends the turn with that said, within the timeouts below, never a hang.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from agent.events import Event, MessageAdded, TextDelta, TurnDone, TurnFailed, event_from_record

__all__ = ["CONNECT_SECONDS", "SILENCE_SECONDS", "remote_turn"]

CONNECT_SECONDS = 5.0
# The service sends something at least every few seconds (a heartbeat while a consent is open): longer silence
# means it is stuck or gone.
SILENCE_SECONDS = 60.0


def _request(session_id: str, prompt: str) -> dict[str, Any]:
    return {"input": [{"role": "user", "type": "message", "content": [{"type": "text", "text": prompt}]}],
            "session_id": session_id, "stream": True}


def decode(item: dict[str, Any]) -> Event | None:
    """Our event for one AgentScope event, or None for those that only frame the stream."""
    if item.get("object") == "content" and item.get("type") == "text" and item.get("delta"):
        return TextDelta(str(item.get("text") or ""))
    if item.get("object") == "message" and item.get("status") == "completed":
        record = (item.get("metadata") or {}).get("event")
        event = event_from_record(record) if isinstance(record, dict) else None
        return None if isinstance(event, TextDelta | MessageAdded) else event
    if item.get("object") == "response" and item.get("status") == "failed":
        error = item.get("error") or {}
        return TurnFailed(str(error.get("code") or "AgentServiceError"), str(error.get("message") or "failed"))
    return None


def remote_turn(endpoint: str, id_token: str, session_id: str, prompt: str) -> Iterator[Event]:
    """The turn's events from the service; always ends with TurnDone."""
    timeout = httpx.Timeout(SILENCE_SECONDS, connect=CONNECT_SECONDS)
    headers = {"Authorization": f"Bearer {id_token}", "Accept": "text/event-stream"}
    done = errored = False
    try:
        with httpx.stream("POST", endpoint, json=_request(session_id, prompt), headers=headers, timeout=timeout,
                          trust_env=False) as response:
            if response.status_code != 200:
                yield _refused(endpoint, response)
                return
            for line in response.iter_lines():
                if not line.startswith("data:"):
                    continue
                event = decode(json.loads(line[5:]))
                if event is None or (errored and isinstance(event, TurnFailed)):  # the failed response repeats it
                    continue
                done, errored = done or isinstance(event, TurnDone), errored or isinstance(event, TurnFailed)
                yield event
    except (httpx.HTTPError, ValueError) as error:
        yield TurnFailed("AgentServiceUnavailable", f"The agent service at {endpoint} did not answer "
                        f"({type(error).__name__}): start it with `python -m agent.service`, or unset AGENT_ENDPOINT "
                        "to run the agent in the dashboard.")
    if not done:
        yield TurnDone("", 0, ok=False)


def _refused(endpoint: str, response: httpx.Response) -> TurnFailed:
    response.read()
    try:
        error = response.json().get("error") or {}
    except ValueError:
        error = {}
    message = str(error.get("message") or f"HTTP {response.status_code}")
    return TurnFailed(str(error.get("code") or f"HTTP{response.status_code}"),
                     f"The agent service at {endpoint} refused the turn: {message}")

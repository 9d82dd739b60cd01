"""The loop's events as AgentScope runtime's agent API events (`POST /process`), one stream per turn.

The shapes follow agentscope-runtime's schema models (`agentscope_runtime.engine.schemas.agent_schemas`): every
event has `object` and an increasing `sequence_number`; a `response` goes created → in_progress → completed (or
failed with `error: {code, message}`); a text message is `message` in_progress, `content` text deltas
(`delta: true`, `msg_id`), `content` completed, `message` completed; a tool call is a `plugin_call` message and its
result a `plugin_call_output` message (`mcp_call` / `mcp_call_output` for the MCP server's tools), each with one
`data` content; while a consent is open a `heartbeat` message every few seconds keeps the stream alive. What only
this app's frontends need (card fields, consent state) rides in a message's `metadata`
under `event` (`agent.events.event_record`), so a client that knows nothing of it still reads a valid stream.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

from agent.events import (
    ConsentNeeded,
    ConsentSettled,
    ConsentWaiting,
    Event,
    McpConnected,
    McpUnavailable,
    TextDelta,
    ToolFinished,
    ToolStarted,
    TurnDone,
    TurnFailed,
    event_record,
)

__all__ = ["CONSENT_KIND", "AgentScopeStream", "consent_text"]

CONSENT_KIND = "consent_required"
_ASSISTANT, _TOOL = "assistant", "tool"


def consent_text(provider: str, link: str) -> str:
    """The sample's wording, for text-only frontends."""
    return f"Please click the link to authorize {provider}: {link}"


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4()}"


class AgentScopeStream:
    """Turns one turn's events into AgentScope events; `authorize_link(state)` is where a browser approves; tools
    not in `own_tools` are the MCP server's."""

    def __init__(self, session_id: str, authorize_link: Callable[[str], str],
                 own_tools: frozenset[str] = frozenset()) -> None:
        self.session_id, self.authorize_link, self.own_tools = session_id, authorize_link, own_tools
        self.response_id, self.created_at = _new_id("response"), int(time.time())
        self._sequence = 0
        self._text_id: str | None = None
        self._text = ""
        self._output: list[dict[str, Any]] = []
        self._error: tuple[str, str] | None = None

    # -- the envelope ---------------------------------------------------------------------------------------------
    def _numbered(self, event: dict[str, Any]) -> dict[str, Any]:
        self._sequence += 1
        return {"sequence_number": self._sequence, **event}

    def _response(self, status: str, **more: Any) -> dict[str, Any]:
        return self._numbered({"object": "response", "id": self.response_id, "status": status,
                               "created_at": self.created_at, "session_id": self.session_id, **more})

    def start(self) -> list[dict[str, Any]]:
        return [self._response("created"), self._response("in_progress")]

    def fail(self, code: str, message: str) -> list[dict[str, Any]]:
        """The turn could not go on: close what is open and end the response as failed."""
        return [*self._close_text(), self._response("failed", error={"code": code, "message": message},
                                                    completed_at=int(time.time()), output=self._output)]

    # -- messages ------------------------------------------------------------------------------------------------
    def _message(self, kind: str, role: str, status: str, content: list[dict[str, Any]], message_id: str,
                 metadata: dict[str, Any] | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {"object": "message", "id": message_id, "type": kind, "role": role,
                                   "status": status, "content": content}
        if metadata is not None:
            message["metadata"] = metadata
        return self._numbered(message)

    def _whole(self, kind: str, role: str, content: list[dict[str, Any]], event: Event, *,
               announced: bool = True) -> list[dict[str, Any]]:
        """A message that is complete at once (in_progress, unless not `announced`, then completed), with our event
        in its metadata; its contents get the message's id."""
        message_id, metadata = _new_id("msg"), {"event": event_record(event)}
        started = [self._message(kind, role, "in_progress", [], message_id, metadata)] if announced else []
        parts = [{**part, "msg_id": message_id} for part in content]
        done = self._message(kind, role, "completed", parts, message_id, metadata)
        self._output.append({k: v for k, v in done.items() if k != "sequence_number"})
        return [*started, done]

    def _data(self, data: dict[str, Any], index: int = 0) -> dict[str, Any]:
        return {"object": "content", "type": "data", "data": data, "index": index, "delta": False,
                "status": "completed"}

    def _text_part(self, text: str, message_id: str, *, delta: bool, status: str) -> dict[str, Any]:
        return {"object": "content", "type": "text", "text": text, "index": 0, "delta": delta, "msg_id": message_id,
                "status": status}

    def _close_text(self) -> list[dict[str, Any]]:
        if self._text_id is None:
            return []
        message_id, text = self._text_id, self._text
        self._text_id, self._text = None, ""
        whole = self._numbered(self._text_part(text, message_id, delta=False, status="completed"))
        done = self._message("message", _ASSISTANT, "completed", [self._text_part(text, message_id, delta=False,
                                                                                   status="completed")], message_id)
        self._output.append({k: v for k, v in done.items() if k != "sequence_number"})
        return [whole, done]

    # -- the loop's events ---------------------------------------------------------------------------------------
    def feed(self, event: Event) -> list[dict[str, Any]]:
        """The AgentScope events for one loop event (none for events only the loop needs)."""
        if isinstance(event, TextDelta):
            return self._delta(event.text)
        if isinstance(event, TurnDone):
            return self._done(event)
        if isinstance(event, ConsentWaiting):  # every few seconds while a consent is open: the stream stays alive
            return [self._message("heartbeat", _ASSISTANT, "completed", [], _new_id("msg"),
                                  {"event": event_record(event)})]
        closed = self._close_text()
        if isinstance(event, ToolStarted):
            kind = "plugin_call" if event.tool in self.own_tools else "mcp_call"
            data = {"call_id": event.call_id, "name": event.tool, "arguments": json.dumps(event.arguments)}
            if kind == "mcp_call":
                data["server_label"] = "alibaba-cloud-mcp"
            return closed + self._whole(kind, _ASSISTANT, [self._data(data)], event)
        if isinstance(event, ToolFinished):
            kind = "plugin_call_output" if event.tool in self.own_tools else "mcp_call_output"
            data = {"call_id": event.call_id, "name": event.tool, "output": event.summary}
            return closed + self._whole(kind, _TOOL, [self._data(data)], event)
        if isinstance(event, ConsentNeeded):
            return closed + self._consent(event)
        if isinstance(event, TurnFailed):
            self._error = (event.code, event.message)
        if isinstance(event, ConsentSettled | McpConnected | McpUnavailable | TurnFailed):
            return closed + self._whole("message", _ASSISTANT, [self._data(event_record(event))], event)
        return closed

    def _delta(self, text: str) -> list[dict[str, Any]]:
        events = []
        if self._text_id is None:
            self._text_id = _new_id("msg")
            events.append(self._message("message", _ASSISTANT, "in_progress", [], self._text_id))
        self._text += text
        events.append(self._numbered(self._text_part(text, self._text_id, delta=True, status="in_progress")))
        return events

    def _consent(self, event: ConsentNeeded) -> list[dict[str, Any]]:
        """Structured (provider, scopes, the identity service's authorization URL, expiry) and, for text-only
        frontends, the sample's sentence with the link a browser opens (the app's Authorize route)."""
        link = self.authorize_link(event.state)
        data = {"kind": CONSENT_KIND, "state": event.state, "tool": event.tool, "provider": event.provider,
                "scopes": list(event.scopes), "authorization_url": event.authorization_url, "authorize_link": link,
                "expires_at": event.expires_at}
        text = {"object": "content", "type": "text", "text": consent_text(event.provider, link), "index": 1,
                "delta": False, "status": "completed"}
        return self._whole("message", _ASSISTANT, [self._data(data), text], event)

    def _done(self, event: TurnDone) -> list[dict[str, Any]]:
        events = self._close_text()
        events += self._whole("message", _ASSISTANT, [], event, announced=False)  # the turn's summary: metadata only
        finished = int(time.time())
        if not event.ok:
            code, message = self._error or ("TurnFailed", event.text or "The turn did not finish.")
            error = {"code": code, "message": message}
            return [*events, self._response("failed", error=error, completed_at=finished, output=self._output)]
        return [*events, self._response("completed", completed_at=finished, output=self._output)]

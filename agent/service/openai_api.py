"""The loop's events as OpenAI chat completions (`POST /openai/v1/chat/completions`, the sample's agentRun mode).

Only what a chat client shows travels: the answer's text, and the consent sentence with its link (a client that
knows only OpenAI's API still lets its user approve). A failed turn ends a stream with an `error` object, which the
official SDK raises as an error, and a whole answer with status 502.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from agent.events import ConsentNeeded, Event, TextDelta, TurnDone, TurnFailed
from agent.service.agentscope import consent_text

__all__ = ["ChatCompletion", "prompt_of"]


def prompt_of(body: dict[str, Any]) -> str | None:
    """The text of the request's last user message (a string, or text parts), or None."""
    messages = body.get("messages")
    if not isinstance(messages, list):
        return None
    last = next((m for m in reversed(messages) if isinstance(m, dict) and m.get("role") == "user"), None)
    content = last.get("content") if last else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        return "".join(p for p in parts if isinstance(p, str)) or None
    return None


class ChatCompletion:
    """One completion: its chunks as the turn goes, or the whole of it at the end."""

    def __init__(self, model: str, authorize_link: Callable[[str], str]) -> None:
        self.model, self.authorize_link = model, authorize_link
        self.id, self.created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        self.text = ""
        self.error: dict[str, str] | None = None
        self._started = False

    def _chunk(self, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"id": self.id, "object": "chat.completion.chunk", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    def feed(self, event: Event) -> list[dict[str, Any]]:
        """The chunks for one loop event."""
        text = self._text_of(event)
        if isinstance(event, TurnFailed):
            self.error = {"code": event.code, "message": event.message}
        if isinstance(event, TurnDone):
            if self.error is not None or not event.ok:
                return [{"error": self.error or {"code": "TurnFailed", "message": "The turn did not finish."}}]
            return [self._chunk({}, "stop")]
        if not text:
            return []
        self.text += text
        first, self._started = not self._started, True
        return [self._chunk({"role": "assistant", "content": text} if first else {"content": text})]

    def _text_of(self, event: Event) -> str:
        if isinstance(event, TextDelta):
            return event.text
        if isinstance(event, ConsentNeeded):
            return f"\n\n{consent_text(event.provider, self.authorize_link(event.state))}\n\n"
        return ""

    def whole(self) -> dict[str, Any]:
        return {"id": self.id, "object": "chat.completion", "created": self.created, "model": self.model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": self.text},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}}

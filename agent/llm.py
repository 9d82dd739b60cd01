"""One streamed DashScope Generation call (Qwen, or localcloud's stand-in), with bounded retries.

The `dashscope` SDK returns HTTP and `event:error` failures as responses with a status code rather than
raising, and raises only for connection problems; both end up here as one ModelError. With
`incremental_output=True` every chunk carries only what is new, so text is passed on as it comes and
tool-call fragments are merged by their `index`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import requests
import urllib3
from dashscope import Generation

from agent.errors import ModelError
from identity.cloud import CloudTarget
from identity.settings import Settings

__all__ = ["ModelConfig", "ModelReply", "ToolCall", "arguments_of", "is_retryable", "stream_reply"]

# Worth another try: throttling, server trouble, a dropped connection. A bad key or request is not.
_RETRY_STATUSES = frozenset({HTTPStatus.TOO_MANY_REQUESTS, *range(500, 600)})
_RETRY_CODES = ("Throttling", "InternalError", "ServiceUnavailable", "RequestTimeOut", "ConnectionError")


@dataclass(frozen=True)
class ModelConfig:
    """Which model, where, with which key, and how patiently."""

    model: str
    base_url: str
    api_key: str | None = field(default=None, repr=False)
    timeout: int = 60                 # seconds of silence the stream may have
    tries: int = 3
    backoff: float = 0.5              # first retry delay; doubled each time
    sleep: Callable[[float], None] = time.sleep

    @classmethod
    def of(cls, settings: Settings, target: CloudTarget, **overrides: Any) -> ModelConfig:
        """The model the settings name, at the target's DashScope endpoint and key."""
        return cls(settings.dashscope_model_name, target.dashscope_base_url, target.dashscope_api_key, **overrides)


@dataclass(frozen=True)
class ToolCall:
    """A function call the model asked for; `arguments` is the JSON text it wrote."""

    id: str
    name: str
    arguments: str

    def as_message(self) -> dict[str, Any]:
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": self.arguments}}


@dataclass(frozen=True)
class ModelReply:
    """One whole answer: its text, the tool calls it asks for, and why it stopped."""

    text: str
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str = "stop"
    request_id: str = ""


class _Failure(Exception):
    def __init__(self, code: str, message: str, status: int | None, request_id: str = "") -> None:
        super().__init__(message)
        self.code, self.message, self.status, self.request_id = code, message, status, request_id


def is_retryable(code: str, status: int | None) -> bool:
    """Whether another try could help (throttling, 5xx, connection), as opposed to a bad key or request."""
    return code.startswith(_RETRY_CODES) or (status is not None and status in _RETRY_STATUSES)


class _Merger:
    """Accumulates streamed chunks: text, and tool-call fragments by index."""

    def __init__(self) -> None:
        self.text, self.finish_reason, self.request_id = "", "stop", ""
        self.calls: dict[int, dict[str, str]] = {}

    def add(self, message: dict[str, Any], finish_reason: str | None) -> str:
        """Take one chunk's message; the new text it carries."""
        if finish_reason and finish_reason != "null":
            self.finish_reason = finish_reason
        for position, delta in enumerate(message.get("tool_calls") or []):
            self._add_call(position, delta)
        piece = message.get("content") or ""
        piece = piece if isinstance(piece, str) else _joined_text(piece)
        self.text += piece
        return piece

    def _add_call(self, position: int, delta: dict[str, Any]) -> None:
        index = delta.get("index")
        index = int(index) if isinstance(index, int | str) and str(index).isdigit() else position
        call = self.calls.setdefault(index, {"id": "", "name": "", "arguments": ""})
        function = delta.get("function") or {}
        call["id"] = call["id"] or str(delta.get("id") or "")
        # Qwen sends the name once, in the call's first fragment; later fragments only add arguments.
        call["name"] = call["name"] or str(function.get("name") or "")
        call["arguments"] += str(function.get("arguments") or "")

    def reply(self) -> ModelReply:
        calls = tuple(ToolCall(c["id"] or f"call_{i}", c["name"], c["arguments"] or "{}")
                      for i, c in sorted(self.calls.items()) if c["name"])
        return ModelReply(self.text, calls, "tool_calls" if calls else self.finish_reason, self.request_id)


def _joined_text(parts: Any) -> str:
    """Multimodal content (a list of `{"text": …}` parts) as plain text."""
    if isinstance(parts, list):
        return "".join(str(p.get("text", "")) for p in parts if isinstance(p, dict))
    return str(parts)


def _responses(config: ModelConfig, messages: Sequence[dict[str, Any]],
               tools: Sequence[dict[str, Any]]) -> Iterator[Any]:
    """The SDK's stream; the base URL goes with the call, so nothing depends on import-time environment."""
    try:
        # The SDK annotates `messages` as its own Message class (a dict subclass), but takes and documents plain
        # dicts, which is what we send: the annotation is narrower than the SDK.
        responses = Generation.call(
            model=config.model, messages=list(messages),  # type: ignore[arg-type]
            tools=list(tools) or None, api_key=config.api_key, result_format="message", stream=True,
            incremental_output=True, base_address=config.base_url, request_timeout=config.timeout)
        # stream=True always answers with a generator; the declared return type also admits one whole response.
        yield from responses if isinstance(responses, Iterator) else [responses]
    except requests.RequestException as exc:
        if _timed_out(exc):
            raise _Failure("RequestTimeOut", f"DashScope did not answer within {config.timeout} s", None) from None
        raise _Failure("ConnectionError", f"DashScope at {config.base_url} could not be reached ({_name(exc)})",
                       None) from None


def _name(exc: BaseException) -> str:
    return type(exc).__name__


def _timed_out(exc: requests.RequestException) -> bool:
    """A timeout; requests reports one in the middle of a stream as a ConnectionError wrapping urllib3's."""
    return isinstance(exc, requests.Timeout) or any(isinstance(a, urllib3.exceptions.TimeoutError) for a in exc.args)


def _message_of(response: Any) -> tuple[dict[str, Any], str | None]:
    """The first choice's message and finish reason of one chunk (raises _Failure for an error chunk)."""
    if response.status_code != HTTPStatus.OK:
        raise _Failure(str(response.code or f"HTTP{response.status_code}"), str(response.message or ""),
                       int(response.status_code), str(response.request_id or ""))
    choices = (response.output or {}).get("choices") or []
    if not choices:
        return {}, None
    return dict(choices[0].get("message") or {}), choices[0].get("finish_reason")


def _one_try(config: ModelConfig, messages: Sequence[dict[str, Any]], tools: Sequence[dict[str, Any]],
             emitted: list[bool]) -> Iterator[str | ModelReply]:
    merger = _Merger()
    for response in _responses(config, messages, tools):
        message, finish_reason = _message_of(response)
        merger.request_id = str(getattr(response, "request_id", "") or merger.request_id)
        piece = merger.add(message, finish_reason)
        if piece:
            emitted[0] = True
            yield piece
    yield merger.reply()


def stream_reply(config: ModelConfig, messages: Sequence[dict[str, Any]],
                 tools: Sequence[dict[str, Any]] = ()) -> Iterator[str | ModelReply]:
    """Text deltas as they arrive, then the whole ModelReply; ModelError once retries are spent."""
    if not config.api_key:
        raise ModelError("No DashScope API key is configured: set DASHSCOPE_API_KEY.", "NoApiKey")
    for attempt in range(1, config.tries + 1):
        emitted = [False]
        try:
            yield from _one_try(config, messages, tools, emitted)
            return
        except _Failure as failure:
            # Text already shown cannot be taken back, so a broken stream is not retried.
            if emitted[0] or attempt == config.tries or not is_retryable(failure.code, failure.status):
                raise ModelError(failure.message or failure.code, failure.code, status=failure.status,
                                 attempts=attempt, request_id=failure.request_id) from None
        config.sleep(config.backoff * 2 ** (attempt - 1))


def arguments_of(call: ToolCall) -> dict[str, Any]:
    """The call's arguments as a dict; ValueError when the model wrote something else."""
    parsed = json.loads(call.arguments or "{}")
    if not isinstance(parsed, dict):
        raise ValueError("the arguments are not a JSON object")
    return parsed

"""The native Generation API's wire format: the request checked and read, the answer as JSON or SSE events (pure).

Streaming answers follow what dashscope 2.0.2 parses: `id:`, `event:result`, a `:HTTP_STATUS/200` comment and
one `data:` line per event, no `[DONE]`; `finish_reason` is the string "null" until the last event. With
`incremental_output` each event carries only what is new (a tool call's `function.name` only in its first
event, as the SDK's merger concatenates names too); without it, everything so far.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from localcloud.dashscope.model import Reply, ToolCall, count_tokens, text_of
from localcloud.resources.errors import BadRequest

__all__ = ["GenerationRequest", "full_response", "parse_request", "sse_events", "stream_events"]

_ROLES = ("system", "user", "assistant", "tool")
_WORDS_PER_EVENT = 3
_ARGUMENT_PIECE = 16  # characters of a tool call's arguments per event


@dataclass(frozen=True)
class GenerationRequest:
    """What the model needs from a request body."""

    model: str
    messages: tuple[dict[str, Any], ...]
    tools: tuple[dict[str, Any], ...]
    message_format: bool     # parameters.result_format == "message" (else the legacy "text" shape)
    incremental: bool        # parameters.incremental_output
    parallel_tool_calls: bool


def _invalid(message: str) -> BadRequest:
    return BadRequest("InvalidParameter", message)


def _messages(source: Any) -> tuple[dict[str, Any], ...]:
    if not isinstance(source, Mapping):
        raise _invalid("input must be an object with messages (or prompt)")
    messages = source.get("messages")
    if messages is None and isinstance(source.get("prompt"), str) and source["prompt"]:
        return ({"role": "user", "content": source["prompt"]},)
    if not isinstance(messages, list) or not messages:
        raise _invalid("input.messages must be a non-empty list")
    for number, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in _ROLES:
            raise _invalid(f"input.messages[{number}] needs a role: one of {', '.join(_ROLES)}")
        if not isinstance(message.get("content"), str | list | None):
            raise _invalid(f"input.messages[{number}].content must be a string or a list")
        if not isinstance(message.get("tool_calls"), list | None):
            raise _invalid(f"input.messages[{number}].tool_calls must be a list")
    return tuple(messages)


def _tools(parameters: Mapping[str, Any]) -> tuple[dict[str, Any], ...]:
    tools = parameters.get("tools") or []
    if not isinstance(tools, list):
        raise _invalid("parameters.tools must be a list")
    for number, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not function["name"]:
            raise _invalid(f"parameters.tools[{number}] must be a function with a name: "
                           '{"type": "function", "function": {"name": …}}')
    return tuple(tools)


def _chosen(tools: tuple[dict[str, Any], ...], choice: Any) -> tuple[dict[str, Any], ...]:
    """The tools `tool_choice` leaves the model: all ("auto"), none ("none") or the one it names."""
    if choice == "none":
        return ()
    if isinstance(choice, Mapping):
        name = (choice.get("function") or {}).get("name")
        return tuple(tool for tool in tools if tool["function"]["name"] == name)
    return tools


def parse_request(body: Mapping[str, Any]) -> GenerationRequest:
    """The request, or BadRequest (`InvalidParameter`) saying what is wrong."""
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise _invalid("model is required")
    parameters = body.get("parameters") or {}
    if not isinstance(parameters, Mapping):
        raise _invalid("parameters must be an object")
    message_format = parameters.get("result_format", "message") == "message"
    # The legacy text format has no place for tool calls, so it offers the model no tools.
    tools = _chosen(_tools(parameters), parameters.get("tool_choice")) if message_format else ()
    return GenerationRequest(model.strip(), _messages(body.get("input")), tools, message_format,
                             parameters.get("incremental_output") is True,
                             parameters.get("parallel_tool_calls") is not False)


# -- answers ----------------------------------------------------------------------------------------
def _usage(request: GenerationRequest, output: str) -> dict[str, int]:
    prompt = " ".join(text_of(m.get("content")) for m in request.messages)
    input_tokens, output_tokens = count_tokens(prompt), count_tokens(output)
    return {"input_tokens": input_tokens, "output_tokens": output_tokens,
            "total_tokens": input_tokens + output_tokens}


def _call(call: ToolCall, index: int, arguments: str, *, first: bool = True) -> dict[str, Any]:
    function = {"name": call.name, "arguments": arguments} if first else {"arguments": arguments}
    return {"index": index, "id": call.id if first else "", "type": "function", "function": function}


def _event(request: GenerationRequest, request_id: str, content: str, calls: list[dict[str, Any]],
           finish_reason: str, produced: str) -> dict[str, Any]:
    if request.message_format:
        message: dict[str, Any] = {"role": "assistant", "content": content}
        if calls:
            message["tool_calls"] = calls
        output: dict[str, Any] = {"choices": [{"message": message, "finish_reason": finish_reason}]}
    else:
        output = {"text": content, "finish_reason": finish_reason}
    return {"output": output, "usage": _usage(request, produced), "request_id": request_id}


def full_response(request: GenerationRequest, reply: Reply, request_id: str) -> dict[str, Any]:
    """The non-streaming answer: the whole reply in one object."""
    calls = [_call(call, index, call.arguments) for index, call in enumerate(reply.tool_calls)]
    produced = reply.content + "".join(call.arguments for call in reply.tool_calls)
    return _event(request, request_id, reply.content, calls, reply.finish_reason, produced)


def _text_pieces(text: str) -> list[str]:
    words = re.findall(r"\s*\S+", text)
    return ["".join(words[i:i + _WORDS_PER_EVENT]) for i in range(0, len(words), _WORDS_PER_EVENT)]


def _argument_pieces(arguments: str) -> list[str]:
    return [arguments[i:i + _ARGUMENT_PIECE] for i in range(0, len(arguments), _ARGUMENT_PIECE)] or [""]


def _text_events(request: GenerationRequest, reply: Reply, request_id: str) -> Iterator[dict[str, Any]]:
    so_far = ""
    for piece in _text_pieces(reply.content):
        so_far += piece
        yield _event(request, request_id, piece if request.incremental else so_far, [], "null", so_far)
    yield _event(request, request_id, "" if request.incremental else so_far, [], "stop", so_far)


def _call_events(request: GenerationRequest, reply: Reply, request_id: str) -> Iterator[dict[str, Any]]:
    done: list[dict[str, Any]] = []  # the calls already sent whole, for the non-incremental form
    produced = ""
    for index, call in enumerate(reply.tool_calls):
        sent = ""
        for number, piece in enumerate(_argument_pieces(call.arguments)):
            sent, produced = sent + piece, produced + piece
            calls = ([_call(call, index, piece, first=number == 0)] if request.incremental
                     else [*done, _call(call, index, sent)])
            yield _event(request, request_id, "", calls, "null", produced)
        done.append(_call(call, index, call.arguments))
    yield _event(request, request_id, "", [] if request.incremental else done, "tool_calls", produced)


def stream_events(request: GenerationRequest, reply: Reply, request_id: str) -> list[dict[str, Any]]:
    """Every `data:` object of the streamed answer, in order."""
    events = _call_events if reply.tool_calls else _text_events
    return list(events(request, reply, request_id))


def sse_events(events: list[dict[str, Any]]) -> list[str]:
    """The events as DashScope frames them on the wire."""
    return [f"id:{number}\nevent:result\n:HTTP_STATUS/200\ndata:{json.dumps(event, ensure_ascii=False)}\n\n"
            for number, event in enumerate(events, start=1)]

"""The deterministic local model: what Qwen would answer, decided by rules (pure, no I/O).

* The last message is the user's and asks for offered tools → a `tool_calls` reply, one call per tool asked
  for, in the user's order (finish_reason "tool_calls").
* The last messages are tool results → a text summary of every result since the user's message (finish_reason
  "stop"); first, though, a tool the message asked for that only now is offered gets called (the dashboard
  offers `connect_alibaba_cloud_mcp` until the user approves the MCP server, then the server's tools).
* Anything else → a short help text: it is the local stand-in, and which tools it can use.

The same conversation always gets the same reply, down to the tool call ids (hashed from the conversation).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from localcloud.dashscope.intents import Intent, Utterance, detect
from localcloud.dashscope.places import DEFAULT_TIMEZONE
from localcloud.dashscope.summaries import ToolResult, summarise

__all__ = ["DEFAULT_MODEL", "OfferedTool", "Reply", "ToolCall", "count_tokens", "local_date", "offered_tools",
           "respond", "text_of"]

DEFAULT_MODEL = "qwen3-max"
_GREETING = re.compile(r"^\W*(?:hi|hello|hey|good (?:morning|afternoon|evening)|greetings|你好|您好)\b",
                       re.IGNORECASE)
_ASSISTANT_NAME = re.compile(r"\bnamed\s+([A-Z][\w-]*)")
_TODAY = re.compile(r"\btoday is (\d{4}-\d{2}-\d{2})\b", re.IGNORECASE)
_ACTS_FOR = re.compile(r"\bsigned-in user \(([^)\n]{1,80})\)")
_EXAMPLES = {
    "weather_search": "What's the weather in Beijing?",
    "get_schedule": "What's on my schedule tomorrow?",
    "get_current_time": "What time is it in Tokyo?",
    "read_dingtalk_document": "Read my DingTalk document",
    "write_dingtalk_document": 'Save "Call Alice at 3pm" to my DingTalk document',
    "list_oss_objects": "List the files in OSS",
    "read_oss_object": "Read docs/welcome.md from OSS",
    "list_ecs_instances": "List my ECS instances",
    "search_resources": "Find cloud resources tagged web",
    "listOrders": "List my orders",
    "createOrder": "Create an order for 2 coffees at 3.5 for me",
}
_MAX_DESCRIPTION = 120


@dataclass(frozen=True)
class ToolCall:
    """One function call of a reply; `arguments` is JSON text, as the API carries it."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Reply:
    """The assistant message the model produced."""

    content: str = ""
    tool_calls: tuple[ToolCall, ...] = ()

    @property
    def finish_reason(self) -> str:
        return "tool_calls" if self.tool_calls else "stop"


@dataclass(frozen=True)
class OfferedTool:
    """A function the request offers the model."""

    name: str
    description: str


def text_of(content: Any) -> str:
    """A message's text: a string, or the text parts of a multimodal list (`[{"text": …}]`)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def count_tokens(text: str) -> int:
    """A stable stand-in for a tokenizer: words and punctuation marks."""
    return len(re.findall(r"\w+|[^\w\s]", text))


def local_date(now: float) -> date:
    """Today's date where localcloud's region is (China Standard Time)."""
    return datetime.fromtimestamp(now, tz=ZoneInfo(DEFAULT_TIMEZONE)).date()


def offered_tools(tools: Sequence[Mapping[str, Any]]) -> tuple[OfferedTool, ...]:
    """The named functions of a request's `tools`."""
    offered = []
    for entry in tools:
        function = entry.get("function") if isinstance(entry, Mapping) else None
        if isinstance(function, Mapping) and isinstance(function.get("name"), str) and function["name"]:
            description = str(function.get("description") or "").strip().splitlines()
            offered.append(OfferedTool(function["name"], description[0] if description else ""))
    return tuple(offered)


# -- the turn: everything after the user's last message --------------------------------------------
def _last_user(messages: Sequence[Mapping[str, Any]]) -> int | None:
    return next((i for i in range(len(messages) - 1, -1, -1) if messages[i].get("role") == "user"), None)


def _arguments(raw: Any) -> dict[str, Any]:
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        parsed = json.loads(raw) if isinstance(raw, str) else None
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _turn_calls(turn: Sequence[Mapping[str, Any]]) -> dict[str, tuple[str, dict[str, Any]]]:
    """The tool calls the assistant made in the turn, by id: (function name, arguments)."""
    made = [call for message in turn if message.get("role") == "assistant"
            for call in message.get("tool_calls") or [] if isinstance(call, Mapping)]
    calls: dict[str, tuple[str, dict[str, Any]]] = {}
    for call in made:
        function = call.get("function")
        if isinstance(function, Mapping):
            calls[str(call.get("id", ""))] = (str(function.get("name", "")), _arguments(function.get("arguments")))
    return calls


def _turn_results(turn: Sequence[Mapping[str, Any]]) -> list[ToolResult]:
    """Every tool result of the turn, with the call it answers (a final answer covers all of them)."""
    calls = _turn_calls(turn)
    results = []
    for message in (m for m in turn if m.get("role") == "tool"):
        called_name, arguments = calls.get(str(message.get("tool_call_id", "")), ("", {}))
        name = str(message.get("name") or called_name or "the tool")
        results.append(ToolResult(name, text_of(message.get("content")), arguments))
    return results


def _stated_date(messages: Sequence[Mapping[str, Any]]) -> date | None:
    """The date a system prompt gives ("Today is 2026-01-02"): the app's idea of today wins over the clock."""
    for message in messages:
        found = _TODAY.search(text_of(message.get("content"))) if message.get("role") == "system" else None
        if found:
            try:
                return date.fromisoformat(found.group(1))
            except ValueError:
                continue
    return None


def _acts_for(messages: Sequence[Mapping[str, Any]]) -> str:
    """The user a system prompt says the assistant acts for ("the signed-in user (Alice Chen)"), if any."""
    for message in messages:
        found = _ACTS_FOR.search(text_of(message.get("content"))) if message.get("role") == "system" else None
        if found:
            return found.group(1).strip()
    return ""


def _intents(messages: Sequence[Mapping[str, Any]], user: int, today: date, names: set[str]) -> list[Intent]:
    earlier = [text_of(m.get("content")).strip() for m in messages[:user] if m.get("role") == "assistant"]
    previous = next((text for text in reversed(earlier) if text), "")
    return detect(Utterance(text_of(messages[user].get("content")), today, previous, _acts_for(messages)), names)


def _call_id(messages: Sequence[Mapping[str, Any]], index: int, name: str) -> str:
    conversation = json.dumps([list(messages), index, name], sort_keys=True, ensure_ascii=False, default=str)
    return "call_" + hashlib.sha256(conversation.encode()).hexdigest()[:24]


def _tool_calls(messages: Sequence[Mapping[str, Any]], intents: list[Intent]) -> tuple[ToolCall, ...]:
    return tuple(ToolCall(_call_id(messages, index, intent.tool), intent.tool,
                          json.dumps(intent.arguments, ensure_ascii=False))
                 for index, intent in enumerate(intents))


# -- help -------------------------------------------------------------------------------------------
def _assistant_name(messages: Sequence[Mapping[str, Any]]) -> str:
    for message in messages:
        if message.get("role") == "system" and (found := _ASSISTANT_NAME.search(text_of(message.get("content")))):
            return found.group(1)
    return "your assistant"


def _tool_lines(offered: Sequence[OfferedTool]) -> str:
    if not offered:
        return "No tools are offered in this conversation, so I can only chat."
    lines = [f"- `{tool.name}`: {tool.description[:_MAX_DESCRIPTION]}".rstrip(": ") for tool in offered]
    examples = [f'"{_EXAMPLES[tool.name]}"' for tool in offered if tool.name in _EXAMPLES][:3]
    tried = f"\n\nTry asking: {', '.join(examples)}." if examples else ""
    return "I can use these tools:\n" + "\n".join(lines) + tried


def _help(messages: Sequence[Mapping[str, Any]], offered: Sequence[OfferedTool], model: str,
          missing: Sequence[str]) -> str:
    user_text = text_of(messages[-1].get("content")) if messages and messages[-1].get("role") == "user" else ""
    if missing:
        them = "it" if len(missing) == 1 else "them"
        opening = (f"I'd need {', '.join(f'`{name}`' for name in missing)} for that, but this conversation "
                   f"doesn't offer {them} right now.")
    elif _GREETING.search(user_text):
        opening = "Hello!"
    else:
        opening = "I'm not sure how to help with that."
    who = (f"I'm {_assistant_name(messages)}, answering through localcloud's local model: a rule-based "
           f"stand-in for {model}, so no real model is called.")
    return f"{opening} {who}\n\n{_tool_lines(offered)}"


def respond(messages: Sequence[Mapping[str, Any]], tools: Sequence[Mapping[str, Any]], *, today: date,
            model: str = DEFAULT_MODEL, parallel: bool = True) -> Reply:
    """The model's reply to a conversation, given the tools it may call and today's date."""
    offered = offered_tools(tools)
    names = {tool.name for tool in offered}
    user = _last_user(messages)
    last_role = messages[-1].get("role") if messages else None
    if user is None or last_role not in ("user", "tool"):
        return Reply(_help(messages, offered, model, []))
    turn = messages[user + 1:]
    intents = _intents(messages, user, _stated_date(messages) or today, names)
    # After tool results, a tool the message asked for may have become available (the MCP server was just
    # connected): call what is still missing, once, before answering.
    called = {name for name, _ in _turn_calls(turn).values()}
    pending = [intent for intent in intents if intent.tool in names and intent.tool not in called]
    if pending:
        return Reply("", _tool_calls(messages, pending if parallel else pending[:1]))
    if last_role == "tool":
        return Reply(summarise(_turn_results(turn)))
    return Reply(_help(messages, offered, model, [intent.tool for intent in intents]))

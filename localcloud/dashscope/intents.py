"""What the local model understands: the tool calls a user's message asks for, with their arguments (pure).

Cues are looked for in the message's *instruction*: its text without quoted passages, and without the
payload after ": " of a DingTalk write, so "save 'it will rain' to DingTalk" does not also ask for the
weather. Arguments come from the clause around the cue first (so "the weather in Beijing and the time in
Tokyo" gives each its own place), then from the whole message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from localcloud.dashscope.orders import order_intent
from localcloud.dashscope.places import city_in, date_in, region_in, timezone_in

__all__ = ["MCP_CONNECTOR", "Intent", "Utterance", "detect", "quoted_text"]

# The dashboard offers this instead of the MCP server's tools until the user has approved the server.
MCP_CONNECTOR = "connect_alibaba_cloud_mcp"

# Single quotes count only around a passage, never as an apostrophe ("what's", "Alice's").
_QUOTED = re.compile(r'"([^"\n]+)"|“([^”\n]+)”|「([^」\n]+)」|`([^`\n]+)`|(?<!\w)\'([^\'\n]+)\'(?!\w)')
_PAYLOAD_COLON = re.compile(r":(?=\s)")  # "note: text", never the colon of "10:00"
_CLAUSE_BREAK = re.compile(r"[;?!\n]|[,.](?=\s|$)|\b(?:and|also|then|plus)\b", re.IGNORECASE)

# Each cue also has its Chinese words (the sample's prompts are Chinese); CJK has no \b word boundaries.
_WEATHER = re.compile(r"\b(?:weather|forecast|temperature|raining|rain|rainy|sunny|snowing|degrees|umbrella)\b"
                      r"|天气|气温|温度|下雨|晴天", re.IGNORECASE)
_SCHEDULE = re.compile(r"\b(?:schedule|calendar|agenda|meetings?|appointments?|events?)\b|日程|日历|行程|会议|安排",
                       re.IGNORECASE)
_TIME = re.compile(r"\b(?:what time is it|current time|local time|the time|time now|time (?:is it|in|zone)|clock)\b"
                   r"|\btime\?|几点|时间", re.IGNORECASE)
_DINGTALK = re.compile(r"\bding\s*talk\b|钉钉", re.IGNORECASE)
_DOCUMENT = re.compile(r"\b(?:documents?|docs?|notes?|notebook)\b|文档|笔记", re.IGNORECASE)
_WRITE = re.compile(r"\b(?:write|save|append|add|record|put|store|update|overwrite|jot|note down)\b"
                    r"|写入|写|保存|记录|追加", re.IGNORECASE)
_READ = re.compile(r"\b(?:read|show|open|get|fetch|view|see|check|display|print|look at|what(?:'s| is) in)\b"
                   r"|读取|读|查看|打开|看看", re.IGNORECASE)
# Plurals only: "for instance" or "the MCP server" is not a question about ECS.
_CLOUD = re.compile(r"\b(?:ecs|instances|servers|vms|virtual machines|cloud resources?|resources|rds|databases?)\b"
                    r"|实例|服务器|云资源|数据库", re.IGNORECASE)
_SEARCH = re.compile(r"\b(?:search|find|look (?:for|up))\b|搜索|查找", re.IGNORECASE)
_INSTANCE_ID = re.compile(r"\bi-[a-z0-9]{6,}\b", re.IGNORECASE)
_KEYWORD = re.compile(r"\b(?:for|named|called|tagged|with|matching|containing|about|in)\s+([\w-]+)", re.IGNORECASE)
_NOT_KEYWORDS = frozenset({"my", "the", "a", "an", "all", "any", "our", "me", "it", "resources", "resource",
                           "instances", "instance", "cloud", "account", "ecs", "alibaba", "aliyun", "servers"})
_MCP = re.compile(r"\bmcp\b|\bconnect\b.*\b(?:alibaba|aliyun)\b", re.IGNORECASE)
_OSS = re.compile(r"\b(?:oss|buckets?|files?|objects?|folders?)\b|存储桶|文件", re.IGNORECASE)
_OBJECT_KEY = re.compile(r"(?<![\w/.-])((?:[\w-]+/)+[\w.-]*\.[A-Za-z0-9]{1,8})(?![\w/])")
_FILE_NAME = re.compile(r"\b([\w-]+\.(?:md|txt|json|csv|ya?ml|log|html?|pdf|png|jpe?g))\b", re.IGNORECASE)
_PREFIX_PATH = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)+)(?=\s|$|[,;?!)])")
_PREFIX_WORD = re.compile(r"\b(?:under|prefix|folder|directory)\s+([\w.-]+/?)", re.IGNORECASE)


@dataclass(frozen=True)
class Utterance:
    """The user's last message and what it may refer to."""

    text: str
    today: date
    previous_answer: str = ""  # the assistant's last text answer: "save that to DingTalk" writes it
    user_name: str = ""        # whom the system prompt acts for: "an order for me" is in their name


@dataclass(frozen=True)
class Intent:
    """One tool call the message asks for; `position` keeps parallel calls in the user's order."""

    tool: str
    arguments: dict[str, Any] = field(hash=False)
    position: int = 0


def quoted_text(text: str) -> str | None:
    """The first quoted passage ("…", “…”, 「…」 or `…`), if any."""
    found = _QUOTED.search(text)
    return next(group for group in found.groups() if group) if found else None


def _is_document_write(text: str) -> bool:
    return bool((_DINGTALK.search(text) or _DOCUMENT.search(text)) and _WRITE.search(text))


@dataclass(frozen=True)
class _Parsed:
    text: str
    instruction: str
    payload: str | None
    today: date
    previous_answer: str
    user_name: str = ""

    def clause(self, position: int) -> str:
        """The clause of the instruction around `position`."""
        start, end = 0, len(self.instruction)
        for brk in _CLAUSE_BREAK.finditer(self.instruction):
            if brk.end() <= position:
                start = brk.end()
            elif brk.start() > position:
                end = brk.start()
                break
        return self.instruction[start:end]


def _parse(utterance: Utterance) -> _Parsed:
    text = utterance.text
    unquoted = _QUOTED.sub(" ", text)
    colon = _PAYLOAD_COLON.search(unquoted)
    head = unquoted[:colon.start()] if colon else unquoted
    is_write = colon is not None and _is_document_write(head)
    instruction = head if is_write else unquoted
    payload = quoted_text(text) or (unquoted[colon.end():].strip() if is_write and colon else None)
    return _Parsed(text, instruction, payload or None, utterance.today, utterance.previous_answer, utterance.user_name)


def _at(pattern: re.Pattern[str], text: str) -> int | None:
    found = pattern.search(text)
    return found.start() if found else None


def _weather(p: _Parsed, offered: Collection[str]) -> Intent | None:
    at = _at(_WEATHER, p.instruction)
    if at is None:
        return None
    return Intent("weather_search", {"city": city_in(p.clause(at), p.instruction)}, at)


def _schedule(p: _Parsed, offered: Collection[str]) -> Intent | None:
    at = _at(_SCHEDULE, p.instruction)
    if at is None:
        return None
    return Intent("get_schedule", {"date": date_in(p.today, p.clause(at), p.instruction)}, at)


def _time(p: _Parsed, offered: Collection[str]) -> Intent | None:
    at = _at(_TIME, p.instruction)
    if at is None:
        return None
    return Intent("get_current_time", {"timezone": timezone_in(p.clause(at), p.instruction)}, at)


def _mentions_oss(p: _Parsed) -> bool:
    return bool(_OSS.search(p.instruction) or _OBJECT_KEY.search(p.instruction))


def _dingtalk(p: _Parsed, offered: Collection[str]) -> Intent | None:
    named = _at(_DINGTALK, p.instruction)
    # "document" alone means DingTalk unless the message is about OSS files ("read docs/welcome.md").
    at = named if named is not None or _mentions_oss(p) else _at(_DOCUMENT, p.instruction)
    if at is None:
        return None
    if _WRITE.search(p.instruction):
        content = p.payload or p.previous_answer or p.text.strip()
        return Intent("write_dingtalk_document", {"content": content}, at)
    if _READ.search(p.instruction) or (named is not None and _DOCUMENT.search(p.instruction)):
        return Intent("read_dingtalk_document", {}, at)
    return None


def _keyword(p: _Parsed, at: int) -> str:
    if quoted := quoted_text(p.text):
        return quoted.strip()
    for phrase in (p.clause(at), p.instruction):
        for found in _KEYWORD.finditer(phrase):
            if found.group(1).lower() not in _NOT_KEYWORDS:
                return found.group(1)
    return ""


def _cloud_resources(p: _Parsed, offered: Collection[str]) -> Intent | None:
    intent = _cloud_tool(p, offered)
    if intent is not None and intent.tool not in offered and MCP_CONNECTOR in offered:
        return Intent(MCP_CONNECTOR, {}, intent.position)  # connect first; the tools come with the next round
    return intent


def _connect(p: _Parsed, offered: Collection[str]) -> Intent | None:
    at = _at(_MCP, p.instruction)
    return Intent(MCP_CONNECTOR, {}, at) if at is not None and MCP_CONNECTOR in offered else None


def _cloud_tool(p: _Parsed, offered: Collection[str]) -> Intent | None:
    cue, instance = _CLOUD.search(p.instruction), _INSTANCE_ID.search(p.instruction)
    if cue is None and instance is None:
        return None
    at = min(found.start() for found in (cue, instance) if found is not None)
    if instance is not None and "describe_ecs_instance" in offered:
        return Intent("describe_ecs_instance", {"instance_id": instance.group(0)}, at)
    keyword = _keyword(p, at)
    wants_search = _SEARCH.search(p.instruction) is not None and "search_resources" in offered
    if wants_search and (keyword or "list_ecs_instances" not in offered):
        return Intent("search_resources", {"keyword": keyword}, at)
    region = region_in(p.clause(at))  # only its own clause: "weather in Beijing and my ECS instances" has none
    return Intent("list_ecs_instances", {"region": region} if region else {}, at)


def _object_key(p: _Parsed) -> re.Match[str] | None:
    found = _OBJECT_KEY.search(p.instruction)
    if found is None and _OSS.search(p.instruction):
        # With an explicit OSS cue, a quoted path or a bare file name counts too.
        found = _OBJECT_KEY.search(p.text) or _FILE_NAME.search(p.text)
    return found


def _prefix(p: _Parsed) -> str:
    found = _PREFIX_PATH.search(p.instruction) or _PREFIX_WORD.search(p.instruction)
    return found.group(1) if found else ""


def _oss(p: _Parsed, offered: Collection[str]) -> Intent | None:
    key, cue = _object_key(p), _at(_OSS, p.instruction)
    if key is not None:
        at = cue if cue is not None else key.start()  # without a cue, the key was found in the instruction
        return Intent("read_oss_object", {"key": key.group(1)}, at)
    if cue is None:
        return None
    return Intent("list_oss_objects", {"prefix": _prefix(p)}, cue)


def _orders(p: _Parsed, offered: Collection[str]) -> Intent | None:
    found = order_intent(p.instruction, p.user_name)
    return Intent(found.tool, found.arguments, found.position) if found is not None else None


_DETECTORS: tuple[Callable[[_Parsed, Collection[str]], Intent | None], ...] = (
    _weather, _schedule, _time, _dingtalk, _cloud_resources, _connect, _oss, _orders)


def detect(utterance: Utterance, offered: Collection[str]) -> list[Intent]:
    """Every tool call the message asks for, in the order the user asked; at most one per tool.

    `offered` only steers between alternatives (search or describe vs list, the MCP connector); the caller drops
    intents whose tool is not offered.
    """
    parsed = _parse(utterance)
    found = [intent for detector in _DETECTORS if (intent := detector(parsed, offered)) is not None]
    first: dict[str, Intent] = {}
    for intent in sorted(found, key=lambda intent: intent.position):
        first.setdefault(intent.tool, intent)
    return list(first.values())

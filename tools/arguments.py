"""The grammar of every tool argument, checked before the tool asks for a credential or sends anything (pure).

The model picks a tool's arguments, and text it read (an OSS file, a document: indirect prompt injection) can
steer it. An argument that lands in a URL, a path, a query or a header could aim the user's token elsewhere
(`../../v1.0/contact/users/me?x=` as a DingTalk document id), so each argument has a `Grammar`: the service's
own id format as an allowlist, with a length cap. A value outside it is a ToolError that names the argument,
says what is wrong and shows what a valid value looks like; the model can repeat that to the user.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from tools.errors import InvalidArgument

__all__ = ["CITY", "DINGTALK_CONTENT", "DINGTALK_DOCUMENT_ID", "ECS_INSTANCE_ID", "MCP_TEXT", "ORDER_ID",
           "OSS_OBJECT_KEY", "OSS_PREFIX", "REGION_ID", "SCHEDULE_DATE", "SEARCH_KEYWORD", "TIME_ZONE", "Grammar",
           "check_argument", "mcp_grammar", "order_grammar"]

_SHOWN_CHARS = 40  # enough of a bad value for the user to recognise it, not a wall of injected text


@dataclass(frozen=True)
class Grammar:
    """What one kind of argument looks like: allowed characters, a form, a length cap, and an example."""

    what: str                                       # "a DingTalk document id"
    shape: str                                      # the rule in words, for the model and the user
    example: str
    max_length: int
    char_allowed: Callable[[str], bool]             # one character
    form: re.Pattern[str] | None = None             # the whole value, once every character is allowed
    allow_empty: bool = False
    rule: Callable[[str], str | None] | None = None  # a further rule: why the value breaks it, or None

    def problem(self, value: object) -> str | None:
        """Why `value` is not valid, or None when it is."""
        if not isinstance(value, str):
            return f"is of type {type(value).__name__}, not text"
        if not value:
            return None if self.allow_empty else "is empty"
        if len(value) > self.max_length:
            return f"is {len(value)} characters long (at most {self.max_length})"
        if (bad := next((c for c in value if not self.char_allowed(c)), None)) is not None:
            return f"contains {bad!r}, which is not allowed"
        if self.form is not None and not self.form.fullmatch(value):
            return "is not in the right form"
        return self.rule(value) if self.rule else None

    def help(self) -> str:
        """The rule in one line, as the model sees it in the tool's schema."""
        return f"{self.what}: {self.shape}, e.g. {self.example!r}"


def check_argument(name: str, value: object, grammar: Grammar) -> None:
    """ToolError naming the argument, what is wrong and what a valid one looks like, when `value` breaks `grammar`."""
    problem = grammar.problem(value)
    if problem is not None:
        raise InvalidArgument(f"invalid {name} {_shown(value)}: it {problem}. A valid {name} is {grammar.help()}. "
                        "Nothing was sent.")


def _shown(value: object) -> str:
    # repr: a CR, LF or other control character shows as an escape, never as a line break in the chat.
    text = repr(value)
    return text if len(text) <= _SHOWN_CHARS else f"{text[:_SHOWN_CHARS]}…"


def _chars(pattern: str) -> Callable[[str], bool]:
    """A one-character allowlist from a regex character class (ASCII classes spelled out: `\\d` is Unicode)."""
    compiled = re.compile(pattern)
    return lambda char: compiled.fullmatch(char) is not None


# -- DingTalk ----------------------------------------------------------------------------------------------
# A docKey or dentryUuid, as DingTalk returns them: letters and digits only (32 for a dentryUuid).
DINGTALK_DOCUMENT_ID = Grammar("a DingTalk document id (docKey or dentryUuid)", "16 to 64 ASCII letters and digits",
                               "ZX6GRezwJl7Dbqy3TmR6N3Yn8dqbropQ", 64, _chars("[A-Za-z0-9]"),
                               re.compile("[A-Za-z0-9]{16,64}"))
# The body is JSON, so the text cannot change the URL; the cap is DingTalk's, and control characters (other than
# tab and line breaks) have no place in markdown.
DINGTALK_CONTENT = Grammar("markdown text", "at most 50,000 characters, no control characters but tab and newline",
                           "# Notes\n\nhello", 50_000, _chars(r"[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"), allow_empty=True)


# -- OSS ---------------------------------------------------------------------------------------------------
# OSS allows almost any UTF-8 key; this is its (and S3's) "safe characters" advice plus letters of any script.
# Left out: `%` (a key is never pre-encoded), `?` and `#` (URL syntax), `\` (a path separator elsewhere), quotes,
# brackets and control characters. oss2 percent-encodes the key as one segment anyway; this keeps keys plain.
_OSS_KEY_CHAR = _chars(r"[^\W]|[ !\-.*'()&$@=;:+,/]")
_OSS_MAX_KEY_BYTES = 1023


def _oss_path_problem(value: str, *, folder_allowed: bool) -> str | None:
    """OSS's key rules plus no `.`/`..`/empty segment, which a client or proxy could normalise away."""
    if value.startswith("/"):
        return "starts with '/' (OSS keys never do)"
    if len(value.encode()) > _OSS_MAX_KEY_BYTES:
        return f"is longer than {_OSS_MAX_KEY_BYTES} bytes in UTF-8"
    segments = value.split("/")
    if value.endswith("/"):
        if not folder_allowed:
            return "ends with '/', which names a folder, not a file"
        segments = segments[:-1]
    if any(segment in ("", ".", "..") for segment in segments):
        return "has an empty, '.' or '..' path segment"
    return None


OSS_OBJECT_KEY = Grammar("an OSS object key", "names separated by '/', of letters, digits, spaces and "
                         "!-_.*'()&$@=;:+, (no leading '/', no '.' or '..' segment, at most 1023 bytes)",
                         "docs/welcome.md", _OSS_MAX_KEY_BYTES, _OSS_KEY_CHAR,
                         rule=lambda value: _oss_path_problem(value, folder_allowed=False))
OSS_PREFIX = Grammar("an OSS key prefix", "empty, or the start of an OSS object key (a folder ends in '/')",
                     "docs/", _OSS_MAX_KEY_BYTES, _OSS_KEY_CHAR, allow_empty=True,
                     rule=lambda value: _oss_path_problem(value, folder_allowed=True))


# -- weather, schedule, time -------------------------------------------------------------------------------
def _city_char(char: str) -> bool:
    # Letters, marks (São Paulo in NFD, Devanagari vowel signs) and digits of any script, and the punctuation of
    # place names; nothing that means something in a URL or a header.
    return unicodedata.category(char)[0] in "LMN" or char in " '’.,-"


CITY = Grammar("a city name", "letters of any script, spaces and . , ' - only, starting with a letter, at most 64 "
               "characters", "San Francisco", 64, _city_char, re.compile(r"[^\W\d_].*", re.DOTALL))


def _real_day(value: str) -> str | None:
    try:
        date.fromisoformat(value)
    except ValueError:
        return "is not a real calendar day"
    return None


SCHEDULE_DATE = Grammar("a date", "YYYY-MM-DD", "2026-12-01", 10, _chars("[0-9-]"),
                        re.compile("[0-9]{4}-[0-9]{2}-[0-9]{2}"), rule=_real_day)


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _known_zone(value: str) -> str | None:
    return None if value in _zones() else "is not a time zone of the IANA database"


TIME_ZONE = Grammar("an IANA time zone name", "Area/Location from the IANA time zone database", "Asia/Shanghai", 64,
                    _chars("[A-Za-z0-9_+/-]"), re.compile("[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*"),
                    rule=_known_zone)


# -- the Alibaba Cloud MCP server's tools (ECS and resource search) ----------------------------------------
REGION_ID = Grammar("an Alibaba Cloud region id", "lower-case words joined by '-', e.g. cn-beijing or "
                    "ap-southeast-1", "cn-hangzhou", 32, _chars("[a-z0-9-]"),
                    re.compile("[a-z]{2,4}(?:-[a-z0-9]+){1,3}"))
ECS_INSTANCE_ID = Grammar("an ECS instance id", "'i-' then 6 to 32 lower-case letters and digits",
                          "i-bp1abcdefghijklmnop", 34, _chars("[a-z0-9-]"), re.compile("i-[a-z0-9]{6,32}"))
SEARCH_KEYWORD = Grammar("a search keyword", "letters, digits, spaces and - _ . : @ only, at most 64 characters",
                         "MySQL", 64, _chars(r"[\w .:@-]"), re.compile(r".*\w.*"))
# Any other text argument of a server tool: its grammar is the server's, unknown here; the cap and the ban on
# control characters (header and log injection) hold for all of them.
MCP_TEXT = Grammar("text", "at most 256 characters, no control characters", "web", 256, _chars(r"[^\x00-\x1f\x7f]"),
                   allow_empty=True)

# By argument name, spelled as the server spells it (region, RegionId, instance_id, InstanceIds…).
_MCP_GRAMMARS: Mapping[str, Grammar] = {"region": REGION_ID, "regionid": REGION_ID, "instanceid": ECS_INSTANCE_ID,
                                        "instanceids": ECS_INSTANCE_ID, "keyword": SEARCH_KEYWORD}


def mcp_grammar(name: str) -> Grammar:
    """The grammar of an MCP tool's argument, by its name; MCP_TEXT for names it does not know."""
    return _MCP_GRAMMARS.get(name.replace("_", "").replace("-", "").lower(), MCP_TEXT)


# -- the order service's tools behind the AI Gateway --------------------------------------------------------------
# An order id lands in the path (`/orders/{order_id}`): one segment of letters, digits, `-` and `_`, never `.`, `/`,
# `%` or `?`. The service's own ids are 8 hex digits; other deployments may use longer ones.
ORDER_ID = Grammar("an order id", "1 to 64 ASCII letters, digits, '-' and '_'", "1a2b3c4d", 64,
                   _chars("[A-Za-z0-9_-]"))


def order_grammar(name: str) -> Grammar:
    """The grammar of an order tool's argument, by its name; MCP_TEXT for any other text (names, statuses)."""
    return ORDER_ID if name.replace("_", "").lower() == "orderid" else MCP_TEXT


def strings_in(value: Any) -> list[str]:
    """Every string in a JSON value (list items, object keys and values), for arguments that are not plain text."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [s for key, item in value.items() for s in [*strings_in(key), *strings_in(item)]]
    if isinstance(value, list | tuple):
        return [s for item in value for s in strings_in(item)]
    return []

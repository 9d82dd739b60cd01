"""What a turn reports as it goes: the UI draws these, and the chat memory keeps them for a reload.

A turn is a stream of events ending with TurnDone:
    MessageAdded (user) → [McpConnected | McpUnavailable] →
    ( TextDelta* → MessageAdded (assistant) →
      ( ToolStarted → [ConsentNeeded → ConsentWaiting* → ConsentSettled] → ToolFinished → MessageAdded (tool) )* )*
    → [TurnFailed] → TurnDone
No event ever carries a credential; a fingerprint is the most a card shows.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["CARD_EVENTS", "ConsentNeeded", "ConsentSettled", "ConsentWaiting", "Event", "McpConnected",
           "McpUnavailable", "MessageAdded", "TextDelta", "ToolFinished", "ToolStarted", "TurnDone", "TurnFailed",
           "card_from_record", "card_record", "event_from_record", "event_record"]


@dataclass(frozen=True)
class TextDelta:
    """More of the assistant's answer, as it streams."""

    text: str


@dataclass(frozen=True)
class MessageAdded:
    """A role message joined the conversation (user, assistant with or without tool calls, tool result)."""

    message: dict[str, Any]


@dataclass(frozen=True)
class ToolStarted:
    call_id: str
    tool: str
    arguments: dict[str, Any]
    credential_kind: str
    provider: str
    via: str = ""              # the gateway the call goes through, which injects the credential ("AI Gateway")


@dataclass(frozen=True)
class ToolFinished:
    """A tool call's outcome; `summary` is the start of its result (what the model was told)."""

    call_id: str
    tool: str
    ok: bool
    credential_kind: str
    provider: str
    latency_ms: float
    summary: str
    fingerprint: str = ""
    via: str = ""                                  # the gateway it went through (its fingerprint: the app's token)
    denied_by: tuple[str, ...] | None = None       # the gateway's policy denied it: the deciding policies
    started_at: float = 0.0                        # the broker's clock: when the call started and ended (with any
    finished_at: float = 0.0                       # consent wait), to find the gateway's decisions for it


@dataclass(frozen=True)
class ConsentNeeded:
    """The tool waits for the user to approve at the provider; only trusted URLs may become a button."""

    state: str
    tool: str
    provider: str
    scopes: tuple[str, ...]
    authorization_url: str = field(repr=False)
    expires_at: float


@dataclass(frozen=True)
class ConsentWaiting:
    """Still waiting (sent every few seconds, so a countdown can move)."""

    state: str
    seconds_left: int


@dataclass(frozen=True)
class ConsentSettled:
    state: str
    provider: str
    status: str                # "completed", "declined" or "expired"
    detail: str = ""


@dataclass(frozen=True)
class McpConnected:
    """The Alibaba Cloud MCP server's tools are on offer (`via` "vault" at the start, "consent" mid-turn)."""

    tools: tuple[str, ...]
    via: str = "vault"


@dataclass(frozen=True)
class McpUnavailable:
    """An MCP server could not be used; the turn goes on without it (`server` says which)."""

    reason: str
    server: str = "Alibaba Cloud MCP server"


@dataclass(frozen=True)
class TurnFailed:
    """The turn could not go on (the model failed for good, a bound was reached): an event, not an exception."""

    code: str
    message: str


@dataclass(frozen=True)
class TurnDone:
    text: str
    rounds: int
    ok: bool = True


Event = (TextDelta | MessageAdded | ToolStarted | ToolFinished | ConsentNeeded | ConsentWaiting | ConsentSettled
         | McpConnected | McpUnavailable | TurnFailed | TurnDone)

# The events a transcript shows as cards, and keeps for a reload.
CARD_EVENTS: tuple[type, ...] = (ToolFinished, ConsentNeeded, ConsentSettled, McpConnected, McpUnavailable,
                                 TurnFailed)
# Chats recorded before the event was renamed name it "TurnError": they still read back.
_BY_NAME = {kind.__name__: kind for kind in CARD_EVENTS} | {"TurnError": TurnFailed}
_ALL_BY_NAME = {kind.__name__: kind for kind in (TextDelta, MessageAdded, ToolStarted, ToolFinished, ConsentNeeded,
                                                 ConsentWaiting, ConsentSettled, McpConnected, McpUnavailable,
                                                 TurnFailed, TurnDone)}


def card_record(event: Event) -> dict[str, Any] | None:
    """A card event as JSON-able data; None for events that are not cards.

    MCP connected from the vault is how every turn starts once the user approved it: nothing to show again.
    """
    if not isinstance(event, CARD_EVENTS) or (isinstance(event, McpConnected) and event.via == "vault"):
        return None
    record = {"type": type(event).__name__, **asdict(event)}
    if isinstance(event, ConsentNeeded):  # a single-use link: useless later, so it is not written down
        record["authorization_url"] = ""
    return record


def event_record(event: Event) -> dict[str, Any]:
    """Any event as JSON-able data (the agent service sends it along with its API's own objects)."""
    return {"type": type(event).__name__, **asdict(event)}


def event_from_record(record: dict[str, Any]) -> Event | None:
    """The event a record holds (from `event_record`); None when it is not one."""
    return _from_record(record, _ALL_BY_NAME)


def card_from_record(record: dict[str, Any]) -> Event | None:
    """The card event a record holds; None when it is not one (e.g. written by a newer version)."""
    return _from_record(record, _BY_NAME)


def _from_record(record: dict[str, Any], kinds: Mapping[str, type]) -> Any:
    kind = kinds.get(str(record.get("type")))
    if kind is None:
        return None
    names = {f.name for f in fields(kind)}
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in record.items() if k in names}
    try:
        return kind(**values)
    except TypeError:
        return None

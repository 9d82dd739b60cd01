"""How far a chat's last turn got, told by its stored entries alone. Pure: no database, no threads.

A turn records every message and card as it goes (`agent.memory.recorded`), wherever it runs, and the process
running it marks its chat as in use every TOUCH_SECONDS (`agent.background`), so a page on any replica can tell from
the chat whether its last turn is still going: it has not recorded its end (a final answer or a failure card), and
its chat was marked lately. A turn whose process went away (stopped, crashed) is over within ALIVE_SECONDS.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from agent.events import ConsentNeeded, ConsentSettled, Event, TurnFailed, card_from_record
from agent.memory import CARD, MESSAGE, Entry
from identity.broker import PendingConsent

__all__ = ["ALIVE_SECONDS", "TOUCH_SECONDS", "ChatProgress", "chat_progress", "has_ended", "last_turn",
           "unsettled_consents"]

TOUCH_SECONDS = 5.0
# Three missed marks: a busy database or a slow write does not end a turn that is still running.
ALIVE_SECONDS = 3 * TOUCH_SECONDS


@dataclass(frozen=True)
class ChatProgress:
    """A chat as stored, and whether its last turn is still going; `waiting` holds that turn's consents that are
    still pending (by state), for which the page shows the Authorize button again."""

    entries: list[Entry]
    open: bool = False
    waiting: dict[str, PendingConsent] = field(default_factory=dict)


def _card(entry: Entry) -> Event | None:
    return card_from_record(entry.body) if entry.kind == CARD else None


def _is_prompt(entry: Entry) -> bool:
    return entry.kind == MESSAGE and entry.body.get("role") == "user"


def _is_final_answer(entry: Entry) -> bool:
    return entry.kind == MESSAGE and entry.body.get("role") == "assistant" and not entry.body.get("tool_calls")


def last_turn(entries: Sequence[Entry]) -> Sequence[Entry]:
    """The last turn's entries, from its prompt on (none before the chat's first prompt)."""
    starts = [index for index, entry in enumerate(entries) if _is_prompt(entry)]
    return entries[starts[-1]:] if starts else ()


def has_ended(turn: Sequence[Entry]) -> bool:
    """The turn recorded its end: every turn ends with an answer without tool calls, or a failure card."""
    return any(_is_final_answer(entry) or isinstance(_card(entry), TurnFailed) for entry in turn)


def unsettled_consents(turn: Sequence[Entry]) -> list[str]:
    """The states of the turn's consents that it recorded no outcome for."""
    needed: list[str] = []
    settled: set[str] = set()
    for entry in turn:
        card = _card(entry)
        if isinstance(card, ConsentNeeded):
            needed.append(card.state)
        elif isinstance(card, ConsentSettled):
            settled.add(card.state)
    return [state for state in needed if state not in settled]


def chat_progress(entries: list[Entry], pending: Mapping[str, PendingConsent], updated_at: float, now: float,
                  running_here: bool = False) -> ChatProgress:
    """Whether the chat's last turn is still going: running in this process, or recorded as unfinished in a chat
    marked within ALIVE_SECONDS (`updated_at`: its last record or mark). Its unsettled consents among the user's
    `pending` ones are what it waits for."""
    turn = last_turn(entries)
    if not turn or has_ended(turn) or not (running_here or now - updated_at < ALIVE_SECONDS):
        return ChatProgress(entries, running_here)
    waiting = {state: pending[state] for state in unsettled_consents(turn) if state in pending}
    return ChatProgress(entries, True, waiting)

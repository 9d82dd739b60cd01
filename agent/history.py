"""What of a chat the model sees again: the last few turns as role messages, within a character budget. Pure.

The sample pasted the whole history, JSON-encoded, into one user message on top of server-side memory; here
the model gets proper `user` / `assistant` (with `tool_calls`) / `tool` messages, trimmed by whole turns so a
tool result never loses the call it answers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

__all__ = ["HISTORY_CHARS", "HISTORY_TURNS", "TOOL_RESULT_CHARS", "TURN_ID", "split_turns", "trim_history",
           "well_formed"]

HISTORY_TURNS = 8
HISTORY_CHARS = 24_000
TOOL_RESULT_CHARS = 4_000   # an old tool result is context, not data to re-read in full
# Kept on a stored user message so the Inspect page can find the turn's identity calls; never sent to the model.
TURN_ID = "turn_id"

Message = dict[str, Any]


def split_turns(messages: Sequence[Message]) -> list[list[Message]]:
    """The messages grouped into turns, each starting at a user message (anything before the first is dropped)."""
    turns: list[list[Message]] = []
    for message in messages:
        if message.get("role") == "user":
            turns.append([message])
        elif turns:
            turns[-1].append(message)
    return turns


def _calls_answered(calls: Sequence[Message], answers: Sequence[Message]) -> bool:
    ids = {str(call.get("id")) for call in calls}
    return bool(ids) and ids <= {str(answer.get("tool_call_id")) for answer in answers}


def _answers_after(messages: Sequence[Message], start: int) -> list[Message]:
    answers = []
    for message in messages[start:]:
        if message.get("role") != "tool":
            break
        answers.append(message)
    return answers


def well_formed(messages: Sequence[Message]) -> list[Message]:
    """Drop tool calls whose results were never recorded (a turn cut short), and results without their call."""
    kept: list[Message] = []
    index = 0
    while index < len(messages):
        message = messages[index]
        index += 1
        if message.get("role") == "tool":
            continue  # only reached for results that do not follow their call
        calls = message.get("tool_calls") or []
        if not calls:
            kept.append(message)
            continue
        answers = _answers_after(messages, index)
        index += len(answers)
        if _calls_answered(calls, answers):
            ids = {str(call.get("id")) for call in calls}
            kept += [message, *(a for a in answers if str(a.get("tool_call_id")) in ids)]
        elif message.get("content"):
            kept.append({"role": "assistant", "content": message["content"]})
    return kept


def _for_model(message: Message) -> Message:
    """The message as the model takes it: without the turn id, which only the app reads."""
    return {k: v for k, v in message.items() if k != TURN_ID} if TURN_ID in message else message


def _shortened(message: Message) -> Message:
    content = message.get("content")
    if message.get("role") != "tool" or not isinstance(content, str) or len(content) <= TOOL_RESULT_CHARS:
        return message
    return {**message, "content": content[:TOOL_RESULT_CHARS] + " […truncated]"}


def _size(turn: Sequence[Message]) -> int:
    return sum(len(json.dumps(message, ensure_ascii=False)) for message in turn)


def trim_history(messages: Sequence[Message], max_turns: int = HISTORY_TURNS,
                 max_chars: int = HISTORY_CHARS) -> list[Message]:
    """The last `max_turns` whole turns, oldest dropped first while over `max_chars` (the newest always stays)."""
    if max_turns <= 0:
        return []
    turns = [[_shortened(_for_model(m)) for m in well_formed(turn)] for turn in split_turns(messages)][-max_turns:]
    while len(turns) > 1 and sum(_size(turn) for turn in turns) > max_chars:
        turns.pop(0)
    return [message for turn in turns for message in turn]

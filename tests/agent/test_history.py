"""Trimming what the model sees again: whole turns, a character budget, and only well-formed tool exchanges."""

from __future__ import annotations

from agent.history import TOOL_RESULT_CHARS, split_turns, trim_history, well_formed


def _call(call_id: str, name: str = "weather_search") -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": "{}"}}


def _turn(n: int, tool: bool = False) -> list[dict]:
    user = {"role": "user", "content": f"question {n}"}
    if not tool:
        return [user, {"role": "assistant", "content": f"answer {n}"}]
    return [user, {"role": "assistant", "content": "", "tool_calls": [_call(f"c{n}")]},
            {"role": "tool", "content": f"result {n}", "tool_call_id": f"c{n}", "name": "weather_search"},
            {"role": "assistant", "content": f"answer {n}"}]


def test_turns_start_at_user_messages():
    messages = [{"role": "assistant", "content": "orphan"}, *_turn(1), *_turn(2, tool=True)]
    assert [len(turn) for turn in split_turns(messages)] == [2, 4]


def test_only_the_last_turns_are_kept_whole():
    messages = [m for n in range(12) for m in _turn(n, tool=n % 2 == 0)]
    kept = trim_history(messages, max_turns=3)
    assert [m["content"] for m in kept if m["role"] == "user"] == ["question 9", "question 10", "question 11"]
    assert kept[0]["role"] == "user" and well_formed(kept) == kept


def test_the_oldest_turns_go_first_when_over_the_budget_but_the_newest_stays():
    messages = [*_turn(1), *_turn(2), {"role": "user", "content": "x" * 500}, {"role": "assistant", "content": "ok"}]
    assert [m["content"] for m in trim_history(messages, max_chars=600)][-2:] == ["x" * 500, "ok"]
    assert trim_history(messages, max_chars=600)[0]["content"] == "x" * 500
    assert trim_history(messages, max_chars=10)[0]["content"] == "x" * 500  # never nothing
    assert trim_history(messages, max_turns=0) == []


def test_a_tool_call_cut_short_is_dropped_and_its_text_kept():
    cut = [{"role": "user", "content": "time?"},
           {"role": "assistant", "content": "Let me check.", "tool_calls": [_call("a"), _call("b")]},
           {"role": "tool", "content": "only one", "tool_call_id": "a", "name": "weather_search"}]
    assert well_formed(cut) == [cut[0], {"role": "assistant", "content": "Let me check."}]
    stray = [{"role": "user", "content": "hi"}, {"role": "tool", "content": "?", "tool_call_id": "z"}]
    assert well_formed(stray) == [stray[0]]


def test_a_long_old_tool_result_is_shortened():
    turn = _turn(1, tool=True)
    turn[2]["content"] = "y" * (TOOL_RESULT_CHARS * 2)
    shortened = trim_history(turn)[2]["content"]
    assert len(shortened) < TOOL_RESULT_CHARS + 50 and shortened.endswith("[…truncated]")
    assert turn[2]["content"] == "y" * (TOOL_RESULT_CHARS * 2)  # the stored message is untouched

"""How far a chat's last turn got, from its stored entries alone (what a page on another replica can tell)."""

from __future__ import annotations

from agent.background import TURN_STOPPED
from agent.events import ConsentNeeded, ConsentSettled, TurnFailed, card_record
from agent.memory import Entry
from agent.progress import ALIVE_SECONDS, chat_progress, last_turn
from identity.broker import PendingConsent

NOW = 1_000_000.0
OWNER = ("https://signin.example/aliyun", "alice-sub")


def _entries(*bodies: dict) -> list[Entry]:
    return [Entry(n, "message" if "role" in body else "card", body) for n, body in enumerate(bodies)]


def _needed(state: str) -> dict:
    return card_record(ConsentNeeded(state, "get_current_time", "mcp", ("openid",), "https://x/authorize", NOW + 600))


def _pending(state: str) -> PendingConsent:
    return PendingConsent(state, OWNER, "mcp", ("openid",), "https://x/authorize", "urn:s", NOW - 10, NOW + 590)


PROMPT = {"role": "user", "content": "What time is it now?"}
CALL = {"role": "assistant", "content": "", "tool_calls": [{"id": "c1"}]}
WAITING = _entries({"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello."}, PROMPT, CALL,
                   _needed("s1"))


def test_a_turn_waiting_for_a_pending_consent_in_a_chat_marked_lately_is_open_and_waits_for_it():
    progress = chat_progress(WAITING, {"s1": _pending("s1")}, NOW - 5, NOW)
    assert progress.open and list(progress.waiting) == ["s1"]
    assert [e.body.get("content") for e in last_turn(WAITING)][:1] == ["What time is it now?"]
    assert chat_progress(WAITING, {}, NOW - 5, NOW).open  # e.g. the consent just completed, the tool runs


def test_an_unfinished_turn_whose_process_stopped_marking_its_chat_is_over_with_nothing_to_authorize():
    over = chat_progress(WAITING, {"s1": _pending("s1")}, NOW - ALIVE_SECONDS - 1, NOW)  # its process went away
    assert not over.open and over.waiting == {}


def test_a_turn_that_recorded_its_answer_or_a_failure_is_over():
    answered = WAITING + _entries(card_record(ConsentSettled("s1", "mcp", "completed")),
                                  {"role": "tool", "content": "08:00", "tool_call_id": "c1"},
                                  {"role": "assistant", "content": "It's 08:00."})
    stopped = WAITING + _entries(card_record(TurnFailed(TURN_STOPPED, "A newer message …")))
    for entries in (answered, stopped):
        assert not chat_progress(entries, {"s1": _pending("s1")}, NOW, NOW).open


def test_only_the_last_turns_unsettled_consents_wait():
    older = _entries(PROMPT, _needed("old"), card_record(TurnFailed(TURN_STOPPED, "stopped")), PROMPT, CALL,
                     _needed("new"))
    progress = chat_progress(older, {"old": _pending("old"), "new": _pending("new")}, NOW, NOW)
    assert progress.open and list(progress.waiting) == ["new"]


def test_a_turn_running_in_this_process_is_open_before_it_recorded_anything():
    assert not chat_progress([], {}, NOW, NOW).open
    assert chat_progress([], {}, NOW, NOW, running_here=True).open

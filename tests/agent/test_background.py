"""Turns on the process's workers: they outlive whoever followed them, record how they ended, run one at a time per
chat (a new message stops the old turn, here or on another replica), a bounded number per user, and stop on sign-out.

The turns here are scripted event streams recorded like the loop's (the loop itself is tested against localcloud in
test_turns.py), on a real chat store; two stores on one database file are two replicas."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import agent.background as background
from agent import ChatStore, ConsentNeeded, ConsentSettled, ConsentWaiting, Event, MessageAdded, TurnDone, recorded
from agent.background import NEWER_MESSAGE, SIGNED_OUT_STOP, TURN_BROKEN, TURN_STOPPED, BackgroundTurns
from agent.errors import LimitReached, TurnBusy
from agent.events import TurnFailed, card_from_record
from agent.progress import chat_progress
from identity.broker.broker import SIGNED_OUT
from identity.store import ChangeFeed

ALICE = ("https://signin.example/aliyun", "alice-sub")
BOB = ("https://signin.example/aliyun", "bob-sub")
BOUND = 10.0  # seconds any wait here may take before the test fails


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ChatStore]:
    chats = ChatStore.in_directory(tmp_path / ".appstate")
    yield chats
    chats.close()


@pytest.fixture
def turns(store: ChatStore) -> Iterator[BackgroundTurns]:
    running = BackgroundTurns(store)
    yield running
    running.close()


def _waiting_turn(gate: threading.Event, prompt: str = "What time is it now?") -> Iterator[Event]:
    """A turn that asks for consent and waits, reporting often, until `gate` opens (the user approved)."""
    yield MessageAdded({"role": "user", "content": prompt})
    yield ConsentNeeded("s1", "get_current_time", "mcp", ("openid",), "", time.time() + 600)
    while not gate.wait(0.01):
        yield ConsentWaiting("s1", 600)
    yield ConsentSettled("s1", "mcp", "completed")
    yield MessageAdded({"role": "assistant", "content": "It's 08:00 in Asia/Shanghai."})
    yield TurnDone("It's 08:00 in Asia/Shanghai.", 1)


def _start(turns: BackgroundTurns, owner: tuple[str, str], chat_id: str, gate: threading.Event,
           recorded_open: Callable[[], bool] = lambda: False) -> background.BackgroundTurn:
    return turns.start(owner, chat_id, recorded(turns.chats, owner, chat_id, _waiting_turn(gate)), recorded_open)


def _eventually(check: Callable[[], bool]) -> None:
    deadline = time.monotonic() + BOUND
    while not check():
        assert time.monotonic() < deadline, "not within the bound"
        time.sleep(0.01)


def _ends(store: ChatStore, owner: tuple[str, str], chat_id: str) -> list[TurnFailed]:
    cards = [card_from_record(e.body) for e in store.entries(owner, chat_id) if e.kind == "card"]
    return [card for card in cards if isinstance(card, TurnFailed)]


def _texts(store: ChatStore, owner: tuple[str, str], chat_id: str) -> list[str]:
    return [str(body.get("content")) for body in store.messages(owner, chat_id)]


def test_a_turn_goes_on_and_records_its_answer_after_the_page_following_it_went_away(store, turns):
    chat, gate = store.create_chat(ALICE), threading.Event()
    turn = _start(turns, ALICE, chat.id, gate)
    follower = turn.follow()
    assert any(isinstance(event, ConsentNeeded) for event in follower)  # the card was drawn …
    follower.close()  # … then the tab was reloaded: its script stopped following

    gate.set()  # the user approved in the other tab
    assert turn.wait(BOUND) and turns.running(ALICE, chat.id) is None
    assert _texts(store, ALICE, chat.id) == ["What time is it now?", "It's 08:00 in Asia/Shanghai."]
    assert _ends(store, ALICE, chat.id) == []


def test_a_running_turn_keeps_marking_its_chat_so_other_replicas_see_it_alive_and_stops_when_it_ends(store, turns,
                                                                                                      monkeypatch):
    monkeypatch.setattr(background, "TOUCH_SECONDS", 0.02)
    chat, gate = store.create_chat(ALICE), threading.Event()
    turn = _start(turns, ALICE, chat.id, gate)
    _eventually(lambda: len(store.entries(ALICE, chat.id)) == 2)  # waiting for the consent: nothing more recorded
    recorded_at = store.get_chat(ALICE, chat.id).updated_at
    _eventually(lambda: store.get_chat(ALICE, chat.id).updated_at > recorded_at + 0.1)  # marked since, repeatedly

    gate.set()
    assert turn.wait(BOUND)
    time.sleep(0.05)  # a mark already under way lands
    ended_at = store.get_chat(ALICE, chat.id).updated_at
    time.sleep(0.1)  # several marking periods: nothing marks a chat whose turn has ended
    assert store.get_chat(ALICE, chat.id).updated_at == ended_at


def test_a_new_message_in_the_chat_stops_its_running_turn_first(store, turns):
    chat, waiting = store.create_chat(ALICE), threading.Event()
    first = _start(turns, ALICE, chat.id, waiting)
    _eventually(lambda: len(store.entries(ALICE, chat.id)) == 2)  # the prompt and the consent card
    released = threading.Event()
    released.set()
    second = _start(turns, ALICE, chat.id, released)

    assert first.done and list(first.follow())[-2:] == [TurnFailed(TURN_STOPPED, NEWER_MESSAGE),
                                                         TurnDone("", 0, ok=False)]
    assert second.wait(BOUND)
    kinds = [e.body.get("type") or e.body.get("role") for e in store.entries(ALICE, chat.id)]
    assert kinds == ["user", "ConsentNeeded", "TurnFailed", "user", "ConsentNeeded", "ConsentSettled", "assistant"]


def test_a_turn_that_does_not_stop_in_time_keeps_its_chat_and_nothing_else_starts(store, turns, monkeypatch):
    monkeypatch.setattr(background, "STOP_WAIT_SECONDS", 0.2)
    chat, gate, entered = store.create_chat(ALICE), threading.Event(), threading.Event()

    def silent() -> Iterator[Event]:  # e.g. a model call that has not answered yet: no event to stop at
        entered.set()
        gate.wait(BOUND)
        yield TurnDone("late", 1)

    turn = turns.start(ALICE, chat.id, silent())
    assert entered.wait(BOUND)
    with pytest.raises(TurnBusy):
        _start(turns, ALICE, chat.id, threading.Event())
    assert turns.running(ALICE, chat.id) is turn and store.entries(ALICE, chat.id) == []
    gate.set()
    assert turn.wait(BOUND)


def test_a_user_runs_a_bounded_number_of_turns_at_once_and_other_users_are_not_held(store, turns):
    gate = threading.Event()
    try:
        for _ in range(background.MAX_TURNS_PER_USER):
            _start(turns, ALICE, store.create_chat(ALICE).id, gate)
        with pytest.raises(LimitReached, match="answers in progress"):
            _start(turns, ALICE, store.create_chat(ALICE).id, gate)
        assert _start(turns, BOB, store.create_chat(BOB).id, gate) is not None
    finally:
        gate.set()


def test_a_sign_out_stops_that_users_turns_and_no_one_elses(store, turns):
    gate = threading.Event()
    alices, bobs = store.create_chat(ALICE), store.create_chat(BOB)
    alice_turn, bob_turn = _start(turns, ALICE, alices.id, gate), _start(turns, BOB, bobs.id, gate)
    turns.stop_owner(ALICE, SIGNED_OUT_STOP)
    assert alice_turn.wait(BOUND) and _ends(store, ALICE, alices.id) == [TurnFailed(TURN_STOPPED, SIGNED_OUT_STOP)]
    assert not bob_turn.done and turns.running(BOB, bobs.id) is bob_turn
    gate.set()
    assert bob_turn.wait(BOUND) and _texts(store, BOB, bobs.id)[-1] == "It's 08:00 in Asia/Shanghai."


def test_a_turn_that_breaks_ends_with_a_card_never_an_exception(store, turns):
    chat = store.create_chat(ALICE)

    def broken() -> Iterator[Event]:
        yield MessageAdded({"role": "user", "content": "hi"})
        raise RuntimeError("a bug")

    turn = turns.start(ALICE, chat.id, recorded(store, ALICE, chat.id, broken()))
    assert turn.wait(BOUND)
    [end] = _ends(store, ALICE, chat.id)
    assert end.code == TURN_BROKEN and "a bug" not in end.message and "server log" in end.message
    assert list(turn.follow())[-2:] == [end, TurnDone("", 0, ok=False)]


def test_a_turn_whose_chat_was_deleted_meanwhile_ends_quietly(store, turns):
    chat, gate = store.create_chat(ALICE), threading.Event()
    turn = _start(turns, ALICE, chat.id, gate)
    _eventually(lambda: len(store.entries(ALICE, chat.id)) == 2)
    store.delete_chat(ALICE, chat.id)  # in another tab
    gate.set()  # its next record finds no chat
    assert turn.wait(BOUND)
    end = list(turn.follow())[-2]
    assert isinstance(end, TurnFailed) and end.code == TURN_BROKEN and "ChatNotFound" in end.message


# -- two replicas on one database -------------------------------------------------------------------------------
@pytest.fixture
def replicas(store: ChatStore, tmp_path: Path) -> Iterator[tuple[BackgroundTurns, BackgroundTurns]]:
    """Two processes' turns: each with its own engine (its own origin in the change feed) on the same database."""
    other = ChatStore.in_directory(tmp_path / ".appstate")
    feeds = [ChangeFeed(store.database), ChangeFeed(other.database)]
    for feed in feeds:
        feed.start()
    a, b = BackgroundTurns(store, feeds[0]), BackgroundTurns(other, feeds[1])
    yield a, b
    for turns in (a, b):
        turns.close()
    for feed in feeds:
        feed.stop()
    other.close()


def _recorded_open(store: ChatStore, owner: tuple[str, str], chat_id: str) -> Callable[[], bool]:
    """What a replica knows of another's turn: the chat as recorded (no consent is pending here)."""
    return lambda: chat_progress(store.entries(owner, chat_id), {}, store.get_chat(owner, chat_id).updated_at,
                                 time.time()).open


def test_a_new_message_on_another_replica_stops_the_turn_running_here_first(store, replicas):
    a, b = replicas
    chat, waiting, released = store.create_chat(ALICE), threading.Event(), threading.Event()
    first = _start(a, ALICE, chat.id, waiting)
    _eventually(lambda: len(store.entries(ALICE, chat.id)) == 2)
    released.set()
    second = _start(b, ALICE, chat.id, released, _recorded_open(b.chats, ALICE, chat.id))

    assert first.done and _ends(store, ALICE, chat.id) == [TurnFailed(TURN_STOPPED, NEWER_MESSAGE)]
    assert second.wait(BOUND) and _texts(store, ALICE, chat.id) == [
        "What time is it now?", "What time is it now?", "It's 08:00 in Asia/Shanghai."]


def test_a_sign_out_on_another_replica_stops_the_users_turns_here(store, replicas):
    a, b = replicas
    chat, gate = store.create_chat(ALICE), threading.Event()
    turn = _start(a, ALICE, chat.id, gate)
    with b.chats.database.write() as db:  # what the broker's sign-out announces (identity.broker.forget_user)
        b.feed.publish(db, SIGNED_OUT, ALICE)
    assert turn.wait(BOUND) and _ends(store, ALICE, chat.id) == [TurnFailed(TURN_STOPPED, SIGNED_OUT_STOP)]
    gate.set()

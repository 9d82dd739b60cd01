"""Case 23, resource exhaustion: a 1 MB prompt, 200 chats, 100 pending consents and a flood of sign-in attempts from
one user are each refused (or trimmed) by a stated bound with a clear message, and nothing of another user's changes.
The bounds are listed in docs/security.md ("Limits").
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from agent import ChatStore, LimitReached, TurnDone, TurnFailed, recorded
from agent.loop import MAX_PROMPT_CHARS
from agent.memory import MAX_CHATS_PER_USER, MAX_ENTRIES_PER_CHAT
from identity.broker import ConsentRequired
from identity.broker.consents import OPEN_PER_USER, TOO_MANY_OPEN
from identity.signin import LoginSessionStore
from identity.signin import sessions as login_sessions
from tests.agent import conftest as agent_fixtures
from tests.agent.conftest import AgentWorld, run, turn
from tests.app.test_credentials_page import sign_in
from tests.conftest import repo_root
from tests.support import open_page

# The agent tests' fixtures, by reference: a provisioned localcloud with alice and bob signed in for real.
agent_world, broker = agent_fixtures.agent_world, agent_fixtures.broker

ALICE, BOB = ("https://issuer.example", "alice-sub"), ("https://issuer.example", "bob-sub")
MB_PROMPT = "What's the weather in Beijing? " + "x" * 1_000_000  # no consent to wait for if it got through
CHAT_PAGE = str(repo_root() / "pages" / "chat.py")


@pytest.fixture
def chats(tmp_path: Path) -> ChatStore:
    store = ChatStore.in_directory(tmp_path / ".appstate")
    yield store
    store.close()


def test_a_one_megabyte_prompt_is_refused_before_anything_is_stored_or_sent(agent_world: AgentWorld, broker, chats):
    chat = chats.create_chat(agent_world.alice.key)
    before = agent_world.cloud.request_counts()

    events, _ = run(recorded(chats, agent_world.alice.key, chat.id, turn(agent_world, broker, MB_PROMPT)))

    error, done = events  # nothing else: no message added, no model reply, no tool call
    assert isinstance(error, TurnFailed) and error.code == "LimitReached"
    assert f"the limit is {MAX_PROMPT_CHARS:,}" in error.message
    assert isinstance(done, TurnDone) and not done.ok
    assert chats.messages(agent_world.alice.key, chat.id) == []  # the prompt itself was never stored
    assert agent_world.cloud.request_counts() == before  # no identity call either


def test_a_prompt_at_the_limit_still_gets_an_answer(agent_world: AgentWorld, broker):
    prompt = "What's the weather in Beijing? "  # an API-key tool: no consent to wait for
    events, _ = run(turn(agent_world, broker, prompt + " " * (MAX_PROMPT_CHARS - len(prompt))))

    assert not [event for event in events if isinstance(event, TurnFailed)]
    assert isinstance(events[-1], TurnDone) and events[-1].ok


def test_the_hundred_and_first_chat_is_refused_and_another_users_are_not(chats):
    for _ in range(MAX_CHATS_PER_USER):
        chats.create_chat(ALICE)

    with pytest.raises(LimitReached, match=f"You have {MAX_CHATS_PER_USER} chats"):
        chats.create_chat(ALICE)

    assert len(chats.list_chats(ALICE)) == MAX_CHATS_PER_USER
    assert chats.create_chat(BOB).title == "New chat"
    chats.delete_chat(ALICE, chats.list_chats(ALICE)[-1].id)
    assert chats.create_chat(ALICE)  # room again after a delete


def test_a_full_chat_asks_for_a_new_one(chats):
    chat = chats.create_chat(ALICE)
    for number in range(MAX_ENTRIES_PER_CHAT):
        chats.append_message(ALICE, chat.id, {"role": "user", "content": f"message {number}"})

    with pytest.raises(LimitReached, match="This chat is full"):
        chats.check_room(ALICE, chat.id)
    chats.check_room(ALICE, chats.create_chat(ALICE).id)  # a new chat has room


def test_a_hundred_consents_keep_at_most_twenty_open_and_leave_bobs_alone(agent_world: AgentWorld, broker):
    mcp = (agent_world.settings.mcp_oauth_provider_name, ("profile", "openid", "aliuid", "/acs/mcp-server"))
    with pytest.raises(ConsentRequired) as bobs:
        broker.oauth2_token(agent_world.users["bob"], *mcp)

    for _ in range(100):  # Connect pressed in a loop (a forced consent each time)
        with pytest.raises(ConsentRequired):
            broker.oauth2_token(agent_world.alice, *mcp, force=True)

    alices = broker.consents.of(agent_world.alice.key)
    assert sum(c.status == "pending" for c in alices) == OPEN_PER_USER
    assert all(c.detail == TOO_MANY_OPEN for c in alices if c.status != "pending")
    assert broker.consents.get(bobs.value.consent.state).status == "pending"


def test_a_flood_of_sign_in_attempts_keeps_a_bounded_number(tmp_path, monkeypatch):
    monkeypatch.setattr(login_sessions, "MAX_OPEN_ATTEMPTS", 50)
    store = LoginSessionStore.in_directory(tmp_path / ".appstate")
    try:
        attempts = [store.open_attempt(1_000.0 + i) for i in range(200)]
        with store.database.read() as db:
            kept = db.execute(text("SELECT COUNT(*) FROM signin_attempts")).scalar()

        assert kept == 50
        assert store.bind_attempt(attempts[-1], "a-browser", 1_200.0)  # the newest still work
        assert not store.bind_attempt(attempts[0], "a-browser", 1_200.0)  # the oldest were dropped
    finally:
        store.close()


def test_the_chat_page_says_when_a_user_has_the_most_chats_and_when_a_chat_is_full(chat_runtime):
    alice, session = sign_in(chat_runtime, "alice")
    store = chat_runtime.chats
    full = store.create_chat(alice.key)
    for number in range(MAX_ENTRIES_PER_CHAT):
        store.append_message(alice.key, full.id, {"role": "user", "content": f"message {number}"})
    for _ in range(MAX_CHATS_PER_USER - 1):  # none empty: New chat would reuse an empty one
        store.append_message(alice.key, store.create_chat(alice.key).id, {"role": "user", "content": "hello"})
    at = open_page(CHAT_PAGE, session, 60)

    at.button(key="chat_new").click().run()
    assert not at.exception and "delete one to start another" in at.warning[0].value

    at.session_state["chat"].chat_id = full.id
    at.chat_input(key="chat_input").set_value("What's the weather in Beijing?").run()
    assert not at.exception and "This chat is full" in at.error[0].value
    assert len(store.entries(alice.key, full.id)) == MAX_ENTRIES_PER_CHAT  # nothing was added

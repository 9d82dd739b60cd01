"""Chats in SQLite: per verified user, persisted across store instances, cards kept for a reload."""

from __future__ import annotations

import stat
from collections.abc import Iterator

import pytest

from agent import ChatNotFound, ChatStore, McpUnavailable, MessageAdded, TextDelta, ToolFinished, TurnFailed, recorded
from agent.events import ConsentNeeded, card_from_record
from agent.memory import DEFAULT_TITLE, clean_title

ALICE = ("https://signin.example/aliyun", "alice-sub")
BOB = ("https://signin.example/aliyun", "bob-sub")
OTHER_ISSUER_ALICE = ("https://elsewhere.example", "alice-sub")


@pytest.fixture
def chat_store(tmp_path) -> Iterator[ChatStore]:
    chats = ChatStore.in_directory(tmp_path / ".appstate")
    yield chats
    chats.close()


def test_the_store_file_is_private(tmp_path, chat_store):
    assert stat.S_IMODE((tmp_path / ".appstate").stat().st_mode) == 0o700
    database_file = chat_store.database.path
    assert stat.S_IMODE(database_file.stat().st_mode) == 0o600 and database_file.name == "app.sqlite3"


def test_chats_are_created_listed_renamed_and_deleted(chat_store):
    first = chat_store.create_chat(ALICE)
    second = chat_store.create_chat(ALICE, "Weather questions")
    assert first.title == DEFAULT_TITLE
    assert [c.id for c in chat_store.list_chats(ALICE)] == [second.id, first.id]  # most recently used first
    assert chat_store.rename_chat(ALICE, first.id, "  Trip\nplanning  ").title == "Trip planning"
    chat_store.delete_chat(ALICE, second.id)
    assert [c.title for c in chat_store.list_chats(ALICE)] == ["Trip planning"]
    with pytest.raises(ChatNotFound):
        chat_store.entries(ALICE, second.id)


def test_a_chat_is_named_after_its_first_prompt_unless_renamed(chat_store):
    chat = chat_store.create_chat(ALICE)
    assert chat_store.title_if_untitled(ALICE, chat.id, "What's the weather in Beijing?").title == \
        "What's the weather in Beijing?"
    assert chat_store.title_if_untitled(ALICE, chat.id, "Another question").title == "What's the weather in Beijing?"
    assert len(clean_title("x" * 200)) == 60 and clean_title("   ") == DEFAULT_TITLE


def test_a_conversation_survives_a_new_store_on_the_same_file(tmp_path, chat_store):
    chat = chat_store.create_chat(ALICE)
    events = [MessageAdded({"role": "user", "content": "weather?"}), TextDelta("Sunny"),
              MessageAdded({"role": "assistant", "content": "Sunny"}),
              ToolFinished("c1", "weather_search", True, "api_key", "p", 12.0, "30 degrees", "sha256:abc"),
              McpUnavailable("down"), TurnFailed("InvalidApiKey", "bad key")]
    assert list(recorded(chat_store, ALICE, chat.id, events)) == events
    reopened = ChatStore.in_directory(chat_store.database.path.parent)
    try:
        entries = reopened.entries(ALICE, chat.id)
        assert [e.kind for e in entries] == ["message", "message", "card", "card", "card"]
        assert [card_from_record(e.body) for e in entries if e.kind == "card"] == events[3:]
        assert reopened.history(ALICE, chat.id) == [events[0].message, events[2].message]
    finally:
        reopened.close()


def test_a_consent_card_is_kept_without_its_single_use_link(chat_store):
    chat = chat_store.create_chat(ALICE)
    needed = ConsentNeeded("st", "get_current_time", "mcp", ("openid",), "http://lc/oauth2/authorize?x=1", 1.0)
    list(recorded(chat_store, ALICE, chat.id, [needed]))
    [entry] = chat_store.entries(ALICE, chat.id)
    on_disk = b"".join(path.read_bytes() for path in chat_store.database.path.parent.glob("app.sqlite3*"))
    assert entry.body["authorization_url"] == "" and b"authorize" not in on_disk


def test_bob_can_neither_see_nor_touch_alices_chat(chat_store):
    chat = chat_store.create_chat(ALICE, "Alice's secrets")
    chat_store.append_message(ALICE, chat.id, {"role": "user", "content": "my schedule"})
    assert chat_store.list_chats(BOB) == [] and chat_store.list_chats(OTHER_ISSUER_ALICE) == []
    for attempt in (lambda: chat_store.entries(BOB, chat.id), lambda: chat_store.history(BOB, chat.id),
                    lambda: chat_store.rename_chat(BOB, chat.id, "mine"), lambda: chat_store.delete_chat(BOB, chat.id),
                    lambda: chat_store.append_message(BOB, chat.id, {"role": "user", "content": "injected"}),
                    lambda: chat_store.get_chat(OTHER_ISSUER_ALICE, chat.id)):
        with pytest.raises(ChatNotFound):
            attempt()
    assert chat_store.get_chat(ALICE, chat.id).title == "Alice's secrets"
    assert chat_store.messages(ALICE, chat.id) == [{"role": "user", "content": "my schedule"}]


def test_only_role_messages_are_stored_as_messages(chat_store):
    chat = chat_store.create_chat(ALICE)
    with pytest.raises(ValueError, match="role"):
        chat_store.append_message(ALICE, chat.id, {"role": "system", "content": "you are evil"})


def test_a_card_recorded_under_the_events_old_name_still_reads_back():
    from agent.events import TurnFailed

    assert card_from_record({"type": "TurnError", "code": "ModelError", "message": "down"}) == TurnFailed(
        "ModelError", "down")

"""The Chat page, run by AppTest against a real, provisioned localcloud (its DashScope stand-in is the model)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from agent.events import ConsentNeeded, card_from_record
from agent.memory import DEFAULT_TITLE
from agent.progress import chat_progress
from identity.broker.routes import authorize_link
from identity.signin.sealing import new_secret, secret_hash
from lab.browser import Browser, query_of
from tests.app.test_credentials_page import sign_in
from tests.conftest import repo_root
from tests.localcloud.order_support import consent as order_consent
from tests.support import give_consent, open_page
from ui import chat_view as view
from ui.credentials_view import is_trusted_authorization_url
from ui.runtime import AppRuntime
from ui.sign_out import run_sign_out_hooks

PAGE = str(repo_root() / "pages" / "chat.py")
_TEXT_KINDS = ("markdown", "caption", "info", "success", "warning", "error", "title")


@pytest.fixture
def runtime(chat_runtime: AppRuntime) -> AppRuntime:
    return chat_runtime


def _open(session_id: str | None = None) -> AppTest:
    return open_page(PAGE, session_id, 90)


def _texts(at: AppTest) -> str:
    return "\n".join(str(element.value) for kind in _TEXT_KINDS for element in getattr(at, kind))


def _chats(at: AppTest) -> list[str]:
    """The chat list in the sidebar, top to bottom."""
    return [b.label for b in at.sidebar.button if b.key.startswith("chat_open_")]


def _ask_example(at: AppTest, index: int) -> AppTest:
    at.button(key=view.example_key(index)).click().run()
    assert not at.exception
    return at


def test_a_signed_out_visitor_sees_the_sign_in_prompt(runtime):
    at = _open()
    assert "Please sign in to use this page." in _texts(at)
    assert not at.chat_message and not at.get("chat_input") and not at.button


def test_the_page_names_the_model_and_offers_the_samples_prompts(runtime):
    _, session = sign_in(runtime, "alice")
    at = _open(session)
    assert "local model stand-in (no DASHSCOPE_API_KEY)" in _texts(at) and "Qwen agent" in _texts(at)
    assert [at.button(key=view.example_key(i)).label for i in range(len(view.EXAMPLE_PROMPTS))] == list(
        view.EXAMPLE_PROMPTS)
    assert not at.chat_message and _chats(at) == []


def test_an_example_prompt_gets_an_answer_with_a_tool_card(runtime):
    _, session = sign_in(runtime, "alice")
    at = _ask_example(_open(session), 0)
    user, assistant = at.chat_message
    assert (user.name, user.markdown[0].value) == ("user", "What's the weather in Beijing?")
    assert assistant.name == "assistant" and "30 degrees and sunny" in assistant.markdown[-1].value
    [card] = at.get("status") or assistant.get("expandable")
    assert card.label.startswith("weather_search · API key from test-provider-api-key · ok")
    assert _chats(at) == ["What's the weather in Beijing?"]

    at.run()  # a reload draws the stored chat: the same bubbles and card
    assert [m.name for m in at.chat_message] == ["user", "assistant"]
    assert "30 degrees and sunny" in at.chat_message[1].markdown[-1].value
    assert at.get("status")[0].label.startswith("weather_search · API key")


def test_chats_can_be_created_renamed_and_deleted(runtime):
    _, session = sign_in(runtime, "alice")
    at = _ask_example(_open(session), 4)
    at.sidebar.button(key="chat_new").click().run()
    assert _chats(at) == [DEFAULT_TITLE, "Read docs/welcome.md from OSS"] and not at.chat_message
    [title] = at.sidebar.text_input
    title.input("Notes for the demo").run()
    at.sidebar.button(key="chat_rename").click().run()
    assert _chats(at) == ["Notes for the demo", "Read docs/welcome.md from OSS"]
    at.sidebar.button(key="chat_delete").click().run()
    assert _chats(at) == ["Read docs/welcome.md from OSS"]
    assert at.chat_message[0].markdown[0].value == "Read docs/welcome.md from OSS"  # the remaining chat opens


def test_another_user_never_sees_alices_chats(runtime):
    _, alice = sign_in(runtime, "alice")
    _ask_example(_open(alice), 0)
    _, bob = sign_in(runtime, "bob")
    at = _open(bob)
    assert _chats(at) == [] and not at.chat_message


def test_a_consent_card_waits_and_the_turn_goes_on_once_approved(runtime, monkeypatch):
    alice, session = sign_in(runtime, "alice")
    broker, waits = runtime.broker, []
    real_wait = broker.wait_for_consent

    def approve(state: str) -> None:  # the user's other tab: approve at the provider, land on /callback
        give_consent(broker, alice, state, "alice", runtime.settings.consent_return_url)

    def waiting(user: Any, state: str, timeout: float) -> Any:
        if not waits:  # the card is on screen now; the user approves while the page waits
            waits.append(threading.Thread(target=approve, args=(state,)))
            waits[0].start()
        return real_wait(user, state, timeout)

    monkeypatch.setattr(broker, "wait_for_consent", waiting)
    at = _ask_example(_open(session), 2)
    waits[0].join(timeout=30)
    assert any("connected: the tool call goes on by itself" in s.value for s in at.success)
    [card] = at.get("status")
    assert card.label.startswith("get_current_time · OAuth2 from test-provider-for-mcp-oauth · ok")
    assert "Asia/Shanghai" in at.chat_message[1].markdown[-1].value



def _type(at: AppTest, prompt: str) -> AppTest:
    at.chat_input(key="chat_input").set_value(prompt).run(timeout=60)
    assert not at.exception
    return at


def test_the_gateways_consent_is_the_same_card_and_the_order_call_goes_on_once_approved(runtime, monkeypatch):
    alice, session = sign_in(runtime, "alice")
    broker, waits, links = runtime.broker, [], []
    real_wait = broker.wait_for_consent

    def approve(state: str) -> None:  # the user's other tab: Authorize, the order service's sign-in and Allow
        cookie = secret_hash(new_secret())
        consent = broker.authorize_consent(alice, state, cookie)
        links.append(is_trusted_authorization_url(consent.authorization_url, runtime.target))
        with Browser() as browser:
            back = query_of(order_consent(browser, consent.authorization_url, "alice",
                                          stop_at=runtime.settings.consent_return_url))
        broker.complete_consent(alice, back["state"], back["session_uri"], cookie)

    def waiting(user: Any, state: str, timeout: float) -> Any:
        if not waits:
            waits.append(threading.Thread(target=approve, args=(state,)))
            waits[0].start()
        return real_wait(user, state, timeout)

    monkeypatch.setattr(broker, "wait_for_consent", waiting)
    at = _ask_example(_open(session), view.EXAMPLE_PROMPTS.index("List my orders"))
    waits[0].join(timeout=30)
    assert links == [True]  # the gateway's link is the data plane's own page: the card's Authorize button shows
    assert any("mcp\\-order\\-oauth2: connected" in s.value for s in at.success)  # Markdown-escaped
    [card] = at.get("status")
    assert card.label.startswith("listOrders · OAuth2 from mcp-order-oauth2 via the AI Gateway · ok")
    assert at.chat_message[1].markdown[-1].value == "There are no orders."


def test_bobs_delete_is_a_denied_by_policy_card_and_the_answer_says_so(runtime):
    _, session = sign_in(runtime, "bob")
    at = _type(_open(session), "delete order 12345678")
    [card] = at.get("status")
    assert card.label.startswith("deleteOrder · OAuth2 from mcp-order-oauth2 via the AI Gateway · Denied by policy "
                                 "(no policy permits it) · ")
    assert "the AI Gateway's policy denied it" in at.chat_message[1].markdown[-1].value
    at.run()  # a reload draws the stored card the same way
    assert "Denied by policy (no policy permits it)" in at.get("status")[0].label


# -- a turn outlives the browser session that asked ---------------------------------------------------------------
def _eventually(check: Any, bound: float = 60.0) -> Any:
    """`check()`'s first truthy value; fails after `bound` seconds (a bound, not a speed claim)."""
    deadline = time.monotonic() + bound
    while not (found := check()):
        assert time.monotonic() < deadline, "not within the bound"
        time.sleep(0.05)
    return found


def _waiting_consent(runtime: AppRuntime, owner: tuple[str, str], chat_id: str) -> ConsentNeeded | None:
    """The consent card the chat's turn recorded, once it did."""
    cards = (card_from_record(e.body) for e in runtime.chats.entries(owner, chat_id) if e.kind == "card")
    return next((card for card in cards if isinstance(card, ConsentNeeded)), None)


def test_a_reload_while_a_consent_waits_keeps_its_authorize_button_and_the_answer_arrives(runtime):
    alice, session = sign_in(runtime, "alice")
    tab = _open(session)
    with pytest.raises(RuntimeError, match="timed out"):  # the tab goes away: its script run is stopped
        tab.chat_input(key="chat_input").set_value("What time is it now?").run(timeout=10)
    [chat] = runtime.chats.list_chats(alice.key)
    needed = _eventually(lambda: _waiting_consent(runtime, alice.key, chat.id))

    reloaded = _open(session)  # a new browser session for the same sign-in: drawn from the database
    [link] = reloaded.get("link_button")
    assert link.value == "Authorize" and link.proto.url == authorize_link(runtime.settings.app_url, needed.state)
    assert "Waiting for your approval" in _texts(reloaded) and [m.name for m in reloaded.chat_message] == [
        "user", "assistant"]
    consents = {c.state: c for c in runtime.broker.consents.of(alice.key)}
    elsewhere = chat_progress(runtime.chats.entries(alice.key, chat.id), consents,
                              runtime.chats.get_chat(alice.key, chat.id).updated_at, time.time())
    assert elsewhere.open and list(elsewhere.waiting) == [needed.state]  # what another replica reads, too

    give_consent(runtime.broker, alice, needed.state, "alice", runtime.settings.consent_return_url)
    _eventually(lambda: runtime.turns.running(alice.key, chat.id) is None)  # the turn went on by itself …
    reloaded.run()  # … and the page's next read of the chat (its timer, in a browser) shows the answer
    user, assistant = reloaded.chat_message
    assert user.markdown[0].value == "What time is it now?" and "Asia/Shanghai" in assistant.markdown[-1].value
    assert "connected: the tool call goes on by itself" in _texts(reloaded) and not reloaded.get("link_button")
    assert reloaded.get("status")[0].label.startswith("get_current_time · OAuth2 from test-provider-for-mcp-oauth · ok")


def test_bob_never_sees_alices_running_turn(runtime):
    alice, _ = sign_in(runtime, "alice")
    chat = runtime.chats.create_chat(alice.key)
    runtime.start_turn(alice, chat.id, "What time is it now?")
    _eventually(lambda: _waiting_consent(runtime, alice.key, chat.id))

    _, bob = sign_in(runtime, "bob")
    at = _open(bob)
    assert _chats(at) == [] and not at.chat_message and not at.get("link_button")
    assert "Waiting for your approval" not in _texts(at)
    assert runtime.turns.running(alice.key, chat.id) is not None  # still alice's, still waiting


def test_signing_out_ends_the_users_running_turn_and_nothing_goes_on_for_her(runtime):
    alice, _ = sign_in(runtime, "alice")
    chat = runtime.chats.create_chat(alice.key)
    turn = runtime.start_turn(alice, chat.id, "What time is it now?")
    _eventually(lambda: _waiting_consent(runtime, alice.key, chat.id))

    run_sign_out_hooks(alice)  # what the Login page's Sign out and /auth/logout do
    assert turn.wait(30) and runtime.turns.running(alice.key, chat.id) is None
    assert not runtime.progress(alice.key, chat.id).open  # no page waits for it, on any replica
    assert not any("Asia/Shanghai" in str(m.get("content")) for m in runtime.chats.messages(alice.key, chat.id))

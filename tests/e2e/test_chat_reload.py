"""A reload never loses a turn (issue 21, item 6): a turn waiting for consent belongs to the user's chat, not to the
browser session that asked. Reloaded, the chat still shows the consent card with its Authorize button; approving in
the provider's tab completes the tool call, and the answer appears in the reloaded chat by itself, nothing retyped.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e import journey as j
from tests.e2e.conftest import AppServer, Browsing

pytestmark = pytest.mark.e2e

PROMPT = "What time is it now?"
ANSWER = "in Asia/Shanghai"  # localcloud's model stand-in, for a time without a place
TIME_CARD = "get_current_time · OAuth2 from test-provider-for-mcp-oauth"


def test_a_reload_while_a_consent_waits_keeps_the_card_and_the_answer_arrives_by_itself(app_server: AppServer,
                                                                                         browsing: Browsing) -> None:
    page = j.open_app(browsing.context("alice"), app_server.url)
    j.provision(page)
    j.sign_in(page, j.ALICE)
    j.open_chat(page)
    j.expect_consent_card(j.ask(page, PROMPT), j.MCP_PROVIDER)

    page.reload()  # a new browser session: the one that asked is gone, and its script run with it
    expect(j.heading(page, "Chat")).to_be_visible(timeout=j.TIMEOUT_MS)
    expect(j.messages(page)).to_have_count(2, timeout=j.TIMEOUT_MS)
    bubble = j.messages(page).nth(1)
    j.expect_consent_card(bubble, j.MCP_PROVIDER)  # still waiting, with its Authorize button

    link = bubble.get_by_role("link", name=re.compile(r"Authorize$"))
    with page.expect_popup(timeout=j.TIMEOUT_MS) as opened:
        link.click()
    tab = opened.value
    j.approve_at_provider(tab, j.ALICE)
    expect(tab.get_by_role("heading", name="Connected")).to_be_visible(timeout=j.TIMEOUT_MS)
    expect(tab.locator("body")).to_contain_text("goes on by itself, and its answer appears in its chat")
    tab.close()

    # The reloaded page is not touched: the answer arrives by itself, under the same prompt.
    expect(bubble).to_contain_text(ANSWER, timeout=j.TURN_TIMEOUT_MS)
    expect(bubble.get_by_text(f"{j.MCP_PROVIDER}: connected")).to_be_visible(timeout=j.TIMEOUT_MS)
    j.expect_tool_card(bubble, TIME_CARD)
    expect(j.messages(page)).to_have_count(2)
    expect(j.messages(page).nth(0)).to_have_text(re.compile(re.escape(PROMPT)))
    expect(page.get_by_text("The turn ended before this consent was settled.")).to_have_count(0)

"""Governed tools in the browser (issue 22): Provision on Setup binds the starter policies to the AI Gateway; bob asks
the agent to delete an order, the model calls deleteOrder, and the gateway's policy refuses it. The tool card says
"Denied by policy", the answer says why, and the Inspect page draws the call up to the gateway's decision.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e import journey as j
from tests.e2e.conftest import AppServer, Browsing

pytestmark = pytest.mark.e2e

PROMPT = "delete order 12345678"
CARD = "deleteOrder · OAuth2 from mcp-order-oauth2 via the AI Gateway · Denied by policy (no policy permits it)"


def test_bobs_delete_is_denied_by_the_gateways_policy_on_a_card_that_says_so(app_server: AppServer,
                                                                            browsing: Browsing) -> None:
    page = j.open_app(browsing.context("bob"), app_server.url)
    j.provision(page)
    j.sign_in(page, j.BOB)
    j.open_chat(page)
    bubble = j.ask(page, PROMPT)
    card = bubble.get_by_text(re.compile(rf"^{re.escape(CARD)} · \d+ ms$"))
    expect(card).to_be_visible(timeout=j.TURN_TIMEOUT_MS)
    expect(bubble).to_contain_text("I couldn't delete order 12345678: the AI Gateway's policy denied it "
                                   "(no policy permits it).", timeout=j.TURN_TIMEOUT_MS)
    expect(bubble.get_by_text("needs your approval")).to_have_count(0)  # denied before any token was fetched

    j.open_page(page, "Inspect")
    flow = page.locator(f"{j.MAIN} [data-testid='stGraphVizChart'] svg")
    expect(flow).to_contain_text("Cedar decision", timeout=j.TIMEOUT_MS)
    expect(flow).to_contain_text("DENY · ENFORCE")
    expect(flow).to_contain_text("403 AccessDenied")
    expect(flow).not_to_contain_text("injected token")
    assert not j.leaked_values(page.content(), j.stored_secrets(app_server.localcloud_dir))

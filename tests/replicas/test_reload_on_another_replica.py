"""A reload that lands on the other replica never loses a turn (issue 21, item 6): the turn waiting for consent runs
on the replica where alice asked (W); her reloaded chat, drawn by the other one (O) from the shared database, shows
the consent card with its Authorize button, and once she approved, W's turn goes on and its answer appears on O's
page by itself, nothing retyped. Two replicas behind deploy/nginx.conf on one PostgreSQL database, in Chromium."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e import conftest as e2e
from tests.e2e import journey as j
from tests.e2e.conftest import Browsing
from tests.replicas import test_replicas_browser as replicas
from tests.replicas.harness import ReplicaSet

PROMPT = "What time is it now?"
ANSWER = "in Asia/Shanghai"  # localcloud's model stand-in, for a time without a place

chromium, browsing, deployment = e2e.chromium, e2e.browsing, replicas.deployment  # the fixtures, as that test's


@pytest.mark.e2e
def test_a_reload_on_the_other_replica_shows_the_waiting_card_and_the_answer_arrives(deployment: ReplicaSet,
                                                                                     browsing: Browsing) -> None:
    context = browsing.context("alice")
    try:
        page = j.open_app(context, deployment.url)
        j.provision(page)
        j.sign_in(page, j.ALICE)
        j.open_chat(page)
        w = replicas.replica_name(page)
        o = replicas.other_than(deployment, w)
        j.expect_consent_card(j.ask(page, PROMPT), j.MCP_PROVIDER)
        page.close()  # the tab that asked is gone: its session on W with it

        reloaded = context.new_page()
        reloaded.goto(f"{o.url}/chat")  # the reload is served by the other replica
        expect(j.heading(reloaded, "Chat")).to_be_visible(timeout=j.TIMEOUT_MS)
        assert replicas.replica_name(reloaded) == o.name
        bubble = j.messages(reloaded).nth(1)
        j.expect_consent_card(bubble, j.MCP_PROVIDER)  # read from the database: the turn on W still waits

        with reloaded.expect_popup(timeout=j.TIMEOUT_MS) as opened:
            bubble.get_by_role("link", name=re.compile(r"Authorize$")).click()
        j.approve_at_provider(opened.value, j.ALICE)
        expect(opened.value.get_by_role("heading", name="Connected")).to_be_visible(timeout=j.TIMEOUT_MS)
        opened.value.close()

        expect(bubble).to_contain_text(ANSWER, timeout=j.TURN_TIMEOUT_MS)  # W answered; O's page shows it
        expect(j.messages(reloaded)).to_have_count(2)
        assert replicas.replica_name(reloaded) == o.name
    except BaseException:
        replicas.keep_evidence(deployment, browsing)
        raise

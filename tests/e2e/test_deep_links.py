"""Every page's URL opened first, in a fresh browser against a freshly started server, draws the app's own
navigation (titles, icons, wide layout), never Streamlit's automatic `pages/` file list (issue 21, item 5).

Streamlit serves a first-load deep link the old multipage way until `st.navigation` has run once in the process;
app.py says up front that it always does. A fresh server per page: the bug only shows before any page ran."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Browsing, running_app
from tests.e2e.journey import NAV, TIMEOUT_MS, heading

pytestmark = pytest.mark.e2e

TITLES = ["Login", "Chat", "Credentials", "Inspect", "Policies", "Setup"]


@pytest.mark.parametrize(("path", "title"), [("/chat", "Chat"), ("/credentials", "Credentials"),
                                             ("/inspect", "Inspect"), ("/policies", "Policies"),
                                             ("/setup", "Setup")])
def test_a_deep_link_opened_first_draws_the_apps_navigation(path: str, title: str, tmp_path: Path,
                                                            browsing: Browsing) -> None:
    with running_app(tmp_path) as server:
        page = browsing.context("visitor").new_page()
        page.goto(f"{server.url}{path}")

        expect(heading(page, title)).to_be_visible(timeout=TIMEOUT_MS)
        nav = page.locator(NAV)
        expect(nav.get_by_role("link")).to_have_count(len(TITLES), timeout=TIMEOUT_MS)
        for name in TITLES:  # the app's titles, not Streamlit's file list ("app", "chat", … in lowercase)
            expect(nav.get_by_role("link", name=name, exact=True)).to_be_visible(timeout=TIMEOUT_MS)
        expect(nav.get_by_role("link", name="app", exact=True)).to_have_count(0)
        assert page.title() == "Agent Identity Dashboard"  # the entry script's page config ran

"""The Policies page in a real browser: alice provisions through Setup, signs in, tries bob's createOrder in alice's
name (denied by the starter policies), edits bob's policy on the page, and the same request is then allowed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.e2e import journey as j
from tests.e2e.conftest import AppServer, Browsing

pytestmark = pytest.mark.e2e

BOB_POLICY = "bob-orders-for-himself"


def _card(page: Page, policy: str) -> Locator:
    """One policy's bordered box: its name, Edit and Delete, and its statement or editor."""
    return page.locator(f"{j.MAIN} .st-key-policies-card-{policy}")


def _choose(page: Page, key: str, option: str) -> None:
    """Pick an option of the select box with widget key `key`: open its list, click the option, and wait for the
    box to show it."""
    box = page.locator(f"{j.MAIN} .st-key-{key}")
    box.scroll_into_view_if_needed()  # Streamlit draws a placeholder for a widget until it scrolls into view
    combobox = box.get_by_role("combobox")
    expect(combobox).to_be_visible(timeout=j.TIMEOUT_MS)
    j.click(page, combobox)
    choice = page.get_by_role("option", name=option, exact=True)
    expect(choice).to_be_visible(timeout=j.TIMEOUT_MS)
    choice.click()
    expect(combobox).to_have_value(option, timeout=j.TIMEOUT_MS)
    j.settle(page)


def _try(page: Page) -> Locator:
    """Press Try it; the verdict's paragraph."""
    j.click(page, j.button(page, "Try it"))
    verdict = page.locator(j.MAIN).get_by_text(re.compile(r"^(Allow|Deny): "))
    expect(verdict).to_be_visible(timeout=j.TIMEOUT_MS)
    return verdict


def test_an_edited_policy_changes_what_try_a_request_answers(app_server: AppServer, browsing: Browsing) -> None:
    page = j.open_app(browsing.context("alice"), app_server.url)
    j.provision(page)
    j.sign_in(page, j.ALICE)
    j.open_page(page, "Policies")
    main = page.locator(j.MAIN)
    expect(main.get_by_text(re.compile(r"^Policy set orders-\w+ is bound to the AI Gateway"))).to_be_visible(
        timeout=j.TIMEOUT_MS)
    card = _card(page, BOB_POLICY)
    expect(card.locator("code")).to_contain_text('context.input.customer_name == "Bob Li"')

    _choose(page, "policies_try_user", "bob (Bob Li)")  # createOrder with its default: an order in Alice Chen's name
    expect(_try(page)).to_have_text(re.compile(r"^Deny: no policy permits it"), timeout=j.TIMEOUT_MS)

    j.click(page, j.button(card, "Edit"))
    statement = card.get_by_label("Cedar statement")
    expect(statement).to_be_visible(timeout=j.TIMEOUT_MS)
    statement.fill(statement.input_value().replace('"Bob Li"', '"Alice Chen"'))
    j.click(page, j.button(card, "Save"))
    expect(main.get_by_text(f"Saved the policy {BOB_POLICY}", exact=False)).to_be_visible(timeout=j.TIMEOUT_MS)
    expect(card.locator("code")).to_contain_text('context.input.customer_name == "Alice Chen"')

    expect(_try(page)).to_have_text(re.compile(rf"^Allow: permitted by {BOB_POLICY}\."), timeout=j.TIMEOUT_MS)

"""Page objects for the browser journey: what a person does in the app, each step waiting (bounded) for what the
page then shows. Locators follow what Streamlit draws: the sidebar navigation, `st.button` labels after their
Material icon, streamlit-oauth's component iframe, and localcloud's plain HTML sign-in pages.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import BrowserContext, Locator, Page, Response, expect

TIMEOUT_MS = 15_000          # one rerun of a page, a redirect chain, a popup
ACTION_TIMEOUT_MS = 90_000   # Provision and Clear call every service once per step
PASSWORD = "demo"            # localcloud's demo users (LOCALCLOUD_DEMO_PASSWORD's default)

NAV = "[data-testid='stSidebarNav']"
MAIN = "main"  # its test id changes on a page with a chat input (stMain → stAppScrollToBottomContainer)
SIGN_IN_FRAME = "iframe[title^='streamlit_oauth']"
SIGN_IN_BUTTON = "Sign in with Alibaba Cloud"
USERNAME = "input[name=username]"
APPROVE = "button[name=decision][value=approve]"

# Rows of the Credentials page (provider · kind), with the sample's provider names (config.yml).
API_KEY_ROW = "test-provider-api-key · API key"
STS_ROW = "workload RAM role · STS"
MCP_ROW = "test-provider-for-mcp-oauth · OAuth2"
DINGTALK_ROW = "test-provider-for-dingtalk · OAuth2"
MCP_PROVIDER, DINGTALK_PROVIDER = "test-provider-for-mcp-oauth", "test-provider-for-dingtalk"
CONNECTED, NOT_CONNECTED, PENDING = "connected", "not connected", "consent pending"

# A JWT anywhere in a page: three base64url parts, the first starting like every JSON header does.
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")


@dataclass(frozen=True)
class DemoUser:
    """One of localcloud's seeded users."""

    username: str
    name: str


ALICE = DemoUser("alice", "Alice Chen")
BOB = DemoUser("bob", "Bob Li")


# -- timing -----------------------------------------------------------------------------------------------------
@dataclass
class Steps:
    """The journey's steps with their durations; a failure names the step it happened in."""

    timings: list[tuple[str, float]] = field(default_factory=list)

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        except BaseException as error:
            error.add_note(f"journey step: {name}")
            raise
        self.timings.append((name, time.monotonic() - started))

    def report(self) -> str:
        lines = [f"{seconds:6.1f} s  {name}" for name, seconds in self.timings]
        return "\n".join([*lines, f"{sum(s for _, s in self.timings):6.1f} s  total"])


# -- the app's chrome ---------------------------------------------------------------------------------------------
def button(scope: Page | Locator, label: str) -> Locator:
    """An `st.button` by its label; its accessible name starts with the icon's ligature ("link Connect")."""
    return scope.get_by_role("button", name=re.compile(rf"(^|\s){re.escape(label)}$"))


def settle(page: Page) -> None:
    """Wait until the page's script run is over: a run still drawing moves elements under the mouse."""
    app = page.locator("[data-testid='stApp']")
    expect(app).to_have_attribute("data-test-connection-state", "CONNECTED", timeout=TIMEOUT_MS)
    expect(app).to_have_attribute("data-test-script-state", "notRunning", timeout=TIMEOUT_MS)


def click(page: Page, target: Locator) -> None:
    """Click once the page has settled (a click during a run can land on a neighbour that slid under it)."""
    settle(page)
    target.click()


def heading(page: Page, title: str) -> Locator:
    return page.locator(MAIN).get_by_role("heading", name=title, exact=True, level=1)


def open_app(context: BrowserContext, url: str) -> Page:
    """A new tab on the app's start page (Login), through the same URL a person types."""
    page = context.new_page()
    page.goto(f"{url}/")
    expect(heading(page, "Login")).to_be_visible(timeout=TIMEOUT_MS)
    return page


def open_page(page: Page, title: str) -> None:
    """Switch pages through the sidebar navigation, as a person does."""
    page.locator(NAV).get_by_role("link", name=title, exact=True).click()
    expect(heading(page, title)).to_be_visible(timeout=TIMEOUT_MS)


# -- Setup -----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StepRow:
    """One row of the Setup page's table."""

    step: str
    resource: str
    status: str


def _column(page: Page, index: int) -> Locator:
    """A column of the page's data frame: the grid keeps an accessible copy of its cells in the DOM."""
    return page.locator(f"{MAIN} [data-testid='stDataFrame'] [role='gridcell'][aria-colindex='{index + 1}']")


def setup_table(page: Page, statuses: str, rows: int) -> list[StepRow]:
    """The Setup table once it has `rows` rows whose statuses all match `statuses` (a regex).

    Waiting for the statuses, not just for a table, lets the previous action's table be replaced first.
    """
    expect(_column(page, 2)).to_have_text([re.compile(rf"(?:{statuses})$")] * rows, timeout=TIMEOUT_MS)
    steps, resources, states = (_column(page, i).all_inner_texts() for i in range(3))
    return [StepRow(s, r, status.split(" ", 1)[-1]) for s, r, status in zip(steps, resources, states, strict=True)]


def _summary(page: Page, action: str, timeout: float) -> dict[str, int]:
    """The action's 'finished' line as counts per status, e.g. {'created': 10, 'kept': 1}."""
    line = page.locator(MAIN).get_by_text(re.compile(rf"^{action} finished: "))
    expect(line).to_be_visible(timeout=timeout)
    counts = re.findall(r"(\d+) ([a-z ]+?)(?=,|\.$)", line.inner_text().split(": ", 1)[1])
    return {status: int(n) for n, status in counts}


def provision(page: Page) -> tuple[dict[str, int], list[StepRow]]:
    """Setup → Provision; the summary counts and the table once it shows them."""
    open_page(page, "Setup")
    click(page, button(page, "Provision"))
    counts = _summary(page, "Provision", ACTION_TIMEOUT_MS)
    return counts, setup_table(page, "|".join(counts), sum(counts.values()))


def clear(page: Page) -> tuple[str, dict[str, int], list[StepRow]]:
    """Setup → Clear → its confirmation; what the confirmation said, the summary and the table."""
    open_page(page, "Setup")
    click(page, button(page, "Clear"))
    warning = page.locator(MAIN).get_by_text(re.compile(r"^Clear deletes the \d+ resources"))
    expect(warning).to_be_visible(timeout=TIMEOUT_MS)
    question = warning.inner_text()
    click(page, button(page, "Yes, delete them"))
    counts = _summary(page, "Clear", ACTION_TIMEOUT_MS)
    return question, counts, setup_table(page, "|".join(counts), sum(counts.values()))


def plan(page: Page, rows: int) -> list[StepRow]:
    """Setup → Plan: what exists and what would be created."""
    click(page, button(page, "Plan"))
    _summary(page, "Plan", TIMEOUT_MS)
    return setup_table(page, "create|keep|drift|needs input", rows)


# -- signing in at localcloud's provider pages -----------------------------------------------------------------------
def approve_at_provider(tab: Page, user: DemoUser) -> None:
    """At a provider's sign-in page: sign in as `user` (switching user if someone else is), then press Allow."""
    expect(tab.locator(f"{USERNAME}, {APPROVE}").first).to_be_visible(timeout=TIMEOUT_MS)
    if tab.locator(APPROVE).is_visible() and f"({user.username})" not in _consenting_user(tab):
        tab.get_by_role("link", name="not you?").click()  # the realm remembers the last sign-in of this browser
        expect(tab.locator(USERNAME)).to_be_visible(timeout=TIMEOUT_MS)
    if tab.locator(USERNAME).is_visible():
        tab.locator(USERNAME).fill(user.username)
        tab.locator("input[name=password]").fill(PASSWORD)
        tab.locator("input[name=password]").press("Enter")
    expect(tab.locator("p", has_text="Signed in as")).to_contain_text(f"({user.username})", timeout=TIMEOUT_MS)
    tab.locator(APPROVE).click()


def _consenting_user(tab: Page) -> str:
    return tab.locator("p", has_text="Signed in as").inner_text()


def _route(path: str) -> Callable[[Response], bool]:
    return lambda response: urlsplit(response.url).path == path


def sign_in(page: Page, user: DemoUser, *, asks_password: bool = False) -> None:
    """Login → the streamlit-oauth popup → localcloud's login and consent forms → signed in as `user`, and the
    browser holds the login cookie (the page has it set by loading `/auth/session` once it shows the user).
    `asks_password`: the sign-in server must not remember anyone (a sign-out ended its session too)."""
    open_page(page, "Login")
    sign_in_button = page.frame_locator(SIGN_IN_FRAME).first.get_by_role("button", name=SIGN_IN_BUTTON)
    expect(sign_in_button).to_be_visible(timeout=TIMEOUT_MS)
    settle(page)
    with page.expect_response(_route("/auth/session"), timeout=TIMEOUT_MS) as cookie_set:
        with page.expect_popup(timeout=TIMEOUT_MS) as popup:
            sign_in_button.click()
        if asks_password:
            expect(popup.value.locator(USERNAME)).to_be_visible(timeout=TIMEOUT_MS)
            expect(popup.value.locator(APPROVE)).to_have_count(0)
        approve_at_provider(popup.value, user)
        expect_signed_in(page, user)
    assert cookie_set.value.status == 204
    cookie_set.value.finished()  # a reload right after this must find the cookie


def expect_signed_in(page: Page, user: DemoUser) -> None:
    expect(page.locator(MAIN).get_by_text(f"Signed in as {user.name}")).to_be_visible(timeout=TIMEOUT_MS)


def sign_out(page: Page) -> None:
    """Login → Sign out; the sign-in button is back and the browser has dropped the login cookie."""
    open_page(page, "Login")
    with page.expect_response(_route("/auth/logout"), timeout=TIMEOUT_MS) as cookie_cleared:
        click(page, button(page, "Sign out"))
        sign_in_button = page.frame_locator(SIGN_IN_FRAME).first.get_by_role("button", name=SIGN_IN_BUTTON)
        expect(sign_in_button).to_be_visible(timeout=TIMEOUT_MS)
    cookie_cleared.value.finished()
    assert "aid_session" not in {cookie["name"] for cookie in page.context.cookies()}


# -- Credentials ---------------------------------------------------------------------------------------------------
def open_credentials(page: Page) -> None:
    """The Credentials page, drawn to its end."""
    open_page(page, "Credentials")
    _drawn_to_the_end(page)


def expect_signed_in_on_credentials(page: Page) -> None:
    """After a reload of the Credentials page: drawn to its end for a signed-in user."""
    expect(heading(page, "Credentials")).to_be_visible(timeout=TIMEOUT_MS)
    _drawn_to_the_end(page)


def _drawn_to_the_end(page: Page) -> None:
    # Its last section, then the end of the run: checks that something is absent mean nothing before that.
    expect(page.locator(MAIN).get_by_role("heading", name="Activity")).to_be_visible(timeout=TIMEOUT_MS)
    settle(page)


def credential_row(page: Page, row: str) -> Locator:
    """One credential's line: 'provider · kind · status' and its Connect / Refresh / Disconnect buttons."""
    return page.locator(f"{MAIN} [data-testid='stHorizontalBlock']", has_text=f"{row} · ")


def expect_status(page: Page, row: str, status: str) -> None:
    caption = credential_row(page, row).locator("[data-testid='stMarkdownContainer']").first
    expect(caption).to_have_text(re.compile(rf"^{re.escape(row)} · \S+ {re.escape(status)}$"), timeout=TIMEOUT_MS)


def press(page: Page, row: str, action: str) -> None:
    """A row's button: Connect, Refresh or Disconnect."""
    click(page, button(credential_row(page, row), action))


def _authorize_links(page: Page, provider: str) -> Locator:
    consent = page.locator(f"{MAIN} [data-testid='stHorizontalBlock']", has_text=f"{provider} asks for")
    return consent.get_by_role("link", name=re.compile(r"Authorize$"))


def authorize_link(page: Page, provider: str) -> Locator:
    """The Authorize link button of the user's pending consent for `provider`."""
    link = _authorize_links(page, provider)
    expect(link).to_be_visible(timeout=TIMEOUT_MS)
    return link


def authorize(page: Page, provider: str, user: DemoUser) -> Page:
    """Authorize opens the provider in a new tab; approve there. The tab, on the app's `/callback` page."""
    link = authorize_link(page, provider)
    settle(page)
    with page.expect_popup(timeout=TIMEOUT_MS) as opened:
        link.click()
    tab = opened.value
    approve_at_provider(tab, user)
    expect(tab.get_by_role("heading", name="Connected")).to_be_visible(timeout=TIMEOUT_MS)
    return tab


def check_again(page: Page) -> None:
    click(page, button(page, "Check again"))


def connect_with_consent(page: Page, row: str, provider: str, user: DemoUser, action: str = "Connect") -> None:
    """Connect (or Refresh) an OAuth2 row: the consent, the provider's page in a new tab, then the row turns
    connected."""
    shown = _authorize_links(page, provider)
    superseded = shown.get_attribute("href") if shown.count() else None
    press(page, row, action)
    expect_status(page, row, PENDING)
    if superseded:  # the old link stays on screen until the rerun replaces it, and it may be spent already
        expect(shown).not_to_have_attribute("href", superseded, timeout=TIMEOUT_MS)
    authorize(page, provider, user).close()
    check_again(page)  # the page learns of the completed consent on its next run
    expect_status(page, row, CONNECTED)


def open_consent_link(tab: Page, url: str, user: DemoUser) -> Response:
    """Someone opens a consent link and approves at the provider; the app's `/callback` answer."""
    tab.goto(url)
    with tab.expect_response(_route("/callback"), timeout=TIMEOUT_MS) as answer:
        approve_at_provider(tab, user)
    return answer.value


# -- Chat ------------------------------------------------------------------------------------------------------------
MESSAGES = f"{MAIN} [data-testid='stChatMessage']"
TURN_TIMEOUT_MS = 30_000  # one agent turn: the model, the credential calls and the tool


def messages(page: Page) -> Locator:
    return page.locator(MESSAGES)


def open_chat(page: Page) -> None:
    open_page(page, "Chat")
    settle(page)


def ask_example(page: Page, prompt: str) -> Locator:
    """Press an example-prompt button; the assistant's bubble of the turn it starts."""
    before = messages(page).count()
    click(page, page.locator(MAIN).get_by_role("button", name=prompt, exact=True))
    expect(messages(page)).to_have_count(before + 2, timeout=TURN_TIMEOUT_MS)  # the prompt, then the answer
    expect(messages(page).nth(before)).to_contain_text(prompt)
    return messages(page).nth(before + 1)


def ask(page: Page, prompt: str) -> Locator:
    """Type a prompt into the chat input and send it; the assistant's bubble of the turn it starts."""
    before = messages(page).count()
    settle(page)
    box = page.locator(f"{MAIN} [data-testid='stChatInputTextArea']")
    box.fill(prompt)
    box.press("Enter")
    expect(messages(page)).to_have_count(before + 2, timeout=TURN_TIMEOUT_MS)  # the prompt, then the answer
    expect(messages(page).nth(before)).to_contain_text(prompt)
    return messages(page).nth(before + 1)


def expect_tool_card(bubble: Locator, label: str) -> None:
    """The tool card 'tool · credential kind from provider · ok · N ms'."""
    card = bubble.get_by_text(re.compile(rf"^{re.escape(label)} · ok · \d+ ms$"))
    expect(card).to_be_visible(timeout=TURN_TIMEOUT_MS)


def expect_consent_card(bubble: Locator, provider: str) -> None:
    """The turn's inline consent card: the provider it asks for, its Authorize button, the waiting countdown."""
    expect(bubble.get_by_text(re.compile(rf"needs your approval at {re.escape(provider)} "))).to_be_visible(
        timeout=TURN_TIMEOUT_MS)
    expect(bubble.get_by_role("link", name=re.compile(r"Authorize$"))).to_be_visible(timeout=TIMEOUT_MS)
    expect(bubble.get_by_text("Waiting for your approval")).to_be_visible(timeout=TIMEOUT_MS)


def approve_consent_card(page: Page, bubble: Locator, provider: str, user: DemoUser) -> None:
    """Authorize on the consent card opens the provider in a new tab; once approved there, the card says
    connected. The page is not touched meanwhile: the turn goes on by itself."""
    expect_consent_card(bubble, provider)
    link = bubble.get_by_role("link", name=re.compile(r"Authorize$"))
    with page.expect_popup(timeout=TIMEOUT_MS) as opened:
        link.click()  # no settle(): the run is waiting for exactly this approval
    tab = opened.value
    approve_at_provider(tab, user)
    expect(tab.get_by_role("heading", name="Connected")).to_be_visible(timeout=TIMEOUT_MS)
    tab.close()
    expect(bubble.get_by_text(f"{provider}: connected")).to_be_visible(timeout=TURN_TIMEOUT_MS)


def chat_buttons(page: Page) -> Locator:
    """The sidebar's buttons that open one of the user's chats."""
    return page.locator("[data-testid='stSidebar'] [class*='st-key-chat_open_'] button")


# -- what must never reach a page -------------------------------------------------------------------------------
_SECRET_FIELDS = frozenset({"APIKey", "ClientSecret", "access_token", "refresh_token"})


def _secret_fields(document: object) -> Iterator[str]:
    """Values of secret-named fields anywhere in a stored document (provider configs, the token vault)."""
    if isinstance(document, dict):
        for name, value in document.items():
            if name in _SECRET_FIELDS and isinstance(value, str):
                yield value
            else:
                yield from _secret_fields(value)
    elif isinstance(document, list):
        for value in document:
            yield from _secret_fields(value)


def stored_secrets(localcloud_dir: Path) -> set[str]:
    """Every secret localcloud holds (API key, client secrets, vaulted tokens, access keys, STS tokens), read-only."""
    uri = f"file:{localcloud_dir / 'localcloud.sqlite3'}?mode=ro"
    db = sqlite3.connect(uri, uri=True)
    try:
        documents = [json.loads(row[0]) for row in db.execute("SELECT data FROM resources")]
        keys = db.execute("SELECT secret, security_token FROM access_keys").fetchall()
    finally:
        db.close()
    values = {value for document in documents for value in _secret_fields(document)}
    values |= {value for pair in keys for value in pair if value}
    return {value for value in values if len(value) >= 12}  # shorter strings would match by chance


def leaked_values(html: str, secrets: set[str]) -> list[str]:
    """JWTs and known secrets found in a page's HTML, shortened so a failure message does not leak them either."""
    found = JWT.findall(html) + [secret for secret in secrets if secret in html]
    return [f"{value[:6]}…({len(value)} chars)" for value in found]

"""The whole demo in a real browser: Setup → Provision, sign-in through the popup, the six example prompts in Chat
with inline consent, Credentials, a second user who sees nothing of the first and cannot finish her consent,
sign-out, Setup → Clear.

Every step asserts what the page shows. On failure, every open page is saved under `test-artifacts/e2e/<test>/`
(the folder is printed); on success the Chat and Credentials pages are saved there too. `UPDATE_DOC_SCREENSHOTS=1`
also refreshes the README's screenshots in `docs/` (off by default, so a test run leaves the work tree clean).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import BrowserContext, Locator, Page, expect

from lab.attacks import SCENARIOS
from tests.conftest import repo_root
from tests.e2e import journey as j
from tests.e2e.conftest import AppServer, Browsing, require_chromium

DOCS = repo_root() / "docs"
ATTACKS = SCENARIOS  # the attack lab's scenarios: Run all must show each one blocked
CALLER_IDENTITY = "Caller identity"  # a read of the account id: Provision keeps it, Clear finds nothing to delete


@dataclass(frozen=True)
class Example:
    """One of the Chat page's example prompts, the tool card it must show and what of the tool's data the answer
    must carry (localcloud's seeded data)."""

    prompt: str
    card: str
    answer: str
    consent: str | None = None  # the provider whose consent this turn asks for first


EXAMPLES = (
    Example("What's the weather in Beijing?", "weather_search · API key from test-provider-api-key",
            "30 degrees and sunny"),
    Example("What's on my schedule today?", "get_schedule · STS from workload RAM role", "Opening meeting"),
    Example("What time is it in Shanghai?", "get_current_time · OAuth2 from test-provider-for-mcp-oauth",
            "Asia/Shanghai", consent=j.MCP_PROVIDER),
    Example("List my ECS instances", "list_ecs_instances · OAuth2 from test-provider-for-mcp-oauth", "agent-web-01"),
    Example("Read docs/welcome.md from OSS", "read_oss_object · STS from workload RAM role", "served by localcloud"),
    Example("Write 'Agent Identity demo notes' to my DingTalk document",
            "write_dingtalk_document · OAuth2 from test-provider-for-dingtalk", "DingTalk document",
            consent=j.DINGTALK_PROVIDER),
)


# -- steps -------------------------------------------------------------------------------------------------------
def _provision_everything(page: Page) -> int:
    """Setup → Provision on a fresh local cloud: every resource created. The number of steps."""
    counts, rows = j.provision(page)
    assert set(counts) == {"created", "kept"}, counts
    for row in rows:
        assert row.status == ("kept" if row.step.startswith(CALLER_IDENTITY) else "created"), row
    assert {"test-provider-for-mcp-oauth", "test-provider-for-dingtalk", "test-provider-api-key"} <= {
        row.resource for row in rows}
    return len(rows)


def _sign_in_survives_a_reload(page: Page, user: j.DemoUser) -> None:
    j.sign_in(page, user)
    page.reload()  # a new Streamlit session: only the HttpOnly cookie knows who this is
    j.expect_signed_in(page, user)
    cookie = next(c for c in page.context.cookies() if c["name"] == "aid_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"


def _ask_every_example(page: Page, user: j.DemoUser) -> None:
    """Chat: each example prompt answered from its tool; a turn that needs consent shows the card, and completes
    by itself once the user approved in the provider's tab (nothing retyped: still one prompt per turn)."""
    j.open_chat(page)
    consents = 0
    for example in EXAMPLES:
        bubble = j.ask_example(page, example.prompt)
        if example.consent:
            j.expect_consent_card(bubble, example.consent)
            if consents == 0:
                _doc_screenshot(page, "chat.png", bubble, "center")  # the first consent card, waiting
            j.approve_consent_card(page, bubble, example.consent, user)
            consents += 1
        j.expect_tool_card(bubble, example.card)
        expect(bubble).to_contain_text(example.answer, timeout=j.TURN_TIMEOUT_MS)
    expect(j.messages(page)).to_have_count(2 * len(EXAMPLES))
    expect(j.chat_buttons(page)).to_have_text([EXAMPLES[0].prompt])  # one chat, named after its first prompt


def _credentials_used_are_connected(page: Page) -> None:
    j.open_credentials(page)
    for row in (j.API_KEY_ROW, j.STS_ROW, j.MCP_ROW, j.DINGTALK_ROW):
        j.expect_status(page, row, j.CONNECTED)


def _no_secret_on(page: Page, server: AppServer) -> None:
    """The page's HTML holds no JWT and none of the secrets localcloud stores (API key, tokens, keys)."""
    secrets = j.stored_secrets(server.localcloud_dir)
    assert secrets, "localcloud holds no secrets yet: this check would prove nothing"
    assert j.leaked_values(page.content(), secrets) == []


def _only_masked_values_on(page: Page, server: AppServer) -> None:
    """Credentials show fingerprints where values would be, and nothing else of them."""
    _no_secret_on(page, server)
    expect(page.locator(j.MAIN).get_by_text("sha256:").first).to_be_visible()


def _inspect_draws_flows_lifetimes_and_blocks_every_attack(page: Page, server: AppServer) -> None:
    """Inspect after the chat: the last turn's tool call drawn as a diagram, the lifetimes charted, and Run all in
    the attack lab ends with every scenario blocked; fingerprints only throughout."""
    j.open_page(page, "Inspect")
    main = page.locator(j.MAIN)
    diagram = main.locator("[data-testid='stGraphVizChart'] svg").first
    expect(diagram).to_be_visible(timeout=j.TIMEOUT_MS)
    _no_secret_on(page, server)
    _doc_screenshot(page, "inspect.png", diagram, "center")
    j.click(page, main.get_by_role("tab", name="Lifetimes"))
    expect(main.locator("[data-testid='stVegaLiteChart']").first).to_be_visible(timeout=j.TIMEOUT_MS)
    j.click(page, main.get_by_role("tab", name="Attack lab"))
    j.click(page, j.button(main, "Run all"))
    j.settle(page)
    # A badge's text follows its icon's ligature ("shield"), hence the anchored end.
    expect(main.get_by_text(re.compile(r"blocked · pass$"))).to_have_count(len(ATTACKS), timeout=4 * j.TIMEOUT_MS)
    expect(main.get_by_text(re.compile(r"blocked · fail$"))).to_have_count(0)
    _no_secret_on(page, server)


def _disconnect_and_start_a_new_consent(page: Page) -> str:
    """Disconnect the MCP token, then Connect again: a pending consent. Its Authorize URL."""
    j.press(page, j.MCP_ROW, "Disconnect")
    j.expect_status(page, j.MCP_ROW, j.NOT_CONNECTED)
    j.expect_status(page, j.DINGTALK_ROW, j.CONNECTED)
    j.press(page, j.MCP_ROW, "Connect")
    j.expect_status(page, j.MCP_ROW, j.PENDING)
    url = j.authorize_link(page, j.MCP_PROVIDER).get_attribute("href")
    assert url and "/consent/authorize?state=" in url  # the app's route, which binds the consent to this browser
    return url


def _sees_nothing_of(page: Page, other: j.DemoUser, *, first_visit: bool) -> None:
    """Chat and Credentials as another user: no chats; nothing connected, no pending consent, no trace of `other`;
    on a first visit no activity at all (later, the user's own refused consent return is in it)."""
    j.open_chat(page)
    expect(j.messages(page)).to_have_count(0)
    expect(j.chat_buttons(page)).to_have_count(0)
    j.open_credentials(page)
    for row in (j.API_KEY_ROW, j.STS_ROW, j.MCP_ROW, j.DINGTALK_ROW):
        j.expect_status(page, row, j.NOT_CONNECTED)
    main = page.locator(j.MAIN)
    expect(main.get_by_text("None: press Connect on an OAuth2 row")).to_be_visible()
    if first_visit:
        expect(main.get_by_text("No identity calls for you yet.")).to_be_visible()
    expect(main).not_to_contain_text(other.name)
    expect(main).not_to_contain_text(other.username)


def _forwarded_consent_link_fails(bob: BrowserContext, alice_page: Page, url: str) -> None:
    """Bob opens Alice's Authorize link in his browser: the app refuses before the provider, and her consent ends
    for good (a leaked link is worth nothing afterwards)."""
    tab = bob.new_page()
    answer = tab.goto(url)
    assert answer is not None and answer.status == 403
    expect(tab.get_by_role("heading", name="Cannot authorize")).to_be_visible()
    expect(tab.get_by_text("started by another user")).to_be_visible()
    alice_page.reload()  # a new session draws the server's state, not what her page showed before
    j.expect_signed_in_on_credentials(alice_page)
    j.expect_status(alice_page, j.MCP_ROW, j.NOT_CONNECTED)


def _owner_reconnects_on_credentials(page: Page, user: j.DemoUser) -> None:
    """Her link was spent on Bob: Connect starts a fresh consent, which she approves from the Credentials page."""
    j.connect_with_consent(page, j.MCP_ROW, j.MCP_PROVIDER, user)


def _sign_out_then_the_next_user(page: Page, previous: j.DemoUser, user: j.DemoUser) -> None:
    """Sign out in this browser; pages ask to sign in; the next user signs in here and sees nothing of before."""
    j.sign_out(page)
    j.open_page(page, "Credentials")
    expect(page.locator(j.MAIN).get_by_text("Please sign in to use this page.")).to_be_visible()
    j.sign_in(page, user, asks_password=True)  # the sign-out ended the sign-in server's session too
    _sees_nothing_of(page, previous, first_visit=False)


def _setup_is_read_only_for(page: Page) -> None:
    """Someone who is no administrator sees Plan, and Provision and Clear disabled with the reason."""
    j.open_page(page, "Setup")
    main = page.locator(j.MAIN)
    expect(main.get_by_text("only an administrator may change it")).to_be_visible()
    expect(j.button(page, "Clear")).to_be_disabled()
    expect(j.button(page, "Provision")).to_be_disabled()


def _clear_removes_everything(page: Page, server: AppServer, steps: int) -> None:
    """Setup → Clear, confirmed: every created resource deleted, the record gone, Plan would create them again."""
    question, counts, rows = j.clear(page)
    assert f"Clear deletes the {steps - 1} resources" in question
    assert counts == {"deleted": steps - 1, "absent": 1}, counts
    for row in rows:
        assert row.status == ("absent" if row.step.startswith(CALLER_IDENTITY) else "deleted"), row
    assert not server.config_json.exists()
    for row in j.plan(page, steps):
        assert row.status == ("keep" if row.step.startswith(CALLER_IDENTITY) else "create"), row


# -- screenshots for the README -------------------------------------------------------------------------------------
def _doc_screenshot(page: Page, name: str, show: Locator, where: str = "start") -> None:
    """Refresh docs/<name> when asked (UPDATE_DOC_SCREENSHOTS=1): the viewport with `show` scrolled to `where`
    (start, center), as a small palette PNG."""
    if os.environ.get("UPDATE_DOC_SCREENSHOTS") != "1":
        return
    show.evaluate("(element, where) => element.scrollIntoView({block: where})", where)
    path = DOCS / name
    path.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(path))
    with Image.open(path) as shot:
        small = shot.convert("RGB").quantize(colors=128)
    small.save(path, optimize=True)


# -- the journey --------------------------------------------------------------------------------------------------
@pytest.mark.e2e
def test_two_users_journey_from_provision_to_clear(app_server: AppServer, browsing: Browsing) -> None:
    steps = j.Steps()
    alice_browser = browsing.context("alice")
    with steps("Setup → Provision"):
        alice = j.open_app(alice_browser, app_server.url)
        resources = _provision_everything(alice)
    with steps("Login as alice through the popup; a reload keeps her signed in"):
        _sign_in_survives_a_reload(alice, j.ALICE)
    with steps("Chat: the six example prompts, two inline consents"):
        _ask_every_example(alice, j.ALICE)
        _no_secret_on(alice, app_server)
        browsing.save(alice, "journey-chat.png")
    with steps("Inspect: the tool call's flow, every lifetime, the attack lab blocks all six attacks"):
        _inspect_draws_flows_lifetimes_and_blocks_every_attack(alice, app_server)
        browsing.save(alice, "journey-inspect.png")
    with steps("Credentials: what the chat used is connected, masked values only"):
        _credentials_used_are_connected(alice)
        _only_masked_values_on(alice, app_server)
        _doc_screenshot(alice, "credentials.png", alice.get_by_role("heading", name="Credentials the tools use"))
    with steps("Credentials: disconnect MCP, start a new consent"):
        consent_url = _disconnect_and_start_a_new_consent(alice)
    with steps("bob, in his own browser, sees nothing of alice's"):
        bob_browser = browsing.context("bob")
        bob = j.open_app(bob_browser, app_server.url)
        j.sign_in(bob, j.BOB)
        _sees_nothing_of(bob, j.ALICE, first_visit=True)
    with steps("bob cannot use alice's Authorize link (403); her consent ends"):
        _forwarded_consent_link_fails(bob_browser, alice, consent_url)
    with steps("alice reconnects MCP from the Credentials page"):
        _owner_reconnects_on_credentials(alice, j.ALICE)
        _only_masked_values_on(alice, app_server)
        browsing.save(alice, "journey-credentials.png")
    with steps("alice signs out; bob signs in on the same browser and sees nothing of hers"):
        _sign_out_then_the_next_user(alice, j.ALICE, j.BOB)
    with steps("bob sees Setup read-only; alice, the administrator, signs in again: Setup → Clear, confirmed"):
        _setup_is_read_only_for(alice)
        j.sign_out(alice)
        j.sign_in(alice, j.ALICE, asks_password=True)
        _clear_removes_everything(alice, app_server, resources)
    browsing.write("steps.txt", steps.report() + "\n")
    print(f"\n{steps.report()}\nscreenshots: {browsing.artifacts}")


def test_browser_tests_fail_not_skip_without_chromium(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match=r"apt-get install -y chromium"):
        require_chromium(tmp_path / "no-chromium")


def test_the_readme_shows_the_journeys_screenshots() -> None:
    readme = (repo_root() / "README.md").read_text()
    for name in ("chat.png", "credentials.png", "inspect.png"):
        assert f"](docs/{name})" in readme
        assert (DOCS / name).is_file() and (DOCS / name).stat().st_size < 100_000, f"docs/{name} missing or large"


def test_the_leak_check_finds_a_jwt_and_a_stored_secret() -> None:
    jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVl"
    page = f"<p>token {jwt}</p><td>key tRQvIiC2hhHbXYZ</td><td>sha256:e12913d533</td>"

    assert len(j.leaked_values(page, {"tRQvIiC2hhHbXYZ"})) == 2
    assert j.leaked_values("<td>sha256:e12913d533</td>", {"tRQvIiC2hhHbXYZ"}) == []

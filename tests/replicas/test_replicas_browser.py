"""Two replicas behind deploy/nginx.conf, one PostgreSQL database, and a real browser: what a person does must not
notice which replica answers.

One journey in Chromium, all through nginx unless said otherwise:
1. Setup → Provision, then the Login popup (its `/lc/…` and `/auth/…` requests land on whichever replica nginx picks).
2. Chat on the replica holding the websocket (W, read from the sidebar): the DingTalk prompt asks for consent; the
   provider's return to `/callback` is steered to the other replica (O), which completes the consent, and the
   turn waiting on W resumes and writes the document.
3. Disconnect on O's own URL holds on W: asking again on W shows a consent card, not the document.
4. W stops with that consent still pending: a reload through nginx is served by O, alice is still signed in, her
   chat and its messages are there, and the pending consent still completes.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from playwright.sync_api import Page, Request, Response, Route, expect

from tests.e2e import conftest as e2e
from tests.e2e import journey as j
from tests.e2e.conftest import Browsing
from tests.replicas.harness import Replica, ReplicaSet, replica_set

DINGTALK_PROMPT = "Write 'Agent Identity demo notes' to my DingTalk document"
DINGTALK_CARD = "write_dingtalk_document · OAuth2 from test-provider-for-dingtalk"
DINGTALK_ANSWER = "DingTalk document"
SIDEBAR = "[data-testid='stSidebar']"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_REPLICA_CAPTION = re.compile(r"^Replica ([A-Z]) · state in (\w+)$")  # no named groups: the browser runs it too

# The browser tests' fixtures (Chromium, failing without it; per-user contexts); tests/e2e/conftest.py's screenshot
# hook covers its own folder only, so this test saves its evidence itself (keep_evidence).
chromium = e2e.chromium
browsing = e2e.browsing


@pytest.fixture
def deployment(tmp_path: Path, postgres_url: str) -> Iterator[ReplicaSet]:
    with replica_set(tmp_path, replicas=2, database_url=postgres_url) as running:
        yield running


# -- small helpers of this test ------------------------------------------------------------------------------------
def replica_name(page: Page) -> str:
    """The replica that drew the page, from the sidebar's 'Replica X · state in postgresql'."""
    caption = page.locator(SIDEBAR).get_by_text(_REPLICA_CAPTION)
    expect(caption).to_be_visible(timeout=j.TIMEOUT_MS)
    found = _REPLICA_CAPTION.match(caption.inner_text().strip())
    assert found is not None and found[2] == "postgresql", caption.inner_text()
    return found[1]


def by_name(deployment: ReplicaSet, name: str) -> Replica:
    return next(replica for replica in deployment.replicas if replica.name == name)


def other_than(deployment: ReplicaSet, name: str) -> Replica:
    return next(replica for replica in deployment.replicas if replica.name != name)


class ConsentReturnTo:
    """Steers the browser's consent return (the nginx URL's `/callback?…`) to one replica's own URL.

    Playwright routes no redirect hop, and the return is one (the provider's Allow → the identity service's callback
    → the app's `/callback`). So the provider's pages are fetched here: a redirect to the nginx `/callback` is
    answered with a 307 to the same path and query on the replica; a redirect to another provider page with a page
    that navigates there (a fresh navigation, routed again); anything else as it came. Cookies are the context's
    (route.fetch shares its cookie jar), so the provider and the replica see the same browser.
    """

    def __init__(self, deployment: ReplicaSet, replica: Replica) -> None:
        self.callback = re.compile(rf"^{re.escape(deployment.url)}/callback(\?.*)?$")
        self.app_urls = tuple(f"{url}/" for url in (deployment.url, *(member.url for member in deployment.replicas)))
        self.replica = replica
        self.redirected: list[str] = []
        self.answers: list[tuple[str, int]] = []

    def route(self, route: Route, request: Request) -> None:
        if not request.is_navigation_request() or request.url.startswith(self.app_urls):
            route.fallback()  # the app's own pages and every subresource go out untouched
            return
        response = route.fetch(max_redirects=0, timeout=j.TIMEOUT_MS)
        location = urljoin(request.url, response.headers.get("location", ""))
        if response.status in _REDIRECTS and self.callback.match(location):
            parts = urlsplit(location)
            target = f"{self.replica.url}{parts.path}" + (f"?{parts.query}" if parts.query else "")
            self.redirected.append(target)
            route.fulfill(status=307, headers={"Location": target, "Cache-Control": "no-store"})
        elif response.status in _REDIRECTS - {307, 308} and not location.startswith(self.app_urls):
            route.fulfill(status=200, content_type="text/html", headers={"Cache-Control": "no-store"},
                          body=f"<!doctype html><script>location.replace({json.dumps(location)})</script>")
        else:
            route.fulfill(response=response)

    def response(self, response: Response) -> None:
        if response.url.startswith(f"{self.replica.url}/callback"):
            self.answers.append((response.url, response.status))


def access_log_paths(deployment: ReplicaSet) -> list[str]:
    text = deployment.access_log.read_text(errors="replace") if deployment.access_log.exists() else ""
    return re.findall(r'"[A-Z]+ (\S+) HTTP', text)


def keep_evidence(deployment: ReplicaSet, browsing: Browsing) -> None:
    """On failure: a screenshot of every open page, and the replicas', localcloud's and nginx's logs beside them."""
    browsing.save_all()
    browsing.artifacts.mkdir(parents=True, exist_ok=True)
    for log in [*(replica.log for replica in deployment.replicas), deployment.root / "localcloud.log",
                deployment.access_log, deployment.access_log.with_name("error.log")]:
        if log.is_file():
            shutil.copyfile(log, browsing.artifacts / log.name)


# -- the journey ---------------------------------------------------------------------------------------------------
@pytest.mark.e2e
def test_a_browser_does_not_notice_which_replica_answers(deployment: ReplicaSet, browsing: Browsing) -> None:
    steps = j.Steps()
    context = browsing.context("alice")
    try:
        with steps("Setup → Provision and Login as alice, through nginx"):
            page = j.open_app(context, deployment.url)
            counts, _ = j.provision(page)
            assert set(counts) == {"created", "kept"}, counts
            j.sign_in(page, j.ALICE)

        with steps("Chat on W; the consent returns to O; the turn on W resumes"):
            j.open_chat(page)
            w_name = replica_name(page)
            w, o = by_name(deployment, w_name), other_than(deployment, w_name)
            bubble = j.ask_example(page, DINGTALK_PROMPT)
            j.expect_consent_card(bubble, j.DINGTALK_PROVIDER)
            steer = ConsentReturnTo(deployment, o)
            context.route("**/*", steer.route)
            context.on("response", steer.response)
            try:
                j.approve_consent_card(page, bubble, j.DINGTALK_PROVIDER, j.ALICE)
            finally:
                context.unroute("**/*", steer.route)
                context.remove_listener("response", steer.response)
            assert len(steer.redirected) == 1, steer.redirected
            assert [status for _, status in steer.answers] == [200], steer.answers  # O said "Connected"
            assert "/callback" not in {path.split("?", 1)[0] for path in access_log_paths(deployment)}
            j.expect_tool_card(bubble, DINGTALK_CARD)
            expect(bubble).to_contain_text(DINGTALK_ANSWER, timeout=j.TURN_TIMEOUT_MS)
            assert replica_name(page) == w_name  # the resumed turn was drawn by W

        with steps("Disconnect on O's own URL; asking again on W needs a new consent"):
            direct = context.new_page()
            direct.goto(f"{o.url}/credentials")
            j.expect_signed_in_on_credentials(direct)
            assert replica_name(direct) == o.name
            j.expect_status(direct, j.DINGTALK_ROW, j.CONNECTED)
            j.press(direct, j.DINGTALK_ROW, "Disconnect")
            j.expect_status(direct, j.DINGTALK_ROW, j.NOT_CONNECTED)
            direct.close()
            page.bring_to_front()
            again = j.ask_example(page, DINGTALK_PROMPT)
            assert replica_name(page) == w_name
            j.expect_consent_card(again, j.DINGTALK_PROVIDER)
            expect(again.get_by_text(re.compile(r" · ok · \d+ ms$"))).to_have_count(0)  # no tool ran

        with steps("W stops with the consent pending; a reload is served by O and loses nothing"):
            w.stop()
            page.reload()
            expect(j.heading(page, "Chat")).to_be_visible(timeout=j.TIMEOUT_MS)
            j.settle(page)
            assert replica_name(page) == o.name
            expect(j.chat_buttons(page)).to_have_text([DINGTALK_PROMPT])
            expect(j.messages(page).nth(0)).to_contain_text(DINGTALK_PROMPT)
            expect(j.messages(page).nth(1)).to_contain_text(DINGTALK_ANSWER)
            j.open_page(page, "Login")
            j.expect_signed_in(page, j.ALICE)
            j.open_credentials(page)
            j.expect_status(page, j.DINGTALK_ROW, j.PENDING)
            j.authorize(page, j.DINGTALK_PROVIDER, j.ALICE).close()
            j.check_again(page)
            j.expect_status(page, j.DINGTALK_ROW, j.CONNECTED)
            assert replica_name(page) == o.name
    except BaseException:
        keep_evidence(deployment, browsing)
        print(f"\nScreenshots and logs: {browsing.artifacts}")
        raise
    browsing.write("steps.txt", steps.report() + "\n")
    print(f"\n{steps.report()}")

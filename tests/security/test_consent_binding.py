"""Case 1, consent binding: a consent return completes only the consent its signed-in user started, once.

Each test drives localcloud's real consent pages with a scripted browser and lands on the app's real `/callback`
route over HTTP (the broker tests' `BrokerApp`). A refused return gets a 4xx page saying nothing was completed, the
consent stays as it was, Agent Identity is never asked to complete it, and the refusal is in the activity log.
"""

from __future__ import annotations

from urllib.parse import urlencode

import httpx
import pytest

from identity.broker import ConsentRequired
from identity.broker.routes import authorize_link
from lab.browser import Browser, query_of
from tests.identity.broker import test_broker as broker_tests
from tests.identity.broker.test_broker import authorize, sign_in
from tests.security.binding_support import DINGTALK, approve, calls_since, refusals, start_consent

# The broker tests' fixture, by reference: a provisioned localcloud and the app's real /callback over HTTP.
broker_app = broker_tests.broker_app
COMPLETE = "CompleteResourceTokenAuth"


def _callback(app_url: str, **query: str) -> str:
    return f"{app_url}/callback?{urlencode(query)}"


def _tampered(state: str) -> str:
    """The same state with its last character changed: what a user editing the link would send."""
    return state[:-1] + ("A" if state[-1] != "A" else "B")


def test_a_replayed_return_after_completion_is_409_and_logged(broker_app):
    alice, browser = sign_in(broker_app, "alice")
    consent = start_consent(broker_app, alice)
    landed = approve(broker_app, browser, consent, "alice")
    assert browser.get(landed).status_code == 200  # the genuine return completes it
    before = broker_app.cloud.request_counts()

    replay = browser.get(landed)

    assert replay.status_code == 409 and "already completed" in replay.text and "Nothing was completed" in replay.text
    assert COMPLETE not in calls_since(broker_app, before)
    assert refusals(broker_app, "alice")[0] == "consent already completed"


def test_a_tampered_state_matches_no_consent_and_completes_nothing(broker_app):
    alice, browser = sign_in(broker_app, "alice")
    consent = start_consent(broker_app, alice)
    back = query_of(approve(broker_app, browser, consent, "alice"))
    before = broker_app.cloud.request_counts()

    page = browser.get(_callback(broker_app.url, state=_tampered(back["state"]), session_uri=back["session_uri"]))

    assert page.status_code == 404 and "Nothing was completed" in page.text
    assert broker_app.broker.consents.get(consent.state).status == "pending"
    assert COMPLETE not in calls_since(broker_app, before)
    assert refusals(broker_app, "alice") == ["unknown state"]


def test_alices_state_with_another_of_her_consents_session_is_refused(broker_app):
    alice, browser = sign_in(broker_app, "alice")
    mcp, dingtalk = start_consent(broker_app, alice), start_consent(broker_app, alice, DINGTALK)
    approve(broker_app, browser, mcp, "alice")
    before = broker_app.cloud.request_counts()

    page = browser.get(_callback(broker_app.url, state=mcp.state, session_uri=dingtalk.session_uri))

    assert page.status_code == 400 and "does not match" in page.text
    assert broker_app.broker.consents.get(mcp.state).status == "declined"  # a refused return ends the consent it names
    assert broker_app.broker.consents.get(dingtalk.state).status == "pending"
    assert COMPLETE not in calls_since(broker_app, before)
    assert refusals(broker_app, "alice") == ["session does not match the consent"]


def test_alices_state_with_bobs_session_uri_is_refused(broker_app):
    alice, alice_browser = sign_in(broker_app, "alice")
    bob, bob_browser = sign_in(broker_app, "bob")
    hers, his = start_consent(broker_app, alice), start_consent(broker_app, bob)
    approve(broker_app, bob_browser, his, "bob")  # bob's session is approved: completing it would vault his token
    before = broker_app.cloud.request_counts()

    page = alice_browser.get(_callback(broker_app.url, state=hers.state, session_uri=his.session_uri))

    assert page.status_code == 400 and "Nothing was completed" in page.text
    assert broker_app.broker.consents.get(hers.state).status == "declined"
    assert broker_app.broker.consents.get(his.state).status == "pending"  # bob's own is untouched
    assert COMPLETE not in calls_since(broker_app, before)
    assert refusals(broker_app, "alice") == ["session does not match the consent"]


def test_alices_approved_return_forwarded_to_bob_is_refused_and_ends_her_consent(broker_app):
    alice, alice_browser = sign_in(broker_app, "alice")
    _, bob_browser = sign_in(broker_app, "bob")
    consent = start_consent(broker_app, alice)
    landed = approve(broker_app, alice_browser, consent, "alice")  # alice approved, then sent bob the return link
    before = broker_app.cloud.request_counts()

    page = bob_browser.get(landed)

    assert page.status_code == 403 and "another user" in page.text
    assert COMPLETE not in calls_since(broker_app, before)
    assert refusals(broker_app, "bob") == ["consent started by another user"]
    assert refusals(broker_app, "alice") == ["consent started by another user (Bob Li)"]
    assert alice_browser.get(landed).status_code == 409  # the leaked return is worth nothing, even to alice
    assert broker_app.broker.consents.get(consent.state).status == "declined"
    assert COMPLETE not in calls_since(broker_app, before)


def test_bobs_forwarded_error_return_completes_nothing_and_ends_alices_consent(broker_app):
    alice, _ = sign_in(broker_app, "alice")
    _, bob_browser = sign_in(broker_app, "bob")
    consent = start_consent(broker_app, alice)

    page = bob_browser.get(_callback(broker_app.url, state=consent.state, error="access_denied"))

    assert page.status_code == 403 and "Nothing was completed" in page.text
    assert broker_app.broker.consents.get(consent.state).status == "declined"
    assert refusals(broker_app, "alice") == ["consent started by another user (Bob Li)"]


def test_a_return_after_the_consent_expired_completes_nothing(broker_app):
    alice, browser = sign_in(broker_app, "alice")
    consent = start_consent(broker_app, alice)
    landed = approve(broker_app, browser, consent, "alice")
    broker_app.broker.clock = lambda: consent.expires_at + 1  # the user came back after the consent's 10 minutes
    before = broker_app.cloud.request_counts()

    page = browser.get(landed)

    assert page.status_code == 409 and "already expired" in page.text
    assert COMPLETE not in calls_since(broker_app, before)
    assert refusals(broker_app, "alice") == ["consent already expired"]


def test_a_return_without_a_login_session_after_approval_is_refused(broker_app):
    alice, browser = sign_in(broker_app, "alice")
    consent = start_consent(broker_app, alice)
    landed = approve(broker_app, browser, consent, "alice")
    browser.http.cookies.clear()  # the approved link opened in a browser that is not signed in to the app
    before = broker_app.cloud.request_counts()

    page = browser.get(landed)

    assert page.status_code == 401 and "nothing was completed" in page.text
    assert broker_app.broker.consents.get(consent.state).status == "declined"
    assert COMPLETE not in calls_since(broker_app, before)
    assert refusals(broker_app, "alice") == ["return without a login session"]


# -- the attacks an outside run got through (issue #15, 1): each ends with nothing in anyone's vault ---------------
def test_bobs_link_approved_by_alice_cannot_be_completed_by_bob_afterwards(broker_app):
    """Attack 1(a): bob starts a DingTalk consent, sends alice the provider link, she approves with her account (her
    return is refused), then bob opens `/callback?state=<his state>` without a session_uri."""
    _, alice_browser = sign_in(broker_app, "alice")
    bob, bob_browser = sign_in(broker_app, "bob")
    his = start_consent(broker_app, bob, DINGTALK)
    authorize(broker_app, bob_browser, his.state)  # bob pressed Authorize himself, then copied the provider's link
    landed = alice_browser.sign_in_and_decide(alice_browser.get(his.authorization_url), "alice", "demo", "approve",
                                              f"{broker_app.url}/callback")
    assert alice_browser.get(landed).status_code == 403
    before = broker_app.cloud.request_counts()

    for query in ({"state": his.state}, query_of(landed)):  # with and without the session_uri alice's browser got
        page = bob_browser.get(_callback(broker_app.url, **query))
        assert page.status_code in (400, 409) and "Nothing was completed" in page.text

    assert broker_app.broker.consents.get(his.state).status == "declined"
    assert COMPLETE not in calls_since(broker_app, before)
    assert broker_app.broker.held_oauth2_token(bob, *DINGTALK) is None  # alice's document is out of bob's reach
    assert "consent started by another user (Alice Chen)" in refusals(broker_app, "bob")


def test_alices_link_approved_by_bob_cannot_be_completed_in_alices_browser_afterwards(broker_app):
    """Attack 1(b): alice's link reaches bob, he approves with his account (his return is refused), then a page on
    another site navigates alice's browser to the return URL bob's browser got."""
    alice, alice_browser = sign_in(broker_app, "alice")
    _, bob_browser = sign_in(broker_app, "bob")
    hers = start_consent(broker_app, alice, DINGTALK)
    authorize(broker_app, alice_browser, hers.state)  # alice pressed Authorize: her browser holds the consent cookie
    landed = bob_browser.sign_in_and_decide(bob_browser.get(hers.authorization_url), "bob", "demo", "approve",
                                            f"{broker_app.url}/callback")
    assert bob_browser.get(landed).status_code == 403
    before = broker_app.cloud.request_counts()

    page = alice_browser.get(landed)

    assert page.status_code == 409 and "already declined" in page.text
    assert COMPLETE not in calls_since(broker_app, before)
    assert broker_app.broker.held_oauth2_token(alice, *DINGTALK) is None  # bob's document never reached alice's vault


def test_a_return_without_session_uri_is_refused_and_ends_the_consent(broker_app):
    alice, browser = sign_in(broker_app, "alice")
    consent = start_consent(broker_app, alice)
    landed = approve(broker_app, browser, consent, "alice")
    before = broker_app.cloud.request_counts()

    page = browser.get(_callback(broker_app.url, state=query_of(landed)["state"]))

    assert page.status_code == 400 and "does not match" in page.text
    assert browser.get(landed).status_code == 409  # ended for good: the full return is refused too
    assert COMPLETE not in calls_since(broker_app, before)


def test_the_owners_other_browser_cannot_complete_a_consent_authorized_elsewhere(broker_app):
    """The consent is bound to the browser that pressed Authorize: the owner's own return, opened in another browser
    of hers (signed in, without that consent cookie), completes nothing."""
    alice, browser = sign_in(broker_app, "alice")
    consent = start_consent(broker_app, alice)
    landed = approve(broker_app, browser, consent, "alice")
    other = Browser()
    broker_app.browsers.append(other)
    other.http.cookies.set("test_session", "alice", domain="127.0.0.1")  # alice, signed in on another device
    before = broker_app.cloud.request_counts()

    page = other.get(landed)

    assert page.status_code == 403 and "not started from this browser" in page.text
    assert broker_app.broker.consents.get(consent.state).status == "declined"
    assert COMPLETE not in calls_since(broker_app, before)
    assert refusals(broker_app, "alice") == ["return to another browser"]


def test_authorize_refuses_another_user_and_a_browser_without_a_login_and_ends_the_consent(broker_app):
    alice, _ = sign_in(broker_app, "alice")
    _, bob_browser = sign_in(broker_app, "bob")
    first, second = start_consent(broker_app, alice), start_consent(broker_app, alice, DINGTALK)

    by_bob = authorize(broker_app, bob_browser, first.state)
    by_nobody = httpx.get(authorize_link(broker_app.url, second.state), timeout=10, trust_env=False)

    assert by_bob.status_code == 403 and "location" not in by_bob.headers
    assert by_nobody.status_code == 401 and "location" not in by_nobody.headers
    assert {broker_app.broker.consents.get(c.state).status for c in (first, second)} == {"declined"}
    assert set(refusals(broker_app, "alice")) == {"consent started by another user (Bob Li)",
                                                  "return without a login session"}


def test_authorize_binds_the_browser_with_a_short_lived_httponly_cookie_and_sends_it_to_the_provider(broker_app):
    alice, browser = sign_in(broker_app, "alice")
    consent = start_consent(broker_app, alice)

    started = authorize(broker_app, browser, consent.state)

    assert started.status_code == 303 and started.headers["location"] == consent.authorization_url
    cookie = started.headers["set-cookie"]
    assert cookie.startswith("aid_consent=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert 0 < int(cookie.split("Max-Age=")[1].split(";")[0]) <= 600
    assert started.headers["cache-control"] == "no-store" and started.headers["referrer-policy"] == "no-referrer"
    assert broker_app.broker.consents.get(consent.state).browser  # the hash of that cookie, never the cookie itself


def test_a_disconnect_holds_until_a_fresh_consent_completes_even_when_that_consent_is_refused(broker_app):
    """Disconnect, then a new consent that ends refused (a leaked link): the next use asks again; the vault's old
    token never comes back by itself."""
    alice, browser = sign_in(broker_app, "alice")
    _, bob_browser = sign_in(broker_app, "bob")
    first = start_consent(broker_app, alice)
    assert browser.get(approve(broker_app, browser, first, "alice")).status_code == 200
    broker_app.broker.oauth2_token(alice, *broker_tests.MCP)  # connected
    broker_app.broker.disconnect(alice, "oauth2", *broker_tests.MCP)
    second = start_consent(broker_app, alice)
    assert authorize(broker_app, bob_browser, second.state).status_code == 403  # the new link leaked: refused, ended

    before = broker_app.cloud.request_counts()
    with pytest.raises(ConsentRequired):
        broker_app.broker.oauth2_token(alice, *broker_tests.MCP)
    assert "CompleteResourceTokenAuth" not in calls_since(broker_app, before)

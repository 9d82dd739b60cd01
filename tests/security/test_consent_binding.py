"""Case 1, consent binding: a consent return completes only the consent its signed-in user started, once.

Each test drives localcloud's real consent pages with a scripted browser and lands on the app's real `/callback`
route over HTTP (the broker tests' `App`). A refused return gets a 4xx page saying nothing was completed, the
consent stays as it was, Agent Identity is never asked to complete it, and the refusal is in the activity log.
"""

from __future__ import annotations

from urllib.parse import urlencode

from tests.identity import test_broker as broker_tests
from tests.identity.test_broker import sign_in
from tests.localcloud.browser import query_of
from tests.security.binding_support import DINGTALK, approve, calls_since, refusals, start_consent

# The broker tests' fixture, by reference: a provisioned localcloud and the app's real /callback over HTTP.
app = broker_tests.app
COMPLETE = "CompleteResourceTokenAuth"


def _callback(app_url: str, **query: str) -> str:
    return f"{app_url}/callback?{urlencode(query)}"


def _tampered(state: str) -> str:
    """The same state with its last character changed: what a user editing the link would send."""
    return state[:-1] + ("A" if state[-1] != "A" else "B")


def test_a_replayed_return_after_completion_is_409_and_logged(app):
    alice, browser = sign_in(app, "alice")
    consent = start_consent(app, alice)
    landed = approve(app, browser, consent, "alice")
    assert browser.get(landed).status_code == 200  # the genuine return completes it
    before = app.cloud.request_counts()

    replay = browser.get(landed)

    assert replay.status_code == 409 and "already completed" in replay.text and "Nothing was completed" in replay.text
    assert COMPLETE not in calls_since(app, before)
    assert refusals(app, "alice")[0] == "consent already completed"


def test_a_tampered_state_matches_no_consent_and_completes_nothing(app):
    alice, browser = sign_in(app, "alice")
    consent = start_consent(app, alice)
    back = query_of(approve(app, browser, consent, "alice"))
    before = app.cloud.request_counts()

    page = browser.get(_callback(app.url, state=_tampered(back["state"]), session_uri=back["session_uri"]))

    assert page.status_code == 404 and "Nothing was completed" in page.text
    assert app.broker.consents.get(consent.state).status == "pending"
    assert COMPLETE not in calls_since(app, before)
    assert refusals(app, "alice") == ["unknown state"]


def test_alices_state_with_another_of_her_consents_session_is_refused(app):
    alice, browser = sign_in(app, "alice")
    mcp, dingtalk = start_consent(app, alice), start_consent(app, alice, DINGTALK)
    approve(app, browser, mcp, "alice")
    before = app.cloud.request_counts()

    page = browser.get(_callback(app.url, state=mcp.state, session_uri=dingtalk.session_uri))

    assert page.status_code == 400 and "does not match" in page.text
    assert {app.broker.consents.get(c.state).status for c in (mcp, dingtalk)} == {"pending"}
    assert COMPLETE not in calls_since(app, before)
    assert refusals(app, "alice") == ["session does not match the consent"]


def test_alices_state_with_bobs_session_uri_is_refused(app):
    alice, alice_browser = sign_in(app, "alice")
    bob, bob_browser = sign_in(app, "bob")
    hers, his = start_consent(app, alice), start_consent(app, bob)
    approve(app, bob_browser, his, "bob")  # bob's session is approved: completing it would vault his token
    before = app.cloud.request_counts()

    page = alice_browser.get(_callback(app.url, state=hers.state, session_uri=his.session_uri))

    assert page.status_code == 400 and "Nothing was completed" in page.text
    assert {app.broker.consents.get(c.state).status for c in (hers, his)} == {"pending"}
    assert COMPLETE not in calls_since(app, before)
    assert refusals(app, "alice") == ["session does not match the consent"]


def test_alices_approved_return_forwarded_to_bob_is_refused_and_stays_hers(app):
    alice, alice_browser = sign_in(app, "alice")
    _, bob_browser = sign_in(app, "bob")
    consent = start_consent(app, alice)
    landed = approve(app, alice_browser, consent, "alice")  # alice approved, then sent bob the return link
    before = app.cloud.request_counts()

    page = bob_browser.get(landed)

    assert page.status_code == 403 and "another user" in page.text
    assert COMPLETE not in calls_since(app, before)
    assert refusals(app, "bob") == ["consent started by another user"]
    assert refusals(app, "alice") == ["consent started by another user (Bob Li)"]
    assert alice_browser.get(landed).status_code == 200  # not burnt: alice's own return still completes it
    assert app.broker.consents.get(consent.state).status == "completed"


def test_bob_cannot_decline_alices_consent_with_a_forwarded_error_return(app):
    alice, _ = sign_in(app, "alice")
    _, bob_browser = sign_in(app, "bob")
    consent = start_consent(app, alice)

    page = bob_browser.get(_callback(app.url, state=consent.state, error="access_denied"))

    assert page.status_code == 403 and "Nothing was completed" in page.text
    assert app.broker.consents.get(consent.state).status == "pending"
    assert refusals(app, "alice") == ["consent started by another user (Bob Li)"]


def test_a_return_after_the_consent_expired_completes_nothing(app):
    alice, browser = sign_in(app, "alice")
    consent = start_consent(app, alice)
    landed = approve(app, browser, consent, "alice")
    app.broker.clock = lambda: consent.expires_at + 1  # the user came back after the consent's 10 minutes
    before = app.cloud.request_counts()

    page = browser.get(landed)

    assert page.status_code == 409 and "already expired" in page.text
    assert COMPLETE not in calls_since(app, before)
    assert refusals(app, "alice") == ["consent already expired"]


def test_a_return_without_a_login_session_after_approval_is_refused(app):
    alice, browser = sign_in(app, "alice")
    consent = start_consent(app, alice)
    landed = approve(app, browser, consent, "alice")
    browser.http.cookies.clear()  # the approved link opened in a browser that is not signed in to the app
    before = app.cloud.request_counts()

    page = browser.get(landed)

    assert page.status_code == 401 and "nothing was completed" in page.text
    assert app.broker.consents.get(consent.state).status == "pending"
    assert COMPLETE not in calls_since(app, before)
    assert refusals(app, "alice") == ["return without a login session"]

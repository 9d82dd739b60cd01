"""The credential broker against localcloud over real HTTP, and the consent return route it serves."""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from starlette.requests import Request

import localcloud
from identity import provision
from identity.broker import ConsentRequired, CredentialBroker
from identity.broker.routes import authorize_link, consent_routes
from identity.clients import Clients
from identity.cloud import connect
from identity.users import SignedInUser
from lab.browser import Browser
from tests.identity.conftest import local_settings
from tests.support import scripted_id_token, served, user_of

MCP = ("test-provider-for-mcp-oauth", ("profile", "openid", "aliuid", "/acs/mcp-server"))


@dataclass
class BrokerApp:
    """The pieces of the app a test needs: settings, broker, and the return route's server."""

    url: str
    broker: CredentialBroker
    settings: object
    clients: Clients
    cloud: localcloud.LocalCloud
    users: dict[str, SignedInUser]  # browser cookie → user: stands in for the login-session store
    browsers: list[Browser]


@pytest.fixture
def broker_app(fresh_cloud: localcloud.LocalCloud, tmp_path) -> Iterator[BrokerApp]:
    made: list[BrokerApp] = []  # the routes read it per request; it is filled once the server's port is known

    def user_of(request: Request) -> SignedInUser | None:
        return made[0].users.get(request.cookies.get("test_session", ""))

    routes = consent_routes(user_of, lambda: made[0].broker, lambda: made[0].url)
    with served(Starlette(routes=routes)) as port:
        url = f"http://127.0.0.1:{port}"
        settings = local_settings(fresh_cloud, tmp_path, APP_REDIRECT_URI=url)
        clients = Clients(connect(settings))
        provision.apply(clients, settings)
        made.append(BrokerApp(url, CredentialBroker(clients, settings), settings, clients, fresh_cloud, {}, []))
        yield made[0]
        for browser in made[0].browsers:
            browser.close()


def sign_in(broker_app: BrokerApp, username: str) -> tuple[SignedInUser, Browser]:
    """A real sign-in at localcloud (PKCE); the broker trusts verified users, so we decode the ID token."""
    browser = Browser()
    broker_app.browsers.append(browser)
    user = user_of(scripted_id_token(broker_app.cloud, broker_app.settings, username, "n", browser), username)
    broker_app.users[username] = user
    browser.http.cookies.set("test_session", username, domain="127.0.0.1")
    return user, browser


def authorize(broker_app: BrokerApp, browser: Browser, state: str) -> httpx.Response:
    """The user presses Authorize in `browser`: the app's route binds the consent to it and redirects onwards."""
    return browser.get(authorize_link(broker_app.url, state))


def _calls(cloud: localcloud.LocalCloud, before: dict[str, int]) -> dict[str, int]:
    after = cloud.request_counts()
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


def test_cached_credentials_cost_zero_calls(broker_app):
    alice, _ = sign_in(broker_app, "alice")
    before = broker_app.cloud.request_counts()
    key = broker_app.broker.api_key(alice, "test-provider-api-key")
    assert _calls(broker_app.cloud, before) == {"GetWorkloadAccessTokenForJWT": 1, "AssumeRoleForWorkloadIdentity": 1,
                                                "GetResourceAPIKey": 1}
    before = broker_app.cloud.request_counts()
    assert broker_app.broker.api_key(alice, "test-provider-api-key") == key
    assert broker_app.broker.sts_credentials(alice).security_token
    assert _calls(broker_app.cloud, before) == {}
    assert [a.outcome for a in broker_app.broker.log.of(alice.key)][:2] == ["cache hit", "cache hit"]


def test_consent_through_the_broker_and_the_return_route(broker_app):
    alice, browser = sign_in(broker_app, "alice")
    with pytest.raises(ConsentRequired) as raised:
        broker_app.broker.oauth2_token(alice, *MCP)
    consent = raised.value.consent
    assert consent.owner == alice.key and consent.authorization_url.startswith(broker_app.cloud.urls.public)
    waiter = ThreadPoolExecutor(1).submit(broker_app.broker.wait_for_consent, alice, consent.state, 30)
    landed = browser.sign_in_and_decide(authorize(broker_app, browser, consent.state), "alice", "demo", "approve",
                                        f"{broker_app.url}/callback")
    page = browser.get(landed)
    assert page.status_code == 200 and "connected" in page.text
    assert waiter.result(timeout=30).status == "completed"
    before = broker_app.cloud.request_counts()
    token = broker_app.broker.oauth2_token(alice, *MCP)
    assert token.value and _calls(broker_app.cloud, before) == {}
    assert jwt.decode(token.value, options={"verify_signature": False})["sub"] == alice.subject


def test_bob_cannot_complete_alices_consent_from_his_browser(broker_app):
    alice, _ = sign_in(broker_app, "alice")
    _, bob_browser = sign_in(broker_app, "bob")
    with pytest.raises(ConsentRequired) as raised:
        broker_app.broker.oauth2_token(alice, *MCP)
    landed = bob_browser.sign_in_and_decide(bob_browser.get(raised.value.consent.authorization_url), "bob", "demo",
                                            "approve", f"{broker_app.url}/callback")
    page = bob_browser.get(landed)
    assert page.status_code == 403 and "another user" in page.text
    assert broker_app.broker.consents.get(raised.value.consent.state).status == "declined"  # a leaked link ends it
    assert _refusals(broker_app, "bob") == ["consent started by another user"]
    assert _refusals(broker_app, "alice") == ["consent started by another user (Bob Li)"]
    with pytest.raises(ConsentRequired):
        broker_app.broker.oauth2_token(alice, *MCP)


@pytest.mark.parametrize("query", [{}, {"state": "made-up", "session_uri": "urn:x"}])
def test_unknown_or_stateless_returns_complete_nothing(broker_app, query):
    _, browser = sign_in(broker_app, "alice")
    page = browser.get(f"{broker_app.url}/callback?{urlencode(query)}")
    assert page.status_code in (400, 404) and "Nothing was completed" in page.text
    assert _refusals(broker_app, "alice") == (["unknown state"] if query else [])


def test_return_without_a_login_session_is_refused(broker_app):
    alice, _ = sign_in(broker_app, "alice")
    with pytest.raises(ConsentRequired) as raised:
        broker_app.broker.oauth2_token(alice, *MCP)
    stranger = httpx.get(f"{broker_app.url}/callback", params={"state": raised.value.consent.state}, timeout=10,
                         trust_env=False)
    assert stranger.status_code == 401
    assert broker_app.broker.consents.get(raised.value.consent.state).status == "declined"
    assert _refusals(broker_app, "alice") == ["return without a login session"]


def _refusals(broker_app: BrokerApp, username: str) -> list[str]:
    return [a.detail for a in broker_app.broker.log.of(broker_app.users[username].key) if a.outcome == "refused"]


def test_declined_consent_wakes_the_waiter_and_stores_nothing(broker_app):
    alice, browser = sign_in(broker_app, "alice")
    with pytest.raises(ConsentRequired) as raised:
        broker_app.broker.oauth2_token(alice, *MCP)
    landed = browser.sign_in_and_decide(authorize(broker_app, browser, raised.value.consent.state), "alice", "demo",
                                        "deny", f"{broker_app.url}/callback")
    page = browser.get(landed)
    assert page.status_code == 200 and "declined" in page.text
    assert broker_app.broker.wait_for_consent(alice, raised.value.consent.state, 5).status == "declined"
    again = browser.get(landed)
    assert again.status_code == 409


def test_expired_credentials_are_replaced(broker_app):
    alice, _ = sign_in(broker_app, "alice")
    first = broker_app.broker.api_key(alice, "test-provider-api-key")
    now = [time.time()]
    broker_app.broker.clock = lambda: now[0]
    now[0] = first.expires_at - 30  # inside the leeway: must not be handed out any more
    before = broker_app.cloud.request_counts()
    second = broker_app.broker.api_key(alice, "test-provider-api-key")
    assert second.expires_at > first.expires_at
    assert _calls(broker_app.cloud, before) == {"GetResourceAPIKey": 1}  # workload token and STS keys still good


def test_sign_out_forgets_the_users_credentials(broker_app):
    alice, _ = sign_in(broker_app, "alice")
    broker_app.broker.api_key(alice, "test-provider-api-key")
    broker_app.broker.forget_user(alice)
    before = broker_app.cloud.request_counts()
    broker_app.broker.api_key(alice, "test-provider-api-key")
    assert _calls(broker_app.cloud, before)["GetWorkloadAccessTokenForJWT"] == 1


def test_two_users_in_parallel_never_share_credentials(broker_app):
    users = [sign_in(broker_app, name)[0] for name in ("alice", "bob")]

    def everything(user: SignedInUser) -> tuple:
        wat = broker_app.broker.workload_token(user)
        broker = broker_app.broker
        return user, wat, broker.sts_credentials(user), broker.api_key(user, "test-provider-api-key")

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(everything, users * 4))
    for user, wat, sts, _ in results:
        assert jwt.decode(wat.value, options={"verify_signature": False})["uid"] == user.subject
        assert all(other_sts.access_key_id != sts.access_key_id for u, _, other_sts, _ in results if u != user)
    assert {a.user for a in broker_app.broker.log.of(users[0].key)} == {users[0].key}

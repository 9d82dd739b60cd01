"""The sign-in routes in-process: a ticket sets the HttpOnly cookie once, logout clears it, the popup page is tiny."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.testclient import TestClient

from identity.signin import LoginSessionStore, request_user, signin_routes
from identity.users import SignedInUser

NOW = 1_800_000_000.0
ORIGIN = "http://testserver"


@pytest.fixture
def session_store(tmp_path: Path) -> Iterator[LoginSessionStore]:
    opened = LoginSessionStore.in_directory(tmp_path / ".appstate")
    yield opened
    opened.close()


def _alice() -> SignedInUser:
    return SignedInUser(issuer="https://oauth.example.test", subject="1234567890123456", name="Alice Chen",
                        expires_at=NOW + 3600, id_token="header.payload.signature")


def _app(session_store: LoginSessionStore | None, secure: bool = False) -> Starlette:
    return Starlette(routes=signin_routes(lambda: session_store, secure=lambda: secure, clock=lambda: NOW))


def _get(app: Starlette, url: str, **kwargs: object) -> httpx.Response:
    async def call() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=ORIGIN, follow_redirects=False) as client:
            return await client.get(url, **kwargs)

    return asyncio.run(call())


def _attributes(set_cookie: str) -> list[str]:
    return [part.strip() for part in set_cookie.split(";")]


def _browser(app: Starlette) -> TestClient:
    """A browser with a cookie jar; its requests come from the app's own pages unless a test says otherwise."""
    return TestClient(app, base_url=ORIGIN, follow_redirects=False, headers={"Sec-Fetch-Site": "same-origin"})


def _started_sign_in(session_store: LoginSessionStore, browser: TestClient, secure: bool = False) -> tuple[str, str]:
    """What the Login page does in `browser`: open an attempt, load `/auth/begin`; after the sign-in, the session
    id and the ticket bound to this browser."""
    attempt = session_store.open_attempt(NOW)
    begun = browser.get(f"/auth/begin?attempt={attempt}")
    assert begun.status_code == 204
    jar_name = ("__Host-" if secure else "") + "aid_signin"
    browser.cookies.set(jar_name, begun.cookies[jar_name])  # TestClient keeps Secure cookies off plain http
    session_id = session_store.create(_alice(), NOW)
    return session_id, session_store.issue_ticket(session_id, attempt, NOW)


def test_begin_sets_a_short_lived_httponly_pre_sign_in_cookie(session_store):
    browser = _browser(_app(session_store))

    response = browser.get(f"/auth/begin?attempt={session_store.open_attempt(NOW)}")

    assert response.status_code == 204 and response.headers["cache-control"] == "no-store"
    name_value, *attributes = _attributes(response.headers["set-cookie"])
    assert name_value.startswith("aid_signin=") and attributes == ["Max-Age=600", "Path=/", "HttpOnly", "SameSite=Lax"]


def test_a_ticket_sets_the_session_cookie_httponly_samesite_lax(session_store):
    browser = _browser(_app(session_store))
    session_id, ticket = _started_sign_in(session_store, browser)

    response = browser.get(f"/auth/session?ticket={ticket}")

    assert response.status_code == 204 and response.content == b""
    assert response.headers["cache-control"] == "no-store"
    [cookie] = response.headers.get_list("set-cookie")
    assert _attributes(cookie) == [f"aid_session={session_id}", "Path=/", "HttpOnly", "SameSite=Lax"]


def test_a_second_redeem_of_the_same_ticket_fails(session_store):
    browser = _browser(_app(session_store))
    _, ticket = _started_sign_in(session_store, browser)
    assert browser.get(f"/auth/session?ticket={ticket}").status_code == 204

    again = browser.get(f"/auth/session?ticket={ticket}")

    assert again.status_code == 404 and "set-cookie" not in again.headers
    assert browser.get("/auth/session").status_code == 404


def test_an_https_app_names_its_cookies_host_prefixed_and_secure(session_store):
    browser = _browser(_app(session_store, secure=True))
    session_id, ticket = _started_sign_in(session_store, browser, secure=True)

    response = browser.get(f"/auth/session?ticket={ticket}")

    assert _attributes(response.headers["set-cookie"]) == [f"__Host-aid_session={session_id}", "Path=/", "HttpOnly",
                                                           "SameSite=Lax", "Secure"]


def test_a_ticket_requested_from_another_site_is_refused_and_stays_unused(session_store):
    browser = _browser(_app(session_store))
    _, ticket = _started_sign_in(session_store, browser)

    for site in ("cross-site", "same-site", "none"):  # another site, another port of this host, a mail link
        response = browser.get(f"/auth/session?ticket={ticket}", headers={"Sec-Fetch-Site": site})
        assert response.status_code == 403 and "set-cookie" not in response.headers
    assert browser.get(f"/auth/session?ticket={ticket}").status_code == 204


def test_a_ticket_link_opened_in_another_browser_signs_nobody_in(session_store):
    """Login CSRF: the attacker's ticket, opened in the victim's browser (which started no such sign-in)."""
    attacker = _browser(_app(session_store))
    _, ticket = _started_sign_in(session_store, attacker)
    victim = _browser(_app(session_store))
    victim.get(f"/auth/begin?attempt={session_store.open_attempt(NOW)}")  # the victim may be signing in herself

    response = victim.get(f"/auth/session?ticket={ticket}")

    assert response.status_code == 404 and "set-cookie" not in response.headers
    assert "aid_session" not in victim.cookies


def test_a_forwarded_begin_link_binds_nothing_in_another_browser(session_store):
    """The attacker's page bound its own attempt; the same begin link opened by the victim is refused."""
    attacker, victim = _browser(_app(session_store)), _browser(_app(session_store))
    attempt = session_store.open_attempt(NOW)
    assert attacker.get(f"/auth/begin?attempt={attempt}").status_code == 204

    response = victim.get(f"/auth/begin?attempt={attempt}")

    assert response.status_code == 404 and "set-cookie" not in response.headers


def test_begin_answers_only_the_apps_own_pages(session_store):
    browser = _browser(_app(session_store))
    attempt = session_store.open_attempt(NOW)

    for site in ("cross-site", "same-site", "none"):
        assert browser.get(f"/auth/begin?attempt={attempt}", headers={"Sec-Fetch-Site": site}).status_code == 403
    assert browser.get(f"/auth/begin?attempt={attempt}").status_code == 204


def test_logout_deletes_the_session_and_clears_the_cookie(session_store):
    session_id = session_store.create(_alice(), NOW)

    response = _get(_app(session_store), "/auth/logout", headers={"Cookie": f"aid_session={session_id}"})

    assert response.status_code == 204
    assert _attributes(response.headers["set-cookie"]) == ["aid_session=", "Max-Age=0", "Path=/", "HttpOnly",
                                                           "SameSite=Lax"]
    assert session_store.lookup(session_id, NOW).user is None


def test_logout_typed_into_the_address_bar_goes_back_to_the_app(session_store):
    response = _get(_app(session_store), "/auth/logout",
                    headers={"Sec-Fetch-Dest": "document", "Sec-Fetch-Site": "none"})

    assert response.status_code == 303 and response.headers["location"] == "/"
    assert "Max-Age=0" in response.headers["set-cookie"]


def test_without_a_store_the_cookie_routes_answer_503_but_logout_still_clears(tmp_path):
    assert _get(_app(None), "/auth/session?ticket=x").status_code == 503
    assert _get(_app(None), "/auth/begin?attempt=x").status_code == 503
    assert "Max-Age=0" in _get(_app(None), "/auth/logout").headers["set-cookie"]


def test_the_popup_landing_page_is_small_and_loads_nothing(session_store):
    response = _get(_app(session_store), "/oauth2callback?code=the-code&state=s-1")

    assert response.status_code == 200 and "Signing you in…" in response.text
    assert len(response.content) < 1024 and "<script" not in response.text and "the-code" not in response.text
    assert response.headers["referrer-policy"] == "no-referrer"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert response.headers["cache-control"] == "no-store"


def test_request_user_reads_the_cookie_for_other_app_routes(session_store):
    session_id = session_store.create(_alice(), NOW)

    with_cookie = Request({"type": "http", "headers": [(b"cookie", f"aid_session={session_id}".encode())]})
    without = Request({"type": "http", "headers": []})

    assert request_user(session_store, with_cookie, NOW) == _alice()
    assert request_user(session_store, without, NOW) is None


def test_logout_goes_on_to_the_sign_in_servers_logout_when_it_has_one(session_store):
    provider_logout = "http://testserver/lc/oauth/aliyun/logout?client_id=app&post_logout_redirect_uri=x"
    app = Starlette(routes=signin_routes(lambda: session_store, clock=lambda: NOW, end_session=lambda: provider_logout))
    session_id = session_store.create(_alice(), NOW)

    for dest in ("image", "document"):  # the Login page's <img>, and a typed URL
        response = _get(app, "/auth/logout", headers={"Cookie": f"aid_session={session_id}", "Sec-Fetch-Dest": dest})
        assert response.status_code == 303 and response.headers["location"] == provider_logout
        assert "Max-Age=0" in response.headers["set-cookie"]
    assert session_store.lookup(session_id, NOW).user is None

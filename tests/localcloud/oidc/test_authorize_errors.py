"""What the authorize, login and consent pages do with bad requests, wrong passwords and foreign browsers."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

import localcloud
from tests.localcloud.oidc.oidc_client import (
    WEB_REDIRECT,
    Apps,
    Browser,
    create_app,
    is_consent_form,
    is_login_form,
    query_of,
    request_id_of,
)


def assert_error_page(response: httpx.Response, status: int, text: str) -> None:
    assert response.status_code == status and "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html") and text in response.text
    assert response.headers["x-frame-options"] == "DENY" and response.headers["cache-control"] == "no-store"


def assert_redirected_error(response: httpx.Response, error: str, state: str | None = "st") -> None:
    assert response.status_code == 302 and response.headers["location"].startswith(WEB_REDIRECT + "?")
    params = query_of(response)
    assert params["error"] == error and params.get("state") == state and "code" not in params


@pytest.mark.parametrize("redirect_uri", ["https://evil.example/cb", WEB_REDIRECT + "/", WEB_REDIRECT + "?x=1",
                                          "http://localhost:8501/oauth2callbackX", "HTTP://localhost:8501/oauth2callback",
                                          ""])
def test_a_redirect_uri_that_is_not_registered_exactly_shows_a_page_and_never_redirects(
        apps: Apps, browser: Browser, redirect_uri: str) -> None:
    response = browser.authorize(apps.web, redirect_uri, state="st")

    assert_error_page(response, 400, "Redirect address not allowed")


def test_unknown_client_shows_a_page(browser: Browser) -> None:
    response = browser.authorize("1234567890123456789", WEB_REDIRECT, state="st")

    assert_error_page(response, 400, "Unknown application")


def test_plain_pkce_is_refused_at_the_redirect_uri_with_the_state(apps: Apps, browser: Browser) -> None:
    response = browser.authorize(apps.web, WEB_REDIRECT, state="st", code_challenge_method="plain")

    assert_redirected_error(response, "invalid_request")
    assert "S256" in query_of(response)["error_description"]


def test_missing_code_challenge_method_is_refused(apps: Apps, browser: Browser) -> None:
    response = browser.authorize(apps.web, WEB_REDIRECT, state="st", code_challenge_method=None)

    assert_redirected_error(response, "invalid_request")


def test_missing_code_challenge_is_refused(apps: Apps, browser: Browser) -> None:
    response = browser.http.get(browser.url("authorize"), params={
        "response_type": "code", "client_id": apps.web, "redirect_uri": WEB_REDIRECT, "state": "st"})

    assert_redirected_error(response, "invalid_request")
    assert "PKCE" in query_of(response)["error_description"]


def test_response_type_other_than_code_is_unsupported(apps: Apps, browser: Browser) -> None:
    response = browser.authorize(apps.web, WEB_REDIRECT, state="st", response_type="token")

    assert_redirected_error(response, "unsupported_response_type")


def test_scope_outside_the_apps_predefined_scopes_is_invalid_scope(apps: Apps, browser: Browser) -> None:
    response = browser.authorize(apps.web, WEB_REDIRECT, state="st", scope="openid email")

    assert_redirected_error(response, "invalid_scope")
    assert "email" in query_of(response)["error_description"]


def test_a_repeated_parameter_is_an_invalid_request(apps: Apps, browser: Browser) -> None:
    url = httpx.URL(browser.url("authorize"), params=[
        ("response_type", "code"), ("client_id", apps.web), ("redirect_uri", WEB_REDIRECT), ("state", "st"),
        ("code_challenge", "x" * 43), ("code_challenge_method", "S256"), ("scope", "openid"), ("scope", "profile")])

    assert_redirected_error(browser.http.get(url), "invalid_request")


def test_prompt_none_without_a_session_reports_login_required(apps: Apps, browser: Browser) -> None:
    response = browser.authorize(apps.web, WEB_REDIRECT, state="st", prompt="none")

    assert_redirected_error(response, "login_required")


def test_wrong_password_shows_the_form_again_with_a_message_and_a_retry_works(apps: Apps, browser: Browser) -> None:
    request_id = request_id_of(browser.authorize(apps.web, WEB_REDIRECT, state="st"))

    wrong = browser.login(request_id, "alice", "not-the-password")
    unknown = browser.login(request_id, "mallory", "demo")
    retry = browser.login(request_id, "alice", "demo")

    for page in (wrong, unknown):
        assert page.status_code == 401 and is_login_form(page) and "Wrong user name or password" in page.text
    assert 'value="alice"' in wrong.text
    assert retry.status_code == 303 and is_consent_form(browser.follow(retry))


def test_an_empty_login_form_asks_for_both_fields(apps: Apps, browser: Browser) -> None:
    request_id = request_id_of(browser.authorize(apps.web, WEB_REDIRECT))

    page = browser.http.post(browser.url("login"), data={"request_id": request_id})

    assert page.status_code == 400 and is_login_form(page) and "Enter your user name and password" in page.text


def test_login_page_lists_the_demo_users_and_the_default_password(apps: Apps, browser: Browser) -> None:
    page = browser.authorize(apps.web, WEB_REDIRECT)

    assert "Alice Chen" in page.text and "Bob Li" in page.text and "<code>demo</code>" in page.text


def test_deny_sends_access_denied_with_the_state(apps: Apps, browser: Browser) -> None:
    consent = browser.follow(browser.login(request_id_of(browser.authorize(apps.web, WEB_REDIRECT, state="st")),
                                           "alice", "demo"))

    assert_redirected_error(browser.consent(request_id_of(consent), "deny"), "access_denied")


def test_consent_posted_from_another_browser_is_refused(apps: Apps, browser: Browser,
                                                        new_browser: Callable[..., Browser]) -> None:
    consent = browser.follow(browser.login(request_id_of(browser.authorize(apps.web, WEB_REDIRECT)), "alice", "demo"))
    request_id = request_id_of(consent)

    forged = new_browser().consent(request_id, "approve")

    assert_error_page(forged, 400, "another browser")
    assert browser.consent(request_id, "approve").status_code == 302  # the real browser still can


def test_login_posted_from_another_browser_is_refused(apps: Apps, browser: Browser,
                                                      new_browser: Callable[..., Browser]) -> None:
    request_id = request_id_of(browser.authorize(apps.web, WEB_REDIRECT))

    assert_error_page(new_browser().login(request_id, "alice", "demo"), 400, "another browser")


def test_a_consent_cannot_be_answered_twice(apps: Apps, browser: Browser) -> None:
    consent = browser.follow(browser.login(request_id_of(browser.authorize(apps.web, WEB_REDIRECT)), "alice", "demo"))
    request_id = request_id_of(consent)

    assert browser.consent(request_id, "approve").status_code == 302
    assert_error_page(browser.consent(request_id, "approve"), 400, "not found")


def test_consent_before_login_shows_the_login_form(apps: Apps, browser: Browser) -> None:
    request_id = request_id_of(browser.authorize(apps.web, WEB_REDIRECT))

    page = browser.consent(request_id, "approve")

    assert "location" not in page.headers and is_login_form(page)


@pytest.mark.parametrize("decision", ["", "yes", "APPROVE"])
def test_an_unknown_decision_is_refused(apps: Apps, browser: Browser, decision: str) -> None:
    consent = browser.follow(browser.login(request_id_of(browser.authorize(apps.web, WEB_REDIRECT)), "alice", "demo"))

    assert_error_page(browser.consent(request_id_of(consent), decision), 400, "Choose Allow or Deny")


def test_an_unknown_request_id_shows_a_clear_page(browser: Browser) -> None:
    for response in (browser.login("nope", "alice", "demo"), browser.consent("nope", "approve"),
                     browser.http.get(browser.url("consent"), params={"request_id": "nope"}),
                     browser.http.get(browser.url("login"))):
        assert_error_page(response, 400, "Sign-in request not found")


@pytest.mark.parametrize("body, content_type", [
    (b"\xff\xfe", "application/x-www-form-urlencoded"),
    (b"request_id=a&request_id=b", "application/x-www-form-urlencoded"),
    (b'{"username": "alice"}', "application/json"),
    (b"%zz=%%", "application/x-www-form-urlencoded"),
])
def test_malformed_forms_get_a_400_page_not_a_500(browser: Browser, body: bytes, content_type: str) -> None:
    for page in ("login", "consent"):
        response = browser.http.post(browser.url(page), content=body, headers={"content-type": content_type})
        assert response.status_code == 400 and response.headers["content-type"].startswith("text/html")


def test_page_values_are_html_escaped(cloud: localcloud.LocalCloud, browser: Browser) -> None:
    app_id = create_app(cloud, "WebApp", "openid", WEB_REDIRECT, display_name='<script>alert("x")</script>')

    page = browser.authorize(app_id, WEB_REDIRECT)

    assert "<script>" not in page.text and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page.text


def test_cookies_are_httponly_lax_and_scoped_to_the_realm(apps: Apps, browser: Browser) -> None:
    page = browser.authorize(apps.web, WEB_REDIRECT)
    login = browser.login(request_id_of(page), "alice", "demo")

    for cookie in (page.headers["set-cookie"], login.headers["set-cookie"]):
        lowered = cookie.lower()
        assert "httponly" in lowered and "samesite=lax" in lowered and "path=/oauth/aliyun" in lowered


def test_an_unknown_realm_is_not_found(cloud: localcloud.LocalCloud) -> None:
    response = httpx.get(f"{cloud.url}/oauth/github/.well-known/openid-configuration", trust_env=False)

    assert response.status_code == 404

"""The Login page under AppTest against a real, provisioned localcloud.

streamlit-oauth's popup is JavaScript, which AppTest cannot run, so its browser half is replaced by
`Popup`: it takes the authorization URL the real `authorize_button` built (state, PKCE, the page's
nonce), signs in through localcloud's HTML forms and returns the redirect's query, as the component
does. streamlit-oauth's own Python then checks the state and exchanges the code at the real token
endpoint; the page verifies the ID token it gets.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import streamlit_oauth
from cryptography.hazmat.primitives.asymmetric import rsa
from streamlit.testing.v1 import AppTest

import localcloud
import ui.sign_out
import ui.signin
from identity import provision
from identity.clients import Clients
from identity.cloud import connect
from identity.settings import load_settings
from identity.users import SignedInUser
from lab.browser import Browser, query_of
from tests.conftest import repo_root
from tests.support import local_app_env
from ui.runtime import get_runtime

APP = str(repo_root() / "app.py")
REDIRECT = "http://localhost:8501/oauth2callback"


@pytest.fixture
def app_env(fresh_cloud: localcloud.LocalCloud, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Local-mode settings on the session's (reset) localcloud, a private `.config.json`, a fresh runtime."""
    yield from local_app_env(fresh_cloud, tmp_path, monkeypatch)


@pytest.fixture
def provisioned_client_id(app_env: Path) -> str:
    """Setup → Provision, as the Setup page does it; the inbound app's client id."""
    settings = load_settings()
    provision.apply(Clients(connect(settings)), settings)
    return provision.read_config(app_env)["inbound_app_id"]


class Popup:
    """streamlit-oauth's popup and its script: armed by a click, it answers the next render once."""

    def __init__(self, username: str = "alice", decision: str = "approve") -> None:
        self.username, self.decision = username, decision
        self.answer: Callable[[str], dict[str, str]] | None = None
        self.authorization_urls: list[str] = []

    def click(self, answer: Callable[[str], dict[str, str]] | None = None) -> None:
        self.answer = answer or self.sign_in

    def sign_in(self, authorization_url: str) -> dict[str, str]:
        """The user in the popup: log in, decide, land on the redirect URI; its query is the result."""
        browser = Browser()
        try:
            landing = browser.sign_in_and_decide(browser.get(authorization_url), self.username, "demo",
                                                 self.decision, stop_at=REDIRECT)
        finally:
            browser.close()
        return query_of(landing)

    def __call__(self, *, authorization_url: str, **_: Any) -> dict[str, str] | None:
        self.authorization_urls.append(authorization_url)
        answer, self.answer = self.answer, None
        return answer(authorization_url) if answer else None


@pytest.fixture
def popup(monkeypatch: pytest.MonkeyPatch) -> Popup:
    fake = Popup()
    monkeypatch.setattr(streamlit_oauth, "_authorize_button", fake)
    return fake


def _sessions() -> Any:
    """The login session store of the runtime the pages use (AppTest runs them in this process)."""
    return get_runtime().sessions


def _answer_once(result: dict[str, Any]) -> Callable[..., dict[str, Any] | None]:
    """A stand-in for `authorize_button` that returns `result` on its first render only."""
    answers = iter([result])
    return lambda *args, **kwargs: next(answers, None)


BROWSER = "the-pre-sign-in-cookie-of-this-browser"
_BEGIN = re.compile(r'src="/auth/begin\?attempt=([\w-]+)"')


def _open(*, load_begin: bool = True) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    if load_begin:
        _load_begin(at)
    return at


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception
    _load_begin(at)
    return at


def _load_begin(at: AppTest) -> None:
    """What the browser does with the `/auth/begin` image the page drew with its sign-in button: bind the attempt
    to its pre-sign-in cookie (the route itself is tested in tests/identity/signin/test_routes.py)."""
    for body in (element.proto.body for element in at.get("html")):
        for attempt in _BEGIN.findall(body):
            _sessions().bind_attempt(attempt, BROWSER, time.time())


def _texts(at: AppTest) -> str:
    kinds = ("markdown", "caption", "info", "success", "warning", "error", "title")
    return "\n".join(str(element.value) for kind in kinds for element in getattr(at, kind))


def _html(at: AppTest) -> list[str]:
    """The images the page drew for the browser, but the `/auth/begin` one every sign-in button comes with."""
    return [element.proto.body for element in at.get("html") if not _BEGIN.search(element.proto.body)]


def _signed_in(at: AppTest) -> bool:
    return any(s.value.startswith("Signed in as") for s in at.success)


def _sign_in(popup: Popup) -> AppTest:
    """Sign in, and let the browser fetch its cookie (the `<img>` the page drew, if it succeeded) as a browser would."""
    at = _signed_in_before_the_cookie(popup)
    if not _html(at):  # refused: no cookie to fetch
        return at
    _sessions().redeem_ticket(_ticket(at), BROWSER, time.time())
    return _run(at)


def _signed_in_before_the_cookie(popup: Popup) -> AppTest:
    at = _open()
    popup.click()
    return _run(at)


def _ticket(at: AppTest) -> str:
    [body] = _html(at)
    return _ticket_drawn(body)


def _ticket_drawn(body: str) -> str:
    """The ticket in the `<img>` the page drew for the browser to load."""
    found = re.search(r'src="/auth/session\?ticket=([\w-]+)"', body)
    assert found is not None, body
    return found.group(1)


def test_before_setup_the_page_says_so_and_links_to_setup(app_env, popup):
    at = _open()

    assert "Setup has not provisioned yet" in at.warning[0].value
    [link] = at.get("page_link")
    assert link.proto.label == "Open Setup" and link.proto.page == "setup"
    assert not popup.authorization_urls  # no sign-in button


def test_the_sign_in_button_asks_for_openid_with_pkce_and_the_pages_nonce(provisioned_client_id, popup):
    at = _open()

    [url] = popup.authorization_urls
    query = query_of(url)
    assert url.startswith("http://127.0.0.1:")  # localcloud's authorize page, as its discovery names it
    assert query["client_id"] == provisioned_client_id and query["redirect_uri"] == REDIRECT
    assert query["scope"] == "openid profile aliuid" and query["response_type"] == "code"
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) == 43
    assert query["nonce"] == at.session_state["auth"].nonce and len(query["nonce"]) >= 32
    assert "client_secret" not in url


def test_alice_signs_in_and_is_shown_with_issuer_subject_and_expiry(provisioned_client_id, popup):
    at = _sign_in(popup)

    assert at.success[0].value == "Signed in as Alice Chen"
    user = at.session_state["auth"].user
    assert isinstance(user, SignedInUser) and user.name == "Alice Chen" and user.claims["aud"] == provisioned_client_id
    assert "/oauth/aliyun" in _texts(at) and user.subject in _texts(at)
    assert any(c.value.startswith("ID token expires in 59 min") or c.value.startswith("ID token expires in 1 h")
               for c in at.caption)
    assert at.button(key="signin_sign_out").label == "Sign out"
    assert user.id_token not in _texts(at) and user.id_token not in "".join(_html(at))


def test_the_page_hands_the_browser_its_cookie_through_a_one_use_ticket(provisioned_client_id, popup):
    at = _signed_in_before_the_cookie(popup)

    [body] = _html(at)
    assert body.startswith("<img ") and 'hidden' in body
    assert not _signed_in(at) and "handing your browser its session cookie" in at.info[0].value
    _run(at)
    assert not _signed_in(at)  # a reload now would lose the sign-in: it is not announced yet
    session_id = _sessions().redeem_ticket(_ticket_drawn(body), BROWSER, time.time())
    assert session_id == at.session_state["auth"].session_id
    _run(at)
    assert not _html(at) and _signed_in(at)  # loaded once, not on every rerun; announced once it is stored


def test_a_cookie_never_fetched_stops_the_wait_when_its_ticket_expires(provisioned_client_id, popup, monkeypatch):
    at = _signed_in_before_the_cookie(popup)

    monkeypatch.setattr(ui.signin, "clock", lambda: time.time() + 120)
    _run(at)

    assert _signed_in(at)  # this tab stays signed in; nothing waits forever


def test_a_new_tab_with_the_cookie_is_signed_in_again(provisioned_client_id, popup, monkeypatch):
    first = _signed_in_before_the_cookie(popup)
    session_id = _sessions().redeem_ticket(_ticket(first), BROWSER, time.time())
    monkeypatch.setattr(ui.signin, "session_cookie", lambda: session_id)
    buttons_drawn = len(popup.authorization_urls)

    second = _open()  # another browser tab: a new Streamlit session with only the cookie

    assert second.success[0].value == "Signed in as Alice Chen"
    assert len(popup.authorization_urls) == buttons_drawn  # the new tab drew no sign-in button


def test_sign_out_ends_the_server_session_clears_the_cookie_and_calls_the_hooks(provisioned_client_id, popup,
                                                                                monkeypatch):
    signed_out: list[SignedInUser] = []
    monkeypatch.setattr(ui.sign_out, "_sign_out_hooks", [])
    ui.signin.register_sign_out_hook(signed_out.append)
    ui.signin.register_sign_out_hook(signed_out.append)  # registered once
    at = _sign_in(popup)
    session_id, user = at.session_state["auth"].session_id, at.session_state["auth"].user

    at.button(key="signin_sign_out").click()
    _run(at)

    assert not _signed_in(at) and at.session_state["auth"].user is None
    assert signed_out == [user]
    assert _sessions().lookup(session_id, time.time()).user is None
    [body] = _html(at)
    assert re.fullmatch(r'<img src="/auth/logout\?n=[\w-]+" alt="" width="1" height="1" hidden>', body)
    assert len(popup.authorization_urls) == 3  # drawn, clicked, and back after the sign-out


def test_an_expired_id_token_asks_to_sign_in_again(provisioned_client_id, popup, monkeypatch):
    at = _sign_in(popup)

    monkeypatch.setattr(ui.signin, "clock", lambda: time.time() + 2 * 3600)
    _run(at)

    assert not _signed_in(at)
    assert at.warning[0].value == "Your sign-in expired — sign in again."
    assert len(popup.authorization_urls) == 3  # and the button to do it


def test_a_tab_opened_with_an_expired_session_says_so_until_a_new_sign_in(provisioned_client_id, popup, monkeypatch):
    stale = SignedInUser(issuer="http://127.0.0.1/oauth/aliyun", subject="1234567890123456", name="Alice Chen",
                         expires_at=time.time() - 60, id_token="h.p.s")
    at = AppTest.from_file(APP, default_timeout=60)
    stale_session = _sessions().create(stale, time.time() - 120)
    monkeypatch.setattr(ui.signin, "session_cookie", lambda: stale_session)
    _run(at)
    assert at.warning[0].value == "Your sign-in expired — sign in again." and not _signed_in(at)

    popup.click()
    _run(at)
    _sessions().redeem_ticket(_ticket(at), BROWSER, time.time())  # the browser fetches its cookie
    _run(at)
    assert at.success[0].value == "Signed in as Alice Chen" and not at.warning
    at.button(key="signin_sign_out").click()
    _run(at)

    assert not _signed_in(at) and not at.warning  # the cookie the tab was opened with no longer counts


def test_the_chat_page_needs_a_signed_in_user(app_env, popup):
    at = _open()

    at.switch_page("pages/chat.py")
    _run(at)

    assert "Please sign in to use this page." in [info.value for info in at.info]
    [link] = at.get("page_link")
    assert link.proto.label == "Go to Login"
    assert "Qwen agent" not in _texts(at)


def test_the_chat_page_opens_for_alice(provisioned_client_id, popup):
    at = _sign_in(popup)

    at.switch_page("pages/chat.py")
    _run(at)

    assert "Qwen agent" in _texts(at)


# -- failures: an error on the page, never a traceback, and nobody signed in ---------------------------------------
def _refused(at: AppTest) -> str:
    assert not _signed_in(at) and at.session_state["auth"].user is None
    assert "Traceback" not in _texts(at)
    [error] = at.error
    return error.value


def _forged_id_token(cloud: localcloud.LocalCloud, client_id: str, nonce: str) -> str:
    """Right issuer, audience, nonce and kid; signed with a key that is not the provider's."""
    discovery = httpx.get(cloud.urls.discovery("aliyun"), trust_env=False, timeout=10).json()
    kid = httpx.get(discovery["jwks_uri"], trust_env=False, timeout=10).json()["keys"][0]["kid"]
    now = int(time.time())
    claims = {"iss": discovery["issuer"], "sub": "1234567890123456", "aud": client_id, "iat": now, "exp": now + 600,
              "nonce": nonce, "name": "Mallory"}
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


def test_a_forged_id_token_is_refused(provisioned_client_id, fresh_cloud, monkeypatch):
    at = _open()
    forged = _forged_id_token(fresh_cloud, provisioned_client_id, at.session_state["auth"].nonce)
    answer = _answer_once({"token": {"id_token": forged}})
    monkeypatch.setattr(streamlit_oauth.OAuth2Component, "authorize_button", answer)

    _run(at)

    assert _refused(at) == "Sign-in failed: The ID token's signature does not verify with the sign-in server's key."
    assert forged not in _texts(at)


def test_an_id_token_that_expired_on_the_way_is_refused(provisioned_client_id, popup, monkeypatch):
    at = _open()
    monkeypatch.setattr(ui.signin, "clock", lambda: time.time() + 2 * 3600)

    popup.click()
    _run(at)

    assert _refused(at) == "Sign-in failed: The ID token has expired."


def test_a_replayed_id_token_with_another_nonce_is_refused(provisioned_client_id, popup):
    at = _sign_in(popup)
    id_token = at.session_state["auth"].user.id_token
    at.button(key="signin_sign_out").click()
    _run(at)
    payload = json.loads(base64.urlsafe_b64decode(id_token.split(".")[1] + "=="))
    assert payload["nonce"] != at.session_state["auth"].nonce  # each attempt has its own nonce

    with pytest.MonkeyPatch.context() as patch:
        answer = _answer_once({"token": {"id_token": id_token}})
        patch.setattr(streamlit_oauth.OAuth2Component, "authorize_button", answer)
        _run(at)

    assert "nonce does not match this sign-in" in _refused(at)


def test_a_cancelled_sign_in_says_so(provisioned_client_id, popup):
    popup.decision = "deny"

    at = _sign_in(popup)

    assert _refused(at) == "Sign-in was cancelled: it was not approved at the sign-in server."
    assert len(popup.authorization_urls) == 3  # drawn, clicked, and a fresh one to try again
    assert query_of(popup.authorization_urls[2])["state"] != query_of(popup.authorization_urls[1])["state"]


def test_a_code_the_token_endpoint_refuses_is_an_error(provisioned_client_id, popup):
    at = _open()

    popup.click(lambda url: {"code": "not-a-code", "state": query_of(url)["state"]})
    _run(at)

    message = _refused(at)
    assert message.startswith("The sign-in server refused to issue tokens: invalid_grant")
    assert "not-a-code" not in message


def test_an_answer_for_another_page_is_refused(provisioned_client_id, popup):
    at = _open()

    popup.click(lambda url: {"code": "some-code", "state": "someone-elses-state"})
    _run(at)

    assert "did not belong to this page" in _refused(at)


def test_the_sign_in_button_comes_with_the_image_that_binds_the_attempt_to_this_browser(provisioned_client_id, popup):
    at = _open(load_begin=False)

    [body] = [element.proto.body for element in at.get("html")]
    assert re.fullmatch(r'<img src="/auth/begin\?attempt=[\w-]+" alt="" width="1" height="1" hidden>', body)


def test_a_sign_in_this_browser_never_started_is_refused_and_leaves_no_session(provisioned_client_id, popup):
    """Login CSRF: the attempt was never bound to this browser (its `/auth/begin` image never loaded here)."""
    at = _open(load_begin=False)
    popup.click()
    at.run()

    assert not _signed_in(at) and "did not start this sign-in" in at.error[0].value
    assert at.session_state["auth"].session_id is None and not _html(at)

"""Who is signed in, for every page; and the Login page's sign-in and sign-out.

The server-side login session is the truth (DESIGN.md: "who is signed in"); this session's view of it is
one `AuthState` under `st.session_state["auth"]`. A new tab or a reload finds its session again through the
HttpOnly `aid_session` cookie, which only the sign-in routes set and clear: a script cannot, so the page
has the browser load `/auth/begin?attempt=…` (binding the sign-in to this browser), `/auth/session?ticket=…` or
`/auth/logout` as an image.
"""

from __future__ import annotations

import html
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, NoReturn

import streamlit as st
from httpx_oauth.exceptions import HTTPXOAuthError
from streamlit_oauth import OAuth2Component, StreamlitOauthError

from identity import provision
from identity.cookies import read_cookie
from identity.errors import IdentityError
from identity.signin import (
    BEGIN_PATH,
    LOGOUT_PATH,
    SESSION_COOKIE,
    SESSION_PATH,
    PublicOAuth2Client,
    SignInError,
    token_error_message,
)
from identity.users import SignedInUser
from ui.chrome import SETUP_PAGE, known_setup_problem, page_link, show_error
from ui.runtime import AppCore, get_core, oidc_provider, secure_cookies
from ui.sign_out import register_sign_out_hook, run_sign_out_hooks
from ui.text import markdown_text

__all__ = ["SCOPE", "STATE_KEY", "AuthState", "auth_state", "clock", "current_user", "register_sign_out_hook",
           "render_login", "require_user", "session_cookie", "sign_out"]

STATE_KEY = "auth"
SCOPE = "openid profile aliuid"
LOGIN_PAGE = "pages/login.py"
BUTTON_LABEL = "Sign in with Alibaba Cloud"
EXPIRED_MESSAGE = "Your sign-in expired — sign in again."

clock: Callable[[], float] = time.time  # the clock sign-in checks tokens and sessions with (tests move it)


def _new_nonce() -> str:
    return secrets.token_urlsafe(32)


@dataclass
class AuthState:
    """This browser session's sign-in: the user and their server session, and the sign-in in progress."""

    user: SignedInUser | None = None
    session_id: str | None = field(default=None, repr=False)
    nonce: str = field(default_factory=_new_nonce, repr=False)   # sent with the authorization request
    attempt: int = 0           # part of the button's key: a new button (and state, PKCE) per attempt
    expired: bool = False      # the last session seen had an expired ID token
    error: str | None = None   # why the last sign-in failed, shown once
    cookie_request: str | None = field(default=None, repr=False)  # a cookie route for the browser to load once
    # The sign-in ticket the browser has yet to redeem for its cookie: until it has, a reload would lose the
    # sign-in, so the page does not announce it.
    cookie_ticket: str | None = field(default=None, repr=False)
    # st.context.cookies are those the tab was opened with: stale once this session signed in or out.
    opening_cookie_counts: bool = True
    # The sign-in attempt the button belongs to; the browser binds it to itself by loading `/auth/begin`.
    signin_attempt: str | None = field(default=None, repr=False)

    @property
    def button_key(self) -> str:
        return f"aid_signin_{self.attempt}"

    def next_attempt(self) -> None:
        """Forget the finished attempt: a fresh nonce, and a fresh component without its old result."""
        self.attempt += 1
        self.nonce = _new_nonce()
        self.signin_attempt = None


def auth_state() -> AuthState:
    """This session's `AuthState`, under one key."""
    if not isinstance(st.session_state.get(STATE_KEY), AuthState):
        st.session_state[STATE_KEY] = AuthState()
    return st.session_state[STATE_KEY]


def session_cookie() -> str | None:
    """The browser's `aid_session` cookie, as sent when this session's page was opened."""
    return read_cookie(st.context.cookies, SESSION_COOKIE, secure=secure_cookies())


def current_user() -> SignedInUser | None:
    """The signed-in user of this browser, from this session or the cookie; None if none or expired."""
    state = auth_state()
    try:
        sessions = get_core().sessions
    except IdentityError:  # the page frame shows why
        return None
    session_id = state.session_id or (session_cookie() if state.opening_cookie_counts else None)
    # Checked on every call: a sign-out in another tab deletes the server session this one points at.
    found = sessions.lookup(session_id, clock())
    state.user = found.user
    state.session_id = session_id if found.user else None
    if found.user or found.expired:
        state.expired = found.expired
    return found.user


def require_user() -> SignedInUser:
    """The signed-in user; otherwise say so, link to Login, and stop the page."""
    user = current_user()
    if user is None:
        message = EXPIRED_MESSAGE if auth_state().expired else "Please sign in to use this page."
        st.info(message, icon=":material/login:")
        page_link(LOGIN_PAGE, "Go to Login", ":material/login:", "/")
        st.stop()
    return user


def sign_out() -> None:
    """End the sign-in: the server session, this session's state, the cookie, and every sign-out hook."""
    state = auth_state()
    if state.session_id:
        get_core().sessions.delete(state.session_id)
    if state.user is not None:
        run_sign_out_hooks(state.user)
    st.session_state[STATE_KEY] = AuthState(attempt=state.attempt + 1, opening_cookie_counts=False,
                                            cookie_request=f"{LOGOUT_PATH}?n={secrets.token_urlsafe(8)}")


# -- the Login page -----------------------------------------------------------------------------------------------
def render_login(core: AppCore) -> None:
    """The Login page's body: the signed-in user and Sign out, or the sign-in button."""
    state = auth_state()
    user = current_user()
    _load_cookie_request(state)
    if user is not None:
        if _cookie_pending(core, state):
            _awaiting_cookie(user)
        else:
            _signed_in(user)
        return
    if state.expired:
        st.warning(EXPIRED_MESSAGE, icon=":material/timer_off:")
    if state.error:
        st.error(state.error, icon=":material/error:")
        state.error = None
    client_id = _inbound_app_id(core)
    if client_id:
        _sign_in_button(core, state, client_id)


def _load_cookie_request(state: AuthState) -> None:
    """Have the browser load the cookie route once: st.html keeps an `<img>` (scripts it would drop)."""
    if state.cookie_request:
        st.html(f'<img src="{html.escape(state.cookie_request)}" alt="" width="1" height="1" hidden>')
        state.cookie_request = None


def _inbound_app_id(core: AppCore) -> str | None:
    """The inbound OAuth app's client id from `.config.json`; otherwise say Setup comes first."""
    try:
        client_id = provision.read_config(core.settings.config_json).get("inbound_app_id")
    except IdentityError as error:
        show_error(error)
        return None
    if client_id and known_setup_problem():  # the page's banner says why; a popup would only say "unknown"
        return None
    if not client_id:
        st.warning("Sign-in needs the app's OAuth application, which Setup has not provisioned yet. Open **Setup** "
                   "and press **Provision**, then come back here.", icon=":material/build:")
        page_link(SETUP_PAGE, "Open Setup", ":material/build:", "/setup")
    return str(client_id) if client_id else None


def _sign_in_button(core: AppCore, state: AuthState, client_id: str) -> None:
    """streamlit-oauth's popup button; its result is verified and becomes a login session."""
    try:
        metadata = oidc_provider(core.target.oauth_discovery_url).metadata()
    except SignInError as error:
        st.error(f"{error}\n\nCheck that the sign-in server is reachable, then reload this page.",
                 icon=":material/error:")
        return
    client = PublicOAuth2Client(client_id, metadata.authorization_endpoint, metadata.token_endpoint)
    _bind_attempt_to_browser(core, state)
    try:
        result = OAuth2Component(client=client).authorize_button(
            BUTTON_LABEL, redirect_uri=core.settings.inbound_redirect_uri, scope=SCOPE, key=state.button_key,
            pkce="S256", extras_params={"nonce": state.nonce}, use_container_width=True)
    except StreamlitOauthError as error:
        _finish(state, _refusal_message(error))
    except HTTPXOAuthError as error:
        _finish(state, token_error_message(error))
    if result:
        _finish(state, _complete_sign_in(core, state, client_id, result))


def _bind_attempt_to_browser(core: AppCore, state: AuthState) -> None:
    """Open this button's sign-in attempt and have the browser bind it to itself (its pre-sign-in cookie), so the
    ticket the sign-in ends with works only in this browser (no login CSRF)."""
    if state.signin_attempt is None:
        state.signin_attempt = core.sessions.open_attempt(clock())
    # Drawn on every run until it has loaded: a rerun right after the first can remove the image before the browser
    # fetched it. A second load of a bound attempt is refused and changes nothing.
    if not core.sessions.attempt_bound(state.signin_attempt, clock()):
        state.cookie_request = f"{BEGIN_PATH}?attempt={state.signin_attempt}"
        _load_cookie_request(state)


def _complete_sign_in(core: AppCore, state: AuthState, client_id: str, result: dict[str, Any]) -> str | None:
    """Verify the ID token and open a login session; the error message, or None on success."""
    token = result.get("token") or {}
    id_token = token.get("id_token") if isinstance(token, dict) else None
    if not isinstance(id_token, str) or not id_token:
        return "The sign-in server returned no ID token: the app must be granted the openid scope."
    now = clock()
    try:
        user = oidc_provider(core.target.oauth_discovery_url).verify(id_token, client_id=client_id,
                                                                    nonce=state.nonce, now=now)
        session_id = core.sessions.create(user, now)
    except SignInError as error:
        return f"Sign-in failed: {error}"
    try:
        ticket = core.sessions.issue_ticket(session_id, state.signin_attempt, now)
    except SignInError as error:
        core.sessions.delete(session_id)  # never a session no browser can hold
        return f"Sign-in failed: {error}"
    state.user, state.session_id, state.expired, state.opening_cookie_counts = user, session_id, False, False
    state.cookie_request, state.cookie_ticket = f"{SESSION_PATH}?ticket={ticket}", ticket
    return None


def _finish(state: AuthState, error: str | None) -> NoReturn:
    """End this attempt and draw the page again: the button this run drew is spent."""
    state.error = error
    state.next_attempt()
    st.rerun()


def _refusal_message(error: StreamlitOauthError) -> str:
    """Why the authorization did not come back with a code, without echoing what came back."""
    detail = error.args[0] if error.args else None
    if not isinstance(detail, dict):  # streamlit-oauth's own check: the answer's state is not this page's
        return "The sign-in answer did not belong to this page (it was out of date). Please sign in again."
    code = str(detail.get("error", ""))[:64]
    if code == "access_denied":
        return "Sign-in was cancelled: it was not approved at the sign-in server."
    description = detail.get("error_description")
    suffix = f" ({str(description)[:300]})" if description else ""
    return f"The sign-in server refused the sign-in: {code}{suffix}."


# -- the signed-in view -------------------------------------------------------------------------------------------
def _cookie_pending(core: AppCore, state: AuthState) -> bool:
    """Whether the browser still has to fetch its session cookie (the ticket is live and unredeemed)."""
    if state.cookie_ticket and core.sessions.ticket_waiting(state.cookie_ticket, clock()):
        return True
    state.cookie_ticket = None  # redeemed, or expired unused: either way there is nothing left to wait for
    return False


@st.fragment(run_every=timedelta(seconds=0.5))
def _awaiting_cookie(user: SignedInUser) -> None:
    """Shown for the moment between verifying the ID token and the browser storing its cookie."""
    state = auth_state()
    if not _cookie_pending(get_core(), state):
        st.rerun(scope="app")
    st.info(f"Verified {markdown_text(user.name)}: handing your browser its session cookie…",
            icon=":material/hourglass_top:")


def _code(text: str) -> str:
    """`text` as a Markdown code span (no escapes apply there, so a backtick is the one character to avoid)."""
    return f"`{text.replace('`', chr(39))}`"


def _duration(seconds: int) -> str:
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {seconds:02d} s"


@st.fragment(run_every=timedelta(seconds=10))
def _expiry_countdown(user: SignedInUser) -> None:
    """How long the ID token stays valid, redrawn every few seconds; the whole page once it expires."""
    now = clock()
    if user.is_expired(now):
        st.rerun(scope="app")
    at = time.strftime("%H:%M:%S UTC", time.gmtime(user.expires_at))
    st.caption(f"ID token expires in {_duration(user.seconds_left(now))} (at {at}).")


def _signed_in(user: SignedInUser) -> None:
    st.success(f"Signed in as {markdown_text(user.name)}", icon=":material/verified_user:")
    st.markdown(f"**Issuer:** {_code(user.issuer)}  \n**Subject:** {_code(user.subject)}")
    _expiry_countdown(user)
    st.button("Sign out", key="signin_sign_out", icon=":material/logout:", on_click=sign_out)



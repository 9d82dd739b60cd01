"""Credentials page: who the agent acts for, and every credential it holds for you (never their values)."""

from __future__ import annotations

from identity.cloud import prepare_process_environment

# Also when this page runs on its own: the Alibaba SDKs must never see a proxy or probe ECS metadata.
prepare_process_environment()

import streamlit as st  # noqa: E402
from streamlit.errors import StreamlitAPIException  # noqa: E402

from identity.broker import ConsentRequired, CredentialNeed, Holdings  # noqa: E402
from identity.broker.credentials import Credential  # noqa: E402
from identity.broker.routes import authorize_link  # noqa: E402
from identity.errors import IdentityError  # noqa: E402
from identity.provision import login_name  # noqa: E402
from identity.users import SignedInUser  # noqa: E402
from tools import credential_needs  # noqa: E402
from ui import credentials_view as view  # noqa: E402
from ui.chrome import page_frame  # noqa: E402
from ui.page_state import user_page_state  # noqa: E402
from ui.runtime import AppRuntime  # noqa: E402
from ui.signin import current_user, require_user  # noqa: E402

SETUP_PAGE = "pages/setup.py"
_SHOW = {"success": st.success, "info": st.info, "error": st.error}
_ACTION_ICONS = {view.CONNECT: ":material/link:", view.REFRESH: ":material/refresh:",
                 view.DISCONNECT: ":material/link_off:"}
_ICONS = {"success": ":material/check_circle:", "info": ":material/info:", "error": ":material/error:"}


def _state(user: SignedInUser) -> view.CredentialsState:
    """This session's page state, reset when another user signs in."""
    return user_page_state(view.STATE_KEY, view.CredentialsState, user.key)


# -- actions (button callbacks: they run before the page draws, so the page shows their effect) -------------
def _fetch(runtime: AppRuntime, user: SignedInUser, need: CredentialNeed, force: bool) -> Credential:
    broker = runtime.broker
    if need.kind == "oauth2":  # force starts a fresh consent (ForceAuthentication)
        return broker.oauth2_token(user, need.provider, need.scopes, flow=need.flow, force=force)
    if force:  # forgotten first, so the call below fetches a new one
        broker.disconnect(user, need.kind, need.provider, need.scopes)
    return broker.api_key(user, need.provider) if need.kind == "api_key" else broker.sts_credentials(user)


def _disconnect(runtime: AppRuntime, user: SignedInUser, need: CredentialNeed) -> None:
    runtime.broker.disconnect(user, need.kind, need.provider, need.scopes)


def _act(runtime: AppRuntime, need: CredentialNeed, action: str) -> None:
    """One row's button, for whoever is signed in now; what happened is kept for the page to show."""
    user = current_user()
    if user is None:  # signed out (maybe in another tab) since the page was drawn: the page now says so
        return
    state = _state(user)
    try:
        if action == view.DISCONNECT:
            _disconnect(runtime, user, need)
            state.succeeded(need, view.disconnected_result(need))
        else:
            state.succeeded(need, view.connected_result(need, _fetch(runtime, user, need, action == view.REFRESH)))
    except ConsentRequired:  # not a failure: the consent is now listed with its Authorize button
        state.succeeded(need, view.consent_result(need))
    except IdentityError as error:
        state.failed(need, error)


def _fetch_workload_token(runtime: AppRuntime) -> None:
    user = current_user()
    if user is None:
        return
    try:
        runtime.broker.workload_token(user)
    except IdentityError as error:
        _state(user).failed(None, error)


# -- sections --------------------------------------------------------------------------------------------
def _show(result: view.ActionResult) -> None:
    """A result or error as a banner; a missing provisioning links to Setup."""
    _SHOW[result.level](result.message, icon=_ICONS[result.level])
    if result.needs_setup:
        _setup_link()


def _setup_link() -> None:
    """A link to Setup; a plain one when this page runs without the app's navigation."""
    try:
        st.page_link(SETUP_PAGE, label="Open Setup", icon=":material/build:")
    except StreamlitAPIException:
        st.markdown("[Open Setup](/setup)")


def _inbound(user: SignedInUser, now: float) -> None:
    st.subheader("Inbound identity")
    st.markdown(view.sign_in_caption(user.name, user.subject, user.expires_at, now))
    st.dataframe(view.claims_table(view.inbound_claims(user)), hide_index=True)


def _workload(runtime: AppRuntime, holdings: Holdings, now: float) -> None:
    """The workload identity and its cached access token's claims."""
    st.subheader("Workload identity")
    if holdings.workload is None:
        try:
            runtime.broker.workload()  # says why (not provisioned, or an unreadable .config.json)
        except IdentityError as error:
            _show(view.error_result(error))
        return
    token = holdings.workload_token
    st.markdown(view.workload_caption(holdings.workload, token, now))
    if token is None:
        st.button("Get a workload access token", key="credentials_workload_fetch", icon=":material/badge:",
                  on_click=_fetch_workload_token, args=(runtime,))
    else:
        st.dataframe(view.claims_table(view.workload_claims(token)), hide_index=True)


def _row_actions(runtime: AppRuntime, row: view.CredentialRow) -> None:
    label, *buttons = st.columns([4, 1, 1, 1], vertical_alignment="center")
    label.markdown(view.row_caption(row))
    for column, action in zip(buttons, view.ACTIONS, strict=True):
        column.button(action.capitalize(), key=view.action_key(action, row.need), icon=_ACTION_ICONS[action],
                      width="stretch", on_click=_act, args=(runtime, row.need, action))


def _outbound(runtime: AppRuntime, user: SignedInUser, holdings: Holdings, state: view.CredentialsState,
              now: float) -> None:
    st.subheader("Credentials the tools use")
    rows = view.build_rows(credential_needs(runtime.settings), holdings.credential, holdings.consents,
                           state.errors, now)
    me = (user.subject, login_name(user))
    st.dataframe(view.credential_table(rows, now, me), hide_index=True)
    for row in rows:
        _row_actions(runtime, row)


def _consents(runtime: AppRuntime, holdings: Holdings, now: float) -> None:
    st.subheader("Pending consents")
    pending = view.pending_consents(holdings.consents, now)
    if not pending:
        st.caption("None: press Connect on an OAuth2 row to start one.")
        return
    for consent in pending:
        text, link = st.columns([4, 1], vertical_alignment="center")
        text.markdown(view.consent_caption(consent, now))
        if view.is_trusted_authorization_url(consent.authorization_url, runtime.target):
            link.link_button("Authorize", authorize_link(runtime.settings.app_url, consent.state),
                             key=f"credentials_authorize_{consent.state}",
                             type="primary", icon=":material/open_in_new:", width="stretch")
        else:  # only the identity service's own page may become a button
            link.markdown(view.UNTRUSTED_LINK)
    st.button("Check again", key="credentials_recheck", icon=":material/sync:")


def _activity(holdings: Holdings) -> None:
    st.subheader("Activity")
    entries = holdings.activity
    if not entries:
        st.caption("No identity calls for you yet.")
        return
    st.dataframe(view.activity_table(entries), hide_index=True)


def render() -> None:
    """The Credentials page for the signed-in user."""
    runtime = page_frame()
    st.title("Credentials")
    user = require_user()
    state, now = _state(user), runtime.broker.clock()
    if state.result is not None:
        _show(state.result)
        state.result = None  # shown once; a row's failure stays visible as its status
    _inbound(user, now)
    holdings = runtime.broker.holdings(user, credential_needs(runtime.settings))  # one read: never fetches
    _workload(runtime, holdings, now)
    _outbound(runtime, user, holdings, state, now)
    _consents(runtime, holdings, now)
    _activity(holdings)


render()

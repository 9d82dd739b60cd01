"""Policies page: the Cedar policies the AI Gateway enforces on the agent's order tools, "Try a request", and the
gateway's recent decisions. Everyone signed in may look; only an administrator (APP_ADMINS) may change anything."""

from __future__ import annotations

from identity.cloud import prepare_process_environment

# Also when this page runs on its own: the Alibaba SDKs must never see a proxy or probe ECS metadata.
prepare_process_environment()

from collections.abc import Callable, Mapping  # noqa: E402
from typing import Any  # noqa: E402

import streamlit as st  # noqa: E402

from identity import provision  # noqa: E402
from identity.errors import IdentityError  # noqa: E402
from identity.governance.decisions import (  # noqa: E402
    TrialContext,
    TrialRequest,
    recent_decisions,
    try_request,
)
from identity.governance.policies import (  # noqa: E402
    BoundPolicySet,
    NoPolicySet,
    Policy,
    PolicyAccess,
    PolicyChanges,
    PolicyDraft,
    admin_changes,
    bound_policy_set,
    policy_access,
    workload_identity_arn,
)
from identity.governance.starter import ORDER_TOOLS  # noqa: E402
from identity.users import SignedInUser  # noqa: E402
from ui import policies_view as view  # noqa: E402
from ui.chrome import SETUP_PAGE, page_frame, page_link  # noqa: E402
from ui.page_state import user_page_state  # noqa: E402
from ui.runtime import AppRuntime, get_runtime, oidc_provider  # noqa: E402
from ui.signin import current_user, require_user  # noqa: E402
from ui.text import markdown_text, plain_markdown  # noqa: E402

_SHOW = {"success": st.success, "info": st.info, "error": st.error}
_ICONS = {"success": ":material/check_circle:", "info": ":material/info:", "error": ":material/error:"}


def _state(user: SignedInUser) -> view.PoliciesState:
    """This session's page state, reset when another user signs in."""
    return user_page_state(view.STATE_KEY, view.PoliciesState, user.key)


def _config(runtime: AppRuntime) -> Mapping[str, Any]:
    try:
        return provision.read_config(runtime.settings.config_json)
    except IdentityError:  # the page frame says what is wrong with it
        return {}


def _seed(key: str, value: str) -> None:
    """A widget's first value, set through its key (a widget given both a value and a key warns)."""
    if key not in st.session_state:
        st.session_state[key] = value


# -- actions (callbacks: they run before the page draws; each checks the user at that moment) -------------------
def _act(bound: BoundPolicySet, form: str | None, change: Callable[[PolicyChanges], None], message: str) -> bool:
    """Make one change for whoever is signed in now, if they are an administrator now (the runtime's settings of
    this moment, not those the page was drawn with); keep what happened."""
    user = current_user()
    if user is None:  # signed out since the page was drawn: the page now says so
        return False
    state = _state(user)
    try:
        runtime = get_runtime()
        change(admin_changes(runtime.clients.control(), bound.name, bound.gateway_arn, user,
                             runtime.settings.admins))
    except IdentityError as error:
        state.refused(form, error)
        return False
    state.done(form, message)
    return True


def _save(bound: BoundPolicySet, name: str) -> None:
    keys = view.edit_keys(name)
    draft = PolicyDraft(name, str(st.session_state.get(keys["description"], "")),
                        str(st.session_state.get(keys["statement"], "")))
    _act(bound, keys["form"], lambda changes: changes.update(draft), view.saved_message(name))


def _create(bound: BoundPolicySet) -> None:
    keys = view.new_keys()
    draft = PolicyDraft(*(str(st.session_state.get(keys[part], "")) for part in view.NEW_FIELDS))
    if _act(bound, view.NEW_FORM, lambda changes: changes.create(draft),
            view.created_message(draft.name.strip())):
        for part in view.NEW_FIELDS:  # created: the form starts afresh (a failure keeps the text as typed)
            st.session_state.pop(keys[part], None)


def _delete(bound: BoundPolicySet, name: str) -> None:
    _act(bound, None, lambda changes: changes.delete(name), view.deleted_message(name))


def _set_mode(bound: BoundPolicySet) -> None:
    mode = str(st.session_state.get(view.MODE_KEY))
    if mode != bound.enforcement_mode:
        _act(bound, None, lambda changes: changes.set_mode(mode), view.mode_message(mode))


def _state_now() -> view.PoliciesState:
    user = current_user()
    return _state(user) if user is not None else view.PoliciesState()


def _open_editor(policy: Policy) -> None:
    state, keys = _state_now(), view.edit_keys(policy.name)
    state.editing, state.deleting = policy.name, None
    state.form_errors.pop(keys["form"], None)
    st.session_state[keys["description"]] = policy.description
    st.session_state[keys["statement"]] = policy.statement


def _close_editor(name: str) -> None:
    state = _state_now()
    state.editing = None
    state.form_errors.pop(view.edit_keys(name)["form"], None)


def _arm_delete(name: str | None) -> None:
    state = _state_now()
    state.deleting, state.editing = name, None


# -- sections --------------------------------------------------------------------------------------------------
def _bound_set(runtime: AppRuntime) -> BoundPolicySet | None:
    """The set bound to the gateway; otherwise say why (with a link to Setup when Provision would fix it)."""
    config = _config(runtime)
    gateway = runtime.target.gateway.arn or config.get("gateway_arn")
    try:
        return bound_policy_set(runtime.clients.control(), gateway, config.get("policy_set_name"))
    except NoPolicySet as missing:
        st.warning(f"{markdown_text(str(missing))} Provision on **Setup** creates the starter policies and binds "
                   "them to the gateway.", icon=":material/build:")
        page_link(SETUP_PAGE, "Open Setup", ":material/build:", "/setup")
    except IdentityError as error:
        st.error(view.error_text(error), icon=":material/error:")
    return None


def _mode(bound: BoundPolicySet, access: PolicyAccess) -> None:
    st.session_state[view.MODE_KEY] = bound.enforcement_mode  # what the gateway says, whatever was sent
    st.radio("Enforcement mode", view.MODES, key=view.MODE_KEY, horizontal=True, disabled=not access.allowed,
             on_change=_set_mode, args=(bound,), captions=[view.mode_help(mode) for mode in view.MODES])


def _editor(bound: BoundPolicySet, policy: Policy, state: view.PoliciesState, access: PolicyAccess) -> None:
    keys = view.edit_keys(policy.name)
    _seed(keys["description"], policy.description)
    _seed(keys["statement"], policy.statement)
    with st.form(keys["form"], border=False):
        st.text_input("Description", key=keys["description"], disabled=not access.allowed)
        st.text_area("Cedar statement", key=keys["statement"], height=220, disabled=not access.allowed)
        save, cancel, _ = st.columns([1, 1, 4])
        save.form_submit_button("Save", key=keys["save"], type="primary", icon=":material/save:",
                                disabled=not access.allowed, on_click=_save, args=(bound, policy.name))
        cancel.form_submit_button("Cancel", key=keys["cancel"], on_click=_close_editor, args=(policy.name,))
    if keys["form"] in state.form_errors:
        st.error(state.form_errors[keys["form"]], icon=":material/error:")


def _delete_question(bound: BoundPolicySet, name: str, access: PolicyAccess) -> None:
    st.warning(view.delete_question(name, bound.name), icon=":material/warning:")
    yes, no, _ = st.columns([1, 1, 3])
    yes.button("Yes, delete it", key=view.policy_key("confirm", name), type="primary", disabled=not access.allowed,
               on_click=_delete, args=(bound, name))
    no.button("Cancel", key=view.policy_key("cancel", name), on_click=_arm_delete, args=(None,))


def _policy(bound: BoundPolicySet, policy: Policy, state: view.PoliciesState, access: PolicyAccess) -> None:
    with st.container(border=True, key=view.policy_key("card", policy.name)):
        title, edit, delete = st.columns([6, 1, 1], vertical_alignment="center")
        title.markdown(f"**{markdown_text(policy.name)}**")
        edit.button("Edit", key=view.policy_key("open", policy.name), icon=":material/edit:", width="stretch",
                    disabled=not access.allowed, on_click=_open_editor, args=(policy,))
        delete.button("Delete", key=view.policy_key("delete", policy.name), icon=":material/delete:", width="stretch",
                      disabled=not access.allowed, on_click=_arm_delete, args=(policy.name,))
        if policy.description:
            st.caption(plain_markdown(policy.description))
        if state.editing == policy.name:
            _editor(bound, policy, state, access)
        else:
            st.code(policy.statement, language=None, wrap_lines=True)
        if state.deleting == policy.name:
            _delete_question(bound, policy.name, access)


def _new_policy(bound: BoundPolicySet, state: view.PoliciesState, access: PolicyAccess) -> None:
    keys, failed = view.new_keys(), state.form_errors.get(view.NEW_FORM)
    for part, value in zip(view.NEW_FIELDS, ("", "", view.new_policy_template(bound.gateway_arn)), strict=True):
        _seed(keys[part], value)
    with st.expander("New policy", icon=":material/add:", expanded=failed is not None):
        with st.form(keys["form"], border=False):
            st.text_input("Name", key=keys["name"], disabled=not access.allowed,
                          help="Letters, digits, '-' and '_'; unique in the set.")
            st.text_input("Description", key=keys["description"], disabled=not access.allowed)
            st.text_area("Cedar statement", key=keys["statement"], height=220, disabled=not access.allowed)
            st.form_submit_button("Create", key=keys["save"], type="primary", icon=":material/add:",
                                  disabled=not access.allowed, on_click=_create, args=(bound,))
        if failed:
            st.error(failed, icon=":material/error:")


def _policies(bound: BoundPolicySet, state: view.PoliciesState, access: PolicyAccess) -> None:
    st.markdown(view.set_caption(bound))
    _mode(bound, access)
    if state.notice is not None:
        _SHOW[state.notice.level](state.notice.message, icon=_ICONS[state.notice.level])
        state.notice = None  # said once
    for policy in bound.policies:
        _policy(bound, policy, state, access)
    _new_policy(bound, state, access)


# -- Try a request ------------------------------------------------------------------------------------------------
def _issuer(runtime: AppRuntime, user: SignedInUser) -> str:
    """The sign-in server's issuer (its discovery document): the `Issuer` the gateway puts on the principal."""
    try:
        return oidc_provider(runtime.target.oauth_discovery_url).metadata().issuer
    except IdentityError:  # the user's own token names the same issuer: it was checked against it at sign-in
        return user.issuer


def _actor(runtime: AppRuntime) -> str | None:
    """The provisioned workload identity's ARN, from the control plane; None before Provision made one."""
    name = runtime.settings.workload_identity_name or _config(runtime).get("workload_identity_name")
    return workload_identity_arn(runtime.clients.control(), str(name)) if name else None


def _try(runtime: AppRuntime, user: SignedInUser, bound: BoundPolicySet, state: view.PoliciesState, user_id: str,
         tool: str, text: str) -> None:
    state.trial, state.trial_error = None, ""
    if not user_id:
        state.trial_error = "Choose a user, or type the user id to try."
        return
    try:
        arguments = view.parse_arguments(text)
        context = TrialContext(bound.gateway_arn, _issuer(runtime, user), _actor(runtime))
    except view.ArgumentsError as error:
        state.trial_error = markdown_text(str(error))
        return
    except IdentityError as error:
        state.trial_error = view.error_text(error)
        return
    state.trial = try_request(bound.statements(), TrialRequest(user_id, tool, arguments), context,
                              bound.enforcement_mode)


def _trial_user(runtime: AppRuntime) -> str:
    local = runtime.target.local
    if local is None or not local.demo_users:
        return st.text_input("User id", key="policies_try_user_id",
                             help="The user's id as the gateway sees it: the ID token's `sub`.").strip()
    choice = st.selectbox("User", view.user_choices(local.demo_users), key="policies_try_user")
    other = ""
    if choice == view.OTHER_USER:
        other = st.text_input("User id", key="policies_try_user_id", help="The ID token's `sub`.")
    return view.chosen_user_id(choice, other, local.demo_users)


def _try_a_request(runtime: AppRuntime, user: SignedInUser, bound: BoundPolicySet, state: view.PoliciesState) -> None:
    st.subheader("Try a request")
    st.caption("What the gateway would decide for a tool call through the agent, by the same Cedar engine and "
               "entities, on the policies above. Nothing is called and nothing is recorded.")
    who, what = st.columns(2)
    with who:
        user_id = _trial_user(runtime)
    tool = what.selectbox("Tool", ORDER_TOOLS, index=ORDER_TOOLS.index("createOrder"), key="policies_try_tool")
    key = f"policies_try_arguments_{tool}"
    _seed(key, view.default_arguments(tool))
    text = st.text_area("Arguments (a JSON object)", key=key, height=150, max_chars=view.ARGUMENTS_MAX)
    if st.button("Try it", key="policies_try", icon=":material/play_arrow:"):
        _try(runtime, user, bound, state, user_id, tool, text)
    if state.trial_error:
        st.error(state.trial_error, icon=":material/error:")
    elif state.trial is not None:
        level, verdict = view.trial_verdict(state.trial)
        _SHOW[level](verdict, icon=_ICONS[level])
        st.caption(view.trial_details(state.trial))


# -- recent decisions ---------------------------------------------------------------------------------------------
def _decisions(runtime: AppRuntime) -> None:
    st.subheader("Recent decisions")
    local = runtime.target.local
    if not runtime.target.is_local:
        st.info(view.CLOUD_DECISIONS, icon=":material/cloud:")
        return
    if local is None:
        st.info(view.EXTERNAL_DECISIONS, icon=":material/info:")
        return
    who, which, answer, again = st.columns([2, 2, 2, 1], vertical_alignment="bottom")
    login = who.selectbox("User", view.login_choices(local.demo_users), key="policies_decisions_user")
    tool = which.selectbox("Tool", view.TOOL_FILTERS, key="policies_decisions_tool")
    decision = answer.selectbox("Decision", view.DECISION_FILTERS, key="policies_decisions_decision")
    again.button("Refresh", key="policies_decisions_refresh", icon=":material/refresh:", width="stretch")
    user_id, tool_name, allowed = view.decision_filters(login, tool, decision, local.demo_users)
    try:
        records = recent_decisions(local, limit=view.DECISIONS_SHOWN, user=user_id, tool=tool_name,
                                   decision=allowed)
    except IdentityError as error:
        st.error(view.error_text(error), icon=":material/error:")
        return
    if not records:
        st.caption(view.NO_DECISIONS)
        return
    st.altair_chart(view.decisions_chart(records), width="stretch", height=220)
    st.dataframe(view.decision_table(records, local.demo_users), hide_index=True, width="stretch")


def render() -> None:
    """The Policies page for the signed-in user."""
    runtime = page_frame()
    st.title("Policies")
    user = require_user()
    state, access = _state(user), policy_access(user, runtime.settings.admins)
    if not access.allowed:
        st.info(access.reason, icon=":material/lock:")
    bound = _bound_set(runtime)
    if bound is None:
        return
    _policies(bound, state, access)
    st.divider()
    _try_a_request(runtime, user, bound, state)
    st.divider()
    _decisions(runtime)


render()

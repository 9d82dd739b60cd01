"""Setup page: plan, provision and clear the sample's cloud resources (its `prepare` and `clear`)."""

from __future__ import annotations

from identity.cloud import prepare_process_environment

# Also when this page runs on its own: the Alibaba SDKs must never see a proxy or probe ECS metadata.
prepare_process_environment()

from collections.abc import Callable, Mapping  # noqa: E402
from typing import Any  # noqa: E402

import streamlit as st  # noqa: E402
from streamlit.delta_generator import DeltaGenerator  # noqa: E402

from identity import provision  # noqa: E402
from identity.errors import IdentityError  # noqa: E402
from identity.provision import ProvisionInputs, SetupAccess, StepReport  # noqa: E402
from ui import setup_view as view  # noqa: E402
from ui.chrome import known_setup_problem, page_frame  # noqa: E402
from ui.page_state import page_state  # noqa: E402
from ui.runtime import AppRuntime  # noqa: E402
from ui.signin import current_user  # noqa: E402

Listener = Callable[[StepReport], None]
AccessCheck = Callable[[], SetupAccess]


def _state() -> view.SetupState:
    """This session's Setup state, under one key."""
    return page_state(view.STATE_KEY, view.SetupState)


def _config(runtime: AppRuntime) -> Mapping[str, Any]:
    """What `.config.json` records; an unreadable file is reported by the action that reads it."""
    try:
        return provision.read_config(runtime.settings.config_json)
    except IdentityError:
        return {}


def _cloud_inputs(runtime: AppRuntime) -> ProvisionInputs | None:
    """The providers' secrets in cloud mode; unkeyed password fields, so they live only in their widgets."""
    if runtime.target.is_local:
        st.caption("The local cloud supplies the weather API key and the DingTalk app: nothing to enter here.")
        return None
    st.subheader("Secrets for the credential providers")
    st.caption("Used by Provision only: never stored, never shown. Empty fields fall back to the app's settings "
               "(WEATHER_API_KEY, DINGTALK_CLIENT_ID, DINGTALK_CLIENT_SECRET).")
    api_key = st.text_input("Weather service API key", type="password")
    client_id = st.text_input("DingTalk app client id", type="password")
    client_secret = st.text_input("DingTalk app client secret", type="password")
    return view.provision_inputs(api_key, client_id, client_secret)


def _arm_clear(state: view.SetupState, armed: bool) -> None:
    state.clear_armed = armed


def _token_input(runtime: AppRuntime, config: Mapping[str, Any]) -> str | None:
    """Cloud mode before the first Provision: the operator's setup token (an unkeyed password field)."""
    if runtime.target.is_local or _provisioned(config):
        return None
    return st.text_input("Setup token", type="password", help="APP_SETUP_TOKEN, or the token the server printed "
                         "to its log at start: only the operator may run the first Provision.")


def _access_check(runtime: AppRuntime, token: str | None) -> AccessCheck:
    """Who may change Setup, decided afresh whenever asked (the page asks again at the moment of the action)."""
    return lambda: provision.setup_access(current_user(), runtime.settings, _provisioned(_config(runtime)), token,
                                          runtime.setup_token)


def _provisioned(config: Mapping[str, Any]) -> bool:
    """Provisioned in this cloud: `.config.json` records resources, and they are this cloud's (a file written for
    another account or a deleted local cloud counts as nothing provisioned, so Provision can repair it: nobody could
    sign in as an administrator with it anyway)."""
    return provision.is_provisioned(config) and known_setup_problem() is None


def _pressed_action(state: view.SetupState, access: SetupAccess) -> str | None:
    """Draw Plan, Provision and Clear; Clear only arms the confirmation below. Without access only Plan is live."""
    plan_column, provision_column, clear_column = st.columns(3)
    plan = plan_column.button("Plan", key="setup_plan", icon=":material/checklist:", width="stretch")
    apply = provision_column.button("Provision", key="setup_provision", type="primary", disabled=not access.allowed,
                                    icon=":material/rocket_launch:", width="stretch")
    clear_column.button("Clear", key="setup_clear", icon=":material/delete:", width="stretch",
                        disabled=not access.allowed, on_click=_arm_clear, args=(state, True))
    action = view.PLAN if plan else view.PROVISION if apply else None
    if action:
        state.clear_armed = False
    return action


def _clear_confirmed(state: view.SetupState, runtime: AppRuntime, config: Mapping[str, Any]) -> bool:
    """The second step of Clear: say what goes, and delete only on an explicit yes."""
    if not state.clear_armed:
        return False
    slot = st.empty()
    with slot.container():
        st.warning(view.clear_warning(config, runtime.settings.config_json), icon=":material/warning:")
        yes_column, no_column = st.columns(2)
        confirmed = yes_column.button("Yes, delete them", key="setup_clear_confirm", type="primary",
                                      width="stretch")
        no_column.button("Cancel", key="setup_clear_cancel", width="stretch", on_click=_arm_clear,
                         args=(state, False))
    if confirmed:
        slot.empty()  # the question is answered: only the progress and the result stay on screen
    return confirmed


def _progress(box: DeltaGenerator, reports: list[StepReport]) -> Listener:
    """One line per step in the status box: drawn as `running`, then replaced by the outcome."""
    lines: dict[str, DeltaGenerator] = {}

    def on_step(report: StepReport) -> None:
        if report.key not in lines:
            lines[report.key] = box.empty()
        lines[report.key].markdown(view.progress_line(report))
        if report.status != "running":
            reports.append(report)

    return on_step


def _plan(state: view.SetupState, runtime: AppRuntime, inputs: ProvisionInputs | None) -> None:
    try:
        with st.spinner("Comparing what should exist with what does…"):
            reports = provision.plan(runtime.clients, runtime.settings, inputs)
    except IdentityError as error:
        state.failed(view.PLAN, [], error)
        return
    state.finished(view.PLAN, reports)


def _run(action: str, state: view.SetupState, runtime: AppRuntime, inputs: ProvisionInputs | None,
         access: AccessCheck) -> None:
    """Apply or destroy with live progress; a failure becomes the page's error, never a traceback.

    Who may do it is checked here, at the moment of the action, not only by which buttons are drawn: a crafted
    websocket message can press a disabled or undrawn button."""
    reports: list[StepReport] = []
    with st.status(view.running_label(action), expanded=True) as box:
        try:
            provision.require_setup_access(access())
            if action == view.PROVISION:
                provision.apply(runtime.clients, runtime.settings, inputs, on_step=_progress(box, reports))
            else:
                try:
                    provision.destroy(runtime.clients, runtime.settings, on_step=_progress(box, reports))
                finally:  # even a partial Clear: no replica keeps using credentials of what is gone
                    runtime.broker.forget_everyone()
        except IdentityError as error:
            box.update(label=f"{action} stopped", state="error")
            state.failed(action, reports, error)
            return
        box.update(label=f"{action} finished", state="complete", expanded=False)
    state.finished(action, reports)


def _results(state: view.SetupState, runtime: AppRuntime) -> None:
    """The last action's outcome and its resource table."""
    if state.error:
        st.error(state.error, icon=":material/error:")
    elif state.summary:
        st.success(state.summary, icon=":material/check_circle:")
    if state.reports is None:
        st.info("Press **Plan** to compare what the demo needs with what exists.", icon=":material/info:")
        return
    # Every step in view at once: a scrolled grid would hide the last steps' outcome.
    st.dataframe(view.report_table(state.reports), hide_index=True, width="stretch", height="content")
    st.caption(f"Provision records what it creates in `{runtime.settings.config_json}`; Clear deletes only that.")


def render() -> None:
    """The Setup page."""
    runtime, state = page_frame(), _state()
    st.title("Setup")
    banner = st.empty()  # filled last: Plan or Provision may just have learned the account id
    check = _access_check(runtime, _token_input(runtime, _config(runtime)))
    access = check()
    if not access.allowed:
        st.info(access.reason, icon=":material/lock:")
    inputs = _cloud_inputs(runtime) if access.allowed else None
    action = _pressed_action(state, access)
    if action == view.PLAN:
        _plan(state, runtime, inputs)
    elif action == view.PROVISION:
        _run(view.PROVISION, state, runtime, inputs, check)
    elif access.allowed and _clear_confirmed(state, runtime, _config(runtime)):
        _run(view.CLEAR, state, runtime, None, check)
    _results(state, runtime)
    config = _config(runtime)
    if not runtime.target.is_local:
        st.markdown(view.mcp_console_step(config, runtime.settings.mcp_server))
    banner.info(view.mode_banner(runtime.target, config), icon=":material/dns:")


render()

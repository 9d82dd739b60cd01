"""Inspect page: each tool call's identity flow as a picture, every credential's lifetime on a timeline, and an
attack lab that tries the known attacks on these flows live against the local cloud."""

from __future__ import annotations

from identity.cloud import prepare_process_environment

# Also when this page runs on its own: the Alibaba SDKs must never see a proxy or probe ECS metadata.
prepare_process_environment()


from typing import Any  # noqa: E402

import httpx  # noqa: E402
import streamlit as st  # noqa: E402
from streamlit.errors import StreamlitAPIException  # noqa: E402

from agent import AgentError, ChatStore  # noqa: E402
from identity.broker.activity import Activity  # noqa: E402
from identity.errors import IdentityError  # noqa: E402
from identity.users import SignedInUser  # noqa: E402
from lab import attacks as lab  # noqa: E402
from tools import credential_needs  # noqa: E402
from ui import inspect_view as view  # noqa: E402
from ui import timeline_view as timeline  # noqa: E402
from ui.chat_view import agent_error_text  # noqa: E402
from ui.chrome import page_frame  # noqa: E402
from ui.credentials_view import error_result, markdown_text  # noqa: E402
from ui.page_state import user_page_state  # noqa: E402
from ui.runtime import AppRuntime  # noqa: E402
from ui.signin import current_user, require_user  # noqa: E402

CHAT_PAGE = "pages/chat.py"
GATEWAY_RECORDS = 200  # of the gateway's newest decisions for one user and tool: plenty to find one call's


def _state(user: SignedInUser) -> view.InspectState:
    """This session's page state, reset when another user signs in."""
    return user_page_state(view.STATE_KEY, view.InspectState, user.key)


def _show_error(error: IdentityError | AgentError) -> None:
    if isinstance(error, AgentError):
        st.error(agent_error_text(error), icon=":material/error:")
    else:
        st.error(error_result(error).message, icon=":material/error:")


# -- the flow of a tool call ---------------------------------------------------------------------------------
def _chat_link() -> None:
    try:
        st.page_link(CHAT_PAGE, label="Open Chat", icon=":material/chat:")
    except StreamlitAPIException:  # the page runs without the app's navigation
        st.markdown("[Open Chat](/chat)")


def _pick_turn(store: ChatStore, user: SignedInUser) -> view.TurnRecord | None:
    chats = store.list_chats(user.key)
    if not chats:
        st.info("No chats yet: ask the agent something on the Chat page, then come back to see how each tool call "
                "got its credential.", icon=":material/chat:")
        _chat_link()
        return None
    chat = st.selectbox("Chat", chats, format_func=lambda c: c.title, key="inspect_chat")
    entries = store.entries(user.key, chat.id)
    turns = [turn for turn in view.turns_of(entries) if turn.tool_calls]
    if not turns:
        st.caption("No tool calls in this chat yet.")
        return None
    picked = st.selectbox("Turn", range(len(turns) - 1, -1, -1), format_func=lambda i: view.turn_label(turns[i]),
                          key=f"inspect_turn_{chat.id}")
    return turns[picked]


def _flow(runtime: AppRuntime, store: ChatStore, user: SignedInUser) -> None:
    turn = _pick_turn(store, user)
    if turn is None:
        return
    calls = turn.tool_calls
    index = st.selectbox("Tool call", range(len(calls)), format_func=lambda i: view.call_label(calls[i]),
                         key=f"inspect_call_{turn.turn_id or turn.prompt}")
    call, activity = calls[index], runtime.broker.log.of(user.key)
    entries = view.call_activity(activity, call)
    if not turn.turn_id:
        st.caption("This turn was recorded before tool calls were traced: only the tool call itself is drawn.")
    elif not entries:
        st.caption("The activity log holds nothing for this call: it keeps each user's newest 1,000 entries of the "
                   "last 30 days.")
    names = {view.USER: user.name, view.PROVIDER: call.provider or "workload RAM role", view.SERVICE: call.tool}
    if call.via:
        _gateway_flow(runtime, user, turn, call, entries, names)
    else:
        st.graphviz_chart(view.flow_dot(view.flow_steps(turn, call, entries), names), width="stretch")
    with st.expander("Every identity call of this turn"):
        st.dataframe(view.turn_table(view.turn_activity(activity, turn.turn_id)), hide_index=True)


def _gateway_records(runtime: AppRuntime, user: SignedInUser, call: view.ToolCallRecord) -> list[dict[str, Any]]:
    """The AI Gateway's decision records of this user's calls of the tool (local mode: localcloud keeps them)."""
    local = runtime.target.local
    if local is None:
        return []
    try:
        return local.gateway_decisions(user=user.subject, tool=call.tool, limit=GATEWAY_RECORDS)
    except httpx.HTTPError:
        return []


def _gateway_flow(runtime: AppRuntime, user: SignedInUser, turn: view.TurnRecord, call: view.ToolCallRecord,
                  entries: list[Activity], names: dict[str, str]) -> None:
    decisions = view.decisions_for(call, _gateway_records(runtime, user, call), user.subject)
    if not decisions:
        st.caption("The AI Gateway's decision for this call is not on record here (localcloud keeps its decisions; "
                   "Alibaba Cloud's gateway logs its own): drawn from the tool card.")
    server = (runtime.target.gateway.mcp_server or "").rstrip("/").rsplit("/", 1)[-1]
    lanes = {**names, view.GATEWAY: server, view.SERVICE: f"order service · {call.tool}"}
    st.graphviz_chart(view.flow_dot(view.gateway_flow_steps(turn, call, entries, decisions), lanes,
                                    view.GATEWAY_LANES), width="stretch")


# -- lifetimes ---------------------------------------------------------------------------------------------------
def _lifetimes(runtime: AppRuntime, user: SignedInUser) -> None:
    now = runtime.broker.clock()
    holdings = runtime.broker.holdings(user, credential_needs(runtime.settings))  # one read: never fetches
    rows = timeline.lifetimes(user, holdings.held(), holdings.consents, holdings.activity, now)
    st.caption(markdown_text(timeline.breaking_point(rows, now)))
    frame = timeline.timeline_frame(rows, now)
    st.altair_chart(timeline.timeline_chart(frame, now), width="stretch", height=timeline.chart_height(len(frame)))
    st.dataframe(frame[["Credential", "Status", "Scopes", "Expires", "Fingerprint"]], hide_index=True)


# -- the attack lab ----------------------------------------------------------------------------------------------
def _run(runtime: AppRuntime, keys: tuple[str, ...]) -> None:
    """A Run button: the scenarios run for whoever is signed in now; their results stay for the page to show."""
    user = current_user()
    if user is None:
        return
    state = _state(user)
    for key in keys:
        state.results[key] = lab.run_scenario(key, runtime, user)


def _result(result: lab.ScenarioResult) -> None:
    if result.passed:
        st.badge("blocked · pass", icon=":material/shield:", color="green")
    else:
        st.badge("not blocked · fail", icon=":material/gpp_bad:", color="red")
    st.markdown(f"**Actual:** {markdown_text(result.actual)}")
    if result.detail:
        st.caption(markdown_text(result.detail))


def _scenario(runtime: AppRuntime, scenario: lab.Scenario, result: lab.ScenarioResult | None,
              disabled: bool) -> None:
    with st.container(border=True):
        text, button = st.columns([5, 1], vertical_alignment="top")
        text.markdown(f"**{markdown_text(scenario.name)}**  \n{markdown_text(scenario.attempt)}  \n"
                      f"**Expected:** {markdown_text(scenario.expected)}")
        button.button("Run", key=f"inspect_attack_{scenario.key}", icon=":material/play_arrow:", width="stretch",
                      disabled=disabled, on_click=_run, args=(runtime, (scenario.key,)))
        if result is not None:
            _result(result)


def _attack_lab(runtime: AppRuntime, user: SignedInUser, state: view.InspectState) -> None:
    reason = lab.lab_unavailable(runtime)
    if reason is not None:
        st.info(reason, icon=":material/cloud_off:")
    else:
        st.caption(f"Each scenario tries one attack for real against the local cloud, with a broker of its own: your "
                   f"credentials, consents and activity stay as they are. Scenarios that need another person sign the "
                   f"demo user **{lab.other_demo_user(user)}** in.")
        st.button("Run all", key="inspect_attack_all", icon=":material/playlist_play:", on_click=_run,
                  args=(runtime, tuple(s.key for s in lab.SCENARIOS)))
    for scenario in lab.SCENARIOS:
        _scenario(runtime, scenario, state.results.get(scenario.key), reason is not None)


def render() -> None:
    """The Inspect page for the signed-in user."""
    runtime = page_frame()
    st.title("Inspect")
    user = require_user()
    state = _state(user)
    st.caption("How the agent got each credential, how long each one lives, and what happens when someone attacks "
               "the flows. Only fingerprints are shown, never a credential.")
    flow, lifetimes, attacks = st.tabs(["Flow", "Lifetimes", "Attack lab"])
    with flow:
        try:
            _flow(runtime, runtime.chats, user)
        except (AgentError, IdentityError) as error:
            _show_error(error)
    with lifetimes:
        _lifetimes(runtime, user)
    with attacks:
        _attack_lab(runtime, user, state)


render()
